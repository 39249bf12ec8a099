// The `bert` encoder: a pretrained BERT in a local folder, run OFFLINE with transformers.js
// (§3.2: the paper puts one linear layer on BERT's [CLS] vector). Never touches the network:
// remote models are disabled and the folder is checked for every file before loading.
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ExpError } from '../../errors.ts';

export type BertPooling = 'cls' | 'mean';

export interface BertConfig {
  /** Absolute path of the model folder. */
  path: string;
  pooling: BertPooling;
  /** WordPiece tokens per sentence including [CLS] and [SEP]; longer sentences are truncated. */
  maxTokens: number;
  /** Sentences per ONNX call. */
  batchSize: number;
}

/** Files transformers.js needs in an offline BERT folder (it fetches nothing: allowRemoteModels is off). */
export const BERT_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx'] as const;
/** Files the WordPiece tokenizer alone needs. */
export const TOKENIZER_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json'] as const;

/** Throws EXP_INPUT_MISSING naming the first missing file; no network attempt is ever made. */
export function checkBertFolder(dir: string, files: readonly string[] = BERT_FILES): void {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new ExpError('EXP_INPUT_MISSING', `bert folder ${dir} does not exist`, {
      hint: `bert_path must be a local folder with ${files.join(', ')} (models are never downloaded)`,
      detail: { path: dir },
    });
  }
  for (const f of files) {
    if (!existsSync(path.join(dir, f))) {
      throw new ExpError('EXP_INPUT_MISSING', `bert folder ${dir} lacks ${f}`, {
        hint: `put ${f} into ${dir} (a BERT folder needs ${files.join(', ')}); models are never downloaded`,
        detail: { path: dir, missing: f },
      });
    }
  }
}

interface HfTensor {
  data: ArrayLike<number | bigint>;
  dims: number[];
}
interface HfTokenizer {
  encode(text: string): number[];
  sep_token_id?: number;
  pad_token_id?: number;
  model?: { tokens_to_ids: Map<string, number> };
}
type TensorCtor = new (type: 'int64', data: BigInt64Array, dims: number[]) => HfTensor;
type HfModel = ((inputs: Record<string, HfTensor>) => Promise<Record<string, HfTensor>>) & { dispose(): Promise<void> };

/** transformers.js set up for offline use of the folder `dir` (returns the module and the model id). */
async function offlineHf(dir: string): Promise<{ hf: typeof import('@huggingface/transformers'); id: string }> {
  const hf = await import('@huggingface/transformers');
  hf.env.allowRemoteModels = false;
  hf.env.allowLocalModels = true;
  hf.env.useBrowserCache = false;
  hf.env.useFSCache = false;
  hf.env.localModelPath = path.dirname(dir) + path.sep;
  return { hf, id: path.basename(dir) };
}

/**
 * The folder's WordPiece tokenizer (transformers.js, offline), with BERT's truncation to
 * maxTokens. Shared by the ONNX encoder (BertEncoder) and the tfjs one (bert-tfjs.ts).
 */
export class BertTokenizer {
  readonly maxTokens: number;
  readonly sepId: number;
  readonly padId: number;
  private readonly tokenizer: HfTokenizer;

  private constructor(tokenizer: HfTokenizer, maxTokens: number, dir: string) {
    this.tokenizer = tokenizer;
    this.maxTokens = maxTokens;
    const sep = tokenizer.sep_token_id ?? tokenizer.model?.tokens_to_ids.get('[SEP]');
    if (sep === undefined) throw new ExpError('EXP_DATA_INVALID', `${dir}/tokenizer.json has no [SEP] token`);
    this.sepId = sep;
    this.padId = tokenizer.pad_token_id ?? 0;
  }

  /** dir: an absolute BERT folder (checked by the caller). */
  static async open(dir: string, maxTokens: number): Promise<BertTokenizer> {
    const { hf, id } = await offlineHf(dir);
    const tokenizer = (await hf.AutoTokenizer.from_pretrained(id, {
      local_files_only: true,
    })) as unknown as HfTokenizer;
    return new BertTokenizer(tokenizer, maxTokens, dir);
  }

  /**
   * WordPiece ids with [CLS] … [SEP]; a sentence longer than maxTokens keeps its first
   * maxTokens − 2 pieces and its [SEP] (as BERT's own truncation does).
   */
  tokenize(sentence: string): number[] {
    // Each whitespace-separated chunk gives at least one piece: the first maxTokens chunks are
    // enough, which keeps a pathological 1 MB "sentence" cheap.
    const ids = this.tokenizer.encode(firstChunks(sentence ?? '', this.maxTokens));
    if (ids.length <= this.maxTokens) return ids;
    const cut = ids.slice(0, this.maxTokens - 1);
    cut.push(this.sepId);
    return cut;
  }
}

/** max_tokens capped by the model's max_position_embeddings (config.json). */
export async function readBertDims(dir: string, maxTokens: number): Promise<{ dim: number; maxTokens: number }> {
  const file = path.join(dir, 'config.json');
  const modelConfig = JSON.parse(await readFile(file, 'utf8')) as {
    hidden_size?: number;
    max_position_embeddings?: number;
  };
  const dim = modelConfig.hidden_size;
  if (!dim) throw new ExpError('EXP_DATA_INVALID', `${file} has no hidden_size`);
  return { dim, maxTokens: Math.min(maxTokens, modelConfig.max_position_embeddings ?? maxTokens) };
}

export class BertEncoder {
  readonly config: BertConfig;
  readonly dim: number;
  readonly tokenizer: BertTokenizer;
  private readonly model: HfModel;
  private readonly Tensor: TensorCtor;

  private constructor(config: BertConfig, dim: number, tokenizer: BertTokenizer, model: HfModel, Tensor: TensorCtor) {
    this.config = config;
    this.dim = dim;
    this.tokenizer = tokenizer;
    this.model = model;
    this.Tensor = Tensor;
  }

  static async open(config: BertConfig): Promise<BertEncoder> {
    const dir = path.resolve(config.path);
    checkBertFolder(dir);
    const { hf, id } = await offlineHf(dir);
    const { dim, maxTokens } = await readBertDims(dir, config.maxTokens);
    const tokenizer = await BertTokenizer.open(dir, maxTokens);
    const model = (await hf.AutoModel.from_pretrained(id, {
      local_files_only: true,
      dtype: 'fp32',
      device: 'cpu',
      // Measured: on 2 cores one intra-op thread is fastest.
      session_options: { intraOpNumThreads: 1, interOpNumThreads: 1 },
    })) as unknown as HfModel;
    return new BertEncoder(
      { ...config, path: dir, maxTokens },
      dim,
      tokenizer,
      model,
      hf.Tensor as unknown as TensorCtor,
    );
  }

  /** See BertTokenizer.tokenize. */
  tokenize(sentence: string): number[] {
    return this.tokenizer.tokenize(sentence);
  }

  /**
   * Last hidden states of one batch of token id rows (padded to the longest with [PAD], masked):
   * row-major [B × T × H].
   */
  async hiddenStates(
    ids: number[][],
  ): Promise<{ data: Float32Array; dims: [number, number, number]; mask: BigInt64Array }> {
    const T0 = Math.max(...ids.map((r) => r.length));
    const inputIds = new BigInt64Array(ids.length * T0).fill(BigInt(this.tokenizer.padId));
    const maskData = new BigInt64Array(ids.length * T0);
    ids.forEach((r, b) =>
      r.forEach((id, t) => {
        inputIds[b * T0 + t] = BigInt(id);
        maskData[b * T0 + t] = 1n;
      }),
    );
    const dims = [ids.length, T0];
    const inputs = {
      input_ids: new this.Tensor('int64', inputIds, dims),
      attention_mask: new this.Tensor('int64', maskData, dims),
      token_type_ids: new this.Tensor('int64', new BigInt64Array(ids.length * T0), dims),
    };
    const result = await this.model(inputs);
    const hidden = result.last_hidden_state ?? Object.values(result)[0]!;
    return { data: hidden.data as Float32Array, dims: hidden.dims as [number, number, number], mask: maskData };
  }

  /** Pooled features, row-major [sentences.length × dim]. */
  async embed(sentences: string[]): Promise<Float32Array> {
    const D = this.dim;
    const out = new Float32Array(sentences.length * D);
    for (let start = 0; start < sentences.length; start += this.config.batchSize) {
      const batch = sentences.slice(start, start + this.config.batchSize);
      const { data: h, dims, mask } = await this.hiddenStates(batch.map((t) => this.tokenize(t)));
      const [B, T, H] = dims;
      for (let b = 0; b < B; b++) {
        const o = (start + b) * D;
        if (this.config.pooling === 'cls') {
          out.set(h.subarray(b * T * H, b * T * H + H), o);
        } else {
          let n = 0;
          for (let t = 0; t < T; t++) {
            if (Number(mask[b * T + t]) === 0) continue;
            n++;
            const r = (b * T + t) * H;
            for (let d = 0; d < H; d++) out[o + d] += h[r + d]!;
          }
          if (n > 0) for (let d = 0; d < H; d++) out[o + d]! /= n;
        }
      }
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.model.dispose();
  }
}

/** The text up to the end of its first `n` whitespace-separated chunks. */
export function firstChunks(text: string, n: number): string {
  let chunks = 0;
  let inChunk = false;
  for (let i = 0; i < text.length; i++) {
    const space = /\s/.test(text[i]!);
    if (!space && !inChunk) {
      if (chunks === n) return text.slice(0, i);
      chunks++;
    }
    inChunk = !space;
  }
  return text;
}
