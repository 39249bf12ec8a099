// Checkpoint folders for tfjs LayersModels, without tfjs-node (tf.io's `file://` handlers need it):
// `model.json` (topology + weight manifest), `weights.bin`, `config.json` (what the model is:
// arch, width, classes...), and optionally `optimizer.json` + `optimizer.bin` and `state.json`
// (epoch, ...) so a killed training resumes where it stopped. A save goes to a sibling temporary
// folder that replaces the old one by rename, so a kill mid-save leaves the previous checkpoint.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import { ExpError } from '../errors.ts';
import { tf } from './backend.ts';

export type CheckpointValue = string | number | boolean | null | CheckpointValue[] | { [key: string]: CheckpointValue };
export type CheckpointConfig = { [key: string]: CheckpointValue };

export interface SaveCheckpointOptions {
  /** Optimizer slots (momentum, Adam moments) to resume training exactly. */
  optimizer?: tfjs.Optimizer;
  /** Small plain training state (epoch done, metrics so far...). */
  state?: CheckpointConfig;
}

export interface LoadedCheckpoint {
  model: tfjs.LayersModel;
  config: CheckpointConfig;
  state?: CheckpointConfig;
}

function joinBuffers(data: ArrayBuffer | ArrayBuffer[]): Uint8Array {
  if (!Array.isArray(data)) return new Uint8Array(data);
  const total = data.reduce((n, b) => n + b.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const b of data) {
    out.set(new Uint8Array(b), at);
    at += b.byteLength;
  }
  return out;
}

function toArrayBuffer(buf: Uint8Array): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

/** Write `model` (+ config, optimizer, state) into `dir`, replacing what was there atomically. */
export async function saveCheckpoint(
  model: tfjs.LayersModel,
  dir: string,
  config: CheckpointConfig,
  opts: SaveCheckpointOptions = {},
): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = joinBuffers((artifacts.weightData ?? new ArrayBuffer(0)) as ArrayBuffer | ArrayBuffer[]);
      const modelJson = {
        format: 'layers-model',
        generatedBy: 'exp',
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      };
      await writeFile(path.join(tmp, 'model.json'), JSON.stringify(modelJson));
      await writeFile(path.join(tmp, 'weights.bin'), weights);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  await writeFile(path.join(tmp, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  if (opts.optimizer) {
    const named = await opts.optimizer.getWeights();
    const { data, specs } = await tf.io.encodeWeights(named);
    await writeFile(
      path.join(tmp, 'optimizer.json'),
      JSON.stringify({ className: opts.optimizer.getClassName(), specs }),
    );
    await writeFile(path.join(tmp, 'optimizer.bin'), joinBuffers(data as ArrayBuffer | ArrayBuffer[]));
  }
  if (opts.state) await writeFile(path.join(tmp, 'state.json'), `${JSON.stringify(opts.state, null, 2)}\n`);
  const old = `${dir}.old-${process.pid}`;
  if (existsSync(dir)) await rename(dir, old);
  await rename(tmp, dir);
  await rm(old, { recursive: true, force: true });
}

/** True when `dir` holds a complete checkpoint. */
export function hasCheckpoint(dir: string): boolean {
  return ['model.json', 'weights.bin', 'config.json'].every((f) => existsSync(path.join(dir, f)));
}

/** config.json of a checkpoint (EXP_INPUT_MISSING when there is none). */
export async function readCheckpointConfig(dir: string): Promise<CheckpointConfig> {
  const file = path.join(dir, 'config.json');
  if (!hasCheckpoint(dir)) {
    throw new ExpError('EXP_INPUT_MISSING', `no checkpoint in ${dir} (needs model.json, weights.bin, config.json)`, {
      hint: 'point init at the output of a video.train / video.finetune node, or use init: scratch',
      detail: { dir },
    });
  }
  try {
    return JSON.parse(await readFile(file, 'utf8')) as CheckpointConfig;
  } catch (e) {
    throw new ExpError('EXP_DATA_INVALID', `${file} is not valid JSON`, { cause: e, detail: { file } });
  }
}

/**
 * Throw EXP_MODEL_MISMATCH naming every key of `expected` whose value differs in `found`
 * (e.g. a width-0.5 checkpoint given to a width-0.25 model).
 */
export function assertCheckpointMatches(dir: string, found: CheckpointConfig, expected: CheckpointConfig): void {
  const diffs = Object.entries(expected)
    .filter(([k, v]) => JSON.stringify(found[k]) !== JSON.stringify(v))
    .map(([k, v]) => `${k}: checkpoint has ${JSON.stringify(found[k])}, expected ${JSON.stringify(v)}`);
  if (diffs.length) {
    throw new ExpError('EXP_MODEL_MISMATCH', `checkpoint ${dir} does not fit this model (${diffs.join('; ')})`, {
      hint: 'initialise from a checkpoint trained with the same architecture and width, or train from scratch',
      detail: { dir, mismatch: diffs },
    });
  }
}

/** Load a checkpoint; with `expected`, first check its config (EXP_MODEL_MISMATCH otherwise). */
export async function loadCheckpoint(dir: string, expected?: CheckpointConfig): Promise<LoadedCheckpoint> {
  const config = await readCheckpointConfig(dir);
  if (expected) assertCheckpointMatches(dir, config, expected);
  const modelJson = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as {
    modelTopology: tfjs.io.ModelArtifacts['modelTopology'];
    weightsManifest: { weights: tfjs.io.WeightsManifestEntry[] }[];
  };
  const weightData = toArrayBuffer(await readFile(path.join(dir, 'weights.bin')));
  const weightSpecs = modelJson.weightsManifest.flatMap((g) => g.weights);
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs, weightData }),
  );
  const stateFile = path.join(dir, 'state.json');
  const state = existsSync(stateFile) ? (JSON.parse(await readFile(stateFile, 'utf8')) as CheckpointConfig) : undefined;
  return { model, config, ...(state ? { state } : {}) };
}

/**
 * Restore optimizer slots saved with the checkpoint into `optimizer` (same class, same variable
 * order). Returns false when the checkpoint has none or they belong to another optimizer class.
 */
export async function restoreOptimizer(dir: string, optimizer: tfjs.Optimizer): Promise<boolean> {
  const jsonFile = path.join(dir, 'optimizer.json');
  if (!existsSync(jsonFile)) return false;
  const meta = JSON.parse(await readFile(jsonFile, 'utf8')) as {
    className: string;
    specs: tfjs.io.WeightsManifestEntry[];
  };
  if (meta.className !== optimizer.getClassName()) return false;
  const data = toArrayBuffer(await readFile(path.join(dir, 'optimizer.bin')));
  const tensors = tf.io.decodeWeights(data, meta.specs);
  await optimizer.setWeights(meta.specs.map((s) => ({ name: s.name, tensor: tensors[s.name]! })));
  // setWeights made variables of them (sharing the data); these handles are ours to drop.
  Object.values(tensors).forEach((t) => t.dispose());
  return true;
}
