import { mkdtemp, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { extractClipsToShards, iterateClips, readClip, readShardIndex } from './extract.ts';
import type { ClipRequest } from './extract.ts';
import { encodeRawVideo } from './ffmpeg.ts';

let dir = '';
let red = '';
let green = '';

function solid(w: number, h: number, c: [number, number, number]): Uint8Array {
  const f = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) f.set(c, i * 3);
  return f;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'exp-extract-'));
  red = path.join(dir, '-red film.mp4');
  green = path.join(dir, 'grün.mp4');
  await encodeRawVideo(
    Array.from({ length: 30 }, () => solid(64, 48, [220, 30, 30])),
    { width: 64, height: 48, fps: 10, outPath: red },
  );
  await encodeRawVideo(
    Array.from({ length: 30 }, () => solid(64, 48, [30, 200, 30])),
    { width: 64, height: 48, fps: 10, outPath: green },
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('extractClipsToShards', () => {
  it('writes T×S×S×3 bytes per clip, in request order, and skips bad clips with a reason', async () => {
    await writeFile(path.join(dir, 'junk.mp4'), 'not a video');
    const clips: ClipRequest[] = [
      { id: 'a', video: red, start: 0.5, end: 2.5, labels: ['run'], meta: { sentence: 'Run!' } },
      { id: 'b', video: green, start: -3, end: 2, labels: ['drive', 'run'] },
      { id: 'late', video: red, start: 10, end: 20, labels: ['run'] },
      { id: 'junk', video: path.join(dir, 'junk.mp4'), start: 0, end: 1, labels: ['run'] },
      { id: 'gone', video: path.join(dir, 'missing.mp4'), start: 0, end: 1, labels: ['run'] },
      { id: 'c', video: red, start: 2, end: 12, labels: ['phone'] },
    ];
    const out = path.join(dir, 'shards');
    const progress: number[] = [];
    const { index, skipped } = await extractClipsToShards(clips, out, {
      frames: 4,
      size: 16,
      concurrency: 2,
      onProgress: (d) => progress.push(d),
    });
    expect(index.frames).toBe(4);
    expect(index.size).toBe(16);
    expect(index.clips.map((c) => c.id)).toEqual(['a', 'b', 'c']);
    expect(skipped.map((s) => s.id)).toEqual(['late', 'junk', 'gone']);
    expect(skipped[0]!.reason).toMatch(/past the end/);
    expect(skipped[1]!.reason).toContain('junk.mp4');
    expect(progress.at(-1)).toBe(6);
    expect([...progress].sort((x, y) => x - y)).toEqual(progress);
    // Windows are clipped to the video: [-3, 2] → [0, 2]; [2, 12] → [2, 3].
    expect(index.clips[1]!.meta).toMatchObject({ start: 0, end: 2 });
    expect(index.clips[2]!.meta).toMatchObject({ start: 2, end: 3, video: red });
    expect(index.clips[0]!.meta).toMatchObject({ sentence: 'Run!' });

    const again = await readShardIndex(out);
    expect(again).toEqual(index);
    const a = await readClip(out, index.clips[0]!);
    expect(a.length).toBe(4 * 16 * 16 * 3);
    expect(a[0]!).toBeGreaterThan(150); // red
    expect(a[1]!).toBeLessThan(80);
    const b = await readClip(out, index.clips[1]!);
    expect(b[1]!).toBeGreaterThan(150); // green
    expect((await readdir(out)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('rolls over to a new shard at the size limit and skips a clip of a truncated shard on read', async () => {
    const out = path.join(dir, 'small-shards');
    const clips = [0, 1, 2].map((i) => ({ id: `k${i}`, video: red, start: i * 0.5, end: i * 0.5 + 1, labels: ['x'] }));
    const clipBytes = 2 * 8 * 8 * 3;
    const { index } = await extractClipsToShards(clips, out, { frames: 2, size: 8, maxShardBytes: clipBytes * 2 });
    expect(new Set(index.clips.map((c) => c.shard)).size).toBe(2);
    await truncate(path.join(out, index.clips[1]!.shard), clipBytes + 10);
    const warnings: string[] = [];
    const seen: string[] = [];
    for await (const { clip } of iterateClips(out, { onWarning: (m) => warnings.push(m) })) seen.push(clip.id);
    expect(seen).toEqual(['k0', 'k2']);
    expect(warnings[0]).toMatch(/k1.*truncated/);
    await expect(readClip(out, index.clips[1]!)).rejects.toMatchObject({ code: 'EXP_DATA_INVALID' });
  });

  it('says where the index should be when it is missing', async () => {
    await expect(readShardIndex(path.join(dir, 'nowhere'))).rejects.toMatchObject({
      code: 'EXP_INPUT_MISSING',
      hint: expect.stringMatching(/clips\.extract/),
    });
  });
});
