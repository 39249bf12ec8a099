// S3D-G (Xie et al., "Rethinking Spatiotemporal Feature Learning", ECCV 2018): the Inception-v1
// (I3D) layout with every 3×3×3 / 7×7×7 convolution made separable (1×k×k then k×1×1) and
// feature gating after Conv_2c and on every Inception branch (as the authors' TF-slim s3dg.py).
// `width` scales every channel count, `frames` / `size` set the clip, so the same code gives the
// full network (64×224×224, channels 64…1024) and a tiny one that trains on a CPU.
import { tf } from '../../ml/backend.ts';
import type * as tfjs from '@tensorflow/tfjs';
import { bnCalibration, ChannelConcat, ConvUnit, GlobalAvgPool3D, MaxPoolST, SelfGating } from './layers.ts';

export interface S3dgConfig {
  arch: 's3dg';
  /** Channel multiplier (1 = the published network). */
  width: number;
  /** Frames T per clip. */
  frames: number;
  /** Frame side S (square S×S RGB). */
  size: number;
  /** Number of output classes. */
  numClasses: number;
  /** Dropout before the classifier (paper: 0.5 in I3D/S3D training recipes). */
  dropout?: number;
}

/** Inception block channels: [1×1, 3×3 reduce, 3×3, 3×3 reduce, 3×3, pool proj] (Szegedy et al. 2015, Table 1). */
export type InceptionChannels = readonly [number, number, number, number, number, number];

/** The Mixed blocks of Inception-v1 / I3D / S3D-G, in order, with the pools between them. */
export const S3DG_LAYOUT: ReadonlyArray<
  { name: string; channels: InceptionChannels } | { name: string; pool: [number, number, number, number] }
> = [
  { name: 'MaxPool_3a', pool: [1, 3, 1, 2] },
  { name: 'Mixed_3b', channels: [64, 96, 128, 16, 32, 32] },
  { name: 'Mixed_3c', channels: [128, 128, 192, 32, 96, 64] },
  { name: 'MaxPool_4a', pool: [3, 3, 2, 2] },
  { name: 'Mixed_4b', channels: [192, 96, 208, 16, 48, 64] },
  { name: 'Mixed_4c', channels: [160, 112, 224, 24, 64, 64] },
  { name: 'Mixed_4d', channels: [128, 128, 256, 24, 64, 64] },
  { name: 'Mixed_4e', channels: [112, 144, 288, 32, 64, 64] },
  { name: 'Mixed_4f', channels: [256, 160, 320, 32, 128, 128] },
  { name: 'MaxPool_5a', pool: [2, 2, 2, 2] },
  { name: 'Mixed_5b', channels: [256, 160, 320, 32, 128, 128] },
  { name: 'Mixed_5c', channels: [384, 192, 384, 48, 128, 128] },
];

export function scaledChannels(c: number, width: number): number {
  return Math.max(1, Math.round(c * width));
}

type Sym = tfjs.SymbolicTensor;

function apply(layer: tfjs.layers.Layer, x: Sym | Sym[]): Sym {
  return layer.apply(x) as Sym;
}

/** 1×k×k then k×1×1 (both with BN + ReLU), the separable 3D convolution of S3D. */
function sepConv(x: Sym, name: string, filters: number, k: number, stride: [number, number] = [1, 1]): Sym {
  const s = apply(new ConvUnit({ name: `${name}_spatial`, filters, kt: 1, ks: k, ss: stride[1] }), x);
  return apply(new ConvUnit({ name: `${name}_temporal`, filters, kt: k, ks: 1, st: stride[0] }), s);
}

function unit1(x: Sym, name: string, filters: number): Sym {
  return apply(new ConvUnit({ name, filters, kt: 1, ks: 1 }), x);
}

function gate(x: Sym, name: string): Sym {
  return apply(new SelfGating({ name: `${name}_gating` }), x);
}

function inception(x: Sym, name: string, ch: InceptionChannels, width: number): Sym {
  const [c0, c1a, c1b, c2a, c2b, c3] = ch.map((c) => scaledChannels(c, width)) as unknown as InceptionChannels;
  const b0 = gate(unit1(x, `${name}_b0`, c0), `${name}_b0`);
  const b1 = gate(sepConv(unit1(x, `${name}_b1a`, c1a), `${name}_b1b`, c1b, 3), `${name}_b1`);
  const b2 = gate(sepConv(unit1(x, `${name}_b2a`, c2a), `${name}_b2b`, c2b, 3), `${name}_b2`);
  const pooled = apply(new MaxPoolST({ name: `${name}_b3pool`, kt: 3, ks: 3, st: 1, ss: 1 }), x);
  const b3 = gate(unit1(pooled, `${name}_b3b`, c3), `${name}_b3`);
  return apply(new ChannelConcat({ name: `${name}_concat` }), [b0, b1, b2, b3]);
}

export function validateS3dgConfig(cfg: S3dgConfig): void {
  if (cfg.arch !== 's3dg') throw new Error(`unknown video architecture ${String(cfg.arch)}`);
  for (const [k, v] of Object.entries({
    width: cfg.width,
    frames: cfg.frames,
    size: cfg.size,
    numClasses: cfg.numClasses,
  })) {
    if (!(Number.isFinite(v) && v > 0)) throw new Error(`S3D-G ${k} must be positive, got ${v}`);
  }
}

/** Build S3D-G as a tfjs LayersModel: input [B, T, S, S, 3] in [-1, 1], output class logits. */
export function buildS3dg(cfg: S3dgConfig): tfjs.LayersModel {
  validateS3dgConfig(cfg);
  const w = cfg.width;
  const input = tf.input({ shape: [cfg.frames, cfg.size, cfg.size, 3], name: 'clip' });
  // Conv_1a: separable 7×7×7, stride 2 in time and space.
  let x = sepConv(input, 'Conv_1a', scaledChannels(64, w), 7, [2, 2]);
  x = apply(new MaxPoolST({ name: 'MaxPool_2a', kt: 1, ks: 3, st: 1, ss: 2 }), x);
  x = unit1(x, 'Conv_2b', scaledChannels(64, w));
  x = sepConv(x, 'Conv_2c', scaledChannels(192, w), 3);
  x = gate(x, 'Conv_2c');
  for (const block of S3DG_LAYOUT) {
    if ('pool' in block) {
      const [kt, ks, st, ss] = block.pool;
      x = apply(new MaxPoolST({ name: block.name, kt, ks, st, ss }), x);
    } else {
      x = inception(x, block.name, block.channels, w);
    }
  }
  // Head: average over the remaining time and space, dropout, a linear classifier (the paper's
  // 1×1×1 logits conv followed by averaging over time is the same linear map of the averages).
  let h = apply(new GlobalAvgPool3D({ name: 'AvgPool' }), x);
  h = apply(tf.layers.dropout({ name: 'Dropout', rate: cfg.dropout ?? 0.5 }), h);
  const logits = apply(tf.layers.dense({ name: 'Logits', units: cfg.numClasses }), h);
  return tf.model({ inputs: input, outputs: logits, name: 's3dg' });
}

/** Trainable parameter count (BN moving statistics excluded). */
export function countTrainableParams(model: tfjs.LayersModel): number {
  return model.trainableWeights.reduce((n, v) => n + v.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
}

/**
 * Re-estimate every batch norm's running statistics with the current weights from `batches`
 * (inference-mode forward passes; precise BN). `batches` yields input tensors it owns.
 */
export async function calibrateBatchNorm(
  model: tfjs.LayersModel,
  batches: AsyncIterable<tfjs.Tensor>,
): Promise<number> {
  const units = model.layers.filter((l): l is ConvUnit => l instanceof ConvUnit);
  units.forEach((u) => u.resetRunningStats());
  let n = 0;
  bnCalibration.active = true;
  try {
    for await (const x of batches) {
      tf.tidy(() => {
        model.predict(x);
      });
      x.dispose();
      n++;
    }
  } finally {
    bnCalibration.active = false;
    units.forEach((u) => u.finishCalibration());
  }
  return n;
}
