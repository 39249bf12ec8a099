// Video model checkpoints: a tfjs checkpoint folder (src/ml/checkpoint.ts) whose config.json says
// what the network is (docs/CONTRACTS.md: arch, width, frames, size, classes). Initialising a new
// model from a checkpoint copies every layer by name; the classifier's rows are carried over by
// class name, so a model trained on mined verb classes keeps its "drive" column when fine-tuned
// or evaluated on AVA's "drive" (paper §5.2: the classification layer is kept).
import type * as tfjs from '@tensorflow/tfjs';
import { tf } from '../../ml/backend.ts';
import { assertCheckpointMatches, loadCheckpoint, readCheckpointConfig, saveCheckpoint } from '../../ml/checkpoint.ts';
import type { CheckpointConfig, SaveCheckpointOptions } from '../../ml/checkpoint.ts';
import { ExpError } from '../../errors.ts';
import { buildS3dg } from './s3dg.ts';

export type VideoLoss = 'softmax' | 'sigmoid';

export interface VideoModelConfig {
  arch: 's3dg';
  width: number;
  frames: number;
  size: number;
  classes: string[];
  /** How the logits become scores (softmax over classes or a sigmoid per class). */
  loss: VideoLoss;
}

export function buildVideoModel(cfg: VideoModelConfig): tfjs.LayersModel {
  if (cfg.classes.length === 0)
    throw new ExpError('EXP_DATA_INVALID', 'no classes to train: the clips carry no labels', {
      hint: 'check the upstream clips / the classes param',
    });
  return buildS3dg({
    arch: cfg.arch,
    width: cfg.width,
    frames: cfg.frames,
    size: cfg.size,
    numClasses: cfg.classes.length,
  });
}

function asConfig(c: VideoModelConfig): CheckpointConfig {
  return { arch: c.arch, width: c.width, frames: c.frames, size: c.size, classes: [...c.classes], loss: c.loss };
}

export async function saveVideoCheckpoint(
  model: tfjs.LayersModel,
  dir: string,
  cfg: VideoModelConfig,
  opts: SaveCheckpointOptions = {},
): Promise<void> {
  await saveCheckpoint(model, dir, asConfig(cfg), opts);
}

export async function readVideoConfig(dir: string): Promise<VideoModelConfig> {
  const c = await readCheckpointConfig(dir);
  return c as unknown as VideoModelConfig;
}

export interface InitResult {
  model: tfjs.LayersModel;
  /** Classes whose classifier row came from the checkpoint. */
  carried: string[];
  /** Classes that start from a fresh classifier row (no such class in the checkpoint). */
  fresh: string[];
}

/**
 * Build a model for `target` and initialise it from the checkpoint in `dir`.
 * EXP_MODEL_MISMATCH when the checkpoint is another architecture or width.
 */
export async function initFromCheckpoint(dir: string, target: VideoModelConfig): Promise<InitResult> {
  const found = await readCheckpointConfig(dir);
  assertCheckpointMatches(dir, found, { arch: target.arch, width: target.width });
  const src = await loadCheckpoint(dir);
  const srcClasses = (found.classes as string[] | undefined) ?? [];
  const model = buildVideoModel(target);
  try {
    for (const layer of model.layers) {
      if (layer.weights.length === 0 || layer.name === 'Logits') continue;
      let from: tfjs.layers.Layer;
      try {
        from = src.model.getLayer(layer.name);
      } catch {
        throw new ExpError('EXP_MODEL_MISMATCH', `checkpoint ${dir} has no layer ${layer.name}`, {
          hint: 'the checkpoint was written by another version of the architecture; retrain it',
        });
      }
      const ws = from.getWeights();
      const shapes = layer.getWeights().map((w) => w.shape.join('×'));
      const got = ws.map((w) => w.shape.join('×'));
      if (shapes.join() !== got.join()) {
        throw new ExpError(
          'EXP_MODEL_MISMATCH',
          `checkpoint ${dir}: layer ${layer.name} has weights ${got.join(', ')}, this model needs ${shapes.join(', ')}`,
          {
            hint: 'use a checkpoint of the same architecture and width',
          },
        );
      }
      layer.setWeights(ws);
    }
    // Classifier: copy the rows of the classes both know, by name.
    const head = model.getLayer('Logits');
    const [kernel, bias] = head.getWeights() as [tfjs.Tensor2D, tfjs.Tensor1D];
    const [srcKernel, srcBias] = src.model.getLayer('Logits').getWeights() as [tfjs.Tensor2D, tfjs.Tensor1D];
    const carried: string[] = [];
    const fresh: string[] = [];
    const kArr = kernel.arraySync();
    const bArr = bias.arraySync();
    const skArr = srcKernel.arraySync();
    const sbArr = srcBias.arraySync();
    target.classes.forEach((c, j) => {
      const i = srcClasses.indexOf(c);
      if (i < 0) {
        fresh.push(c);
        return;
      }
      carried.push(c);
      for (let r = 0; r < kArr.length; r++) kArr[r]![j] = skArr[r]![i]!;
      bArr[j] = sbArr[i]!;
    });
    const next = [tf.tensor2d(kArr), tf.tensor1d(bArr)];
    head.setWeights(next);
    next.forEach((t) => t.dispose());
    return { model, carried, fresh };
  } finally {
    src.model.dispose();
  }
}

/** Load a checkpoint as it is (for evaluation): model + its config. */
export async function loadVideoModel(dir: string): Promise<{ model: tfjs.LayersModel; config: VideoModelConfig }> {
  const { model, config } = await loadCheckpoint(dir);
  if (config.arch !== 's3dg') {
    throw new ExpError(
      'EXP_MODEL_MISMATCH',
      `checkpoint ${dir} is architecture ${JSON.stringify(config.arch)}, expected "s3dg"`,
      { hint: 'evaluate a checkpoint written by video.train or video.finetune' },
    );
  }
  return { model, config: config as unknown as VideoModelConfig };
}
