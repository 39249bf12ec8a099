// Few-shot fine-tuning (paper §5.2, Table 4): from a checkpoint, train on k labelled examples per
// class drawn deterministically by seed (k = 0: no training at all, the zero-shot row), or on all
// the labelled training data; the classification layer is kept (rows carried by class name), and
// the paper fine-tunes for one epoch.
import type { ShardClip } from './shards.ts';
import { makeRng, shuffleInPlace } from './datasets/clip-batches.ts';
import { trainVideoClassifier } from './train.ts';
import type { TrainVideoOptions, TrainVideoResult } from './train.ts';
import { buildVideoModel, initFromCheckpoint, saveVideoCheckpoint } from './model/io.ts';

/** FNV-1a of a string: mixes the class name into the seed. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * k clips per class (fewer when a class has fewer), drawn by `seed`; `k = 'all'` keeps every
 * clip labelled with one of `classes`. A multi-label clip drawn for one class also counts for
 * the others it carries. The result keeps the clips' original order.
 */
export function sampleKPerClass(
  clips: readonly ShardClip[],
  classes: readonly string[],
  k: number | 'all',
  seed: number,
): ShardClip[] {
  const wanted = new Set(classes);
  if (k === 'all') return clips.filter((c) => c.labels.some((l) => wanted.has(l)));
  if (!(k >= 0)) throw new Error(`k must be ≥ 0, got ${k}`);
  const chosen = new Set<number>();
  for (const cls of classes) {
    const candidates = clips.map((c, i) => (c.labels.includes(cls) ? i : -1)).filter((i) => i >= 0);
    shuffleInPlace(candidates, makeRng(seed ^ hash(cls)));
    for (const i of candidates.slice(0, k)) chosen.add(i);
  }
  return [...chosen].sort((a, b) => a - b).map((i) => clips[i]!);
}

export interface FinetuneOptions extends Omit<TrainVideoOptions, 'clips' | 'epochs'> {
  k: number | 'all';
  epochs?: number;
}

export interface FinetuneResult extends TrainVideoResult {
  examples: number;
}

/** Fine-tune (or, with no examples, just re-head) the model and leave a checkpoint in `checkpointDir`. */
export async function finetuneVideoClassifier(o: FinetuneOptions): Promise<FinetuneResult> {
  const examples = sampleKPerClass(o.data.index.clips, o.model.classes, o.k, o.seed);
  const log = o.log ?? (() => undefined);
  if (examples.length === 0) {
    const { model, carried, fresh } = o.init
      ? await initFromCheckpoint(o.init, o.model)
      : { model: buildVideoModel(o.model), carried: [], fresh: o.model.classes };
    log(
      `k = ${o.k}: no fine-tuning examples; the model is used as initialised (classifier rows carried for ${carried.length} classes, fresh for ${fresh.length})`,
    );
    await saveVideoCheckpoint(model, o.checkpointDir, o.model, { state: { epoch: 0 } });
    return { model, history: [], resumedAt: 0, skipped: [], examples: 0 };
  }
  log(`fine-tuning on ${examples.length} clips (k = ${o.k} per class, ${o.model.classes.length} classes)`);
  const res = await trainVideoClassifier({ ...o, clips: examples, epochs: o.epochs ?? 1 });
  return { ...res, examples: examples.length };
}
