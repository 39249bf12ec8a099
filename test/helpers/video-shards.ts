// Test helper: write tiny frame shards in the clips.extract contract format (index.json +
// shard-NNNNN.bin, docs/CONTRACTS.md) without ffmpeg, so the video tests need no decoded video.
// Each class gets a distinct, easily learnt look (a background tint and a moving bar whose
// direction and speed depend on the class) plus noise.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ShardClip, ShardIndex } from '../../src/video/shards.ts';
import { makeRng } from '../../src/video/datasets/clip-batches.ts';

export interface SyntheticClip {
  id: string;
  labels: string[];
  meta?: Record<string, unknown>;
}

/** Pixels of a synthetic clip of class number `k` (T×S×S×3, frame-major). */
export function syntheticClip(k: number, frames: number, size: number, seed: number): Uint8Array {
  const rng = makeRng(seed);
  const out = new Uint8Array(frames * size * size * 3);
  for (let t = 0; t < frames; t++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const horizontal = k % 2 === 0;
        const pos = ((horizontal ? x : y) + t * (1 + (k >> 1))) % size;
        const on = pos < size / 4;
        const p = ((t * size + y) * size + x) * 3;
        const noise = Math.floor(rng() * 40);
        // Background tinted by class (channel k mod 3), a white moving bar on top.
        for (let ch = 0; ch < 3; ch++) out[p + ch] = on ? 215 + noise : (ch === k % 3 ? 140 : 20) + noise;
      }
    }
  }
  return out;
}

/** Write clips into `dir` (one shard per `perShard` clips); class number = index in `classes`. */
export async function writeTestShards(
  dir: string,
  clips: SyntheticClip[],
  opts: { frames: number; size: number; classes: string[]; perShard?: number; seed?: number },
): Promise<ShardIndex> {
  await mkdir(dir, { recursive: true });
  const perShard = opts.perShard ?? 16;
  const bytes = opts.frames * opts.size * opts.size * 3;
  const index: ShardIndex = { frames: opts.frames, size: opts.size, clips: [] };
  for (let s = 0; s * perShard < clips.length; s++) {
    const part = clips.slice(s * perShard, (s + 1) * perShard);
    const shard = `shard-${String(s).padStart(5, '0')}.bin`;
    const buf = new Uint8Array(part.length * bytes);
    part.forEach((c, i) => {
      const k = Math.max(0, opts.classes.indexOf(c.labels[0] ?? ''));
      buf.set(syntheticClip(k, opts.frames, opts.size, (opts.seed ?? 1) * 7919 + s * perShard + i), i * bytes);
      const entry: ShardClip = {
        id: c.id,
        labels: c.labels,
        shard,
        offset: i * bytes,
        bytes,
        ...(c.meta ? { meta: c.meta } : {}),
      };
      index.clips.push(entry);
    });
    await writeFile(path.join(dir, shard), buf);
  }
  await writeFile(path.join(dir, 'index.json'), JSON.stringify(index));
  return index;
}

/** `n` clips per class, ids `<class>-<i>`. */
export function clipsPerClass(classes: string[], n: number): SyntheticClip[] {
  return classes.flatMap((c) => Array.from({ length: n }, (_, i) => ({ id: `${c}-${i}`, labels: [c] })));
}
