// End-to-end fine-tuning of BERT with the Speech2Action head (§3.2: one linear layer on [CLS],
// softmax cross-entropy, Adam, batch 32; BERT's own recipe: lr 5e-5 with warm-up).
//   frozen  — only the head learns (the encoder runs outside the gradient tape);
//   last_n  — the head and the last n encoder layers learn;
//   full    — everything learns (embeddings included).
// A batch may be split into micro-batches whose gradients are summed before one Adam step
// (gradient accumulation: the same update as the whole batch, less memory). Every
// `checkpointEvery` steps the trained weights, the Adam moments and the step go to
// `checkpointDir`; a rerun with the same options continues from there and ends with the same
// weights as an uninterrupted run (shuffling is replayed from the seed; Adam is written here
// with its bias correction computed from the step, so nothing depends on the restart).
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import { ExpError } from '../../errors.ts';
import { initBackend, tf, type BackendName } from '../../ml/backend.ts';
import { mulberry32, shuffleInPlace } from '../../random.ts';
import { padBatch, type BertTfPooling, type TfBertModel } from './bert-tfjs.ts';
import type { HeadWeights } from './head.ts';
import { readSafetensors, writeSafetensors, type NamedTensor } from './safetensors.ts';
import { glorot } from './sparse-head.ts';

export type FinetuneMode = 'frozen' | 'last_n' | 'full';

export interface BertFinetuneOptions {
  mode: FinetuneMode;
  /** With last_n: how many of the top encoder layers learn. */
  lastN?: number;
  /** Head: 0 = one linear layer (paper), else one ReLU layer of this width. */
  hidden?: number;
  pooling: BertTfPooling;
  epochs: number;
  /** Sentences per Adam step (paper: 32). */
  batchSize: number;
  /** Sentences per forward/backward pass; gradients of a batch's micro-batches are summed. */
  microBatchSize?: number;
  /** Adam learning rate (BERT fine-tuning: 5e-5). */
  learningRate: number;
  /** Linear warm-up from lr/warmup to lr over this many steps, then constant. */
  warmupSteps?: number;
  /** Stop after this many steps (default: epochs × steps per epoch). */
  maxSteps?: number;
  seed: number;
  checkpointDir?: string;
  /** Steps between checkpoints (default 100; 0 = none). */
  checkpointEvery?: number;
  padId: number;
  signal?: AbortSignal;
  onStep?: (step: number, totalSteps: number, loss: number) => void;
  /** After each epoch, with the head so far (the encoder's variables are the model's). */
  onEpoch?: (epoch: number, stats: { loss: number; accuracy: number }, head: HeadWeights) => void | Promise<void>;
  log?: (line: string) => void;
}

export interface BertFinetuneResult {
  head: HeadWeights;
  history: { epoch: number; loss: number; accuracy: number }[];
  steps: number;
  /** Step the run continued from (0 = fresh start). */
  resumedFrom: number;
  /** Names of the encoder weights that were trained. */
  trained: string[];
  backend: BackendName;
}

const ADAM = { beta1: 0.9, beta2: 0.999, epsilon: 1e-6 }; // BERT's AdamW epsilon (no weight decay here)
const STATE_FILE = 'state.json';
const WEIGHTS_FILE = 'weights.safetensors';
const STATE_FORMAT = 'exp.bert-finetune-checkpoint/1';

/** Encoder weights that learn under a mode (the pooler only when it is used). */
export function trainableNames(
  model: TfBertModel,
  mode: FinetuneMode,
  lastN: number,
  pooling: BertTfPooling,
): string[] {
  if (mode === 'frozen') return [];
  const L = model.arch.layers;
  const from = mode === 'full' ? -1 : Math.max(0, L - lastN);
  return [...model.variables.keys()].filter((name) => {
    const layer = model.layerOf(name);
    if (layer === L) return pooling === 'pooler';
    return layer >= from;
  });
}

/**
 * tokens: WordPiece id rows ([CLS] … [SEP], already truncated); targets: N×K distributions.
 * Trains `model` in place (its variables) and returns the head.
 */
export async function finetuneBert(
  model: TfBertModel,
  tokens: readonly number[][],
  targets: Float32Array,
  K: number,
  opts: BertFinetuneOptions,
): Promise<BertFinetuneResult> {
  const backend = await initBackend();
  try {
    return await finetune(model, tokens, targets, K, opts, backend);
  } catch (e) {
    // The wasm heap ends at 4 GB; running past it aborts the module with a bare "Aborted()".
    if (backend === 'wasm' && e instanceof Error && /Aborted\(/.test(e.message)) {
      throw new ExpError(
        'EXP_OUT_OF_MEMORY',
        `BERT fine-tuning ran out of the tfjs wasm backend's 4 GB memory (${model.arch.layers} layers × ${model.arch.hidden}, batch ${opts.batchSize}${opts.microBatchSize ? ` in micro-batches of ${opts.microBatchSize}` : ''})`,
        {
          hint: 'set micro_batch_size smaller (gradient accumulation keeps the batch), lower max_tokens, use finetune: last_n, or run on a GPU with @tensorflow/tfjs-node-gpu',
          cause: e,
        },
      );
    }
    throw e;
  }
}

async function finetune(
  model: TfBertModel,
  tokens: readonly number[][],
  targets: Float32Array,
  K: number,
  opts: BertFinetuneOptions,
  backend: BackendName,
): Promise<BertFinetuneResult> {
  const N = tokens.length;
  const D = model.arch.hidden;
  const Hh = opts.hidden ?? 0;
  const width = Hh > 0 ? Hh : K;
  if (targets.length !== N * K) throw new Error(`finetuneBert: ${N} rows but ${targets.length / K} target rows`);
  const lastN = opts.lastN ?? 1;
  if (opts.mode === 'last_n' && (lastN < 1 || lastN > model.arch.layers))
    throw new Error(`finetuneBert: last_n ${lastN} outside 1…${model.arch.layers}`);
  const B = opts.batchSize;
  const micro = Math.min(opts.microBatchSize ?? B, B);
  const stepsPerEpoch = Math.ceil(N / B);
  const totalSteps = Math.min(opts.maxSteps ?? Infinity, stepsPerEpoch * opts.epochs);
  const warmup = opts.warmupSteps ?? 0;
  const every = opts.checkpointEvery ?? 100;

  const rand = mulberry32(opts.seed);
  // tf.tidy: the variable keeps the only reference to its initial value
  const own = (init: () => tfjs.Tensor, trainable: boolean): tfjs.Variable =>
    tf.tidy(() => tf.variable(init(), trainable));
  const w1Init = glorot(D, width, rand);
  const w2Init = Hh > 0 ? glorot(Hh, K, rand) : undefined;
  const head = {
    w1: own(() => tf.tensor2d(w1Init, [D, width]), true),
    b1: own(() => tf.zeros([width]), true),
    ...(w2Init ? { w2: own(() => tf.tensor2d(w2Init, [Hh, K]), true), b2: own(() => tf.zeros([K]), true) } : {}),
  };
  const headVars: [string, tfjs.Variable][] = Object.entries(head).map(([k, v]) => [`head.${k}`, v as tfjs.Variable]);
  const encNames = trainableNames(model, opts.mode, lastN, opts.pooling);
  const encVars: [string, tfjs.Variable][] = encNames.map((n) => [n, model.variables.get(n)!]);
  const trainVars = new Map<string, tfjs.Variable>([...encVars, ...headVars]);
  const ourName = new Map([...trainVars].map(([name, v]) => [v.name, name]));
  for (const v of model.variables.values()) v.trainable = false;
  for (const v of trainVars.values()) v.trainable = true;
  // The lowest layer that learns: everything below runs once, outside the tape.
  const firstTrainable =
    opts.mode === 'frozen' ? model.arch.layers : opts.mode === 'full' ? -1 : model.arch.layers - lastN;
  const moments = new Map<string, { m: tfjs.Variable; v: tfjs.Variable }>();
  for (const [name, v] of trainVars)
    moments.set(name, { m: own(() => tf.zerosLike(v), false), v: own(() => tf.zerosLike(v), false) });

  const config = {
    mode: opts.mode,
    lastN: opts.mode === 'last_n' ? lastN : null,
    hidden: Hh,
    pooling: opts.pooling,
    batchSize: B,
    microBatchSize: micro,
    learningRate: opts.learningRate,
    warmupSteps: warmup,
    epochs: opts.epochs,
    totalSteps,
    seed: opts.seed,
    rows: N,
    classes: K,
    layers: model.arch.layers,
    hiddenSize: D,
  };
  let resumedFrom = 0;
  let epochLoss = 0;
  let epochHits = 0;
  let history: BertFinetuneResult['history'] = [];
  if (opts.checkpointDir) {
    const restored = await restore(opts.checkpointDir, config, trainVars, moments, opts.log);
    if (restored) ({ step: resumedFrom, epochLoss, epochHits, history } = restored);
  }

  const order = new Int32Array(N);
  for (let i = 0; i < N; i++) order[i] = i;
  const yBuf = new Float32Array(B * K);
  let step = 0;
  const headForward = (feat: tfjs.Tensor): tfjs.Tensor => {
    let z = tf.add(tf.matMul(feat as tfjs.Tensor2D, head.w1), head.b1);
    if (head.w2 && head.b2) z = tf.add(tf.matMul(tf.relu(z) as tfjs.Tensor2D, head.w2), head.b2);
    return z;
  };
  const readHead = async (): Promise<HeadWeights> => ({
    inputDim: D,
    hidden: Hh,
    classes: K,
    w1: new Float32Array((await head.w1.data()) as Float32Array),
    b1: new Float32Array((await head.b1.data()) as Float32Array),
    ...(head.w2 && head.b2
      ? {
          w2: new Float32Array((await head.w2.data()) as Float32Array),
          b2: new Float32Array((await head.b2.data()) as Float32Array),
        }
      : {}),
  });
  outer: for (let epoch = 1; epoch <= opts.epochs; epoch++) {
    shuffleInPlace(order, rand);
    for (let start = 0; start < N; start += B) {
      step++;
      if (step > totalSteps) break outer;
      if (step <= resumedFrom) continue;
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
      const n = Math.min(B, N - start);
      for (let i = 0; i < n; i++) yBuf.set(targets.subarray(order[start + i]! * K, (order[start + i]! + 1) * K), i * K);
      let acc: Map<string, tfjs.Tensor> | undefined;
      let lossSum = 0;
      for (let m0 = 0; m0 < n; m0 += micro) {
        const m = Math.min(micro, n - m0);
        const rows = Array.from({ length: m }, (_, i) => tokens[order[start + m0 + i]!]!);
        const { ids, mask, T } = padBatch(rows, opts.padId);
        const idT = tf.tensor2d(ids, [m, T], 'int32');
        const maskT = tf.tensor2d(mask, [m, T], 'int32');
        const ys = tf.tensor2d(yBuf.subarray(m0 * K, (m0 + m) * K), [m, K]);
        // the frozen bottom (embeddings and layers below firstTrainable) without a tape
        const below =
          firstTrainable <= -1
            ? undefined
            : tf.tidy(() =>
                firstTrainable >= model.arch.layers
                  ? model.pool(model.forward(idT, maskT), maskT, opts.pooling)
                  : model.forwardFrom(model.embeddings(idT), maskT, 0, firstTrainable),
              );
        let logitsKept: tfjs.Tensor | undefined;
        const { value, grads } = tf.variableGrads(() => {
          let feat: tfjs.Tensor;
          if (firstTrainable >= model.arch.layers) feat = below!;
          else {
            const x0 = below ? tf.reshape(below, [m * T, D]) : model.embeddings(idT);
            feat = model.pool(model.forwardFrom(x0, maskT, Math.max(0, firstTrainable)), maskT, opts.pooling);
          }
          const z = headForward(feat);
          logitsKept = tf.keep(z);
          // Σ over the micro-batch / batch size: summed over micro-batches it is the batch mean
          return tf.div(tf.losses.softmaxCrossEntropy(ys, z, undefined, 0, tf.Reduction.SUM), n) as tfjs.Scalar;
        }, [...trainVars.values()]);
        lossSum += (await value.data())[0]!;
        const logits = (await logitsKept!.data()) as Float32Array;
        for (let i = 0; i < m; i++) {
          let best = 0;
          let bestT = 0;
          const yo = (m0 + i) * K;
          for (let k = 1; k < K; k++) if (logits[i * K + k]! > logits[i * K + best]!) best = k;
          for (let k = 1; k < K; k++) if (yBuf[yo + k]! > yBuf[yo + bestT]!) bestT = k;
          if (yBuf[yo + best]! > 0 && yBuf[yo + best]! >= yBuf[yo + bestT]!) epochHits++;
        }
        tf.dispose([value, logitsKept!, idT, maskT, ys, ...(below ? [below] : [])]);
        if (!acc)
          acc = new Map(
            Object.entries(grads)
              .filter((e): e is [string, tfjs.Tensor] => e[1] != null)
              .map(([k, g]) => [ourName.get(k)!, g]),
          );
        else {
          for (const [key, g] of Object.entries(grads)) {
            if (!g) continue;
            const name = ourName.get(key)!;
            const prev = acc.get(name);
            acc.set(name, prev ? tf.add(prev, g) : tf.keep(g));
            if (prev) {
              prev.dispose();
              g.dispose();
            }
          }
        }
      }
      const lr = opts.learningRate * (warmup > 0 ? Math.min(1, step / warmup) : 1);
      adamStep(trainVars, moments, acc!, lr, step);
      tf.dispose([...acc!.values()]);
      epochLoss += lossSum * n;
      opts.onStep?.(step, totalSteps, lossSum);
      const endOfEpoch = start + B >= N || step === totalSteps;
      if (endOfEpoch) {
        const stats = { loss: epochLoss / Math.min(N, n + start), accuracy: epochHits / Math.min(N, n + start) };
        history.push({ epoch, ...stats });
        epochLoss = 0;
        epochHits = 0;
        if (opts.onEpoch) await opts.onEpoch(epoch, stats, await readHead());
      }
      if (opts.checkpointDir && ((every > 0 && step % every === 0) || step === totalSteps)) {
        await save(opts.checkpointDir, config, step, { epochLoss, epochHits, history }, trainVars, moments);
      }
    }
  }
  const headWeights = await readHead();
  for (const { m, v } of moments.values()) tf.dispose([m, v]);
  for (const [, v] of headVars) v.dispose();
  for (const v of model.variables.values()) v.trainable = false;
  return { head: headWeights, history, steps: Math.min(step, totalSteps), resumedFrom, trained: encNames, backend };
}

/** Adam with the bias correction taken from the step number (exact across restarts). */
function adamStep(
  vars: Map<string, tfjs.Variable>,
  moments: Map<string, { m: tfjs.Variable; v: tfjs.Variable }>,
  grads: Map<string, tfjs.Tensor>,
  lr: number,
  step: number,
): void {
  const { beta1, beta2, epsilon } = ADAM;
  const lrT = (lr * Math.sqrt(1 - beta2 ** step)) / (1 - beta1 ** step);
  // one tidy per weight: the temporaries of all weights at once would be ~8× the model
  for (const [name, g] of grads) {
    tf.tidy(() => {
      const w = vars.get(name)!;
      const s = moments.get(name)!;
      const m = tf.add(tf.mul(s.m, beta1), tf.mul(g, 1 - beta1));
      const v = tf.add(tf.mul(s.v, beta2), tf.mul(tf.square(g), 1 - beta2));
      s.m.assign(m);
      s.v.assign(v);
      w.assign(tf.sub(w, tf.mul(tf.div(m, tf.add(tf.sqrt(v), epsilon)), lrT)));
    });
  }
}

type Config = Record<string, string | number | null>;
interface Progress {
  epochLoss: number;
  epochHits: number;
  history: BertFinetuneResult['history'];
}

/** Weights (tfjs layout), Adam moments and the step, written to a sibling folder then renamed. */
async function save(
  dir: string,
  config: Config,
  step: number,
  progress: Progress,
  vars: Map<string, tfjs.Variable>,
  moments: Map<string, { m: tfjs.Variable; v: tfjs.Variable }>,
): Promise<void> {
  const tensors = new Map<string, NamedTensor>();
  for (const [name, v] of vars) {
    const s = moments.get(name)!;
    tensors.set(name, { shape: v.shape, data: (await v.data()) as Float32Array });
    tensors.set(`adam.m/${name}`, { shape: v.shape, data: (await s.m.data()) as Float32Array });
    tensors.set(`adam.v/${name}`, { shape: v.shape, data: (await s.v.data()) as Float32Array });
  }
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await writeSafetensors(path.join(tmp, WEIGHTS_FILE), tensors, { format: 'exp', step: String(step) });
  await writeFile(
    path.join(tmp, STATE_FILE),
    `${JSON.stringify({ format: STATE_FORMAT, step, config, ...progress }, null, 2)}\n`,
  );
  const old = `${dir}.old-${process.pid}`;
  if (existsSync(dir)) await rename(dir, old);
  await mkdir(path.dirname(dir), { recursive: true });
  await rename(tmp, dir);
  await rm(old, { recursive: true, force: true });
}

async function restore(
  dir: string,
  config: Config,
  vars: Map<string, tfjs.Variable>,
  moments: Map<string, { m: tfjs.Variable; v: tfjs.Variable }>,
  log?: (line: string) => void,
): Promise<({ step: number } & Progress) | undefined> {
  const stateFile = path.join(dir, STATE_FILE);
  if (!existsSync(stateFile) || !existsSync(path.join(dir, WEIGHTS_FILE))) return undefined;
  const state = JSON.parse(await readFile(stateFile, 'utf8')) as {
    format: string;
    step: number;
    config: Config;
  } & Progress;
  if (state.format !== STATE_FORMAT || JSON.stringify(state.config) !== JSON.stringify(config)) {
    log?.(`bert: checkpoint in ${dir} was written with other settings: starting afresh`);
    return undefined;
  }
  const tensors = await readSafetensors(path.join(dir, WEIGHTS_FILE));
  for (const [name, v] of vars) {
    const s = moments.get(name)!;
    for (const [key, target] of [
      [name, v],
      [`adam.m/${name}`, s.m],
      [`adam.v/${name}`, s.v],
    ] as const) {
      const t = tensors.get(key);
      if (!t || t.shape.join() !== target.shape.join()) {
        log?.(`bert: checkpoint in ${dir} lacks ${key}: starting afresh`);
        return undefined;
      }
    }
  }
  tf.tidy(() => {
    for (const [name, v] of vars) {
      const s = moments.get(name)!;
      v.assign(tf.tensor(tensors.get(name)!.data, v.shape));
      s.m.assign(tf.tensor(tensors.get(`adam.m/${name}`)!.data, v.shape));
      s.v.assign(tf.tensor(tensors.get(`adam.v/${name}`)!.data, v.shape));
    }
  });
  log?.(`bert: resuming fine-tuning from the checkpoint at step ${state.step} (${dir})`);
  return { step: state.step, epochLoss: state.epochLoss, epochHits: state.epochHits, history: state.history };
}
