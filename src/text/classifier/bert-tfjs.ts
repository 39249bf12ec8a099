// BERT's encoder in tfjs, built from a local Hugging Face folder (config.json + model.safetensors;
// never a download), so that it can be fine-tuned end to end (§3.2: one linear layer on [CLS]).
// Same computation as Hugging Face's BertModel (post-LayerNorm, GELU with erf): embeddings
// (word + position + token type) → LayerNorm → L × [self-attention → add & LayerNorm →
// feed-forward → add & LayerNorm] → last hidden states; the pooler is tanh(W·h[CLS] + b).
// Dropout is left out (inference and deterministic, resumable fine-tuning).
// The tfjs backend (node-gpu, node, wasm, cpu) is chosen in src/ml/backend.ts, nowhere else.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import { ExpError } from '../../errors.ts';
import { initBackend, tf } from '../../ml/backend.ts';
import { BertTokenizer, checkBertFolder, readBertDims, TOKENIZER_FILES, type BertConfig } from './bert.ts';
import { readSafetensors, type NamedTensor } from './safetensors.ts';

/** Weight files the tfjs encoder reads, in the order it looks for them. */
export const BERT_WEIGHT_FILES = ['model.safetensors'] as const;

export interface BertArchitecture {
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  maxPositions: number;
  typeVocabSize: number;
  layerNormEps: number;
}

/** The architecture from a Hugging Face config.json (model_type bert, hidden_act gelu). */
export async function readBertArchitecture(dir: string): Promise<BertArchitecture> {
  const file = path.join(dir, 'config.json');
  const c = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  const num = (key: string, fallback?: number): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new ExpError('EXP_DATA_INVALID', `${file} has no numeric ${key}`, {
        hint: 'use the config.json of a Hugging Face BERT checkpoint',
        detail: { file, key },
      });
    }
    return v;
  };
  const act = c.hidden_act ?? 'gelu';
  if (act !== 'gelu') {
    throw new ExpError(
      'EXP_MODEL_MISMATCH',
      `${file}: hidden_act ${String(act)} is not supported (only BERT's gelu with erf)`,
      { detail: { file } },
    );
  }
  const arch: BertArchitecture = {
    vocabSize: num('vocab_size'),
    hidden: num('hidden_size'),
    layers: num('num_hidden_layers'),
    heads: num('num_attention_heads'),
    intermediate: num('intermediate_size'),
    maxPositions: num('max_position_embeddings', 512),
    typeVocabSize: num('type_vocab_size', 2),
    layerNormEps: num('layer_norm_eps', 1e-12),
  };
  if (arch.hidden % arch.heads !== 0)
    throw new ExpError(
      'EXP_DATA_INVALID',
      `${file}: hidden_size ${arch.hidden} is not a multiple of num_attention_heads ${arch.heads}`,
    );
  return arch;
}

/** Hugging Face names (BertModel, no `bert.` prefix) and shapes in PyTorch layout. */
export function bertWeightShapes(a: BertArchitecture): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const H = a.hidden;
  const linear = (name: string, out: number, inp: number): void => {
    m.set(`${name}.weight`, [out, inp]);
    m.set(`${name}.bias`, [out]);
  };
  const norm = (name: string): void => {
    m.set(`${name}.weight`, [H]);
    m.set(`${name}.bias`, [H]);
  };
  m.set('embeddings.word_embeddings.weight', [a.vocabSize, H]);
  m.set('embeddings.position_embeddings.weight', [a.maxPositions, H]);
  m.set('embeddings.token_type_embeddings.weight', [a.typeVocabSize, H]);
  norm('embeddings.LayerNorm');
  for (let i = 0; i < a.layers; i++) {
    const L = `encoder.layer.${i}.`;
    for (const p of ['query', 'key', 'value']) linear(`${L}attention.self.${p}`, H, H);
    linear(`${L}attention.output.dense`, H, H);
    norm(`${L}attention.output.LayerNorm`);
    linear(`${L}intermediate.dense`, a.intermediate, H);
    linear(`${L}output.dense`, H, a.intermediate);
    norm(`${L}output.LayerNorm`);
  }
  linear('pooler.dense', H, H);
  return m;
}

/** A 2-D `.weight` of a Linear layer: stored [out, in] by PyTorch, used [in, out] here. */
function isLinearKernel(name: string, shape: number[]): boolean {
  return shape.length === 2 && name.endsWith('.weight') && !name.startsWith('embeddings.');
}

function transpose2d(d: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(d.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = d[r * cols + c]!;
  return out;
}

/** `bert.encoder…` → `encoder…`; the old `LayerNorm.gamma/beta` → `.weight/.bias`. */
export function normaliseBertName(name: string): string {
  let n = name.startsWith('bert.') ? name.slice(5) : name;
  if (n.includes('LayerNorm.'))
    n = n.replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
  return n;
}

/**
 * The encoder's weights from `dir/model.safetensors`, keyed by Hugging Face name, checked against
 * the architecture (PyTorch layout, as stored). Missing file: EXP_INPUT_MISSING naming the folder
 * and the files looked for. The pooler may be absent (then zero: only `pooling: pooler` uses it).
 */
export async function readBertWeights(
  dir: string,
  arch: BertArchitecture,
  file?: string,
): Promise<Map<string, NamedTensor>> {
  const weightsFile = file ?? BERT_WEIGHT_FILES.map((f) => path.join(dir, f)).find((f) => existsSync(f));
  if (!weightsFile || !existsSync(weightsFile)) {
    const others = ['pytorch_model.bin', 'tf_model.h5', 'onnx/model.onnx'].filter((f) => existsSync(path.join(dir, f)));
    throw new ExpError(
      'EXP_INPUT_MISSING',
      `bert folder ${dir} has no model weights for the tfjs encoder (looked for ${file ?? BERT_WEIGHT_FILES.join(', ')})`,
      {
        hint:
          `put model.safetensors (the Hugging Face checkpoint) into ${dir}` +
          (others.length
            ? `; it has ${others.join(', ')}: convert with transformers (BertModel.from_pretrained(dir).save_pretrained(dir, safe_serialization=True))`
            : '') +
          '; models are never downloaded',
        detail: { path: dir, lookedFor: file ? [file] : [...BERT_WEIGHT_FILES] },
      },
    );
  }
  const raw = await readSafetensors(weightsFile);
  const found = new Map<string, NamedTensor>();
  for (const [name, t] of raw) found.set(normaliseBertName(name), t);
  const shapes = bertWeightShapes(arch);
  const missing: string[] = [];
  const out = new Map<string, NamedTensor>();
  for (const [name, shape] of shapes) {
    const t = found.get(name);
    if (!t) {
      if (name.startsWith('pooler.')) {
        out.set(name, { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
        continue;
      }
      missing.push(name);
      continue;
    }
    if (t.shape.join() !== shape.join()) {
      throw new ExpError(
        'EXP_MODEL_MISMATCH',
        `${weightsFile}: ${name} has shape [${t.shape}], config.json implies [${shape}]`,
        {
          hint: 'config.json and model.safetensors must come from the same checkpoint',
          detail: { file: weightsFile, name },
        },
      );
    }
    out.set(name, t);
  }
  if (missing.length) {
    throw new ExpError(
      'EXP_MODEL_MISMATCH',
      `${weightsFile} lacks ${missing.length} BERT weights, e.g. ${missing.slice(0, 3).join(', ')}`,
      {
        hint: 'use a BertModel / BertFor* checkpoint whose config.json matches (num_hidden_layers, hidden_size, …)',
        detail: { file: weightsFile, missing: missing.slice(0, 20) },
      },
    );
  }
  return out;
}

let modelCounter = 0;

type Tensor = tfjs.Tensor;

/**
 * BERT's encoder as tfjs variables (layout [in, out] for Linear kernels), with a forward pass
 * that records gradients when called inside tf.variableGrads.
 */
export class TfBertModel {
  readonly arch: BertArchitecture;
  /** Hugging Face name → variable. */
  readonly variables: Map<string, tfjs.Variable>;

  private constructor(arch: BertArchitecture, variables: Map<string, tfjs.Variable>) {
    this.arch = arch;
    this.variables = variables;
  }

  /** weights: Hugging Face names, PyTorch layout (as readBertWeights gives them). */
  static async fromWeights(arch: BertArchitecture, weights: Map<string, NamedTensor>): Promise<TfBertModel> {
    await initBackend(); // before the first tensor: a tensor made earlier would live on the default backend
    const id = ++modelCounter;
    const vars = new Map<string, tfjs.Variable>();
    for (const [name, shape] of bertWeightShapes(arch)) {
      const t = weights.get(name);
      if (!t) throw new Error(`TfBertModel: weight ${name} missing`);
      const linear = isLinearKernel(name, shape);
      const data = linear ? transpose2d(t.data, shape[0]!, shape[1]!) : t.data;
      const tfShape = linear ? [shape[1]!, shape[0]!] : shape;
      // tidy drops the source tensor: the variable keeps the only reference (else the initial
      // weights would stay in memory after the first update)
      vars.set(
        name,
        tf.tidy(() => tf.variable(tf.tensor(data, tfShape, 'float32'), false, `bert${id}/${name}`)),
      );
    }
    return new TfBertModel(arch, vars);
  }

  /** Encoder layer a weight belongs to: -1 embeddings, 0 … L−1, L the pooler. */
  layerOf(name: string): number {
    if (name.startsWith('embeddings.')) return -1;
    if (name.startsWith('pooler.')) return this.arch.layers;
    const m = /^encoder\.layer\.(\d+)\./.exec(name);
    if (!m) throw new Error(`unknown BERT weight ${name}`);
    return Number(m[1]);
  }

  private v(name: string): tfjs.Variable {
    const v = this.variables.get(name);
    if (!v) throw new Error(`BERT weight ${name} missing`);
    return v;
  }

  private layerNorm(x: Tensor, name: string): Tensor {
    const mean = tf.mean(x, -1, true);
    const xc = tf.sub(x, mean);
    const variance = tf.mean(tf.square(xc), -1, true);
    const y = tf.mul(xc, tf.rsqrt(tf.add(variance, this.arch.layerNormEps)));
    return tf.add(tf.mul(y, this.v(`${name}.weight`)), this.v(`${name}.bias`));
  }

  /** x [N, in] → [N, out]. */
  private dense(x: Tensor, name: string): Tensor {
    return tf.add(
      tf.matMul(x as tfjs.Tensor2D, this.v(`${name}.weight`) as unknown as tfjs.Tensor2D),
      this.v(`${name}.bias`),
    );
  }

  /**
   * Last hidden states [B, T, H] of token ids [B, T] (int32) with attention mask [B, T] (1 =
   * token, 0 = padding). Token types are all 0 (one sentence per row).
   */
  forward(ids: tfjs.Tensor2D, mask: tfjs.Tensor2D): tfjs.Tensor3D {
    return this.forwardFrom(this.embeddings(ids), mask, 0);
  }

  /** Embeddings after their LayerNorm, [B·T, H] (the input of layer 0). */
  embeddings(ids: tfjs.Tensor2D): Tensor {
    const [B, T] = ids.shape;
    const N = B * T;
    const word = tf.gather(this.v('embeddings.word_embeddings.weight'), tf.reshape(ids, [N]));
    const pos = tf.gather(this.v('embeddings.position_embeddings.weight'), tf.tile(tf.range(0, T, 1, 'int32'), [B]));
    const type = tf.gather(this.v('embeddings.token_type_embeddings.weight'), tf.zeros([N], 'int32'));
    return this.layerNorm(tf.add(tf.add(word, type), pos), 'embeddings.LayerNorm');
  }

  /**
   * Layers `from` … L−1 on x [B·T, H] (the output of layer from−1, or of the embeddings): lets
   * a trainer run the frozen bottom of the network outside the gradient tape.
   */
  forwardFrom(x0: Tensor, mask: tfjs.Tensor2D, from: number, to = this.arch.layers): tfjs.Tensor3D {
    const { hidden: H, heads } = this.arch;
    const [B, T] = mask.shape;
    const dh = H / heads;
    const N = B * T;
    let x = x0;
    // additive mask as BERT's: 0 where attended, −10000 at padding, broadcast [B, 1, 1, T]
    const bias = tf.reshape(tf.mul(tf.sub(1, tf.cast(mask, 'float32')), -10000), [B, 1, 1, T]);
    const scale = 1 / Math.sqrt(dh);
    const split = (t: Tensor): Tensor => tf.transpose(tf.reshape(t, [B, T, heads, dh]), [0, 2, 1, 3]); // [B, h, T, dh]
    for (let i = from; i < to; i++) {
      const L = `encoder.layer.${i}.`;
      const q = split(this.dense(x, `${L}attention.self.query`));
      const k = split(this.dense(x, `${L}attention.self.key`));
      const v = split(this.dense(x, `${L}attention.self.value`));
      const scores = tf.add(tf.mul(tf.matMul(q as tfjs.Tensor4D, k as tfjs.Tensor4D, false, true), scale), bias);
      const ctx = tf.matMul(tf.softmax(scores, -1) as tfjs.Tensor4D, v as tfjs.Tensor4D); // [B, h, T, dh]
      const merged = tf.reshape(tf.transpose(ctx, [0, 2, 1, 3]), [N, H]);
      x = this.layerNorm(tf.add(x, this.dense(merged, `${L}attention.output.dense`)), `${L}attention.output.LayerNorm`);
      const h = this.dense(x, `${L}intermediate.dense`);
      // GELU, exact (erf) form as BERT's
      const gelu = tf.mul(tf.mul(h, 0.5), tf.add(1, tf.erf(tf.mul(h, Math.SQRT1_2))));
      x = this.layerNorm(tf.add(x, this.dense(gelu, `${L}output.dense`)), `${L}output.LayerNorm`);
    }
    return tf.reshape(x, [B, T, H]);
  }

  /** Sentence vectors [B, H] from last hidden states: [CLS], masked mean, or the pooler. */
  pool(hidden: tfjs.Tensor3D, mask: tfjs.Tensor2D, pooling: BertTfPooling): tfjs.Tensor2D {
    const [B, T, H] = hidden.shape;
    if (pooling === 'mean') {
      const m = tf.reshape(tf.cast(mask, 'float32'), [B, T, 1]);
      return tf.div(tf.sum(tf.mul(hidden, m), 1), tf.maximum(tf.sum(m, 1), 1)) as tfjs.Tensor2D;
    }
    const cls = tf.reshape(tf.slice(hidden, [0, 0, 0], [B, 1, H]), [B, H]);
    if (pooling === 'cls') return cls as tfjs.Tensor2D;
    return tf.tanh(this.dense(cls, 'pooler.dense')) as tfjs.Tensor2D;
  }

  /** Weights in Hugging Face names and PyTorch layout (what model.safetensors holds). */
  async exportWeights(): Promise<Map<string, NamedTensor>> {
    const out = new Map<string, NamedTensor>();
    for (const [name, shape] of bertWeightShapes(this.arch)) {
      const data = (await this.v(name).data()) as Float32Array;
      const linear = isLinearKernel(name, shape);
      out.set(name, { shape, data: linear ? transpose2d(data, shape[1]!, shape[0]!) : new Float32Array(data) });
    }
    return out;
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
  }
}

export type BertTfPooling = 'cls' | 'mean' | 'pooler';

/** Token id rows → padded int32 ids and mask [B, T] (T = longest row). */
export function padBatch(rows: readonly number[][], padId: number): { ids: Int32Array; mask: Int32Array; T: number } {
  const T = Math.max(1, ...rows.map((r) => r.length));
  const ids = new Int32Array(rows.length * T).fill(padId);
  const mask = new Int32Array(rows.length * T);
  rows.forEach((r, b) => {
    ids.set(r, b * T);
    mask.fill(1, b * T, b * T + r.length);
  });
  return { ids, mask, T };
}

/** Opens a BERT folder for the tfjs encoder: tokenizer, architecture, weights (checked). */
export async function openTfBert(
  dir0: string,
  maxTokens: number,
  weightsFile?: string,
): Promise<{ dir: string; tokenizer: BertTokenizer; arch: BertArchitecture; model: TfBertModel; maxTokens: number }> {
  const dir = path.resolve(dir0);
  checkBertFolder(dir, TOKENIZER_FILES);
  await initBackend();
  const arch = await readBertArchitecture(dir);
  const weights = await readBertWeights(dir, arch, weightsFile);
  const dims = await readBertDims(dir, maxTokens);
  const tokenizer = await BertTokenizer.open(dir, dims.maxTokens);
  return { dir, tokenizer, arch, model: await TfBertModel.fromWeights(arch, weights), maxTokens: dims.maxTokens };
}

/**
 * The tfjs counterpart of BertEncoder (same `embed` contract): pooled features of sentences,
 * e.g. from a fine-tuned encoder (weightsFile in the model folder).
 */
export class TfBertEncoder {
  readonly config: BertConfig;
  readonly dim: number;
  readonly tokenizer: BertTokenizer;
  readonly model: TfBertModel;
  private readonly pooling: BertTfPooling;

  constructor(
    config: BertConfig,
    tokenizer: BertTokenizer,
    model: TfBertModel,
    pooling: BertTfPooling = config.pooling,
  ) {
    this.config = config;
    this.tokenizer = tokenizer;
    this.model = model;
    this.dim = model.arch.hidden;
    this.pooling = pooling;
  }

  static async open(config: BertConfig, weightsFile?: string): Promise<TfBertEncoder> {
    const o = await openTfBert(config.path, config.maxTokens, weightsFile);
    return new TfBertEncoder({ ...config, path: o.dir, maxTokens: o.maxTokens }, o.tokenizer, o.model);
  }

  tokenize(sentence: string): number[] {
    return this.tokenizer.tokenize(sentence);
  }

  /** Last hidden states of token id rows, padded: row-major [B × T × H]. */
  async hiddenStates(rows: number[][]): Promise<{ data: Float32Array; dims: [number, number, number] }> {
    const { ids, mask, T } = padBatch(rows, this.tokenizer.padId);
    const h = tf.tidy(() =>
      this.model.forward(tf.tensor2d(ids, [rows.length, T], 'int32'), tf.tensor2d(mask, [rows.length, T], 'int32')),
    );
    const data = (await h.data()) as Float32Array;
    h.dispose();
    return { data, dims: [rows.length, T, this.dim] };
  }

  /** Pooled features, row-major [sentences.length × dim]. */
  async embed(sentences: string[]): Promise<Float32Array> {
    const out = new Float32Array(sentences.length * this.dim);
    for (let start = 0; start < sentences.length; start += this.config.batchSize) {
      const rows = sentences.slice(start, start + this.config.batchSize).map((s) => this.tokenize(s ?? ''));
      const { ids, mask, T } = padBatch(rows, this.tokenizer.padId);
      const pooled = tf.tidy(() => {
        const idT = tf.tensor2d(ids, [rows.length, T], 'int32');
        const maskT = tf.tensor2d(mask, [rows.length, T], 'int32');
        return this.model.pool(this.model.forward(idT, maskT), maskT, this.pooling);
      });
      out.set((await pooled.data()) as Float32Array, start * this.dim);
      pooled.dispose();
    }
    return out;
  }

  async dispose(): Promise<void> {
    this.model.dispose();
  }
}
