// Stage `s2a.train` (§3.2): trains the Speech2Action sentence classifier on the train split of the
// pairs: one sentence in, a softmax over the K verb classes out, cross-entropy, Adam, batch 32.
import path from 'node:path';
import { ExpError } from '../errors.ts';
import type { JsonSchema, JsonValue, StageContext, StageKind } from '../plan/stage-kind.ts';
import { saveSentenceClassifier, trainSentenceClassifier, type EncoderOptions } from '../text/classifier/index.ts';
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
  seed?: number;
}

const paramsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    encoder: {
      type: 'string',
      enum: ['ngram', 'bert'],
      default: 'ngram',
      description: 'Sentence encoder: hashed word + character n-grams (built in, no download) or a local pretrained BERT (bert_path) run offline; the ngram head is trained in plain JS (sparse, fastText-like), the bert head with tfjs.',
    },
    bert_path: {
      type: 'string',
      'x-exp-path': 'dir',
      description: 'With encoder bert: a local folder with config.json, tokenizer.json, tokenizer_config.json and onnx/model.onnx (never downloaded).',
    },
    pooling: { type: 'string', enum: ['cls', 'mean'], default: 'cls', description: "With encoder bert: the sentence vector, BERT's [CLS] output (paper) or the mean over tokens." },
    epochs: { type: 'integer', minimum: 1, maximum: 1000, default: 4, description: 'Passes over the training pairs.' },
    batch_size: { type: 'integer', minimum: 1, maximum: 4096, default: 32, description: 'Pairs per Adam step (paper: 32).' },
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
      description: 'Longer sentences are truncated: to their first max_tokens words (ngram) or WordPiece tokens including [CLS]/[SEP] (bert).',
    },
    buckets: { type: 'integer', minimum: 256, maximum: 4194304, default: 65536, description: 'With encoder ngram: hash buckets (a power of two).' },
    word_ngrams: { type: 'array', items: { type: 'integer', minimum: 1, maximum: 5 }, default: [1, 2], description: 'With encoder ngram: word n-gram orders.' },
    char_ngrams: { type: 'array', items: { type: 'integer', minimum: 1, maximum: 8 }, default: [3, 4], description: 'With encoder ngram: character n-gram orders within words ([] for none).' },
    class_weighting: { type: 'string', enum: ['none', 'balanced'], default: 'none', description: 'balanced: weight each class N / (K · n_class) in the loss.' },
    seed: { type: 'integer', description: 'Seed of initialisation and shuffling (default: the node seed).' },
  },
};

export const MODEL_DIR = 'model';

async function run(ctx: StageContext<S2aTrainParams>): Promise<{ outputs: Record<string, JsonValue> }> {
  const p = ctx.params;
  const { pairs, classes } = await readPairsInput(ctx, 's2a.train');
  const train = pairs.filter((r) => r.split === 'train');
  const val = pairs.filter((r) => r.split === 'val');
  if (train.length === 0) {
    throw new ExpError('EXP_DATA_INVALID', `s2a.train: pairs.jsonl has no "train" pairs (${val.length} val)`, { hint: 'lower pairs.build val_fraction or add screenplays' });
  }
  let encoder: EncoderOptions;
  if (p.encoder === 'bert') {
    if (!p.bert_path) {
      throw new ExpError('EXP_SPEC_INVALID', 's2a.train: encoder bert needs bert_path (a local BERT folder)', {
        hint: 'set with: { bert_path: /path/to/bert-base-cased } or use encoder: ngram',
        detail: { key: 'bert_path' },
      });
    }
    encoder = { kind: 'bert', path: path.resolve(p.bert_path), pooling: p.pooling, maxTokens: p.max_tokens };
  } else {
    if (!Number.isInteger(Math.log2(p.buckets))) {
      throw new ExpError('EXP_SPEC_INVALID', `s2a.train: buckets must be a power of two, got ${p.buckets}`, { detail: { key: 'buckets' } });
    }
    encoder = { kind: 'ngram', ngram: { buckets: p.buckets, wordNgrams: p.word_ngrams, charNgrams: p.char_ngrams, maxTokens: p.max_tokens } };
  }
  const verbs = classes.map((c) => c.verb);
  ctx.log(`s2a.train: ${train.length} train / ${val.length} val pairs, ${verbs.length} classes, encoder ${p.encoder}`);
  const started = Date.now();
  const trained = await trainSentenceClassifier(train, {
    classes: verbs,
    encoder,
    hidden: p.hidden,
    epochs: p.epochs,
    batchSize: p.batch_size,
    learningRate: p.learning_rate,
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
      ctx.log(`epoch ${e.epoch} (${((Date.now() - started) / 1000).toFixed(0)} s): loss ${e.loss.toFixed(4)} accuracy ${e.accuracy.toFixed(4)}${e.valAccuracy !== undefined ? ` val accuracy ${e.valAccuracy.toFixed(4)}` : ''}`);
    },
  });
  ctx.log(`head trained by ${trained.trainer}`);
  if (trained.skipped) ctx.log(`${trained.skipped} train pairs carry no verb class and were not used`);
  await saveSentenceClassifier(path.join(ctx.outDir, MODEL_DIR), trained.manifest, trained.artifacts);
  const seconds = (Date.now() - started) / 1000;
  ctx.metric('s2a.train.seconds', seconds);
  ctx.artifact(`${MODEL_DIR}/classifier.json`);
  const close = (trained.classifier as { dispose?: () => Promise<void> }).dispose;
  if (close) await close.call(trained.classifier);
  return {
    outputs: {
      model: MODEL_DIR,
      trainer: trained.trainer,
      classes: verbs,
      encoder: p.encoder,
      train_pairs: trained.used,
      skipped_pairs: trained.skipped,
      seconds,
    },
  };
}

export const kind: StageKind<S2aTrainParams> = {
  name: 's2a.train',
  version: '2',
  description: 'Train the Speech2Action sentence classifier (ngram encoder: plain-JS sparse trainer; offline BERT encoder: tfjs head) on pairs.build output.',
  paramsSchema,
  // a linear ngram head keeps [buckets × K] weights and two Adam moments: 1.7 GB at 2,169 classes
  resources: (p) => ({ cpus: 1, memoryMb: p.encoder === 'bert' ? 4096 : p.hidden === 0 ? 3072 : 2048 }),
  runIn: 'process',
  module: import.meta.url,
  run,
};
