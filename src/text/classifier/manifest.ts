// The JSON written beside the head weights in `model/`: everything loadSentenceClassifier needs.
import type { NgramConfig } from './hashing.ts';
import type { BertPooling } from './bert.ts';

export const MANIFEST_FILE = 'classifier.json';
export const HEAD_FILE = 'head.json';
export const HEAD_WEIGHTS_FILE = 'head.weights.bin';
export const MANIFEST_FORMAT = 'exp.s2a-classifier/1';

export type EncoderManifest =
  | { kind: 'ngram'; ngram: NgramConfig }
  | { kind: 'bert'; bert: { path: string; pooling: BertPooling; maxTokens: number; batchSize: number; dim: number } };

export interface ClassifierManifest {
  format: typeof MANIFEST_FORMAT;
  classes: string[];
  encoder: EncoderManifest;
  head: { inputDim: number; hidden: number; topology: string; weights: string };
  training?: Record<string, unknown>;
}
