// The bert encoder on the tiny BERT-like fixture (scripts/make-tiny-bert.py), and WordPiece
// tokenisation checked against a reference BERT-cased tokeniser written here from the spec
// (basic tokenizer without lower-casing or accent stripping, then greedy longest-match-first).
import { cp, mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { hasSharedData, repoRoot, sharedPath } from '../../../test/helpers/shared-data.ts';
import { BertEncoder, BERT_FILES, loadSentenceClassifier, saveSentenceClassifier, trainSentenceClassifier } from './index.ts';

const tiny = path.join(repoRoot, 'test/fixtures/tiny-bert');
const tmp: string[] = [];
afterAll(async () => {
  for (const d of tmp) await rm(d, { recursive: true, force: true });
});

function isPunct(ch: string): boolean {
  const c = ch.codePointAt(0)!;
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return true;
  return /\p{P}/u.test(ch);
}

function isCjk(c: number): boolean {
  return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x20000 && c <= 0x2a6df) || (c >= 0xf900 && c <= 0xfaff);
}

/** Reference: BERT (cased) basic tokenisation + WordPiece. */
function referenceWordPiece(text: string, vocab: Map<string, number>): number[] {
  let clean = '';
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c === 0 || c === 0xfffd || (/\p{C}/u.test(ch) && !/[\t\n\r]/.test(ch))) continue;
    clean += isCjk(c) ? ` ${ch} ` : /\s/u.test(ch) ? ' ' : ch;
  }
  const words: string[] = [];
  for (const w of clean.split(' ').filter(Boolean)) {
    let cur = '';
    for (const ch of w) {
      if (isPunct(ch)) {
        if (cur) words.push(cur);
        words.push(ch);
        cur = '';
      } else cur += ch;
    }
    if (cur) words.push(cur);
  }
  const unk = vocab.get('[UNK]')!;
  const ids = [vocab.get('[CLS]')!];
  for (const w of words) {
    const chars = [...w];
    if (chars.length > 100) {
      ids.push(unk);
      continue;
    }
    const pieces: number[] = [];
    let start = 0;
    let bad = false;
    while (start < chars.length) {
      let end = chars.length;
      let found: number | undefined;
      while (start < end) {
        const sub = (start > 0 ? '##' : '') + chars.slice(start, end).join('');
        found = vocab.get(sub);
        if (found !== undefined) break;
        end--;
      }
      if (found === undefined) {
        bad = true;
        break;
      }
      pieces.push(found);
      start = end;
    }
    ids.push(...(bad ? [unk] : pieces));
  }
  ids.push(vocab.get('[SEP]')!);
  return ids;
}

async function readVocab(file: string): Promise<Map<string, number>> {
  const lines = (await readFile(file, 'utf8')).split('\n');
  if (lines.at(-1) === '') lines.pop();
  return new Map(lines.map((t, i) => [t, i]));
}

const SENTENCES = [
  'Hello, my dog is cute',
  "I don't think he's running — he's SPRINTING!!!",
  'Café au lait, naïve résumé; Zoë & Chloé.',
  'Call 911... now? (Quickly) [please] {ok} 3.14159 $20',
  'supercalifragilisticexpialidocious antidisestablishmentarianism',
  '東京 is in Japan 日本',
  '',
  '   spaces\tand\nnewlines  ',
  'emoji 😀 here',
  'a'.repeat(150),
];

describe('bert encoder: tokenisation', () => {
  it('tokenises the tiny fixture exactly like reference WordPiece on its own vocabulary', async () => {
    const vocab = await readVocab(path.join(tiny, 'vocab.txt'));
    const enc = await BertEncoder.open({ path: tiny, pooling: 'cls', maxTokens: 512, batchSize: 8 });
    for (const s of SENTENCES) expect(enc.tokenize(s), s).toEqual(referenceWordPiece(s, vocab));
    await enc.dispose();
  });

  it.runIf(hasSharedData)('matches BERT cased on the full bert-base-cased vocabulary', async () => {
    const vocabFile = sharedPath('bert', 'bert-base-cased-vocab.txt');
    const vocab = await readVocab(vocabFile);
    // anchors from the vocabulary's README
    expect([vocab.get('[CLS]'), vocab.get('[SEP]'), vocab.get('[UNK]'), vocab.get('Hello'), vocab.get('the'), vocab.get('##ing')]).toEqual([101, 102, 100, 8667, 1103, 1158]);
    // a bert folder whose tokenizer.json carries the full cased vocabulary (the ONNX file is the
    // tiny one: only the tokeniser is exercised)
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bert-cased-'));
    tmp.push(dir);
    await mkdir(path.join(dir, 'onnx'));
    await cp(path.join(tiny, 'onnx/model.onnx'), path.join(dir, 'onnx/model.onnx'));
    await cp(path.join(tiny, 'config.json'), path.join(dir, 'config.json'));
    await cp(path.join(tiny, 'tokenizer_config.json'), path.join(dir, 'tokenizer_config.json'));
    const tj = JSON.parse(await readFile(path.join(tiny, 'tokenizer.json'), 'utf8')) as {
      model: { vocab: Record<string, number> };
      added_tokens: { id: number; content: string }[];
      post_processor: { special_tokens: Record<string, { ids: number[] }> };
    };
    tj.model.vocab = Object.fromEntries(vocab);
    for (const t of tj.added_tokens) t.id = vocab.get(t.content)!;
    for (const [k, v] of Object.entries(tj.post_processor.special_tokens)) v.ids = [vocab.get(k)!];
    await writeFile(path.join(dir, 'tokenizer.json'), JSON.stringify(tj));
    const enc = await BertEncoder.open({ path: dir, pooling: 'cls', maxTokens: 512, batchSize: 8 });
    expect(enc.tokenize('Hello, my dog is cute')).toEqual([101, 8667, 117, 1139, 3676, 1110, 10509, 102]);
    for (const s of SENTENCES) expect(enc.tokenize(s), s).toEqual(referenceWordPiece(s, vocab));
    // cased: upper and lower case differ
    expect(enc.tokenize('Run')).not.toEqual(enc.tokenize('run'));
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
      const err = await BertEncoder.open({ path: dir, pooling: 'cls', maxTokens: 16, batchSize: 8 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'EXP_INPUT_MISSING' });
      expect((err as Error).message).toContain(missing);
      expect(fetchSpy).not.toHaveBeenCalled();
      fetchSpy.mockRestore();
    });
  }

  it('reports a folder that does not exist', async () => {
    await expect(BertEncoder.open({ path: '/nonexistent/bert', pooling: 'cls', maxTokens: 16, batchSize: 8 })).rejects.toMatchObject({ code: 'EXP_INPUT_MISSING' });
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
      const sents = ['Open the door, please.', '', 'Run! ' + 'go '.repeat(500)];
      const a = await trained.classifier.predict(sents);
      const b = await loaded.predict(sents);
      expect(b).toHaveLength(3 * classes.length);
      for (let i = 0; i < a.length; i++) expect(b[i]!).toBeCloseTo(a[i]!, 5);
      await (loaded as unknown as { dispose(): Promise<void> }).dispose();
      await (trained.classifier as unknown as { dispose(): Promise<void> }).dispose();
    }
  });
});
