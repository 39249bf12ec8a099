// The JSON written beside the head weights in `model/`: everything loadSentenceClassifier needs.
import type { NgramConfig } from './hashing.ts';
import type { BertPooling } from './bert.ts';
import type { FinetuneMode } from './bert-finetune.ts';

export const MANIFEST_FILE = 'classifier.json';
export const HEAD_FILE = 'head.json';
export const HEAD_WEIGHTS_FILE = 'head.weights.bin';
export const MANIFEST_FORMAT = 'exp.s2a-classifier/1';
export const ENCODER_WEIGHTS_FILE = 'encoder.safetensors';

export type EncoderManifest =
  | { kind: 'ngram'; ngram: NgramConfig }
  | {
      kind: 'bert';
      bert: {
        path: string;
        pooling: BertPooling;
        maxTokens: number;
        batchSize: number;
        dim: number;
        /**
         * Present when the encoder was fine-tuned (or run in tfjs): its weights, in Hugging Face
         * names (model.safetensors layout), are `weights` inside the model folder; the tokenizer and
         * config.json still come from `path`.
         */
        finetune?: { mode: FinetuneMode; lastN?: number; weights?: string };
      };
    };

export interface ClassifierManifest {
  format: typeof MANIFEST_FORMAT;
  classes: string[];
  encoder: EncoderManifest;
  head: { inputDim: number; hidden: number; topology: string; weights: string };
  training?: Record<string, unknown>;
}
