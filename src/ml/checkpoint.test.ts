import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as tfjs from '@tensorflow/tfjs';
import { initBackend, tf } from './backend.ts';
import {
  assertCheckpointMatches,
  hasCheckpoint,
  loadCheckpoint,
  readCheckpointConfig,
  restoreOptimizer,
  saveCheckpoint,
} from './checkpoint.ts';

let dir = '';
beforeAll(async () => {
  // wasm unless `make native-check` runs this file on the native backend (EXP_TF_BACKEND=node).
  const want = process.env.EXP_TF_BACKEND === 'node' ? 'node' : 'wasm';
  expect(await initBackend(want)).toBe(want);
  dir = await mkdtemp(path.join(os.tmpdir(), 'ckpt-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function tinyModel() {
  const m = tf.sequential();
  m.add(tf.layers.dense({ inputShape: [3], units: 4, activation: 'relu' }));
  m.add(tf.layers.dense({ units: 2 }));
  return m;
}

describe('checkpoint folders', () => {
  it('round-trips weights, config and state through model.json + weights.bin + config.json', async () => {
    const m = tinyModel();
    const ck = path.join(dir, 'a');
    await saveCheckpoint(m, ck, { arch: 'mlp', width: 1, classes: ['x', 'y'] }, { state: { epoch: 3 } });
    expect((await readdir(ck)).sort()).toEqual(['config.json', 'model.json', 'state.json', 'weights.bin']);
    expect(hasCheckpoint(ck)).toBe(true);
    const { model, config, state } = await loadCheckpoint(ck, { arch: 'mlp', width: 1 });
    expect(config.classes).toEqual(['x', 'y']);
    expect(state).toEqual({ epoch: 3 });
    const x = tf.tensor2d([[1, -2, 0.5]]);
    expect(Array.from((model.predict(x) as tfjs.Tensor).dataSync())).toEqual(
      Array.from((m.predict(x) as tfjs.Tensor).dataSync()),
    );
    // Saving again replaces the folder (no leftovers of the temporary one).
    await saveCheckpoint(m, ck, { arch: 'mlp', width: 1 });
    expect((await readdir(dir)).filter((f) => f.startsWith('a'))).toEqual(['a']);
    expect(await readCheckpointConfig(ck)).toEqual({ arch: 'mlp', width: 1 });
  });

  it('another architecture or width → EXP_MODEL_MISMATCH naming each mismatch', async () => {
    const ck = path.join(dir, 'b');
    await saveCheckpoint(tinyModel(), ck, { arch: 's3dg', width: 0.5 });
    await expect(loadCheckpoint(ck, { arch: 's3dg', width: 0.25 })).rejects.toMatchObject({
      code: 'EXP_MODEL_MISMATCH',
      message: expect.stringContaining('width: checkpoint has 0.5, expected 0.25'),
    });
    expect(() => assertCheckpointMatches(ck, { arch: 'i3d', width: 1 }, { arch: 's3dg', width: 1 })).toThrow(
      /arch: checkpoint has "i3d", expected "s3dg"/,
    );
  });

  it('a folder without a checkpoint → EXP_INPUT_MISSING', async () => {
    await expect(readCheckpointConfig(path.join(dir, 'nothing'))).rejects.toMatchObject({ code: 'EXP_INPUT_MISSING' });
  });

  it('restores momentum slots so training continues exactly', async () => {
    const x = tf.tensor2d([
      [1, 2, 3],
      [0, -1, 2],
    ]);
    const y = tf.tensor2d([
      [1, 0],
      [0, 1],
    ]);
    const a = tinyModel();
    const optA = tf.train.momentum(0.1, 0.9);
    a.compile({ optimizer: optA, loss: 'meanSquaredError' });
    await a.trainOnBatch(x, y);
    const ck = path.join(dir, 'c');
    await saveCheckpoint(a, ck, { arch: 'mlp' }, { optimizer: optA });
    const { model: b } = await loadCheckpoint(ck);
    const optB = tf.train.momentum(0.1, 0.9);
    b.compile({ optimizer: optB, loss: 'meanSquaredError' });
    expect(await restoreOptimizer(ck, optB)).toBe(true);
    expect(await restoreOptimizer(ck, tf.train.adam(0.1))).toBe(false);
    await a.trainOnBatch(x, y);
    await b.trainOnBatch(x, y);
    const wa = a.getWeights().map((w) => Array.from(w.dataSync()));
    const wb = b.getWeights().map((w) => Array.from(w.dataSync()));
    wa.forEach((w, i) => w.forEach((v, j) => expect(wb[i]![j]).toBeCloseTo(v, 6)));
  });
});
