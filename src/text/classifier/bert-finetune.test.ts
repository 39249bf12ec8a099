// Fine-tuning the tiny BERT fixture end to end: which weights move under each mode, that
// fine-tuning fits the training data better than a frozen encoder, gradient accumulation, and
// resuming after an interruption.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../../test/helpers/repo.ts';
import { BertTokenizer } from './bert.ts';
import { readBertArchitecture, readBertWeights, TfBertModel, type BertArchitecture } from './bert-tfjs.ts';
import { finetuneBert, type BertFinetuneOptions } from './bert-finetune.ts';
import type { NamedTensor } from './safetensors.ts';

const tiny = path.join(repoRoot, 'test/fixtures/tiny-bert');
const classes = ['phone', 'run', 'open', 'kiss', 'drive'];
const tmp: string[] = [];
let arch: BertArchitecture;
let weights: Map<string, NamedTensor>;
let tokens: number[][];
let targets: Float32Array;
let padId: number;

beforeAll(async () => {
  arch = await readBertArchitecture(tiny);
  weights = await readBertWeights(tiny, arch);
  const tok = await BertTokenizer.open(tiny, 32);
  padId = tok.padId;
  const rows = (await readFile(path.join(repoRoot, 'test/fixtures/text/pairs-small/pairs.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { speech: string; labels: string[]; split: string })
    .filter((r) => r.split === 'train' && r.labels.some((l) => classes.includes(l)))
    .slice(0, 96);
  tokens = rows.map((r) => tok.tokenize(r.speech));
  targets = new Float32Array(rows.length * classes.length);
  rows.forEach((r, i) => {
    const cols = r.labels.map((l) => classes.indexOf(l)).filter((c) => c >= 0);
    for (const c of cols) targets[i * classes.length + c] = 1 / cols.length;
  });
});
afterAll(async () => {
  for (const d of tmp) await rm(d, { recursive: true, force: true });
});

const base = (over: Partial<BertFinetuneOptions>): BertFinetuneOptions => ({
  mode: 'full',
  pooling: 'cls',
  epochs: 3,
  batchSize: 16,
  learningRate: 1e-3,
  seed: 3,
  padId,
  ...over,
});

async function run(over: Partial<BertFinetuneOptions>) {
  const model = await TfBertModel.fromWeights(arch, weights);
  const res = await finetuneBert(model, tokens, targets, classes.length, base(over));
  const after = await model.exportWeights();
  model.dispose();
  return { res, after };
}

function changed(after: Map<string, NamedTensor>): string[] {
  return [...after].filter(([name, t]) => t.data.some((x, i) => x !== weights.get(name)!.data[i])).map(([n]) => n);
}

describe('BERT fine-tuning', () => {
  it('frozen leaves the encoder untouched; full changes it and fits the training data better', async () => {
    const frozen = await run({ mode: 'frozen' });
    expect(changed(frozen.after)).toEqual([]);
    expect(frozen.res.trained).toEqual([]);
    const full = await run({ mode: 'full' });
    const moved = changed(full.after);
    // every weight on the path to [CLS] moves (the pooler is not used with cls pooling)
    expect(moved.length).toBe(full.after.size - 2);
    expect(moved.some((n) => n.startsWith('embeddings.'))).toBe(true);
    const fl = frozen.res.history.at(-1)!.loss;
    const tl = full.res.history.at(-1)!.loss;
    console.log(
      `training loss after ${full.res.history.length} epochs: frozen ${fl.toFixed(4)}, full ${tl.toFixed(4)}`,
    );
    expect(tl).toBeLessThan(fl);
    expect(full.res.history[0]!.loss).toBeGreaterThan(tl);
  });

  it('last_n changes only the last n encoder layers', async () => {
    const { after, res } = await run({ mode: 'last_n', lastN: 1, epochs: 1 });
    const moved = changed(after);
    expect(moved.length).toBeGreaterThan(0);
    expect(moved.every((n) => n.startsWith(`encoder.layer.${arch.layers - 1}.`))).toBe(true);
    expect(res.trained.every((n) => n.startsWith(`encoder.layer.${arch.layers - 1}.`))).toBe(true);
    expect(moved.sort()).toEqual([...res.trained].sort());
  });

  it('micro-batches summing to the batch give the same update as the whole batch', async () => {
    const whole = await run({ epochs: 1 });
    const split = await run({ epochs: 1, microBatchSize: 5 });
    for (const [name, t] of whole.after) {
      const u = split.after.get(name)!.data;
      for (let i = 0; i < t.data.length; i++) expect(Math.abs(u[i]! - t.data[i]!), name).toBeLessThan(2e-5);
    }
    for (let i = 0; i < whole.res.head.w1.length; i++)
      expect(Math.abs(whole.res.head.w1[i]! - split.res.head.w1[i]!)).toBeLessThan(2e-5);
  });

  it('resumes after an interruption and ends with the weights of an uninterrupted run', async () => {
    const opts = { epochs: 2, warmupSteps: 3 };
    const straight = await run(opts);
    const dir = path.join(await mkdtemp(path.join(os.tmpdir(), 'bert-ckpt-')), 'checkpoint');
    tmp.push(path.dirname(dir));
    const ac = new AbortController();
    const model = await TfBertModel.fromWeights(arch, weights);
    const err = await finetuneBert(model, tokens, targets, classes.length, {
      ...base(opts),
      checkpointDir: dir,
      checkpointEvery: 4,
      signal: ac.signal,
      onStep: (step) => {
        if (step === 7) ac.abort(new Error('simulated kill'));
      },
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('simulated kill');
    model.dispose();
    const lines: string[] = [];
    const again = await TfBertModel.fromWeights(arch, weights);
    const resumed = await finetuneBert(again, tokens, targets, classes.length, {
      ...base(opts),
      checkpointDir: dir,
      checkpointEvery: 4,
      log: (l) => lines.push(l),
    });
    expect(resumed.resumedFrom).toBe(4);
    expect(lines.join('\n')).toContain('resuming fine-tuning from the checkpoint at step 4');
    const after = await again.exportWeights();
    again.dispose();
    for (const [name, t] of straight.after) expect(Array.from(after.get(name)!.data), name).toEqual(Array.from(t.data));
    expect(Array.from(resumed.head.w1)).toEqual(Array.from(straight.res.head.w1));
    expect(resumed.history.map((h) => h.loss)).toEqual(straight.res.history.map((h) => h.loss));
  });
});
