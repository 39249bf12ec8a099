// Frame shards (docs/CONTRACTS.md, src/video/shards.ts) → training / evaluation batches.
// Training takes a random T-frame window, a random S×S crop and a random horizontal flip;
// evaluation takes the centre window and centre crop (the usual video recipe, e.g. S3D-G §6).
// Pixels go to [-1, 1] as in the S3D-G / I3D training code.
import { readClip, readShardIndex } from '../shards.ts';
import type { ShardClip, ShardIndex } from '../shards.ts';
import { ExpError, isExpError } from '../../errors.ts';
import { mulberry32, shuffleInPlace } from '../../random.ts';

export interface ClipSet {
  dir: string;
  index: ShardIndex;
}

export interface ClipGeometry {
  frames: number;
  size: number;
}

/** Crops and samples repeat with the seed. */
export const makeRng = mulberry32;
export { shuffleInPlace };

export async function openClipSet(dir: string): Promise<ClipSet> {
  return { dir, index: await readShardIndex(dir) };
}

/** Check that shards of T×S clips can feed a model of `want` frames and size. */
export function assertGeometry(set: ClipSet, want: ClipGeometry): void {
  const { frames, size } = set.index;
  if (frames < want.frames || size < want.size) {
    throw new ExpError(
      'EXP_DATA_INVALID',
      `shards in ${set.dir} hold ${frames} frames of ${size}×${size}, the model needs at least ${want.frames} frames of ${want.size}×${want.size}`,
      {
        hint: `extract clips with frames ≥ ${want.frames} and size ≥ ${want.size}, or lower the model's frames/size`,
        detail: { dir: set.dir },
      },
    );
  }
}

/**
 * Read one clip; a missing or truncated shard yields undefined and a warning naming the clip
 * (one bad clip never stops the corpus).
 */
export async function readClipOrWarn(
  set: ClipSet,
  clip: ShardClip,
  warn: (m: string) => void,
): Promise<Uint8Array | undefined> {
  const expected = set.index.frames * set.index.size * set.index.size * 3;
  try {
    const data = await readClip(set.dir, clip);
    if (data.length !== expected) {
      warn(`skipping clip ${clip.id}: ${data.length} bytes in ${clip.shard}, expected ${expected}`);
      return undefined;
    }
    return data;
  } catch (e) {
    if (isExpError(e)) {
      warn(`skipping clip ${clip.id}: ${e.message}`);
      return undefined;
    }
    throw e;
  }
}

/**
 * Write one clip (T0×S0×S0×3 uint8) into `out` at `at` as T×S×S×3 floats in [-1, 1].
 * `mode` train: random window/crop/flip from `rng`; eval: centre.
 */
export function cropClip(
  src: Uint8Array,
  srcGeom: ClipGeometry,
  want: ClipGeometry,
  mode: 'train' | 'eval',
  rng: () => number,
  out: Float32Array,
  at: number,
): void {
  const { frames: T0, size: S0 } = srcGeom;
  const { frames: T, size: S } = want;
  const pick = (room: number) => (mode === 'train' ? Math.floor(rng() * (room + 1)) : Math.floor(room / 2));
  const t0 = pick(T0 - T);
  const y0 = pick(S0 - S);
  const x0 = pick(S0 - S);
  const flip = mode === 'train' && rng() < 0.5;
  let o = at;
  for (let t = 0; t < T; t++) {
    const frameBase = (t0 + t) * S0 * S0 * 3;
    for (let y = 0; y < S; y++) {
      const rowBase = frameBase + (y0 + y) * S0 * 3;
      for (let x = 0; x < S; x++) {
        const sx = flip ? x0 + S - 1 - x : x0 + x;
        const p = rowBase + sx * 3;
        out[o++] = src[p]! / 127.5 - 1;
        out[o++] = src[p + 1]! / 127.5 - 1;
        out[o++] = src[p + 2]! / 127.5 - 1;
      }
    }
  }
}

/** Classes of a clip set: sorted union of clip labels, optionally restricted to `only`. */
export function classesOf(index: ShardIndex, only?: readonly string[]): string[] {
  const all = new Set(index.clips.flatMap((c) => c.labels));
  const list = only?.length ? only.filter((c) => all.has(c)) : [...all];
  return only?.length ? list : list.sort();
}

/**
 * Target rows for `clips`: softmax → the label distribution (uniform over a clip's labels);
 * sigmoid → multi-hot. Labels outside `classes` are ignored.
 */
export function targetsFor(
  labels: readonly (readonly string[])[],
  classes: readonly string[],
  loss: 'softmax' | 'sigmoid',
): Float32Array {
  const k = classes.length;
  const col = new Map(classes.map((c, i) => [c, i]));
  const out = new Float32Array(labels.length * k);
  labels.forEach((ls, r) => {
    const idx = [...new Set(ls.map((l) => col.get(l)).filter((i): i is number => i !== undefined))];
    for (const i of idx) out[r * k + i] = loss === 'softmax' ? 1 / idx.length : 1;
  });
  return out;
}
