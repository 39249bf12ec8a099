import { mkdtemp, rm, truncate, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../ml/backend.ts';
import { openClipSet } from './datasets/clip-batches.ts';
import { clipsPerClass, writeTestShards } from '../../test/helpers/video-shards.ts';
import { defaultLrSteps, learningRateAt, trainVideoClassifier } from './train.ts';
import type { EpochStats } from './train.ts';
import { finetuneVideoClassifier, sampleKPerClass } from './finetune.ts';
import { apReport, scoreClips } from './evaluate.ts';
import { loadVideoModel } from './model/io.ts';
import type { VideoModelConfig } from './model/io.ts';

const CLASSES = ['drive', 'kiss', 'run'];
const tiny = (over: Partial<VideoModelConfig> = {}): VideoModelConfig => ({
  arch: 's3dg',
  width: 0.125,
  frames: 4,
  size: 32,
  classes: CLASSES,
  loss: 'softmax',
  ...over,
});

let dir: string;
let shards: string;

beforeAll(async () => {
  // wasm unless `make native-check` runs this file on the native backend (EXP_TF_BACKEND=node).
  const want = process.env.EXP_TF_BACKEND === 'node' ? 'node' : 'wasm';
  expect(await initBackend(want)).toBe(want);
  dir = await mkdtemp(path.join(os.tmpdir(), 'video-train-'));
  shards = path.join(dir, 'shards');
  await writeTestShards(shards, clipsPerClass(CLASSES, 4), { frames: 6, size: 36, classes: CLASSES, perShard: 5 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('trainVideoClassifier', () => {
  it('logs loss/accuracy per epoch, checkpoints each epoch, and a killed run resumes from its last checkpoint', async () => {
    const data = await openClipSet(shards);
    const ck = path.join(dir, 'ck-resume');
    const base = {
      data,
      model: tiny(),
      epochs: 2,
      batchSize: 4,
      optimizer: 'sgd' as const,
      lr: 0.05,
      seed: 3,
      checkpointDir: ck,
    };
    const ctrl = new AbortController();
    const seen: EpochStats[] = [];
    await expect(
      trainVideoClassifier({
        ...base,
        signal: ctrl.signal,
        onEpoch: (s) => {
          seen.push(s);
          ctrl.abort(new Error('killed'));
        },
      }),
    ).rejects.toThrow('killed');
    expect(seen).toHaveLength(1);
    expect(existsSync(path.join(ck, 'model.json'))).toBe(true);
    const state = JSON.parse(await readFile(path.join(ck, 'state.json'), 'utf8'));
    expect(state.epoch).toBe(1);

    const logs: string[] = [];
    const res = await trainVideoClassifier({ ...base, log: (m) => logs.push(m) });
    expect(res.resumedAt).toBe(1);
    expect(logs.some((l) => l.includes('resuming'))).toBe(true);
    expect(res.history.map((h) => h.epoch)).toEqual([1, 2]);
    expect(res.history[0]).toEqual(seen[0]);
    for (const h of res.history) {
      expect(Number.isFinite(h.loss)).toBe(true);
      expect(h.accuracy).toBeGreaterThanOrEqual(0);
      expect(h.clips).toBe(12);
    }
    const loaded = await loadVideoModel(ck);
    expect(loaded.config.classes).toEqual(CLASSES);
    loaded.model.dispose();
    res.model.dispose();
  });

  it('skips a clip of a truncated shard with a warning and trains on the rest', async () => {
    const bad = path.join(dir, 'shards-bad');
    await writeTestShards(bad, clipsPerClass(CLASSES, 2), { frames: 4, size: 32, classes: CLASSES, perShard: 3 });
    // Cut the last shard in the middle of its only clip.
    await truncate(path.join(bad, 'shard-00001.bin'), 1000);
    const data = await openClipSet(bad);
    const warnings: string[] = [];
    const res = await trainVideoClassifier({
      data,
      model: tiny(),
      epochs: 1,
      batchSize: 4,
      optimizer: 'sgd',
      lr: 0.01,
      seed: 1,
      checkpointDir: path.join(dir, 'ck-bad'),
      log: (m) => warnings.push(m),
    });
    expect(res.history[0]!.clips).toBe(3);
    expect(res.skipped).toHaveLength(3);
    expect(warnings.filter((w) => w.startsWith('warning')).join('\n')).toMatch(/kiss-1|run-0|run-1/);
    res.model.dispose();
  });

  it('refuses to start from a checkpoint of another width, naming the mismatch', async () => {
    const data = await openClipSet(shards);
    const other = path.join(dir, 'ck-wide');
    const a = await trainVideoClassifier({
      data,
      model: tiny({ width: 0.25 }),
      epochs: 1,
      batchSize: 12,
      optimizer: 'sgd',
      lr: 0.01,
      seed: 1,
      checkpointDir: other,
    });
    a.model.dispose();
    await expect(
      trainVideoClassifier({
        data,
        model: tiny(),
        epochs: 1,
        batchSize: 12,
        optimizer: 'sgd',
        lr: 0.01,
        seed: 1,
        init: other,
        checkpointDir: path.join(dir, 'ck-x'),
      }),
    ).rejects.toMatchObject({
      code: 'EXP_MODEL_MISMATCH',
      message: expect.stringContaining('width: checkpoint has 0.25, expected 0.125'),
    });
  });
});

describe('step schedule', () => {
  it('multiplies the rate by 0.1 after each step epoch', () => {
    expect(defaultLrSteps(10)).toEqual([6, 9]);
    expect(defaultLrSteps(1)).toEqual([]);
    expect([0, 5, 6, 8, 9].map((e) => learningRateAt(e, 1, [6, 9]))).toEqual([1, 1, 0.1, 0.1, 0.1 ** 2]);
  });
});

describe('fine-tuning', () => {
  const clips = CLASSES.flatMap((c) =>
    Array.from({ length: 5 }, (_, i) => ({ id: `${c}${i}`, labels: [c], shard: 's', offset: 0, bytes: 0 })),
  );

  it('draws k examples per class deterministically by seed; k = 0 draws none', () => {
    const a = sampleKPerClass(clips, CLASSES, 2, 7);
    expect(a).toHaveLength(6);
    for (const c of CLASSES) expect(a.filter((x) => x.labels[0] === c)).toHaveLength(2);
    expect(sampleKPerClass(clips, CLASSES, 2, 7)).toEqual(a);
    const seeds = new Set(
      [1, 2, 3, 4, 5, 6].map((s) =>
        sampleKPerClass(clips, CLASSES, 2, s)
          .map((x) => x.id)
          .join(),
      ),
    );
    expect(seeds.size).toBeGreaterThan(1);
    expect(sampleKPerClass(clips, CLASSES, 0, 7)).toEqual([]);
    expect(sampleKPerClass(clips, CLASSES, 100, 7)).toHaveLength(15);
    expect(sampleKPerClass(clips, ['kiss'], 'all', 7).map((c) => c.id)).toEqual([
      'kiss0',
      'kiss1',
      'kiss2',
      'kiss3',
      'kiss4',
    ]);
  });

  it('keeps the classifier rows of shared classes; k = 0 evaluates the initial model, a class without training data is reported', async () => {
    const data = await openClipSet(shards);
    const pre = path.join(dir, 'ck-pre');
    const p = await trainVideoClassifier({
      data,
      model: tiny({ classes: ['drive', 'kiss'] }),
      clips: data.index.clips.filter((c) => c.labels[0] !== 'run'),
      epochs: 1,
      batchSize: 8,
      optimizer: 'sgd',
      lr: 0.01,
      seed: 1,
      checkpointDir: pre,
    });
    p.model.dispose();
    const logs: string[] = [];
    const ft = await finetuneVideoClassifier({
      data,
      model: tiny(),
      k: 0,
      batchSize: 4,
      optimizer: 'sgd',
      lr: 0.01,
      seed: 1,
      init: pre,
      checkpointDir: path.join(dir, 'ck-ft0'),
      log: (m) => logs.push(m),
    });
    expect(ft.examples).toBe(0);
    expect(logs.join()).toMatch(/carried for 2 classes, fresh for 1/);
    const scores = await scoreClips(ft.model, tiny(), data);
    const rep = apReport(scores, ['drive', 'kiss'], CLASSES);
    expect(rep.untrained).toEqual(['run']);
    const run = rep.perClass.find((c) => c.class === 'run')!;
    expect(run.trained).toBe(false);
    // Constant scores: AP equals the class's share of the clips.
    expect(run.ap).toBeCloseTo(4 / 12, 6);
    ft.model.dispose();

    const ft2 = await finetuneVideoClassifier({
      data,
      model: tiny(),
      k: 1,
      batchSize: 4,
      optimizer: 'sgd',
      lr: 0.01,
      seed: 1,
      init: pre,
      checkpointDir: path.join(dir, 'ck-ft1'),
    });
    expect(ft2.examples).toBe(3);
    expect(ft2.history).toHaveLength(1);
    ft2.model.dispose();
  });
});
