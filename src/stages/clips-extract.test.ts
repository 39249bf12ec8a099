import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../test/helpers/repo.ts';
import type { StageContext, StageInput } from '../plan/stage-kind.ts';
import { encodeRawVideo } from '../video/ffmpeg.ts';
import { readClip, readShardIndex } from '../video/shards.ts';
import { kind, toClipRequests } from './clips-extract.ts';
import type { ClipsExtractParams } from './clips-extract.ts';
import { portsFor } from '../../test/helpers/ports.ts';
import { stageSchemaDocument } from '../plan/registry.ts';

let dir = '';
let mining: StageInput;

function ctxFor(params: Partial<ClipsExtractParams>, inputs: StageInput[], outDir: string) {
  const metrics: Record<string, number> = {};
  const artifacts: string[] = [];
  const ctx: StageContext<ClipsExtractParams> = {
    params: { frames: 4, size: 24, contact_sheet: true, contact_max_per_class: 200, concurrency: 2, ...params },
    inputs,
    ports: portsFor(kind, params, inputs),
    outDir,
    scratchDir: outDir,
    seed: 1,
    gpus: [],
    signal: new AbortController().signal,
    log: () => undefined,
    progress: () => undefined,
    metric: (k, v) => (metrics[k] = v),
    artifact: (p) => artifacts.push(p),
  };
  return { ctx, metrics, artifacts };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'exp-clips-stage-'));
  const video = path.join(dir, 'movie a.mp4');
  const frames = Array.from({ length: 40 }, (_, i) => new Uint8Array(32 * 32 * 3).fill(i < 20 ? 200 : 40));
  await encodeRawVideo(frames, { width: 32, height: 32, fps: 2, outPath: video });
  const mineDir = path.join(dir, 'mine');
  await mkdir(mineDir);
  const row = (cls: string, sentence: string, t: number, s = 0.9) =>
    JSON.stringify({
      id: `a#${t}#${cls}`,
      movie: 'a',
      video,
      class: cls,
      score: s,
      sentence,
      t_center: t,
      t_start: Math.max(0, t - 5),
      t_end: Math.min(20, t + 5),
    });
  await writeFile(
    path.join(mineDir, 'clips.jsonl'),
    `${[
      row('phone', 'Pick up the <b>phone</b>.', 3),
      row('drive', 'Drive the car to the phone.', 12),
      row('phone', 'Drive the car to the phone.', 12, 0.7),
      JSON.stringify({
        id: 'gone#1#phone',
        movie: 'gone',
        video: path.join(dir, 'gone.mp4'),
        class: 'phone',
        score: 1,
        sentence: 'x',
        t_center: 1,
        t_start: 0,
        t_end: 2,
      }),
    ].join('\n')}\n`,
  );
  mining = { stage: 'mining', kind: 'captions.mine', key: 'm', dir: mineDir, outputs: { clips: 'clips.jsonl' } };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('clips.extract', () => {
  it('mirrors its schema file', () => {
    const file = path.join(repoRoot, 'schemas/stages/clips.extract.schema.json');
    expect(readFileSync(file, 'utf8')).toBe(`${JSON.stringify(stageSchemaDocument(kind), null, 2)}\n`);
  });

  it('merges classes mined from one sentence into one multi-label clip', () => {
    const reqs = toClipRequests([
      {
        id: 'm#1#a',
        movie: 'm',
        video: '/v.mp4',
        class: 'a',
        score: 0.9,
        sentence: 's',
        t_center: 5,
        t_start: 0,
        t_end: 10,
      },
      {
        id: 'm#1#b',
        movie: 'm',
        video: '/v.mp4',
        class: 'b',
        score: 0.6,
        sentence: 's',
        t_center: 5,
        t_start: 0,
        t_end: 10,
      },
    ]);
    expect(reqs).toEqual([
      {
        id: 'm#1',
        video: '/v.mp4',
        start: 0,
        end: 10,
        labels: ['a', 'b'],
        meta: { movie: 'm', sentence: 's', t_center: 5, score: 0.9, scores: { a: 0.9, b: 0.6 } },
      },
    ]);
  });

  it('writes shards and a contact sheet per class; a missing video is skipped and listed', async () => {
    const out = path.join(dir, 'out');
    await mkdir(out);
    const { ctx, metrics, artifacts } = ctxFor({}, [mining], out);
    const r = await kind.run(ctx);
    expect(r.outputs).toMatchObject({
      shards: 'shards',
      contact_sheet: 'contact/index.html',
      clips: 2,
      skipped: 1,
      frames: 4,
      size: 24,
      per_class: { phone: 2, drive: 1 },
    });
    expect((r.outputs!.skipped_list as { id: string; reason: string }[])[0]!.reason).toContain('gone.mp4');
    expect(metrics).toMatchObject({ 'clips.extracted': 2, 'clips.skipped': 1, 'clips.skipped_videos': 1 });
    expect(r.skipped).toEqual([
      { item: path.join(dir, 'gone.mp4'), reason: expect.stringContaining('all of 1 clip(s) skipped: ') },
    ]);
    const shards = path.join(out, 'shards');
    const index = await readShardIndex(shards);
    expect(index.clips.map((c) => c.labels)).toEqual([['phone'], ['drive', 'phone']]);
    // First clip covers the bright half of the movie, the second the dark half.
    const a = await readClip(shards, index.clips[0]!);
    const b = await readClip(shards, index.clips[1]!);
    expect(a[0]!).toBeGreaterThan(150);
    expect(b[b.length - 1]!).toBeLessThan(90);
    const html = await readFile(path.join(out, 'contact', 'index.html'), 'utf8');
    expect(html).toContain('Pick up the &lt;b&gt;phone&lt;/b&gt;.');
    expect(html).toContain('phone.png');
    const png = PNG.sync.read(await readFile(path.join(out, 'contact', 'phone.png')));
    expect(png.width).toBeGreaterThanOrEqual(2 * 24);
    expect(artifacts).toContain('contact/index.html');
  });

  it('every clip from broken videos (0-byte, random bytes): EXP_CORPUS_UNUSABLE naming the videos', async () => {
    const bad = path.join(dir, 'broken');
    await mkdir(bad);
    const empty = path.join(bad, 'empty.mp4');
    const noise = path.join(bad, 'noise.mkv');
    await writeFile(empty, '');
    await writeFile(noise, Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 31) % 256)));
    const row = (video: string, t: number) =>
      JSON.stringify({
        id: `${path.basename(video)}#${t}`,
        movie: 'x',
        video,
        class: 'phone',
        score: 1,
        sentence: `s${t}`,
        t_center: t,
        t_start: t - 1,
        t_end: t + 1,
      });
    const mineDir = path.join(bad, 'mine');
    await mkdir(mineDir);
    await writeFile(path.join(mineDir, 'clips.jsonl'), `${[row(empty, 2), row(empty, 5), row(noise, 3)].join('\n')}\n`);
    const out = path.join(bad, 'out');
    await mkdir(out);
    const input: StageInput = { ...mining, dir: mineDir };
    const err = await kind.run(ctxFor({}, [input], out).ctx).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'EXP_CORPUS_UNUSABLE' });
    expect((err as Error).message).toContain('none of the 3 clip(s) could be decoded, from 2 video(s)');
    expect((err as Error).message).toContain(empty);
    expect((err as Error).message).toContain(noise);
  });

  it('says which upstream it needs', async () => {
    const out = path.join(dir, 'out2');
    await mkdir(out);
    await expect(kind.run(ctxFor({}, [], out).ctx)).rejects.toMatchObject({
      code: 'EXP_INPUT_MISSING',
      message: expect.stringContaining('captions.mine'),
    });
  });
});
