// SentenceClassifier implementations (docs/CONTRACTS.md): batch predict → row-major softmax.
// Inference is plain JS over Float32Array weights (no tfjs engine), so it runs in any worker thread.
import type { HeadWeights } from './head.ts';
import { forwardDense, forwardSparse, HeadScratch } from './head.ts';
import { NgramHasher, type NgramConfig } from './hashing.ts';

/** A sentence encoder with pooled features (BertEncoder on ONNX, TfBertEncoder on tfjs). */
export interface SentenceEmbedder {
  readonly dim: number;
  embed(sentences: string[]): Promise<Float32Array>;
  dispose(): Promise<void>;
}

export interface SentenceClassifier {
  /** Verb classes; index = output column. */
  classes: string[];
  /** Row-major [sentences.length × classes.length] softmax scores. */
  predict(sentences: string[]): Promise<Float32Array>;
  /** Frees what the classifier holds outside the JS heap (an ONNX session, tfjs variables). */
  dispose(): Promise<void>;
}

export class NgramSentenceClassifier implements SentenceClassifier {
  readonly classes: string[];
  readonly head: HeadWeights;
  readonly hasher: NgramHasher;
  private readonly scratch: HeadScratch;

  constructor(classes: string[], config: NgramConfig, head: HeadWeights) {
    this.classes = classes;
    this.head = head;
    this.hasher = new NgramHasher(config);
    this.scratch = new HeadScratch(head);
  }

  /** Synchronous batch prediction (the hot path of caption mining). */
  predictSync(sentences: readonly string[], out?: Float32Array): Float32Array {
    const K = this.classes.length;
    const result = out ?? new Float32Array(sentences.length * K);
    for (let i = 0; i < sentences.length; i++) {
      const f = this.hasher.extract(sentences[i] ?? '');
      forwardSparse(this.head, this.scratch, f.indices, f.values, f.length, result, i * K);
    }
    return result;
  }

  async predict(sentences: string[]): Promise<Float32Array> {
    return this.predictSync(sentences);
  }

  /** Nothing to free: the head is plain Float32Arrays the garbage collector reclaims. */
  async dispose(): Promise<void> {}
}

export class BertSentenceClassifier implements SentenceClassifier {
  readonly classes: string[];
  readonly head: HeadWeights;
  readonly encoder: SentenceEmbedder;
  private readonly scratch: HeadScratch;

  constructor(classes: string[], encoder: SentenceEmbedder, head: HeadWeights) {
    this.classes = classes;
    this.encoder = encoder;
    this.head = head;
    this.scratch = new HeadScratch(head);
  }

  async predict(sentences: string[]): Promise<Float32Array> {
    const K = this.classes.length;
    const D = this.encoder.dim;
    const x = await this.encoder.embed(sentences.map((s) => s ?? ''));
    const out = new Float32Array(sentences.length * K);
    for (let i = 0; i < sentences.length; i++) forwardDense(this.head, this.scratch, x, i * D, out, i * K);
    return out;
  }

  async dispose(): Promise<void> {
    await this.encoder.dispose();
  }
}
