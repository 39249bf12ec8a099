// Saving and loading a trained classifier in a node's `model/` folder: classifier.json (encoder
// config + classes) and the head as a tfjs layers model (head.json + head.weights.bin, written
// from `tf.io.withSaveHandler` artifacts, loadable with `tf.io.fromMemory`: tf.io's file:// handlers need tfjs-node).
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ExpError } from '../../errors.ts';
import { BertEncoder } from './bert.ts';
import { TfBertEncoder } from './bert-tfjs.ts';
import { writeSafetensors, type NamedTensor } from './safetensors.ts';
import { BertSentenceClassifier, NgramSentenceClassifier, type SentenceClassifier } from './classifier.ts';
import { MANIFEST_FILE, MANIFEST_FORMAT, type ClassifierManifest } from './manifest.ts';
import { headFromWeightList, weightsFromArtifacts, type HeadArtifacts } from './head-format.ts';

export async function saveSentenceClassifier(
  dir: string,
  manifest: ClassifierManifest,
  artifacts: HeadArtifacts,
  encoderWeights?: Map<string, NamedTensor>,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const weightsFile = manifest.encoder.kind === 'bert' ? manifest.encoder.bert.finetune?.weights : undefined;
  if (weightsFile) {
    if (!encoderWeights)
      throw new Error(`saveSentenceClassifier: the manifest names ${weightsFile} but no encoder weights were given`);
    await writeSafetensors(path.join(dir, weightsFile), encoderWeights);
  }
  const modelJson = {
    format: 'layers-model',
    generatedBy: 'exp s2a.train',
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: [manifest.head.weights], weights: artifacts.weightSpecs }],
  };
  await writeFile(path.join(dir, manifest.head.topology), JSON.stringify(modelJson));
  // the weights go out array by array: a linear head on 65k buckets is hundreds of MB
  const file = await open(path.join(dir, manifest.head.weights), 'w');
  try {
    for (const a of Array.isArray(artifacts.weightData)
      ? artifacts.weightData
      : [new Float32Array(artifacts.weightData)]) {
      await file.write(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    }
  } finally {
    await file.close();
  }
  await writeFile(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** Reads the manifest and the tfjs artifacts of a saved classifier (no tfjs engine needed). */
export async function readSavedClassifier(
  dir: string,
): Promise<{ manifest: ClassifierManifest; artifacts: HeadArtifacts }> {
  const manifestPath = path.join(dir, MANIFEST_FILE);
  if (!existsSync(manifestPath)) {
    throw new ExpError('EXP_INPUT_MISSING', `${manifestPath} not found: ${dir} is not a trained S2A classifier`, {
      hint: 'point at the model/ folder written by an s2a.train node',
    });
  }
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as ClassifierManifest;
  if (manifest.format !== MANIFEST_FORMAT) {
    throw new ExpError(
      'EXP_MODEL_MISMATCH',
      `${manifestPath}: format ${String(manifest.format)}, expected ${MANIFEST_FORMAT}`,
      {
        hint: 'retrain with this version of exp (s2a.train)',
      },
    );
  }
  const topoPath = path.join(dir, manifest.head.topology);
  const weightsPath = path.join(dir, manifest.head.weights);
  for (const p of [topoPath, weightsPath]) {
    if (!existsSync(p))
      throw new ExpError('EXP_INPUT_MISSING', `${p} not found (classifier ${dir} is incomplete)`, {
        hint: 'retrain the s2a.train node',
      });
  }
  const modelJson = JSON.parse(await readFile(topoPath, 'utf8')) as {
    modelTopology: unknown;
    weightsManifest: { weights: HeadArtifacts['weightSpecs'] }[];
  };
  const buf = await readFile(weightsPath);
  const weightData = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  return {
    manifest,
    artifacts: {
      modelTopology: modelJson.modelTopology,
      weightSpecs: modelJson.weightsManifest.flatMap((m) => m.weights),
      weightData,
    },
  };
}

/** Loads a classifier saved by s2a.train; works in any thread (ngram needs no tfjs engine). */
export async function loadSentenceClassifier(modelDir: string): Promise<SentenceClassifier> {
  const { manifest, artifacts } = await readSavedClassifier(modelDir);
  const K = manifest.classes.length;
  let head: ReturnType<typeof headFromWeightList>;
  try {
    head = headFromWeightList(
      weightsFromArtifacts(artifacts.weightSpecs, artifacts.weightData),
      manifest.head.inputDim,
      manifest.head.hidden,
      K,
    );
  } catch (e) {
    throw new ExpError(
      'EXP_MODEL_MISMATCH',
      `${modelDir}: head weights do not match classifier.json (${(e as Error).message})`,
      { cause: e },
    );
  }
  const width = manifest.head.hidden > 0 ? manifest.head.hidden : K;
  if (
    head.w1.length !== manifest.head.inputDim * width ||
    head.b1.length !== width ||
    (head.w2 && head.w2.length !== width * K)
  ) {
    throw new ExpError(
      'EXP_MODEL_MISMATCH',
      `${modelDir}: head weight shapes do not match ${K} classes / input ${manifest.head.inputDim}`,
    );
  }
  if (manifest.encoder.kind === 'ngram')
    return new NgramSentenceClassifier(manifest.classes, manifest.encoder.ngram, head);
  const b = manifest.encoder.bert;
  const config = { path: b.path, pooling: b.pooling, maxTokens: b.maxTokens, batchSize: b.batchSize };
  let encoder: BertEncoder | TfBertEncoder;
  if (b.finetune) {
    // fine-tuned (weights in the model folder) or frozen on the tfjs encoder (the folder's own)
    const weights = b.finetune.weights ? path.join(modelDir, b.finetune.weights) : undefined;
    if (weights && !existsSync(weights)) {
      throw new ExpError('EXP_INPUT_MISSING', `${weights} not found (classifier ${modelDir} is incomplete)`, {
        hint: 'retrain the s2a.train node',
      });
    }
    encoder = await TfBertEncoder.open(config, weights);
  } else encoder = await BertEncoder.open(config);
  if (encoder.dim !== manifest.head.inputDim) {
    throw new ExpError(
      'EXP_MODEL_MISMATCH',
      `${modelDir}: head expects ${manifest.head.inputDim}-dim features, ${b.path} gives ${encoder.dim}`,
    );
  }
  return new BertSentenceClassifier(manifest.classes, encoder, head);
}
