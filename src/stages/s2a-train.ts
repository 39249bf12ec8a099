// Stage `s2a.train` (§3.2): trains the Speech2Action sentence classifier on the train split of the
// pairs: one sentence in, a softmax over the K verb classes out, cross-entropy, Adam, batch 32.
import os from 'node:os';
import path from 'node:path';
import { ExpError } from '../errors.ts';
import type { JsonSchema, JsonValue, StageContext, StageKind } from '../plan/stage-kind.ts';
import type { BackendName } from '../ml/backend.ts';
import type { EncoderOptions, FinetuneMode } from '../text/classifier/index.ts';
import { readPairsInput } from './s2a-data.ts';

export interface S2aTrainParams {
  encoder: 'ngram' | 'bert';
  bert_path?: string;
  pooling: 'cls' | 'mean';
  epochs: number;
  batch_size: number;
  learning_rate: number;
  hidden: number;
  max_tokens: number;
  buckets: number;
  word_ngrams: number[];
  char_ngrams: number[];
  class_weighting: 'none' | 'balanced';
  optimizer: 'auto' | 'adam' | 'sgd';
  sgd_learning_rate: number;
  threads: number;
  finetune: 'auto' | FinetuneMode;
  finetune_last_n: number;
  finetune_learning_rate: number;
  micro_batch_size?: number;
  warmup_steps: number;
  max_steps?: number;
  checkpoint_every: number;
  seed?: number;
}

/**
 * frozen / last_n / full, and why. `auto` is full when the task was granted a GPU that tfjs can
 * use (the node-gpu backend), else frozen: a granted GPU with tfjs on wasm/cpu would mean weeks
 * of CPU fine-tuning for a real BERT.
 */
export function resolveFinetune(
  p: Pick<S2aTrainParams, 'encoder' | 'finetune'>,
  gpus: readonly number[],
  backend: BackendName | undefined,
): { mode: FinetuneMode; why?: string } {
  if (p.encoder !== 'bert') return { mode: 'frozen' };
  if (p.finetune !== 'auto') return { mode: p.finetune };
  if (!gpus.length)
    return {
      mode: 'frozen',
      why: 'finetune auto → frozen: no GPU granted (fine-tuning BERT on a CPU is slow; set finetune: full or last_n to do it anyway)',
    };
  if (backend !== 'node-gpu') {
    return {
      mode: 'frozen',
      why: `finetune auto → frozen: granted GPU ${gpus.join(',')} but tfjs runs on ${backend ?? 'no backend'}, not tfjs-node-gpu (set finetune: full to fine-tune there anyway)`,
    };
  }
  return { mode: 'full', why: `finetune auto → full: granted GPU ${gpus.join(',')} (tfjs-node-gpu)` };
}

/** threads: 0 starts one thread per this many training pairs (a worker costs ~2-4 CPU s to start). */
export const PAIRS_PER_THREAD = 20000;

/** Threads for the ngram head: the param, or (0) one per PAIRS_PER_THREAD pairs, at most the cores. */
export function resolveThreads(threads: number, pairs: number, cores = os.availableParallelism()): number {
  if (threads > 0) return threads;
  return Math.max(1, Math.min(cores, Math.floor(pairs / PAIRS_PER_THREAD)));
}

/** The ngram head's optimiser: `auto` is sgd for a linear head, adam with a hidden layer. */
export function resolveOptimizer(p: Pick<S2aTrainParams, 'optimizer' | 'hidden'>): 'adam' | 'sgd' {
  if (p.optimizer !== 'auto') return p.optimizer;
  return p.hidden === 0 ? 'sgd' : 'adam';
}

/** sgd_learning_rate's default (tuned on the 309 screenplays' pairs, linear head). */
const SGD_LEARNING_RATE = 2;

const paramsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    encoder: {
      type: 'string',
      enum: ['ngram', 'bert'],
      default: 'ngram',
      description:
        'Sentence encoder: hashed word + character n-grams (built in, no download) or a local pretrained BERT (bert_path) run offline; the ngram head is trained in plain JS (sparse, fastText-like), the bert head with tfjs.',
    },
    bert_path: {
      type: 'string',
      'x-exp-path': 'dir',
      description:
        'With encoder bert: a local folder with config.json, tokenizer.json, tokenizer_config.json and onnx/model.onnx (never downloaded).',
    },
    pooling: {
      type: 'string',
      enum: ['cls', 'mean'],
      default: 'cls',
      description: "With encoder bert: the sentence vector, BERT's [CLS] output (paper) or the mean over tokens.",
    },
    epochs: { type: 'integer', minimum: 1, maximum: 1000, default: 4, description: 'Passes over the training pairs.' },
    batch_size: {
      type: 'integer',
      minimum: 1,
      maximum: 4096,
      default: 32,
      description: 'Pairs per Adam step (paper: 32).',
    },
    learning_rate: { type: 'number', exclusiveMinimum: 0, default: 0.002, description: 'Adam learning rate.' },
    hidden: {
      type: 'integer',
      minimum: 0,
      maximum: 4096,
      default: 64,
      description:
        'Hidden ReLU units of the head; 0 = one linear layer on the encoding (the paper, with BERT). With ngram and hundreds of verb classes a linear head has buckets × classes weights, so the default is a 64-unit layer (fastText-like).',
    },
    max_tokens: {
      type: 'integer',
      minimum: 2,
      maximum: 512,
      default: 64,
      description:
        'Longer sentences are truncated: to their first max_tokens words (ngram) or WordPiece tokens including [CLS]/[SEP] (bert).',
    },
    buckets: {
      type: 'integer',
      minimum: 256,
      maximum: 4194304,
      default: 65536,
      description: 'With encoder ngram: hash buckets (a power of two).',
    },
    word_ngrams: {
      type: 'array',
      items: { type: 'integer', minimum: 1, maximum: 5 },
      default: [1, 2],
      description: 'With encoder ngram: word n-gram orders.',
    },
    char_ngrams: {
      type: 'array',
      items: { type: 'integer', minimum: 1, maximum: 8 },
      default: [3, 4],
      description: 'With encoder ngram: character n-gram orders within words ([] for none).',
    },
    class_weighting: {
      type: 'string',
      enum: ['none', 'balanced'],
      default: 'none',
      description: 'balanced: weight each class N / (K · n_class) in the loss.',
    },
    optimizer: {
      type: 'string',
      enum: ['auto', 'adam', 'sgd'],
      default: 'auto',
      description:
        'With encoder ngram: adam (Adam at learning_rate; lazy on the table rows a batch touches) or sgd (plain SGD at sgd_learning_rate decaying linearly to 0 over the run, as fastText; no optimiser state). auto: sgd for a linear head (hidden 0, whose table rows are K wide: Adam there costs 3× the memory and most of the time), adam with a hidden layer. The bert heads always use Adam.',
    },
    sgd_learning_rate: {
      type: 'number',
      exclusiveMinimum: 0,
      default: SGD_LEARNING_RATE,
      description: 'With optimizer sgd: the starting learning rate (of the mean batch loss), decaying linearly to 0.',
    },
    threads: {
      type: 'integer',
      minimum: 0,
      maximum: 256,
      default: 0,
      description: `With encoder ngram: worker threads training the head at once, Hogwild-style as fastText (weights shared, each thread a shard of every epoch). 1 is deterministic (the same seed gives the same weights); more threads are faster but not bit-reproducible. 0 = auto: one thread per ${PAIRS_PER_THREAD} training pairs (a thread costs seconds to start), at most the available cores; the node's log and the model's classifier.json say how many ran.`,
    },
    finetune: {
      type: 'string',
      enum: ['auto', 'frozen', 'last_n', 'full'],
      default: 'auto',
      description:
        'With encoder bert: frozen trains only the head on fixed features; last_n also the last finetune_last_n encoder layers; full the whole encoder (the paper), in tfjs from bert_path/model.safetensors. auto: full when the task is granted a GPU and tfjs runs on it (tfjs-node-gpu), else frozen; the log says which and why. Anything but frozen asks for a GPU (optional: runs on CPU where there is none).',
    },
    finetune_last_n: {
      type: 'integer',
      minimum: 1,
      maximum: 48,
      default: 1,
      description: 'With finetune last_n: how many of the top encoder layers learn.',
    },
    finetune_learning_rate: {
      type: 'number',
      exclusiveMinimum: 0,
      default: 5e-5,
      description:
        'Adam learning rate of encoder and head when fine-tuning (BERT: 5e-5); learning_rate is for the head alone.',
    },
    micro_batch_size: {
      type: 'integer',
      minimum: 1,
      maximum: 4096,
      description:
        'When fine-tuning: sentences per forward/backward pass; the gradients of the micro-batches of one batch are summed before one Adam step (default: batch_size).',
    },
    warmup_steps: {
      type: 'integer',
      minimum: 0,
      default: 0,
      description: 'When fine-tuning: linear learning-rate warm-up over this many Adam steps.',
    },
    max_steps: {
      type: 'integer',
      minimum: 1,
      description:
        'When fine-tuning: stop after this many Adam steps (the paper: 100,000 at batch 32); default: epochs × steps per epoch.',
    },
    checkpoint_every: {
      type: 'integer',
      minimum: 0,
      default: 200,
      description:
        "When fine-tuning: Adam steps between resumable checkpoints (weights, Adam moments, step) in the node's scratch folder; 0 = none.",
    },
    seed: { type: 'integer', description: 'Seed of initialisation and shuffling (default: the node seed).' },
  },
};

export const MODEL_DIR = 'model';

async function run(ctx: StageContext<S2aTrainParams>): Promise<{ outputs: Record<string, JsonValue> }> {
  // tfjs and the classifier load when the node runs, not when the CLI starts.
  const { describeBackend, initBackend } = await import('../ml/backend.ts');
  const { saveSentenceClassifier, trainSentenceClassifier } = await import('../text/classifier/index.ts');
  const p = ctx.params;
  const { pairs, classes } = await readPairsInput(ctx, 's2a.train');
  const train = pairs.filter((r) => r.split === 'train');
  const val = pairs.filter((r) => r.split === 'val');
  if (train.length === 0) {
    throw new ExpError('EXP_DATA_INVALID', `s2a.train: pairs.jsonl has no "train" pairs (${val.length} val)`, {
      hint: 'lower pairs.build val_fraction or add screenplays',
    });
  }
  let encoder: EncoderOptions;
  if (p.micro_batch_size !== undefined && p.micro_batch_size > p.batch_size) {
    throw new ExpError(
      'EXP_PARAMS_INVALID',
      `s2a.train: micro_batch_size ${p.micro_batch_size} is larger than batch_size ${p.batch_size}`,
      {
        hint: 'micro-batches split one batch (gradient accumulation): set micro_batch_size ≤ batch_size, e.g. batch_size / 2',
        detail: { key: 'micro_batch_size' },
      },
    );
  }
  if (p.encoder === 'bert') {
    if (!p.bert_path) {
      throw new ExpError('EXP_PARAMS_INVALID', 's2a.train: encoder bert needs bert_path (a local BERT folder)', {
        hint: 'set with: { bert_path: /path/to/bert-base-cased } or use encoder: ngram',
        detail: { key: 'bert_path' },
      });
    }
    // the backend decides `auto` on a GPU task; it is chosen once per process
    const backend = ctx.gpus.length && p.finetune !== 'frozen' ? await initBackend() : undefined;
    if (backend) ctx.log(describeBackend(ctx.gpus));
    const { mode, why } = resolveFinetune(p, ctx.gpus, backend);
    if (why) ctx.log(why);
    encoder = { kind: 'bert', path: path.resolve(p.bert_path), pooling: p.pooling, maxTokens: p.max_tokens };
    // frozen: today's ONNX features (or the tfjs encoder's when the folder has no onnx/model.onnx)
    encoder.finetune = { mode };
    if (mode !== 'frozen') {
      if (!backend) {
        await initBackend();
        ctx.log(describeBackend(ctx.gpus));
      }
      encoder.finetune = {
        mode,
        lastN: p.finetune_last_n,
        learningRate: p.finetune_learning_rate,
        ...(p.micro_batch_size ? { microBatchSize: p.micro_batch_size } : {}),
        warmupSteps: p.warmup_steps,
        ...(p.max_steps ? { maxSteps: p.max_steps } : {}),
        checkpointDir: path.join(ctx.scratchDir, 'bert-checkpoint'),
        checkpointEvery: p.checkpoint_every,
      };
    }
  } else {
    if (!Number.isInteger(Math.log2(p.buckets))) {
      throw new ExpError('EXP_PARAMS_INVALID', `s2a.train: buckets must be a power of two, got ${p.buckets}`, {
        detail: { key: 'buckets' },
      });
    }
    encoder = {
      kind: 'ngram',
      ngram: { buckets: p.buckets, wordNgrams: p.word_ngrams, charNgrams: p.char_ngrams, maxTokens: p.max_tokens },
    };
    if (p.finetune !== 'auto' && p.finetune !== 'frozen')
      ctx.log(`finetune ${p.finetune} applies to encoder bert only: ignored for ngram`);
  }
  const verbs = classes.map((c) => c.verb);
  ctx.log(`s2a.train: ${train.length} train / ${val.length} val pairs, ${verbs.length} classes, encoder ${p.encoder}`);
  const optimizer = resolveOptimizer(p);
  const threads = resolveThreads(p.threads, train.length);
  if (p.encoder === 'ngram')
    ctx.log(
      `ngram head: ${optimizer === 'sgd' ? `SGD from learning rate ${p.sgd_learning_rate}, decaying linearly` : `Adam at learning rate ${p.learning_rate}`}; ${threads} thread${threads > 1 ? 's (Hogwild: not bit-reproducible)' : ''}${p.threads === 0 ? ' (threads: 0 = auto)' : ''}`,
    );
  const started = Date.now();
  const trained = await trainSentenceClassifier(train, {
    classes: verbs,
    encoder,
    hidden: p.hidden,
    epochs: p.epochs,
    batchSize: p.batch_size,
    learningRate: p.encoder === 'ngram' && optimizer === 'sgd' ? p.sgd_learning_rate : p.learning_rate,
    ...(p.encoder === 'ngram' ? { optimizer, threads } : {}),
    seed: p.seed ?? ctx.seed,
    classWeighting: p.class_weighting,
    validation: val,
    signal: ctx.signal,
    log: (m) => ctx.log(m),
    onStep: (step, total) => {
      if (step % 100 === 0 || step === total) ctx.progress(step, total, 'steps');
    },
    onEpoch: (e) => {
      ctx.metric('s2a.train.loss', e.loss, e.epoch);
      ctx.metric('s2a.train.accuracy', e.accuracy, e.epoch);
      if (e.valAccuracy !== undefined) ctx.metric('s2a.val.accuracy', e.valAccuracy, e.epoch);
      ctx.log(
        `epoch ${e.epoch} (${((Date.now() - started) / 1000).toFixed(0)} s): loss ${e.loss.toFixed(4)} accuracy ${e.accuracy.toFixed(4)}${e.valAccuracy !== undefined ? ` val accuracy ${e.valAccuracy.toFixed(4)}` : ''}`,
      );
    },
  });
  ctx.log(`head trained by ${trained.trainer}`);
  if (trained.skipped) ctx.log(`${trained.skipped} train pairs carry no verb class and were not used`);
  if (trained.finetune) {
    ctx.log(
      `bert: ${trained.finetune.mode} fine-tuning trained ${trained.finetune.trained} encoder weights in ${trained.finetune.steps} steps${trained.finetune.resumedFrom ? ` (resumed at step ${trained.finetune.resumedFrom})` : ''}`,
    );
  }
  await saveSentenceClassifier(
    path.join(ctx.outDir, MODEL_DIR),
    trained.manifest,
    trained.artifacts,
    trained.encoderWeights,
  );
  const seconds = (Date.now() - started) / 1000;
  ctx.metric('s2a.train.seconds', seconds);
  ctx.artifact(`${MODEL_DIR}/classifier.json`);
  await trained.classifier.dispose();
  return {
    outputs: {
      model: MODEL_DIR,
      trainer: trained.trainer,
      classes: verbs,
      encoder: p.encoder,
      ...(p.encoder === 'bert' ? { finetune: trained.finetune?.mode ?? 'frozen' } : {}),
      ...(trained.finetune ? { steps: trained.finetune.steps } : {}),
      ...(p.encoder === 'ngram' ? { optimizer, threads } : {}),
      train_pairs: trained.used,
      skipped_pairs: trained.skipped,
      seconds,
    },
  };
}

export const kind: StageKind<S2aTrainParams> = {
  name: 's2a.train',
  version: '3',
  description:
    'Train the Speech2Action sentence classifier (ngram encoder: plain-JS sparse trainer; offline BERT encoder: tfjs head) on pairs.build output.',
  paramsSchema,
  inputs: { pairs: { accepts: ['pairs'], description: 'speech/verb pairs and their classes (pairs.build)' } },
  produces: ['s2a-model'],
  // Fine-tuning asks for a GPU but runs without one (auto then means frozen, see resolveFinetune);
  // a linear ngram head keeps [buckets × K] weights (570 MB at 2,175 classes), and with Adam two moments more.
  resources: (p) =>
    p.encoder === 'bert' && p.finetune !== 'frozen'
      ? { cpus: 1, gpus: 1, gpuOptional: true, memoryMb: 8192 }
      : {
          // the ngram head's Hogwild threads (auto, 0, reserves one: it uses more only on large data)
          cpus: p.encoder === 'ngram' && p.threads > 1 ? Math.min(p.threads, os.availableParallelism()) : 1,
          memoryMb: p.encoder === 'bert' ? 4096 : p.hidden === 0 ? (resolveOptimizer(p) === 'sgd' ? 2048 : 3072) : 2048,
        },
  runIn: 'process',
  module: import.meta.url,
  run,
};
