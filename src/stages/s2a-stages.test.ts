// s2a.train and s2a.evaluate through kind.run() with hand-made contexts, on the synthetic
// pairs fixture (test/fixtures/text/pairs-small): the engine's view of the two stage kinds.
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { type StageContext, type StageInput, type StageKind, withCheckedParams } from '../plan/stage-kind.ts';
import { repoRoot } from '../../test/helpers/repo.ts';
import { loadSentenceClassifier } from '../text/classifier/index.ts';
import { kind as evaluateKind } from './s2a-evaluate.ts';
import { kind as trainKind, resolveFinetune } from './s2a-train.ts';
import { portsFor } from '../../test/helpers/ports.ts';
import { stageSchemaDocument } from '../plan/registry.ts';

const fixture = path.join(repoRoot, 'test/fixtures/text/pairs-small');
const tmp: string[] = [];
afterAll(async () => {
  for (const d of tmp) await rm(d, { recursive: true, force: true });
});

async function tempDir(prefix: string): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), prefix));
  tmp.push(d);
  return d;
}

interface Recorded {
  metrics: { key: string; value: number; step?: number }[];
  logs: string[];
  artifacts: string[];
}

async function runStage<P>(
  kind: StageKind<P>,
  params: Record<string, unknown>,
  inputs: StageInput[],
  gpus: number[] = [],
): Promise<{ out: Recorded; dir: string; outputs: Record<string, unknown> }> {
  const ajv = new Ajv2020({ useDefaults: true, strict: false });
  const p = structuredClone(params);
  if (!ajv.validate(kind.paramsSchema, p)) throw new Error(ajv.errorsText());
  const dir = await tempDir(`${kind.name}-`);
  const out: Recorded = { metrics: [], logs: [], artifacts: [] };
  const ctx: StageContext<P> = {
    params: p as P,
    inputs,
    ports: portsFor(kind, p, inputs),
    outDir: dir,
    scratchDir: dir,
    seed: 7,
    gpus,
    signal: new AbortController().signal,
    log: (m) => out.logs.push(m),
    progress: () => {},
    metric: (key, value, step) => out.metrics.push({ key, value, step }),
    artifact: (f) => out.artifacts.push(f),
  };
  const res = await kind.run(ctx);
  return { out, dir, outputs: res.outputs ?? {} };
}

const pairsInput = (dir = fixture): StageInput => ({
  stage: 'pairs',
  kind: 'pairs.build',
  key: 'k1',
  dir,
  outputs: { pairs_file: 'pairs.jsonl', classes_file: 'classes.json' },
});

describe('stage schemas', () => {
  for (const kind of [trainKind, evaluateKind]) {
    it(`${kind.name}: schemas/stages mirrors paramsSchema`, async () => {
      const file = await readFile(path.join(repoRoot, 'schemas/stages', `${kind.name}.schema.json`), 'utf8');
      expect(file).toBe(`${JSON.stringify(stageSchemaDocument(kind), null, 2)}\n`);
    });
  }
});

describe('s2a.train → s2a.evaluate (ngram)', () => {
  it('trains, logs curves and the trainer, and evaluates against keyword spotting', async () => {
    const train = await runStage(trainKind, { epochs: 6, hidden: 0, buckets: 4096, learning_rate: 0.02 }, [
      pairsInput(),
    ]);
    expect(train.outputs).toMatchObject({ model: 'model', classes: ['phone', 'run', 'open', 'kiss', 'drive'] });
    expect(train.outputs.trainer).toBe('js');
    expect(train.out.logs).toContain('head trained by js');
    const losses = train.out.metrics.filter((m) => m.key === 's2a.train.loss');
    expect(losses.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(train.out.metrics.filter((m) => m.key === 's2a.train.accuracy')).toHaveLength(6);
    expect(losses[5]!.value).toBeLessThan(losses[0]!.value);
    expect(existsSync(path.join(train.dir, 'model', 'classifier.json'))).toBe(true);

    const trainInput: StageInput = {
      stage: 's2a',
      kind: 's2a.train',
      key: 'k2',
      dir: train.dir,
      outputs: train.outputs as StageInput['outputs'],
    };
    const ev = await runStage(evaluateKind, { threshold_overrides: { phone: 0.9 }, top_k: 3 }, [
      trainInput,
      pairsInput(),
    ]);
    expect(ev.outputs.model_dir).toBe(path.join(train.dir, 'model'));
    for (const f of [
      'thresholds.json',
      'ap.json',
      'pr_curves.json',
      'pr_curves.png',
      'ap_bars.png',
      'top_sentences.json',
      'top_sentences.md',
    ]) {
      expect(existsSync(path.join(ev.dir, f)), f).toBe(true);
      expect(ev.out.artifacts).toContain(f);
    }
    const thresholds = JSON.parse(await readFile(path.join(ev.dir, 'thresholds.json'), 'utf8'));
    expect(thresholds).toMatchObject({ method: 's2a', target_precision: 0.3 });
    expect(thresholds.classes.map((c: { verb: string }) => c.verb)).toEqual(['phone', 'run', 'open', 'kiss', 'drive']);
    const phone = thresholds.classes.find((c: { verb: string }) => c.verb === 'phone');
    expect(phone).toMatchObject({ threshold: 0.9, overridden: true });
    for (const c of thresholds.classes) expect(c.val_count).toBeGreaterThan(0);

    const metric = (k: string) => ev.out.metrics.find((m) => m.key === k)?.value;
    expect(metric('s2a.mean_ap')).toBeGreaterThan(0.5);
    expect(metric('keyword.mean_ap')).toBeDefined();
    for (const v of ['phone', 'run', 'open', 'kiss', 'drive']) {
      expect(metric(`s2a.ap.${v}`)).toBeDefined();
      expect(metric(`keyword.ap.${v}`)).toBeDefined();
    }
    // the fixture's speech mostly implies the verb without saying it
    expect(metric('s2a.mean_ap')!).toBeGreaterThan(metric('keyword.mean_ap')!);
    const top = JSON.parse(await readFile(path.join(ev.dir, 'top_sentences.json'), 'utf8'));
    expect(top.run).toHaveLength(3);
    const png = PNG.sync.read(await readFile(path.join(ev.dir, 'pr_curves.png')));
    expect(png.width).toBeGreaterThan(100);

    // the model folder serves inference as captions.mine will use it
    const clf = await loadSentenceClassifier(ev.outputs.model_dir as string);
    expect((await clf.predict(['Keep your eyes on the road!'])).length).toBe(5);
  });
});

describe('s2a stages: bad input', () => {
  it('explains a pairs set without verb classes', async () => {
    const dir = await tempDir('pairs-empty-');
    await cp(path.join(fixture, 'pairs.jsonl'), path.join(dir, 'pairs.jsonl'));
    await writeFile(path.join(dir, 'classes.json'), JSON.stringify({ classes: [] }));
    await expect(runStage(trainKind, {}, [pairsInput(dir)])).rejects.toMatchObject({
      code: 'EXP_DATA_INVALID',
      message: expect.stringMatching(/no verb classes/),
    });
  });

  it('skips a bad pairs line with a warning naming it', async () => {
    const dir = await tempDir('pairs-bad-');
    await cp(path.join(fixture, 'classes.json'), path.join(dir, 'classes.json'));
    const lines = (await readFile(path.join(fixture, 'pairs.jsonl'), 'utf8')).split('\n');
    lines.splice(3, 0, '{not json');
    await writeFile(path.join(dir, 'pairs.jsonl'), lines.join('\n'));
    const res = await runStage(trainKind, { epochs: 1, buckets: 1024 }, [pairsInput(dir)]);
    expect(res.out.logs.some((l) => l.includes('pairs.jsonl:4: skipped'))).toBe(true);
  });

  it('needs bert_path with encoder bert, and names a missing bert file', async () => {
    await expect(runStage(trainKind, { encoder: 'bert' }, [pairsInput()])).rejects.toMatchObject({
      code: 'EXP_PARAMS_INVALID',
    });
    const bert = await tempDir('bert-');
    await cp(path.join(repoRoot, 'test/fixtures/tiny-bert'), bert, { recursive: true });
    await rm(path.join(bert, 'tokenizer_config.json'));
    await expect(runStage(trainKind, { encoder: 'bert', bert_path: bert }, [pairsInput()])).rejects.toThrow(
      /lacks tokenizer_config\.json/,
    );
  });

  it('needs upstream nodes', async () => {
    await expect(runStage(trainKind, {}, [])).rejects.toMatchObject({ code: 'EXP_INPUT_MISSING' });
    await expect(runStage(evaluateKind, {}, [pairsInput()])).rejects.toMatchObject({ code: 'EXP_INPUT_MISSING' });
  });
});

describe('s2a.train → s2a.evaluate (bert, tiny model)', () => {
  it('runs both stages through the tiny BERT fixture', async () => {
    const bert = path.join(repoRoot, 'test/fixtures/tiny-bert');
    const train = await runStage(
      trainKind,
      { encoder: 'bert', bert_path: bert, pooling: 'mean', epochs: 2, hidden: 0, max_tokens: 32 },
      [pairsInput()],
    );
    const trainInput: StageInput = {
      stage: 's2a',
      kind: 's2a.train',
      key: 'k3',
      dir: train.dir,
      outputs: train.outputs as StageInput['outputs'],
    };
    const ev = await runStage(evaluateKind, {}, [trainInput, pairsInput()]);
    expect(ev.out.metrics.find((m) => m.key === 's2a.mean_ap')!.value).toBeGreaterThan(0);
    expect(existsSync(path.join(ev.dir, 'thresholds.json'))).toBe(true);
  });
});

describe('s2a.train: BERT fine-tuning (tiny model)', () => {
  const bert = path.join(repoRoot, 'test/fixtures/tiny-bert');
  const small = {
    encoder: 'bert',
    bert_path: bert,
    epochs: 1,
    hidden: 0,
    max_tokens: 32,
    finetune_learning_rate: 1e-3,
    checkpoint_every: 4,
  };

  it('asks for an optional GPU only when fine-tuning can happen', () => {
    const res = trainKind.resources as (p: Record<string, unknown>) => Record<string, unknown>;
    expect(res({ encoder: 'bert', finetune: 'auto' })).toMatchObject({ gpus: 1, gpuOptional: true });
    expect(res({ encoder: 'bert', finetune: 'full' })).toMatchObject({ gpus: 1, gpuOptional: true });
    expect(res({ encoder: 'bert', finetune: 'frozen' }).gpus).toBeUndefined();
    expect(res({ encoder: 'ngram', finetune: 'auto' }).gpus).toBeUndefined();
  });

  it('auto is frozen without a GPU and says why', async () => {
    const { out, outputs } = await runStage(trainKind, { ...small }, [pairsInput()]);
    expect(outputs.finetune).toBe('frozen');
    expect(out.logs.join('\n')).toMatch(/finetune auto → frozen: no GPU granted/);
  });

  it('auto on a granted GPU that tfjs cannot use (no tfjs-node-gpu here) stays frozen and says why', async () => {
    const { out, outputs } = await runStage(trainKind, { ...small }, [pairsInput()], [0]);
    const log = out.logs.join('\n');
    expect(outputs.finetune).toBe('frozen');
    expect(log).toMatch(/tfjs backend: (wasm|cpu|node) — granted GPU 0 but fell back to/);
    expect(log).toMatch(/finetune auto → frozen: granted GPU 0 but tfjs runs on (wasm|cpu|node), not tfjs-node-gpu/);
  });

  it('auto is full when granted a GPU on tfjs-node-gpu', () => {
    expect(resolveFinetune({ encoder: 'bert', finetune: 'auto' }, [0], 'node-gpu')).toMatchObject({
      mode: 'full',
      why: expect.stringMatching(/granted GPU 0/),
    });
    expect(resolveFinetune({ encoder: 'bert', finetune: 'auto' }, [], undefined).mode).toBe('frozen');
    expect(resolveFinetune({ encoder: 'bert', finetune: 'last_n' }, [], undefined).mode).toBe('last_n');
    expect(resolveFinetune({ encoder: 'ngram', finetune: 'full' }, [0], 'node-gpu').mode).toBe('frozen');
  });

  it('full on a granted GPU without tfjs-node-gpu logs the fallback backend and saves a loadable fine-tuned model', async () => {
    const { out, outputs, dir } = await runStage(trainKind, { ...small, finetune: 'full' }, [pairsInput()], [0]);
    const log = out.logs.join('\n');
    expect(outputs.finetune).toBe('full');
    // no tfjs-node-gpu here: the line names the fallback and why
    expect(log).toMatch(/tfjs backend: (wasm|cpu|node) — granted GPU 0 but fell back to/);
    const model = path.join(dir, 'model');
    expect(existsSync(path.join(model, 'encoder.safetensors'))).toBe(true);
    const manifest = JSON.parse(await readFile(path.join(model, 'classifier.json'), 'utf8'));
    expect(manifest.encoder.bert.finetune).toMatchObject({ mode: 'full', weights: 'encoder.safetensors' });
    const clf = await loadSentenceClassifier(model);
    const scores = await clf.predict(['Open the door, please.', '']);
    expect(scores).toHaveLength(2 * clf.classes.length);
    expect(scores.every(Number.isFinite)).toBe(true);
    // the fine-tuned encoder differs from the folder's: frozen features would score differently
    await clf.dispose();
  });

  it('micro_batch_size above batch_size is a params error naming the key', async () => {
    await expect(
      runStage(trainKind, { ...small, finetune: 'full', batch_size: 8, micro_batch_size: 16 }, [pairsInput()]),
    ).rejects.toMatchObject({ code: 'EXP_PARAMS_INVALID', detail: { key: 'micro_batch_size' } });
  });

  it('a node killed mid-fine-tuning resumes from its checkpoint in the scratch folder and ends as an uninterrupted run', async () => {
    const params = { ...small, finetune: 'full', batch_size: 4, epochs: 2, checkpoint_every: 50 };
    const straight = await runStage(trainKind, params, [pairsInput()]);
    // the same node twice on one scratch folder: the first attempt is killed after step 100
    const scratch = await tempDir('s2a-scratch-');
    const attempt = async (signal: AbortSignal, onProgress: (done: number) => void) => {
      const ajv = new Ajv2020({ useDefaults: true, strict: false });
      const p = structuredClone(params);
      ajv.validate(trainKind.paramsSchema, p);
      const outDir = await tempDir('s2a-out-');
      const logs: string[] = [];
      const ctx: StageContext = {
        params: p,
        inputs: [pairsInput()],
        ports: portsFor(trainKind, p, [pairsInput()]),
        outDir,
        scratchDir: scratch,
        seed: 7,
        gpus: [],
        signal,
        log: (m) => logs.push(m),
        progress: (d) => onProgress(d),
        metric: () => {},
        artifact: () => {},
      };
      await withCheckedParams(trainKind).run(ctx);
      return { outDir, logs };
    };
    const ac = new AbortController();
    await expect(attempt(ac.signal, (d) => d >= 100 && ac.abort(new Error('killed')))).rejects.toThrow('killed');
    const second = await attempt(new AbortController().signal, () => {});
    expect(second.logs.join('\n')).toMatch(/resuming fine-tuning from the checkpoint at step 100/);
    const a = await readFile(path.join(straight.dir, 'model/encoder.safetensors'));
    const b = await readFile(path.join(second.outDir, 'model/encoder.safetensors'));
    expect(b.equals(a)).toBe(true);
  });

  it("last_n beyond the model's layers is a params error naming the key", async () => {
    await expect(
      runStage(trainKind, { ...small, finetune: 'last_n', finetune_last_n: 5 }, [pairsInput()]),
    ).rejects.toMatchObject({ code: 'EXP_PARAMS_INVALID', detail: { key: 'finetune_last_n' } });
  });
});
