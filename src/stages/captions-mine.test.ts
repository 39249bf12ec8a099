import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../test/helpers/repo.ts';
import type { StageContext, StageInput } from '../plan/stage-kind.ts';
import { encodeRawVideo } from '../video/ffmpeg.ts';
import { kind, runCaptionsMine } from './captions-mine.ts';
import type { CaptionsMineParams, MineDeps } from './captions-mine.ts';
import { portsFor } from '../../test/helpers/ports.ts';
import { stageSchemaDocument } from '../plan/registry.ts';

let dir = '';
let world: StageInput;

function ctxFor(params: Partial<CaptionsMineParams>, inputs: StageInput[], outDir: string) {
  const logs: string[] = [];
  const metrics: Record<string, number> = {};
  const full: CaptionsMineParams = {
    method: 's2a',
    window_s: 10,
    min_score: 0.5,
    include_unkept: false,
    batch_size: 512,
    ...params,
  };
  const ctx: StageContext<CaptionsMineParams> = {
    params: full,
    inputs,
    ports: portsFor(kind, full, inputs),
    outDir,
    scratchDir: path.join(outDir, '..', 'scratch'),
    seed: 1,
    gpus: [],
    signal: new AbortController().signal,
    log: (m) => logs.push(m),
    progress: () => undefined,
    metric: (k, v) => (metrics[k] = v),
    artifact: () => undefined,
  };
  return { ctx, logs, metrics };
}

const SUBS =
  '1\n00:00:02,000 --> 00:00:04,000\nPick up the phone!\n\n2\n00:00:10,000 --> 00:00:12,000\nGet in the car and drive.\n\n3\n00:00:20,000 --> 00:00:22,000\nNothing happens here.\n';

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'exp-mine-stage-'));
  const movies = path.join(dir, 'world', 'movies');
  await mkdir(movies, { recursive: true });
  const f = new Uint8Array(16 * 16 * 3).fill(60);
  for (const name of ['m1', 'm2']) {
    await encodeRawVideo(
      Array.from({ length: 30 }, () => f),
      { width: 16, height: 16, fps: 1, outPath: path.join(movies, `${name}.mp4`) },
    );
    await writeFile(path.join(movies, `${name}.srt`), SUBS);
  }
  world = {
    stage: 'world',
    kind: 'demo.world',
    key: 'w',
    dir: path.join(dir, 'world', '..'),
    outputs: { movies: 'world/movies' },
  };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Injected text models: the spotter matches forms literally; the classifier reads one word per class. */
const deps: MineDeps = {
  async createKeywordSpotter(classes) {
    return (s) => classes.filter((c) => c.forms.some((f) => new RegExp(`\\b${f}\\b`, 'i').test(s))).map((c) => c.verb);
  },
  async loadSentenceClassifier(modelDir) {
    const classes = JSON.parse(readFileSync(path.join(modelDir, 'classes.json'), 'utf8')) as string[];
    return {
      classes,
      async predict(sentences) {
        const out = new Float32Array(sentences.length * classes.length);
        sentences.forEach((s, i) =>
          classes.forEach((c, j) => (out[i * classes.length + j] = s.toLowerCase().includes(c) ? 0.8 : 0.1)),
        );
        return out;
      },
    };
  },
};

describe('captions.mine', () => {
  it('mirrors its schema file', () => {
    const file = path.join(repoRoot, 'schemas/stages/captions.mine.schema.json');
    expect(readFileSync(file, 'utf8')).toBe(`${JSON.stringify(stageSchemaDocument(kind), null, 2)}\n`);
  });

  it('keyword: reads classes.json of pairs.build, writes clips.jsonl, yield.json, the yield chart (spec, SVG, PNG) and metrics', async () => {
    const pairsDir = path.join(dir, 'pairs');
    await mkdir(pairsDir, { recursive: true });
    await writeFile(
      path.join(pairsDir, 'classes.json'),
      JSON.stringify({
        classes: [
          { verb: 'phone', forms: ['phone'] },
          { verb: 'drive', forms: ['drive', 'drove'] },
          { verb: 'kiss', forms: ['kiss'] },
        ],
      }),
    );
    const out = path.join(dir, 'out-kw');
    await mkdir(out);
    const { ctx, metrics } = ctxFor(
      { method: 'keyword', max_per_class: 1 },
      [world, { stage: 'pairs', kind: 'pairs.build', key: 'p', dir: pairsDir, outputs: {} }],
      out,
    );
    const r = await runCaptionsMine(ctx, deps);
    expect(r.outputs).toMatchObject({
      clips: 'clips.jsonl',
      yield: 'yield.json',
      chart: 'yield.svg',
      count: 2,
      movies: 2,
    });
    const clips = (await readFile(path.join(out, 'clips.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(clips.map((c) => [c.movie, c.class, c.t_start, c.t_end])).toEqual([
      ['m1', 'phone', 0, 8],
      ['m1', 'drive', 6, 16],
    ]);
    expect(Object.keys(clips[0]!).sort()).toEqual([
      'class',
      'id',
      'movie',
      'score',
      'sentence',
      't_center',
      't_end',
      't_start',
      'video',
    ]);
    const y = JSON.parse(await readFile(path.join(out, 'yield.json'), 'utf8')) as {
      classes: { verb: string; candidates: number; clips: number }[];
    };
    expect(y.classes.map((c) => [c.verb, c.candidates, c.clips])).toEqual([
      ['phone', 2, 1],
      ['drive', 2, 1],
      ['kiss', 0, 0],
    ]);
    // Fig. 3 as a chart: one bar per class that mined a clip, largest first, each with its count.
    const spec = JSON.parse(await readFile(path.join(out, 'yield.vl.json'), 'utf8'));
    expect(spec.data.values).toEqual([
      { category: 'phone', value: 1 },
      { category: 'drive', value: 1 },
      { category: 'kiss', value: 0 },
    ]);
    const svg = await readFile(path.join(out, 'yield.svg'), 'utf8');
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('clips mined per class (keyword, 2 movies)');
    expect(PNG.sync.read(await readFile(path.join(out, 'yield.png'))).width).toBeGreaterThan(100);
    expect(metrics).toMatchObject({ 'mining.yield.phone': 1, 'mining.yield.kiss': 0, 'mining.clips': 2 });
  });

  it('s2a: takes thresholds from s2a.evaluate and the model from s2a.train; skips classes not kept', async () => {
    const trainDir = path.join(dir, 's2a');
    await mkdir(path.join(trainDir, 'model'), { recursive: true });
    await writeFile(path.join(trainDir, 'model', 'classes.json'), JSON.stringify(['phone', 'drive', 'car']));
    const evalDir = path.join(dir, 'eval');
    await mkdir(evalDir, { recursive: true });
    await writeFile(
      path.join(evalDir, 'thresholds.json'),
      JSON.stringify({
        method: 's2a',
        target_precision: 0.3,
        classes: [
          { verb: 'phone', ap: 0.5, threshold: 0.9, val_count: 3, kept: true },
          { verb: 'drive', ap: 0.5, threshold: 0.7, val_count: 3, kept: true },
          { verb: 'car', ap: 0.1, threshold: 0.2, val_count: 3, kept: false },
        ],
      }),
    );
    const out = path.join(dir, 'out-s2a');
    await mkdir(out);
    const inputs: StageInput[] = [
      { stage: 's2a_eval', kind: 's2a.evaluate', key: 'e', dir: evalDir, outputs: {} },
      { stage: 's2a', kind: 's2a.train', key: 't', dir: trainDir, outputs: { model: 'model' } },
    ];
    const { ctx, logs } = ctxFor({ method: 's2a', movies: path.join(dir, 'world', 'movies') }, inputs, out);
    const r = await runCaptionsMine(ctx, deps);
    // phone needs 0.9 (scores are 0.8): none; drive 0.7: both movies; car not kept.
    const clips = (await readFile(path.join(out, 'clips.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { class: string; score: number });
    expect(clips.map((c) => c.class)).toEqual(['drive', 'drive']);
    expect(clips[0]!.score).toBeCloseTo(0.8);
    expect(r.outputs.count).toBe(2);
    expect(logs.some((l) => /not mined.*car/.test(l))).toBe(true);
    // An override lowers phone's threshold.
    const out2 = path.join(dir, 'out-s2a-2');
    await mkdir(out2);
    const again = ctxFor(
      { method: 's2a', movies: path.join(dir, 'world', 'movies'), thresholds: { phone: 0.5 } },
      inputs,
      out2,
    );
    expect((await runCaptionsMine(again.ctx, deps)).outputs.count).toBe(4);
  });

  it('kind.run mines with the real keyword spotter of the text room', async () => {
    const verbsDir = path.join(dir, 'verbs');
    await mkdir(verbsDir, { recursive: true });
    await writeFile(
      path.join(verbsDir, 'verbs.json'),
      JSON.stringify({
        classes: [
          { verb: 'drive', count: 9, forms: ['drive', 'drives', 'drove', 'driving', 'driven'] },
          { verb: 'pick', count: 5, forms: ['pick up'] },
        ],
        dropped_top: [],
        min_count: 1,
        drop_top: 0,
      }),
    );
    const out = path.join(dir, 'out-kind');
    await mkdir(out);
    const { ctx, metrics } = ctxFor(
      { method: 'keyword', window_s: 4 },
      [world, { stage: 'verbs', kind: 'verbs.mine', key: 'v', dir: verbsDir, outputs: {} }],
      out,
    );
    const r = await kind.run(ctx);
    expect(r.outputs).toMatchObject({ count: 4, movies: 2 });
    expect(metrics).toMatchObject({ 'mining.yield.drive': 2, 'mining.yield.pick': 2 });
    const first = JSON.parse((await readFile(path.join(out, 'clips.jsonl'), 'utf8')).split('\n')[0]!) as Record<
      string,
      unknown
    >;
    expect(first).toMatchObject({
      movie: 'm1',
      class: 'pick',
      sentence: 'Pick up the phone!',
      t_center: 3,
      t_start: 1,
      t_end: 5,
    });
  });

  it('kind.run names what is missing: no verb classes upstream, or no corpus', async () => {
    const out = path.join(dir, 'out-missing');
    await mkdir(out);
    await expect(kind.run(ctxFor({ method: 'keyword' }, [world], out).ctx)).rejects.toMatchObject({
      code: 'EXP_INPUT_MISSING',
      message: expect.stringMatching(/pairs\.build or verbs\.mine/),
    });
    await expect(kind.run(ctxFor({ method: 'keyword' }, [], out).ctx)).rejects.toMatchObject({
      code: 'EXP_INPUT_MISSING',
      message: expect.stringMatching(/movie corpus/),
    });
    await expect(kind.run(ctxFor({ method: 's2a' }, [world], out).ctx)).rejects.toMatchObject({
      code: 'EXP_INPUT_MISSING',
      message: expect.stringMatching(/s2a\.train/),
    });
  });
});
