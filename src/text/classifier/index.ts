// Speech2Action sentence classifiers (§3.2): public API of src/text/classifier.
export type { SentenceClassifier } from './classifier.ts';
export { NgramSentenceClassifier, BertSentenceClassifier } from './classifier.ts';
export { loadSentenceClassifier, saveSentenceClassifier, readSavedClassifier } from './io.ts';
export {
  trainSentenceClassifier,
  type LabelledSentence,
  type EncoderOptions,
  type TrainSentenceClassifierOptions,
  type EpochReport,
  type TrainedSentenceClassifier,
} from './train.ts';
export { defaultNgramConfig, type NgramConfig } from './hashing.ts';
export { BERT_FILES, checkBertFolder, BertEncoder, BertTokenizer, type BertConfig, type BertPooling } from './bert.ts';
export {
  BERT_WEIGHT_FILES,
  TfBertEncoder,
  TfBertModel,
  openTfBert,
  readBertArchitecture,
  readBertWeights,
  type BertArchitecture,
} from './bert-tfjs.ts';
export { finetuneBert, type FinetuneMode, type BertFinetuneOptions } from './bert-finetune.ts';
export type { BertFinetuneSettings } from './train.ts';
export type { ClassifierManifest } from './manifest.ts';
