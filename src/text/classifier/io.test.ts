import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isExpError } from '../../errors.ts';
import { tf, initBackend } from '../../ml/backend.ts';
import { forwardSparse, HeadScratch } from './head.ts';
import { headArtifacts, layersTopology, weightBuffer } from './head-format.ts';
import { loadSentenceClassifier, saveSentenceClassifier, trainSentenceClassifier } from './index.ts';

const fixture = path.resolve(import.meta.dirname, '../../../test/fixtures/s2a-classifier-v1');
const tmp = await mkdtemp(path.join(os.tmpdir(), 'exp-s2a-io-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('saved classifiers', () => {
  it('a model written by the earlier tfjs trainer (format exp.s2a-classifier/1) loads and predicts as it did', async () => {
    const expected = JSON.parse(await readFile(path.join(fixture, 'expected.json'), 'utf8')) as {
      sentences: string[];
      scores: number[];
    };
    const clf = await loadSentenceClassifier(fixture);
    expect(clf.classes).toEqual(['phone', 'open', 'run']);
    const scores = await clf.predict(expected.sentences);
    expected.scores.forEach((s, i) => expect(scores[i]).toBeCloseTo(s, 6));
  });

  it('an unknown format fails with EXP_MODEL_MISMATCH saying what to do', async () => {
    const dir = path.join(tmp, 'future');
    await cp(fixture, dir, { recursive: true });
    const manifest = JSON.parse(await readFile(path.join(dir, 'classifier.json'), 'utf8'));
    await writeFile(path.join(dir, 'classifier.json'), JSON.stringify({ ...manifest, format: 'exp.s2a-classifier/9' }));
    const e = await loadSentenceClassifier(dir).catch((x: unknown) => x);
    expect(isExpError(e)).toBe(true);
    expect(e).toMatchObject({ code: 'EXP_MODEL_MISMATCH' });
    expect((e as Error).message).toContain('exp.s2a-classifier/9');
    expect((e as { hint?: string }).hint).toMatch(/retrain/);
  });

  it('weights that do not match classifier.json fail with EXP_MODEL_MISMATCH', async () => {
    const dir = path.join(tmp, 'short');
    await cp(fixture, dir, { recursive: true });
    const w = await readFile(path.join(dir, 'head.weights.bin'));
    await writeFile(path.join(dir, 'head.weights.bin'), w.subarray(0, w.length - 8));
    await expect(loadSentenceClassifier(dir)).rejects.toMatchObject({ code: 'EXP_MODEL_MISMATCH' });
  });

  it('a new model round-trips through save/load with the same scores', async () => {
    const pairs = [
      { speech: 'answer the phone', labels: ['phone'] },
      { speech: 'open up the door', labels: ['open'] },
    ];
    const t = await trainSentenceClassifier(pairs, {
      classes: ['phone', 'open'],
      encoder: { kind: 'ngram', ngram: { buckets: 256 } },
      hidden: 4,
      epochs: 2,
      seed: 1,
    });
    const dir = path.join(tmp, 'new');
    await saveSentenceClassifier(dir, t.manifest, t.artifacts);
    const loaded = await loadSentenceClassifier(dir);
    const s = ['the phone rings', 'door'];
    expect(Array.from(await loaded.predict(s))).toEqual(Array.from(await t.classifier.predict(s)));
  });
});

describe('head artifacts written without tfjs', () => {
  for (const hidden of [0, 3]) {
    it(`are the layers model tfjs writes, and tfjs loads them to the same scores (hidden ${hidden})`, async () => {
      await initBackend();
      const D = 32;
      const K = 4;
      const width = hidden || K;
      const f = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * s) * 0.5);
      const head = hidden
        ? {
            inputDim: D,
            hidden,
            classes: K,
            w1: f(D * width, 1.3),
            b1: f(width, 2.1),
            w2: f(hidden * K, 0.7),
            b2: f(K, 3.3),
          }
        : { inputDim: D, hidden: 0, classes: K, w1: f(D * width, 1.3), b1: f(width, 2.1) };
      // the topology tfjs itself writes for the same layers (but for the sequential's own name)
      const layers = hidden
        ? [
            tf.layers.dense({ name: 'hidden', inputShape: [D], units: hidden, activation: 'relu' }),
            tf.layers.dense({ name: 'output', units: K, activation: 'softmax' }),
          ]
        : [tf.layers.dense({ name: 'output', inputShape: [D], units: K, activation: 'softmax' })];
      const ref = tf.sequential({ layers });
      const topo = JSON.parse(JSON.stringify(ref.toJSON(undefined, false)));
      ref.dispose();
      const ours = JSON.parse(JSON.stringify(layersTopology(D, hidden, K)));
      ours.config.name = topo.config.name;
      expect(ours).toEqual(topo);
      const a = headArtifacts(head);
      const model = await tf.loadLayersModel(
        tf.io.fromMemory({
          modelTopology: a.modelTopology as object,
          weightSpecs: a.weightSpecs as Parameters<typeof tf.io.fromMemory>[1],
          weightData: weightBuffer(a.weightData),
        }),
      );
      const x = new Float32Array(D);
      x[3] = 0.5;
      x[17] = -0.25;
      const got = (model.predict(tf.tensor2d(x, [1, D])) as ReturnType<typeof tf.tensor>).dataSync();
      const mine = new Float32Array(K);
      forwardSparse(head, new HeadScratch(head), Int32Array.from([3, 17]), Float32Array.from([0.5, -0.25]), 2, mine, 0);
      for (let k = 0; k < K; k++) expect(got[k]).toBeCloseTo(mine[k]!, 5);
      model.dispose();
    });
  }
});
