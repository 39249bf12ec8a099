// Scoring clips with a trained video classifier (centre crop, centre window) and the two
// benchmarks' numbers: per-class clip AP over a class list (AVA, Table 4) and top-1 accuracy
// (HMDB51). A benchmark class the model was never trained on keeps a constant score of 0: it is
// reported as untrained and its AP is still computed (it then equals the class's prevalence).
import type * as tfjs from '@tensorflow/tfjs';
import { tf } from '../ml/backend.ts';
import { accuracy } from '../ml/metrics.ts';
import type { ShardClip } from './shards.ts';
import { assertGeometry, cropClip, readClipOrWarn } from './datasets/clip-batches.ts';
import type { ClipSet } from './datasets/clip-batches.ts';
import { clipLevelAp } from './datasets/ava.ts';
import type { ClassAp } from './datasets/ava.ts';
import type { VideoModelConfig } from './model/io.ts';

export interface ClipScores {
  clips: ShardClip[];
  /** One row per readable clip, columns = `config.classes`, after softmax / sigmoid. */
  scores: Float32Array[];
  skipped: string[];
}

export async function scoreClips(
  model: tfjs.LayersModel,
  config: VideoModelConfig,
  data: ClipSet,
  opts: {
    clips?: ShardClip[];
    batchSize?: number;
    signal?: AbortSignal;
    warn?: (m: string) => void;
    onProgress?: (done: number, total: number) => void;
  } = {},
): Promise<ClipScores> {
  assertGeometry(data, config);
  const clips = opts.clips ?? data.index.clips;
  const batchSize = opts.batchSize ?? 8;
  const { frames: T, size: S } = config;
  const clipLen = T * S * S * 3;
  const src = { frames: data.index.frames, size: data.index.size };
  const out: ClipScores = { clips: [], scores: [], skipped: [] };
  const warn = (m: string) => {
    out.skipped.push(m);
    opts.warn?.(m);
  };
  const noRng = () => 0.5;
  for (let b = 0; b < clips.length; b += batchSize) {
    if (opts.signal?.aborted)
      throw opts.signal.reason instanceof Error ? opts.signal.reason : new Error('evaluation aborted');
    const part = clips.slice(b, b + batchSize);
    const xs = new Float32Array(part.length * clipLen);
    const ok: ShardClip[] = [];
    for (const clip of part) {
      const data8 = await readClipOrWarn(data, clip, warn);
      if (!data8) continue;
      cropClip(data8, src, config, 'eval', noRng, xs, ok.length * clipLen);
      ok.push(clip);
    }
    if (ok.length === 0) continue;
    const probs = tf.tidy(() => {
      const x = tf.tensor5d(xs.subarray(0, ok.length * clipLen), [ok.length, T, S, S, 3]);
      const logits = model.predict(x) as tfjs.Tensor;
      return config.loss === 'sigmoid' ? tf.sigmoid(logits) : tf.softmax(logits);
    });
    const flat = (await probs.data()) as Float32Array;
    probs.dispose();
    const k = config.classes.length;
    ok.forEach((clip, i) => {
      out.clips.push(clip);
      out.scores.push(flat.slice(i * k, (i + 1) * k));
    });
    opts.onProgress?.(Math.min(b + batchSize, clips.length), clips.length);
  }
  return out;
}

/** Re-index score rows from the model's classes onto `classes`; classes the model lacks score 0. */
export function alignScores(
  rows: readonly Float32Array[],
  modelClasses: readonly string[],
  classes: readonly string[],
): { rows: Float32Array[]; untrained: string[] } {
  const idx = classes.map((c) => modelClasses.indexOf(c));
  return {
    rows: rows.map((r) => Float32Array.from(idx, (i) => (i < 0 ? 0 : r[i]!))),
    untrained: classes.filter((_, j) => idx[j]! < 0),
  };
}

export interface ApReport {
  perClass: (ClassAp & { trained: boolean })[];
  mean: number;
  untrained: string[];
}

/** Clip-level AP of `scores` over `classes` (e.g. the 14 AVA classes of Table 4). */
export function apReport(scores: ClipScores, modelClasses: readonly string[], classes: readonly string[]): ApReport {
  const { rows, untrained } = alignScores(scores.scores, modelClasses, classes);
  const { perClass, mean } = clipLevelAp(
    classes,
    rows,
    scores.clips.map((c) => c.labels),
  );
  return { perClass: perClass.map((p) => ({ ...p, trained: !untrained.includes(p.class) })), mean, untrained };
}

/** Top-1 accuracy where a clip's first label is its class. */
export function top1Accuracy(scores: ClipScores, modelClasses: readonly string[], classes: readonly string[]): number {
  const { rows } = alignScores(scores.scores, modelClasses, classes);
  const predicted = rows.map((r) => {
    let best = 0;
    for (let j = 1; j < r.length; j++) if (r[j]! > r[best]!) best = j;
    return best;
  });
  const truth = scores.clips.map((c) => classes.indexOf(c.labels[0] ?? ''));
  return accuracy(predicted, truth);
}
