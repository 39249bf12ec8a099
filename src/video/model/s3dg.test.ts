import { beforeAll, describe, expect, it } from 'vitest';
import type * as tfjs from '@tensorflow/tfjs';
import { initBackend, tf } from '../../ml/backend.ts';
import { bnCalibration } from './layers.ts';
import { buildS3dg, calibrateBatchNorm, countTrainableParams, S3DG_LAYOUT } from './s3dg.ts';

beforeAll(async () => {
  // wasm unless `make native-check` runs this file on the native backend (EXP_TF_BACKEND=node).
  const want = process.env.EXP_TF_BACKEND === 'node' ? 'node' : 'wasm';
  expect(await initBackend(want)).toBe(want);
});

/**
 * Trainable parameters of S3D-G written out from the published layer table (Inception-v1 channel
 * table, Szegedy et al. 2015 Table 1, as used by I3D / S3D-G), independently of the model code:
 * - a separable k×k×k conv cin→cout = 1×k×k (k²·cin·cout) + BN (γ, β) + k×1×1 (k·cout²) + BN;
 * - a 1×1×1 conv = cin·cout + BN (γ, β);
 * - feature gating on C channels (Xie et al. eq. 1: W ∈ R^{C×C}, b ∈ R^C) = C² + C, applied
 *   after Conv_2c and on each of the four branches of every Mixed block;
 * - the classifier 1024·K + K.
 * For K = 400 (Kinetics) this is 9,545,056: 8,019,440 conv weights, 24,544 BN γ/β,
 * 1,090,672 gating, 410,400 classifier.
 */
function expectedParams(classes: number): number {
  const bn = (c: number) => 2 * c;
  const sep = (cin: number, cout: number, k: number) => k * k * cin * cout + bn(cout) + k * cout * cout + bn(cout);
  const pw = (cin: number, cout: number) => cin * cout + bn(cout);
  const gate = (c: number) => c * c + c;
  const table: Array<[number, number, number, number, number, number]> = [
    [64, 96, 128, 16, 32, 32], // Mixed_3b
    [128, 128, 192, 32, 96, 64], // Mixed_3c
    [192, 96, 208, 16, 48, 64], // Mixed_4b
    [160, 112, 224, 24, 64, 64], // Mixed_4c
    [128, 128, 256, 24, 64, 64], // Mixed_4d
    [112, 144, 288, 32, 64, 64], // Mixed_4e
    [256, 160, 320, 32, 128, 128], // Mixed_4f
    [256, 160, 320, 32, 128, 128], // Mixed_5b
    [384, 192, 384, 48, 128, 128], // Mixed_5c
  ];
  let n = sep(3, 64, 7) + pw(64, 64) + sep(64, 192, 3) + gate(192);
  let cin = 192;
  for (const [c0, c1a, c1b, c2a, c2b, c3] of table) {
    n += pw(cin, c0) + gate(c0);
    n += pw(cin, c1a) + sep(c1a, c1b, 3) + gate(c1b);
    n += pw(cin, c2a) + sep(c2a, c2b, 3) + gate(c2b);
    n += pw(cin, c3) + gate(c3);
    cin = c0 + c1b + c2b + c3;
  }
  expect(cin).toBe(1024);
  return n + cin * classes + classes;
}

describe('S3D-G', () => {
  it('full configuration (64×224×224, channels 64…1024): shapes and parameter count of the published layer table', () => {
    const model = buildS3dg({ arch: 's3dg', width: 1, frames: 64, size: 224, numClasses: 400 });
    try {
      const shape = (name: string) => model.getLayer(name).output as tfjs.SymbolicTensor;
      expect(shape('Conv_1a_temporal').shape).toEqual([null, 32, 112, 112, 64]);
      expect(shape('Conv_2c_gating').shape).toEqual([null, 32, 56, 56, 192]);
      expect(shape('Mixed_3c_concat').shape).toEqual([null, 32, 28, 28, 480]);
      expect(shape('Mixed_4f_concat').shape).toEqual([null, 16, 14, 14, 832]);
      expect(shape('Mixed_5c_concat').shape).toEqual([null, 8, 7, 7, 1024]);
      expect(model.outputs[0]!.shape).toEqual([null, 400]);
      expect(countTrainableParams(model)).toBe(expectedParams(400));
      expect(expectedParams(400)).toBe(9_545_056);
      expect(S3DG_LAYOUT.filter((b) => 'channels' in b)).toHaveLength(9);
    } finally {
      model.dispose();
    }
  });

  it('tiny configuration (width 0.25, 8×64×64) runs forward to one score row per clip', () => {
    const model = buildS3dg({ arch: 's3dg', width: 0.25, frames: 8, size: 64, numClasses: 5 });
    try {
      expect((model.getLayer('Mixed_5c_concat').output as tfjs.SymbolicTensor).shape).toEqual([null, 1, 2, 2, 256]);
      const y = tf.tidy(() => model.predict(tf.zeros([2, 8, 64, 64, 3])) as tfjs.Tensor);
      expect(y.shape).toEqual([2, 5]);
      expect(Array.from(y.dataSync()).every(Number.isFinite)).toBe(true);
      y.dispose();
    } finally {
      model.dispose();
    }
  });

  it('trains on the wasm backend: gradients reach every layer and a fixed batch is fitted', async () => {
    const model = buildS3dg({ arch: 's3dg', width: 0.125, frames: 4, size: 32, numClasses: 3, dropout: 0 });
    const x = tf.randomUniform([4, 4, 32, 32, 3], -1, 1, 'float32', 7);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0], 'int32'), 3);
    const before = model.getLayer('Conv_1a_spatial').getWeights()[0]!.clone();
    model.compile({
      optimizer: tf.train.adam(0.01),
      loss: (a: tfjs.Tensor, b: tfjs.Tensor) => tf.losses.softmaxCrossEntropy(a, b),
    });
    const losses: number[] = [];
    for (let i = 0; i < 15; i++) losses.push((await model.trainOnBatch(x, y)) as number);
    expect(losses.at(-1)!).toBeLessThan(0.6);
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);
    const after = model.getLayer('Conv_1a_spatial').getWeights()[0]!;
    expect(tf.sub(after, before).abs().max().dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([x, y, before]);
    model.dispose();
  });

  it('batch-norm calibration makes inference use the statistics of the calibration data', async () => {
    const model = buildS3dg({ arch: 's3dg', width: 0.125, frames: 4, size: 32, numClasses: 3 });
    const x = tf.randomUniform([3, 4, 32, 32, 3], -1, 1, 'float32', 3);
    const before = tf.tidy(() => (model.predict(x) as tfjs.Tensor).dataSync());
    bnCalibration.active = true;
    const withBatchStats = tf.tidy(() => (model.predict(x) as tfjs.Tensor).dataSync());
    bnCalibration.active = false;
    async function* one() {
      yield x.clone();
    }
    expect(await calibrateBatchNorm(model, one())).toBe(1);
    const after = tf.tidy(() => (model.predict(x) as tfjs.Tensor).dataSync());
    const diff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
      Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));
    expect(diff(after, withBatchStats)).toBeLessThan(1e-3);
    expect(diff(before, withBatchStats)).toBeGreaterThan(1e-3);
    x.dispose();
    model.dispose();
  });

  it('rejects a non-positive width', () => {
    expect(() => buildS3dg({ arch: 's3dg', width: 0, frames: 8, size: 64, numClasses: 2 })).toThrow(
      /width must be positive/,
    );
  });
});
