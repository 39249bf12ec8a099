// Training a Speech2Action sentence classifier on (speech, verb labels) pairs (§3.2).
import { ExpError } from '../../errors.ts';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { BertEncoder, type BertPooling } from './bert.ts';
import { openTfBert, TfBertEncoder } from './bert-tfjs.ts';
import { finetuneBert, type FinetuneMode } from './bert-finetune.ts';
import {
  BertSentenceClassifier,
  NgramSentenceClassifier,
  type SentenceClassifier,
  type SentenceEmbedder,
} from './classifier.ts';
import { defaultNgramConfig, NgramHasher, type NgramConfig } from './hashing.ts';
import { forwardDense, HeadScratch, type HeadWeights } from './head.ts';
import { headArtifacts, type HeadArtifacts } from './head-format.ts';
import {
  ENCODER_WEIGHTS_FILE,
  HEAD_FILE,
  HEAD_WEIGHTS_FILE,
  MANIFEST_FORMAT,
  type ClassifierManifest,
  type EncoderManifest,
} from './manifest.ts';
import { DenseRows, SparseRows } from './rows.ts';
import type { NamedTensor } from './safetensors.ts';
import { type HeadOptimizer, sparseTargets } from './sparse-head.ts';
import { trainSparseHead } from './sparse-head-threads.ts';
import { trainHead } from './train-head.ts';

export interface LabelledSentence {
  speech: string;
  labels: string[];
}

export type EncoderOptions =
  | { kind: 'ngram'; ngram?: Partial<NgramConfig> }
  | {
      kind: 'bert';
      path: string;
      pooling?: BertPooling;
      maxTokens?: number;
      batchSize?: number;
      finetune?: BertFinetuneSettings;
    };

/** End-to-end fine-tuning of the BERT encoder (bert-finetune.ts); absent = frozen. */
export interface BertFinetuneSettings {
  mode: FinetuneMode;
  /** With last_n: top encoder layers that learn (default 1). */
  lastN?: number;
  /** Adam learning rate of encoder and head (default 5e-5, BERT's). */
  learningRate?: number;
  /** Gradient accumulation: sentences per forward/backward pass (default: the batch). */
  microBatchSize?: number;
  warmupSteps?: number;
  /** Stop after this many Adam steps (the paper: 100K iterations). */
  maxSteps?: number;
  /** Where to keep resumable checkpoints (weights + Adam moments + step). */
  checkpointDir?: string;
  checkpointEvery?: number;
}

export interface TrainSentenceClassifierOptions {
  /** Verb classes = output columns, in this order. */
  classes: string[];
  encoder: EncoderOptions;
  /** Hidden ReLU units (default 64); 0 = one linear layer (the paper's head on BERT). */
  hidden?: number;
  epochs?: number;
  /** Paper: 32. */
  batchSize?: number;
  learningRate?: number;
  seed?: number;
  /** `balanced` scales each class's loss by N / (K · n_class) (sklearn's definition). */
  classWeighting?: 'none' | 'balanced';
  /** Held-out pairs whose top-1 accuracy is reported after each epoch. */
  validation?: LabelledSentence[];
  /**
   * ngram head: `adam` (default) or `sgd` (plain SGD, learning rate decaying linearly to 0, as
   * fastText; `learningRate` is then SGD's). The bert heads train with Adam.
   */
  optimizer?: HeadOptimizer;
  /** ngram head: Hogwild worker threads (default 1: deterministic; > 1 is not bit-reproducible). */
  threads?: number;
  signal?: AbortSignal;
  onEpoch?: (report: EpochReport) => void;
  onStep?: (step: number, totalSteps: number) => void;
  log?: (line: string) => void;
}

export interface EpochReport {
  epoch: number;
  loss: number;
  accuracy: number;
  /** Top-1 prediction among the pair's labels, on `validation` (absent without it). */
  valAccuracy?: number;
}

export interface TrainedSentenceClassifier {
  classifier: SentenceClassifier;
  manifest: ClassifierManifest;
  artifacts: HeadArtifacts;
  /** What trained the head: `js` (ngram: plain JS, sparse) or `tfjs-<backend>` (bert features). */
  trainer: string;
  history: EpochReport[];
  /** Training pairs used / skipped (no label among the classes). */
  used: number;
  skipped: number;
  /** A fine-tuned encoder's weights (Hugging Face names): saved as ENCODER_WEIGHTS_FILE. */
  encoderWeights?: Map<string, NamedTensor>;
  /** Fine-tuning summary (absent for a frozen encoder). */
  finetune?: { mode: FinetuneMode; steps: number; resumedFrom: number; trained: number };
}

export async function trainSentenceClassifier(
  pairs: readonly LabelledSentence[],
  opts: TrainSentenceClassifierOptions,
): Promise<TrainedSentenceClassifier> {
  const classes = opts.classes;
  if (classes.length === 0) {
    throw new ExpError('EXP_DATA_INVALID', 'the pairs have no verb classes: nothing to train a classifier on', {
      hint: 'lower verbs.mine min_count / drop_top, or check that pairs.build found action verbs near speech',
    });
  }
  const K = classes.length;
  const index = new Map(classes.map((c, i) => [c, i]));
  const hidden = opts.hidden ?? 64;
  const epochs = opts.epochs ?? 5;
  const batchSize = opts.batchSize ?? 32;
  const learningRate = opts.learningRate ?? 0.002;
  const seed = opts.seed ?? 0;

  const kept: { speech: string; cols: number[] }[] = [];
  for (const p of pairs) {
    const cols = [...new Set(p.labels.map((l) => index.get(l)).filter((c): c is number => c !== undefined))];
    if (cols.length > 0) kept.push({ speech: p.speech ?? '', cols });
  }
  if (kept.length === 0) {
    throw new ExpError(
      'EXP_DATA_INVALID',
      `none of the ${pairs.length} training pairs carries one of the ${K} verb classes`,
      {
        hint: 'check that pairs.jsonl has split "train" pairs whose labels are in classes.json',
      },
    );
  }
  const skipped = pairs.length - kept.length;

  // Targets: a pair with several verbs spreads its probability mass over them.
  const counts = new Float64Array(K);
  for (const p of kept) for (const c of p.cols) counts[c]! += 1 / p.cols.length;
  const classWeight =
    opts.classWeighting === 'balanced'
      ? Float64Array.from(counts, (n) => (n > 0 ? kept.length / (K * n) : 0))
      : undefined;

  const val = (opts.validation ?? [])
    .map((p) => ({
      speech: p.speech ?? '',
      cols: new Set(p.labels.map((l) => index.get(l)).filter((c) => c !== undefined)),
    }))
    .filter((p) => p.cols.size > 0);
  const history: EpochReport[] = [];
  const onEpoch =
    (valScores: ((head: HeadWeights) => Float32Array) | undefined) =>
    (epoch: number, stats: { loss: number; accuracy: number }, head: HeadWeights) => {
      const report: EpochReport = { epoch, ...stats };
      if (valScores)
        report.valAccuracy = topOneHit(
          valScores(head),
          val.map((p) => p.cols),
          K,
        );
      history.push(report);
      opts.onEpoch?.(report);
    };
  const common = { hidden, epochs, batchSize, learningRate, seed, signal: opts.signal, onStep: opts.onStep };

  let encoderManifest: EncoderManifest;
  let classifier: SentenceClassifier;
  let artifacts: HeadArtifacts;
  let inputDim: number;
  let trainer: string;
  if (opts.encoder.kind === 'ngram') {
    const config: NgramConfig = { ...defaultNgramConfig, ...opts.encoder.ngram };
    const hasher = new NgramHasher(config);
    const rows = new SparseRows(config.buckets);
    for (const p of kept) {
      const f = hasher.extract(p.speech);
      rows.push(f.indices, f.values, f.length);
    }
    encoderManifest = { kind: 'ngram', ngram: config };
    let validation: SparseRows | undefined;
    if (val.length) {
      validation = new SparseRows(config.buckets);
      for (const p of val) {
        const f = hasher.extract(p.speech);
        validation.push(f.indices, f.values, f.length);
      }
    }
    const valCols = val.map((p) => p.cols);
    const head = await trainSparseHead(
      rows,
      sparseTargets(
        kept.map((p) => p.cols),
        classWeight,
      ),
      K,
      {
        ...common,
        validation,
        optimizer: opts.optimizer ?? 'adam',
        threads: opts.threads ?? 1,
        onEpoch: (epoch, { loss, accuracy, valTop }) => {
          const report: EpochReport = { epoch, loss, accuracy };
          if (valTop)
            report.valAccuracy = valTop.reduce((hits, k, i) => hits + (valCols[i]!.has(k) ? 1 : 0), 0) / valTop.length;
          history.push(report);
          opts.onEpoch?.(report);
        },
      },
    );
    classifier = new NgramSentenceClassifier(classes, config, head);
    artifacts = headArtifacts(head);
    inputDim = rows.dim;
    trainer = 'js';
  } else if (opts.encoder.finetune && opts.encoder.finetune.mode !== 'frozen') {
    return finetuneClassifier(
      kept,
      denseTargets(kept, K, classWeight),
      val,
      skipped,
      opts,
      opts.encoder,
      opts.encoder.finetune,
    );
  } else {
    // Frozen features: ONNX (transformers.js), or the tfjs encoder when the folder has only the
    // Hugging Face weights (model.safetensors).
    const settings = {
      path: opts.encoder.path,
      pooling: opts.encoder.pooling ?? 'cls',
      maxTokens: opts.encoder.maxTokens ?? 128,
      batchSize: opts.encoder.batchSize ?? 32,
    } as const;
    const onnx = existsSync(path.join(path.resolve(opts.encoder.path), 'onnx', 'model.onnx'));
    const useTf = Boolean(opts.encoder.finetune) && !onnx;
    const encoder = useTf ? await TfBertEncoder.open(settings) : await BertEncoder.open(settings);
    opts.log?.(
      useTf
        ? `bert: ${encoder.config.path} has no onnx/model.onnx: frozen features from the tfjs encoder (model.safetensors)`
        : `bert: embedding ${kept.length} training sentences (${encoder.config.pooling} pooling, ${encoder.dim} dims)`,
    );
    const rows = new DenseRows(await encoder.embed(kept.map((p) => p.speech)), encoder.dim);
    const c = encoder.config;
    encoderManifest = {
      kind: 'bert',
      bert: {
        path: c.path,
        pooling: c.pooling,
        maxTokens: c.maxTokens,
        batchSize: c.batchSize,
        dim: encoder.dim,
        ...(useTf ? { finetune: { mode: 'frozen' as const } } : {}),
      },
    };
    const valScores = val.length
      ? denseValScores(await encoder.embed(val.map((p) => p.speech)), encoder.dim, val.length, K)
      : undefined;
    const trained = await trainHead(rows, denseTargets(kept, K, classWeight), K, {
      ...common,
      onEpoch: onEpoch(valScores),
    });
    classifier = new BertSentenceClassifier(classes, encoder, trained.head);
    artifacts = trained.artifacts;
    inputDim = rows.dim;
    trainer = `tfjs-${trained.backend}`;
  }

  const manifest: ClassifierManifest = {
    format: MANIFEST_FORMAT,
    classes: [...classes],
    encoder: encoderManifest,
    head: { inputDim, hidden, topology: HEAD_FILE, weights: HEAD_WEIGHTS_FILE },
    training: {
      pairs: kept.length,
      skipped,
      epochs,
      batchSize,
      learningRate,
      seed,
      classWeighting: opts.classWeighting ?? 'none',
      trainer,
      ...(opts.encoder.kind === 'ngram' ? { optimizer: opts.optimizer ?? 'adam', threads: opts.threads ?? 1 } : {}),
    },
  };
  return { classifier, manifest, artifacts, trainer, history, used: kept.length, skipped };
}

/** Fraction of sentences whose arg-max class is among their labels. */
export function topOneHit(scores: Float32Array, labels: Set<number | undefined>[], K: number): number {
  if (labels.length === 0) return Number.NaN;
  let hit = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (scores[i * K + k]! > scores[i * K + best]!) best = k;
    if (labels[i]!.has(best)) hit++;
  }
  return hit / labels.length;
}

/** Dense soft targets for a head trained with tfjs: a pair's mass spread over its verbs, weighted. */
function denseTargets(kept: { cols: number[] }[], K: number, classWeight: Float64Array | undefined): Float32Array {
  const targets = new Float32Array(kept.length * K);
  kept.forEach((p, i) => {
    for (const c of p.cols) targets[i * K + c] = (1 / p.cols.length) * (classWeight ? classWeight[c]! : 1);
  });
  return targets;
}

function denseValScores(valX: Float32Array, dim: number, n: number, K: number): (head: HeadWeights) => Float32Array {
  return (head) => {
    const out = new Float32Array(n * K);
    const scratch = new HeadScratch(head);
    for (let i = 0; i < n; i++) forwardDense(head, scratch, valX, i * dim, out, i * K);
    return out;
  };
}

type Kept = { speech: string; cols: number[] }[];
type Val = { speech: string; cols: Set<number | undefined> }[];

/** The bert encoder fine-tuned end to end with the head (last_n / full). */
async function finetuneClassifier(
  kept: Kept,
  targets: Float32Array,
  val: Val,
  skipped: number,
  opts: TrainSentenceClassifierOptions,
  enc: Extract<EncoderOptions, { kind: 'bert' }>,
  ft: BertFinetuneSettings,
): Promise<TrainedSentenceClassifier> {
  const classes = opts.classes;
  const K = classes.length;
  const hidden = opts.hidden ?? 0;
  const epochs = opts.epochs ?? 5;
  const batchSize = opts.batchSize ?? 32;
  const learningRate = ft.learningRate ?? 5e-5;
  const seed = opts.seed ?? 0;
  const pooling = enc.pooling ?? 'cls';
  const o = await openTfBert(enc.path, enc.maxTokens ?? 128);
  const encoder: SentenceEmbedder & { config: { path: string; maxTokens: number; batchSize: number } } =
    new TfBertEncoder(
      { path: o.dir, pooling, maxTokens: o.maxTokens, batchSize: enc.batchSize ?? 32 },
      o.tokenizer,
      o.model,
    );
  const tokens = kept.map((p) => o.tokenizer.tokenize(p.speech));
  const lastN = ft.mode === 'last_n' ? (ft.lastN ?? 1) : undefined;
  if (lastN !== undefined && (lastN < 1 || lastN > o.arch.layers)) {
    throw new ExpError('EXP_PARAMS_INVALID', `finetune_last_n ${lastN}: ${o.dir} has ${o.arch.layers} encoder layers`, {
      hint: `set finetune_last_n between 1 and ${o.arch.layers}, or finetune: full`,
      detail: { key: 'finetune_last_n' },
    });
  }
  opts.log?.(
    `bert: fine-tuning (${ft.mode}${lastN ? ` ${lastN}` : ''}) ${o.arch.layers} layers × ${o.arch.hidden} on ${kept.length} sentences: lr ${learningRate}, batch ${batchSize}` +
      `${ft.microBatchSize && ft.microBatchSize < batchSize ? ` in micro-batches of ${ft.microBatchSize}` : ''}, warm-up ${ft.warmupSteps ?? 0} steps, ${epochs} epochs${ft.maxSteps ? ` (at most ${ft.maxSteps} steps)` : ''}`,
  );
  const history: EpochReport[] = [];
  const res = await finetuneBert(o.model, tokens, targets, K, {
    mode: ft.mode,
    ...(lastN ? { lastN } : {}),
    hidden,
    pooling,
    epochs,
    batchSize,
    ...(ft.microBatchSize ? { microBatchSize: ft.microBatchSize } : {}),
    learningRate,
    warmupSteps: ft.warmupSteps ?? 0,
    ...(ft.maxSteps ? { maxSteps: ft.maxSteps } : {}),
    seed,
    ...(ft.checkpointDir ? { checkpointDir: ft.checkpointDir } : {}),
    ...(ft.checkpointEvery !== undefined ? { checkpointEvery: ft.checkpointEvery } : {}),
    padId: o.tokenizer.padId,
    ...(opts.signal ? { signal: opts.signal } : {}),
    onStep: (step, total) => opts.onStep?.(step, total),
    onEpoch: async (epoch, stats, head) => {
      const report: EpochReport = { epoch, ...stats };
      // the encoder shares the model's variables: this is the encoder as trained so far
      if (val.length)
        report.valAccuracy = topOneHit(
          denseValScores(await encoder.embed(val.map((p) => p.speech)), encoder.dim, val.length, K)(head),
          val.map((p) => p.cols),
          K,
        );
      history.push(report);
      opts.onEpoch?.(report);
    },
    ...(opts.log ? { log: opts.log } : {}),
  });
  const headNow = res.head;
  const artifacts = headArtifacts(headNow);
  const manifest: ClassifierManifest = {
    format: MANIFEST_FORMAT,
    classes: [...classes],
    encoder: {
      kind: 'bert',
      bert: {
        path: o.dir,
        pooling,
        maxTokens: o.maxTokens,
        batchSize: encoder.config.batchSize,
        dim: encoder.dim,
        finetune: { mode: ft.mode, ...(lastN ? { lastN } : {}), weights: ENCODER_WEIGHTS_FILE },
      },
    },
    head: { inputDim: encoder.dim, hidden, topology: HEAD_FILE, weights: HEAD_WEIGHTS_FILE },
    training: {
      pairs: kept.length,
      skipped,
      epochs,
      batchSize,
      learningRate,
      seed,
      classWeighting: opts.classWeighting ?? 'none',
      trainer: `tfjs-${res.backend}`,
      finetune: ft.mode,
      ...(lastN ? { finetuneLastN: lastN } : {}),
      microBatchSize: ft.microBatchSize ?? batchSize,
      warmupSteps: ft.warmupSteps ?? 0,
      steps: res.steps,
      resumedFrom: res.resumedFrom,
    },
  };
  return {
    classifier: new BertSentenceClassifier(classes, encoder, headNow),
    manifest,
    artifacts,
    trainer: `tfjs-${res.backend}`,
    history,
    used: kept.length,
    skipped,
    encoderWeights: await o.model.exportWeights(),
    finetune: { mode: ft.mode, steps: res.steps, resumedFrom: res.resumedFrom, trained: res.trained.length },
  };
}
