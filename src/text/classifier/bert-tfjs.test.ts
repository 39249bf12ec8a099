// The tfjs BERT encoder against today's ONNX path (transformers.js) on the tiny fixture: same
// weights (model.safetensors and onnx/model.onnx are written together by make-tiny-bert.py).
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../../test/helpers/repo.ts';
import { SENTENCES } from '../../../test/helpers/wordpiece.ts';
import { BertEncoder } from './bert.ts';
import { readBertWeights, readBertArchitecture, TfBertEncoder, BERT_WEIGHT_FILES } from './bert-tfjs.ts';
import { loadSentenceClassifier, saveSentenceClassifier, trainSentenceClassifier } from './index.ts';
import { readFile } from 'node:fs/promises';

const tiny = path.join(repoRoot, 'test/fixtures/tiny-bert');
const tmp: string[] = [];
afterAll(async () => {
  for (const d of tmp) await rm(d, { recursive: true, force: true });
});

describe('tfjs BERT encoder', () => {
  it('gives the ONNX last hidden states to 1e-4 (padded batch, every real token)', async () => {
    const config = { path: tiny, pooling: 'cls' as const, maxTokens: 64, batchSize: 32 };
    const onnx = await BertEncoder.open(config);
    const tfb = await TfBertEncoder.open(config);
    const sentences = [...SENTENCES, '', `Run! ${'go '.repeat(100)}`];
    const rows = sentences.map((s) => onnx.tokenize(s));
    expect(rows.map((r) => tfb.tokenize(sentences[rows.indexOf(r)]!))).toEqual(rows);
    const a = await onnx.hiddenStates(rows);
    const b = await tfb.hiddenStates(rows);
    expect(b.dims).toEqual(a.dims);
    const [B, T, H] = a.dims;
    let maxDiff = 0;
    for (let r = 0; r < B; r++) {
      for (let t = 0; t < rows[r]!.length; t++) {
        for (let d = 0; d < H; d++) {
          const i = (r * T + t) * H + d;
          maxDiff = Math.max(maxDiff, Math.abs(a.data[i]! - b.data[i]!));
        }
      }
    }
    console.log(
      `tfjs vs ONNX last hidden states: max abs diff ${maxDiff.toExponential(2)} over ${B} sentences, T=${T}`,
    );
    expect(maxDiff).toBeLessThan(1e-4);
    // pooled features as well ([CLS] and mean)
    for (const pooling of ['cls', 'mean'] as const) {
      const o = await BertEncoder.open({ ...config, pooling });
      const t = await TfBertEncoder.open({ ...config, pooling });
      const x = await o.embed(sentences);
      const y = await t.embed(sentences);
      for (let i = 0; i < x.length; i++) expect(Math.abs(x[i]! - y[i]!)).toBeLessThan(1e-4);
      await o.dispose();
      await t.dispose();
    }
    await onnx.dispose();
    await tfb.dispose();
  });

  it('names the folder and the files it looked for when the weights are missing', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bert-noweights-'));
    tmp.push(dir);
    await cp(tiny, dir, { recursive: true });
    await rm(path.join(dir, 'model.safetensors'));
    const err = await TfBertEncoder.open({ path: dir, pooling: 'cls', maxTokens: 16, batchSize: 8 }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'EXP_INPUT_MISSING' });
    expect((err as Error).message).toContain(dir);
    for (const f of BERT_WEIGHT_FILES) expect((err as Error).message).toContain(f);
    expect((err as { hint: string }).hint).toContain('onnx/model.onnx');
  });

  it('rejects weights that do not fit config.json', async () => {
    const arch = await readBertArchitecture(tiny);
    await expect(readBertWeights(tiny, { ...arch, layers: arch.layers + 1 })).rejects.toMatchObject({
      code: 'EXP_MODEL_MISMATCH',
    });
    await expect(readBertWeights(tiny, { ...arch, hidden: 16 })).rejects.toMatchObject({ code: 'EXP_MODEL_MISMATCH' });
  });

  it('a folder without onnx/model.onnx still trains frozen, on the tfjs encoder, and reloads', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bert-noonnx-'));
    tmp.push(dir);
    await cp(tiny, dir, { recursive: true });
    await rm(path.join(dir, 'onnx'), { recursive: true });
    const rows = (await readFile(path.join(repoRoot, 'test/fixtures/text/pairs-small/pairs.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { speech: string; labels: string[]; split: string })
      .slice(0, 100);
    const lines: string[] = [];
    const trained = await trainSentenceClassifier(rows, {
      classes: ['phone', 'run', 'open', 'kiss', 'drive'],
      encoder: { kind: 'bert', path: dir, maxTokens: 32, finetune: { mode: 'frozen' } },
      hidden: 0,
      epochs: 1,
      log: (l) => lines.push(l),
    });
    expect(lines.join('\n')).toContain('no onnx/model.onnx: frozen features from the tfjs encoder');
    const out = await mkdtemp(path.join(os.tmpdir(), 'bert-noonnx-model-'));
    tmp.push(out);
    await saveSentenceClassifier(out, trained.manifest, trained.artifacts, trained.encoderWeights);
    const loaded = await loadSentenceClassifier(out);
    const a = await trained.classifier.predict(['Open the door.']);
    const b = await loaded.predict(['Open the door.']);
    for (let i = 0; i < a.length; i++) expect(b[i]!).toBeCloseTo(a[i]!, 5);
  });
});
