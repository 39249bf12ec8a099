import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isExpError } from '../../errors.ts';
import { initBackend, tf } from '../../ml/backend.ts';
import { repoRoot } from '../../../test/helpers/repo.ts';
import {
  loadSentenceClassifier,
  readSavedClassifier,
  saveSentenceClassifier,
  trainSentenceClassifier,
  type LabelledSentence,
  type SentenceClassifier,
} from './index.ts';

async function fixturePairs(): Promise<{ train: LabelledSentence[]; val: LabelledSentence[]; classes: string[] }> {
  const dir = path.join(repoRoot, 'test/fixtures/text/pairs-small');
  const rows = (await readFile(path.join(dir, 'pairs.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as LabelledSentence & { split: string });
  const classes = (
    JSON.parse(await readFile(path.join(dir, 'classes.json'), 'utf8')) as { classes: { verb: string }[] }
  ).classes.map((c) => c.verb);
  return { train: rows.filter((r) => r.split === 'train'), val: rows.filter((r) => r.split === 'val'), classes };
}

function argmaxRows(scores: Float32Array, K: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < scores.length / K; i++) {
    let b = 0;
    for (let k = 1; k < K; k++) if (scores[i * K + k]! > scores[i * K + b]!) b = k;
    out.push(b);
  }
  return out;
}

const tmp: string[] = [];
afterAll(async () => {
  for (const d of tmp) await rm(d, { recursive: true, force: true });
});

describe('ngram sentence classifier', async () => {
  const { train, val, classes } = await fixturePairs();
  const small = { buckets: 1 << 12 };

  it('learns the verb from speech and reports loss/accuracy per epoch', async () => {
    const epochs: number[] = [];
    const trained = await trainSentenceClassifier(train, {
      classes,
      encoder: { kind: 'ngram', ngram: small },
      hidden: 0,
      epochs: 8,
      learningRate: 0.02,
      seed: 3,
      validation: val,
      onEpoch: (e) => epochs.push(e.loss),
    });
    expect(epochs).toHaveLength(8);
    expect(epochs[7]!).toBeLessThan(epochs[0]!);
    expect(trained.history.at(-1)!.valAccuracy!).toBeGreaterThan(0.7);
    expect(trained.skipped).toBe(train.filter((p) => p.labels.length === 0).length);
    const c = trained.classifier;
    const scores = await c.predict(['Hello? Who is this?', 'Run! They are coming!', '']);
    expect(scores).toHaveLength(3 * classes.length);
    const [a, b] = argmaxRows(scores, classes.length);
    expect(c.classes[a!]).toBe('phone');
    expect(c.classes[b!]).toBe('run');
    for (let i = 0; i < 3; i++) {
      const row = scores.subarray(i * classes.length, (i + 1) * classes.length);
      expect(row.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
    }
  });

  it('saves into model/ and loads back with identical predictions, also via tf.io.fromMemory', async () => {
    const trained = await trainSentenceClassifier(train, {
      classes,
      encoder: { kind: 'ngram', ngram: small },
      hidden: 16,
      epochs: 3,
      seed: 1,
    });
    const dir = await mkdtemp(path.join(os.tmpdir(), 's2a-model-'));
    tmp.push(dir);
    await saveSentenceClassifier(dir, trained.manifest, trained.artifacts);
    const loaded = await loadSentenceClassifier(dir);
    expect(loaded.classes).toEqual(classes);
    const sents = ['Open the door, please.', 'Kiss me, you fool.', '', 'x'.repeat(10000)];
    const before = await trained.classifier.predict(sents);
    const after = await loaded.predict(sents);
    expect(Array.from(after)).toEqual(Array.from(before));

    // The saved head is a regular tfjs layers model.
    await initBackend();
    const { artifacts } = await readSavedClassifier(dir);
    const model = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: artifacts.modelTopology as object,
        weightSpecs: artifacts.weightSpecs as never,
        weightData: artifacts.weightData,
      }),
    );
    const hasher = (
      loaded as unknown as {
        hasher: { extract(s: string): { indices: Int32Array; values: Float32Array; length: number } };
      }
    ).hasher;
    const f = hasher.extract(sents[0]!);
    const x = new Float32Array(1 << 12);
    for (let i = 0; i < f.length; i++) x[f.indices[i]!]! += f.values[i]!;
    const y = model.predict(tf.tensor2d(x, [1, 1 << 12])) as ReturnType<typeof tf.tensor>;
    const ref = await y.data();
    for (let k = 0; k < classes.length; k++) expect(ref[k]!).toBeCloseTo(after[k]!, 5);
    model.dispose();
  });

  it('handles empty and very long sentences', async () => {
    const trained = await trainSentenceClassifier(train, {
      classes,
      encoder: { kind: 'ngram', ngram: { ...small, maxTokens: 8 } },
      hidden: 0,
      epochs: 1,
    });
    const c: SentenceClassifier = trained.classifier;
    const long = `Hello? Who is this? ${'blah '.repeat(100000)}`;
    const s = await c.predict(['', long, 'Hello? Who is this?']);
    expect(s.every((v) => Number.isFinite(v))).toBe(true);
    // truncated to the first 8 words: the tail changes nothing
    expect(Array.from(s.subarray(classes.length, 2 * classes.length))).toEqual(
      Array.from((await c.predict(['Hello? Who is this? blah blah blah blah'])).subarray(0, classes.length)),
    );
    expect((await c.predict([])).length).toBe(0);
  });

  it('refuses a pairs set without verb classes or without labelled pairs', async () => {
    const noClasses = await trainSentenceClassifier(train, { classes: [], encoder: { kind: 'ngram' } }).catch(
      (e: unknown) => e,
    );
    expect(isExpError(noClasses) && noClasses.code).toBe('EXP_DATA_INVALID');
    expect(String((noClasses as Error).message)).toMatch(/no verb classes/);
    const noLabels = await trainSentenceClassifier([{ speech: 'hi', labels: ['fly'] }], {
      classes,
      encoder: { kind: 'ngram' },
    }).catch((e: unknown) => e);
    expect(isExpError(noLabels) && noLabels.code).toBe('EXP_DATA_INVALID');
  });

  it('names the missing file when a model folder is not a classifier', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 's2a-empty-'));
    tmp.push(dir);
    await expect(loadSentenceClassifier(dir)).rejects.toThrow(/classifier\.json not found/);
    await writeFile(path.join(dir, 'classifier.json'), JSON.stringify({ format: 'other' }));
    await expect(loadSentenceClassifier(dir)).rejects.toMatchObject({ code: 'EXP_MODEL_MISMATCH' });
  });
});
