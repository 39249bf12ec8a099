// Training a video classifier on frame shards (paper §5: S3D-G on mined clips).
// Softmax cross-entropy or one sigmoid per class (the paper tried both); SGD with momentum 0.9
// and a step schedule (×0.1 at the listed epochs) or Adam; random crop + flip; loss and top-1
// accuracy per epoch; a checkpoint (model, optimizer slots, epoch) after every epoch, and a
// training that finds a checkpoint of the same run in its checkpoint folder resumes from it.
import type * as tfjs from '@tensorflow/tfjs';
import { tf } from '../ml/backend.ts';
import { hasCheckpoint, readCheckpointConfig, loadCheckpoint, restoreOptimizer } from '../ml/checkpoint.ts';
import type { CheckpointConfig } from '../ml/checkpoint.ts';
import type { ShardClip } from './shards.ts';
import {
  cropClip,
  makeRng,
  readClipOrWarn,
  shuffleInPlace,
  targetsFor,
  assertGeometry,
} from './datasets/clip-batches.ts';
import type { ClipSet } from './datasets/clip-batches.ts';
import { buildVideoModel, initFromCheckpoint, saveVideoCheckpoint } from './model/io.ts';
import { calibrateBatchNorm } from './model/s3dg.ts';
import type { VideoLoss, VideoModelConfig } from './model/io.ts';

export type VideoOptimizer = 'sgd' | 'adam';

export interface EpochStats {
  epoch: number;
  loss: number;
  accuracy: number;
  lr: number;
  clips: number;
  seconds: number;
}

export interface TrainVideoOptions {
  data: ClipSet;
  /** Clips to train on (default: every clip of `data`). */
  clips?: ShardClip[];
  model: VideoModelConfig;
  epochs: number;
  batchSize: number;
  optimizer: VideoOptimizer;
  lr: number;
  /** Epochs (1-based, counted from the start) after which the SGD rate is multiplied by 0.1. */
  lrSteps?: number[];
  seed: number;
  /** Start from this checkpoint folder (weights by layer name, classifier rows by class name). */
  init?: string;
  /** Where the per-epoch checkpoint lives; a matching one found there is resumed. */
  checkpointDir: string;
  signal?: AbortSignal;
  log?: (message: string) => void;
  onEpoch?: (stats: EpochStats) => void;
  onProgress?: (done: number, total: number) => void;
  /**
   * Training clips (centre crops) used after each epoch to re-estimate the batch-norm statistics
   * with the epoch's final weights (default 256; 0 keeps the running averages).
   */
  calibrationClips?: number;
}

export interface TrainVideoResult {
  model: tfjs.LayersModel;
  history: EpochStats[];
  /** Epochs already done when this call started (0 = fresh start). */
  resumedAt: number;
  skipped: string[];
}

/** Default step schedule: ×0.1 after 60 % and 85 % of the epochs (none for 1–2 epochs). */
export function defaultLrSteps(epochs: number): number[] {
  if (epochs < 3) return [];
  return [...new Set([Math.round(epochs * 0.6), Math.round(epochs * 0.85)])].filter((e) => e > 0 && e < epochs);
}

export function learningRateAt(epoch: number, base: number, steps: readonly number[]): number {
  return base * 0.1 ** steps.filter((s) => epoch >= s).length;
}

function makeOptimizer(kind: VideoOptimizer, lr: number): tfjs.Optimizer {
  return kind === 'adam' ? tf.train.adam(lr) : tf.train.momentum(lr, 0.9);
}

function setLearningRate(opt: tfjs.Optimizer, lr: number): void {
  const o = opt as unknown as { setLearningRate?: (v: number) => void; learningRate: number };
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
}

export function lossFunction(loss: VideoLoss): (y: tfjs.Tensor, logits: tfjs.Tensor) => tfjs.Tensor {
  return loss === 'softmax'
    ? (y, p) => tf.losses.softmaxCrossEntropy(y, p)
    : (y, p) => tf.losses.sigmoidCrossEntropy(y, p);
}

/** Top-1 accuracy: the highest-scoring class is one of the clip's labels. */
function top1(y: tfjs.Tensor, logits: tfjs.Tensor): tfjs.Tensor {
  return tf.tidy(() => {
    const k = logits.shape[1]!;
    const hit = tf.oneHot(tf.argMax(logits, 1), k).mul(y.greater(0).cast('float32')).sum(1);
    return hit.greater(0).cast('float32');
  });
}

/** What identifies a training run: a checkpoint from another run is not resumed. */
function runFingerprint(o: TrainVideoOptions, clips: ShardClip[]): CheckpointConfig {
  return {
    epochs: o.epochs,
    batchSize: o.batchSize,
    optimizer: o.optimizer,
    lr: o.lr,
    seed: o.seed,
    init: o.init ?? null,
    clips: clips.length,
    firstClip: clips[0]?.id ?? null,
    lastClip: clips[clips.length - 1]?.id ?? null,
  };
}

/** Centre-crop input batches of `clips` (unreadable clips skipped through `warn`). */
export async function* evalBatches(
  data: ClipSet,
  clips: readonly ShardClip[],
  geom: { frames: number; size: number },
  batchSize: number,
  warn: (m: string) => void,
): AsyncGenerator<tfjs.Tensor> {
  const { frames: T, size: S } = geom;
  const clipLen = T * S * S * 3;
  const src = { frames: data.index.frames, size: data.index.size };
  for (let b = 0; b < clips.length; b += batchSize) {
    const part = clips.slice(b, b + batchSize);
    const xs = new Float32Array(part.length * clipLen);
    let n = 0;
    for (const clip of part) {
      const bytes = await readClipOrWarn(data, clip, warn);
      if (!bytes) continue;
      cropClip(bytes, src, geom, 'eval', () => 0.5, xs, n * clipLen);
      n++;
    }
    if (n > 0) yield tf.tensor5d(xs.subarray(0, n * clipLen), [n, T, S, S, 3]);
  }
}

export async function trainVideoClassifier(o: TrainVideoOptions): Promise<TrainVideoResult> {
  const log = o.log ?? (() => undefined);
  assertGeometry(o.data, o.model);
  const clips = (o.clips ?? o.data.index.clips).slice();
  const steps = o.lrSteps ?? (o.optimizer === 'sgd' ? defaultLrSteps(o.epochs) : []);
  const fingerprint = runFingerprint(o, clips);
  const skipped: string[] = [];
  const warn = (m: string) => {
    skipped.push(m);
    log(`warning: ${m}`);
  };

  let model: tfjs.LayersModel | undefined;
  const optimizer = makeOptimizer(o.optimizer, o.lr);
  let history: EpochStats[] = [];
  let start = 0;
  if (hasCheckpoint(o.checkpointDir)) {
    const cfg = await readCheckpointConfig(o.checkpointDir);
    const ck = await loadCheckpoint(o.checkpointDir);
    const sameModel =
      JSON.stringify([cfg.arch, cfg.width, cfg.frames, cfg.size, cfg.classes, cfg.loss]) ===
      JSON.stringify([o.model.arch, o.model.width, o.model.frames, o.model.size, o.model.classes, o.model.loss]);
    const sameRun = JSON.stringify(ck.state?.run) === JSON.stringify(fingerprint);
    if (sameModel && sameRun && typeof ck.state?.epoch === 'number') {
      model = ck.model;
      start = ck.state.epoch;
      history = (ck.state.history as unknown as EpochStats[]) ?? [];
      model.compile({ optimizer, loss: lossFunction(o.model.loss), metrics: [top1] });
      // Slots are matched to variables by order, which a rebuilt model keeps.
      const restored = await restoreOptimizer(o.checkpointDir, optimizer);
      log(`resuming from ${o.checkpointDir} after epoch ${start}${restored ? '' : ' (optimizer state not restored)'}`);
    } else {
      ck.model.dispose();
      log(`ignoring checkpoint in ${o.checkpointDir}: it belongs to another run`);
    }
  }
  if (!model) {
    if (o.init) {
      const init = await initFromCheckpoint(o.init, o.model);
      model = init.model;
      log(
        `initialised from ${o.init}: classifier rows carried for ${init.carried.length} classes, fresh for ${init.fresh.length}${init.fresh.length ? ` (${init.fresh.join(', ')})` : ''}`,
      );
    } else {
      model = buildVideoModel(o.model);
    }
    model.compile({ optimizer, loss: lossFunction(o.model.loss), metrics: [top1] });
  }

  const { frames: T, size: S } = o.model;
  const src = { frames: o.data.index.frames, size: o.data.index.size };
  const clipLen = T * S * S * 3;
  const batches = Math.ceil(clips.length / o.batchSize);
  for (let epoch = start; epoch < o.epochs; epoch++) {
    const lr = learningRateAt(epoch, o.lr, steps);
    setLearningRate(optimizer, lr);
    // The order and the crops depend only on (seed, epoch): a resumed run sees the same data.
    const rng = makeRng(o.seed * 1000003 + epoch);
    const order = shuffleInPlace(clips.slice(), rng);
    const t0 = Date.now();
    let lossSum = 0;
    let accSum = 0;
    let seen = 0;
    for (let b = 0; b < batches; b++) {
      if (o.signal?.aborted) throw o.signal.reason instanceof Error ? o.signal.reason : new Error('training aborted');
      const part = order.slice(b * o.batchSize, (b + 1) * o.batchSize);
      const xs = new Float32Array(part.length * clipLen);
      const labels: string[][] = [];
      for (const clip of part) {
        const data = await readClipOrWarn(o.data, clip, warn);
        if (!data) continue;
        cropClip(data, src, o.model, 'train', rng, xs, labels.length * clipLen);
        labels.push(clip.labels);
      }
      if (labels.length === 0) continue;
      const x = tf.tensor5d(xs.subarray(0, labels.length * clipLen), [labels.length, T, S, S, 3]);
      const y = tf.tensor2d(targetsFor(labels, o.model.classes, o.model.loss), [labels.length, o.model.classes.length]);
      const out = (await model.trainOnBatch(x, y)) as number[];
      x.dispose();
      y.dispose();
      lossSum += out[0]! * labels.length;
      accSum += out[1]! * labels.length;
      seen += labels.length;
      o.onProgress?.(epoch * batches + b + 1, o.epochs * batches);
    }
    const stats: EpochStats = {
      epoch: epoch + 1,
      loss: seen ? lossSum / seen : Number.NaN,
      accuracy: seen ? accSum / seen : Number.NaN,
      lr,
      clips: seen,
      seconds: (Date.now() - t0) / 1000,
    };
    history.push(stats);
    log(
      `epoch ${stats.epoch}/${o.epochs}: loss ${stats.loss.toFixed(4)}, accuracy ${stats.accuracy.toFixed(3)}, lr ${lr}, ${seen} clips in ${stats.seconds.toFixed(1)} s`,
    );
    o.onEpoch?.(stats);
    const calib = Math.min(o.calibrationClips ?? 256, clips.length);
    if (calib > 0)
      await calibrateBatchNorm(
        model,
        evalBatches(o.data, clips.slice(0, calib), o.model, o.batchSize, () => undefined),
      );
    await saveVideoCheckpoint(model, o.checkpointDir, o.model, {
      optimizer,
      state: { epoch: epoch + 1, run: fingerprint, history: history as unknown as CheckpointConfig[] },
    });
  }
  return { model, history, resumedAt: start, skipped };
}
