// WordPiece tokenisation with the full bert-base-cased vocabulary (the fixture model is tiny; only
// the tokeniser is exercised).
import { cp, mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BertEncoder } from '../src/text/classifier/index.ts';
import { readVocab, referenceWordPiece, SENTENCES } from '../test/helpers/wordpiece.ts';
import { dataPath, repoRoot } from './data.ts';

const tiny = path.join(repoRoot, 'test/fixtures/tiny-bert');
const tmp: string[] = [];
afterAll(async () => {
  for (const d of tmp) await rm(d, { recursive: true, force: true });
});

describe('bert encoder: tokenisation with a real vocabulary', () => {
  it('matches BERT cased on the full bert-base-cased vocabulary', async () => {
    const vocabFile = dataPath('bert', 'bert-base-cased-vocab.txt');
    const vocab = await readVocab(vocabFile);
    // anchors from the vocabulary's README
    expect([
      vocab.get('[CLS]'),
      vocab.get('[SEP]'),
      vocab.get('[UNK]'),
      vocab.get('Hello'),
      vocab.get('the'),
      vocab.get('##ing'),
    ]).toEqual([101, 102, 100, 8667, 1103, 1158]);
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
});
