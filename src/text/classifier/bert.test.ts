// The bert encoder on the tiny BERT-like fixture (scripts/make-tiny-bert.py), and WordPiece
// tokenisation checked against a reference BERT-cased tokeniser written here from the spec
// (basic tokenizer without lower-casing or accent stripping, then greedy longest-match-first).
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { repoRoot } from '../../../test/helpers/repo.ts';
import { readVocab, referenceWordPiece, SENTENCES } from '../../../test/helpers/wordpiece.ts';
import {
  BertEncoder,
  BERT_FILES,
  loadSentenceClassifier,
  saveSentenceClassifier,
  trainSentenceClassifier,
} from './index.ts';

const tiny = path.join(repoRoot, 'test/fixtures/tiny-bert');
const tmp: string[] = [];
afterAll(async () => {
  for (const d of tmp) await rm(d, { recursive: true, force: true });
});

describe('bert encoder: tokenisation', () => {
  it('tokenises the tiny fixture exactly like reference WordPiece on its own vocabulary', async () => {
    const vocab = await readVocab(path.join(tiny, 'vocab.txt'));
    const enc = await BertEncoder.open({ path: tiny, pooling: 'cls', maxTokens: 512, batchSize: 8 });
    for (const s of SENTENCES) expect(enc.tokenize(s), s).toEqual(referenceWordPiece(s, vocab));
    await enc.dispose();
  });

  it('truncates long sentences to maxTokens, keeping [CLS] and [SEP]', async () => {
    const enc = await BertEncoder.open({ path: tiny, pooling: 'cls', maxTokens: 8, batchSize: 8 });
    const ids = enc.tokenize('one two three four five six seven eight nine ten eleven');
    expect(ids).toHaveLength(8);
    expect(ids[0]).toBe(2); // [CLS] in the fixture's vocabulary
    expect(ids.at(-1)).toBe(3); // [SEP]
    await enc.dispose();
  });
});

describe('bert encoder: folders', () => {
  for (const missing of BERT_FILES) {
    it(`names ${missing} when the folder lacks it, without any network attempt`, async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'bert-missing-'));
      tmp.push(dir);
      await cp(tiny, dir, { recursive: true });
      await rm(path.join(dir, missing));
      const fetchSpy = vi.spyOn(globalThis, 'fetch');
      const err = await BertEncoder.open({ path: dir, pooling: 'cls', maxTokens: 16, batchSize: 8 }).catch(
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: 'EXP_INPUT_MISSING' });
      expect((err as Error).message).toContain(missing);
      expect(fetchSpy).not.toHaveBeenCalled();
      fetchSpy.mockRestore();
    });
  }

  it('reports a folder that does not exist', async () => {
    await expect(
      BertEncoder.open({ path: '/nonexistent/bert', pooling: 'cls', maxTokens: 16, batchSize: 8 }),
    ).rejects.toMatchObject({ code: 'EXP_INPUT_MISSING' });
  });
});

describe('bert encoder: training a head', () => {
  it('trains on [CLS] or mean features, saves and reloads with the same predictions', async () => {
    const rows = (await readFile(path.join(repoRoot, 'test/fixtures/text/pairs-small/pairs.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { speech: string; labels: string[]; split: string });
    const classes = ['phone', 'run', 'open', 'kiss', 'drive'];
    const enc = await BertEncoder.open({ path: tiny, pooling: 'mean', maxTokens: 32, batchSize: 32 });
    const x = await enc.embed(['Hello there', '', 'Hello there']);
    expect(x).toHaveLength(3 * enc.dim);
    expect(Array.from(x.subarray(0, enc.dim))).toEqual(Array.from(x.subarray(2 * enc.dim)));
    expect(x.every(Number.isFinite)).toBe(true);
    await enc.dispose();
    for (const pooling of ['cls', 'mean'] as const) {
      const trained = await trainSentenceClassifier(rows.filter((r) => r.split === 'train').slice(0, 200), {
        classes,
        encoder: { kind: 'bert', path: tiny, pooling, maxTokens: 32 },
        hidden: 0,
        epochs: 2,
        seed: 2,
      });
      const dir = await mkdtemp(path.join(os.tmpdir(), 'bert-model-'));
      tmp.push(dir);
      await saveSentenceClassifier(dir, trained.manifest, trained.artifacts);
      const loaded = await loadSentenceClassifier(dir);
      const sents = ['Open the door, please.', '', `Run! ${'go '.repeat(500)}`];
      const a = await trained.classifier.predict(sents);
      const b = await loaded.predict(sents);
      expect(b).toHaveLength(3 * classes.length);
      for (let i = 0; i < a.length; i++) expect(b[i]!).toBeCloseTo(a[i]!, 5);
      await loaded.dispose();
      await trained.classifier.dispose();
    }
  });
});
