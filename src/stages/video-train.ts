// Stage `video.train`: train S3D-G on the frame shards of an upstream `clips.extract` node (paper
// §5: the classifier trained on mined clips), from scratch or from an upstream video.* checkpoint.
// Checkpoints go to the node's scratch folder each epoch (a killed run resumes there); the final
// one is copied to `checkpoint/` in the output.
import { cp, rm } from 'node:fs/promises';
import path from 'node:path';
import { ExpError } from '../errors.ts';
import type { BackendName } from '../ml/backend.ts';
import type { JsonSchema, JsonValue, StageContext, StageKind } from '../plan/stage-kind.ts';
import type { VideoLoss } from '../video/model/io.ts';
import type { VideoOptimizer } from '../video/train.ts';
import { seedGlobalRandom } from '../random.ts';
import { outputPath, portInput, requirePort } from './ports.ts';

export type VideoDevice = 'cpu' | 'gpu';

export interface VideoTrainParams {
  arch: 's3dg';
  width: number;
  frames: number;
  size: number;
  epochs: number;
  batch_size: number;
  optimizer: VideoOptimizer;
  lr: number;
  lr_steps?: number[];
  loss: VideoLoss;
  init: 'scratch' | 'upstream';
  classes?: string[];
  seed?: number;
  device: VideoDevice;
}

/** Schema fragments shared by the three video stages. */
export const videoCommonProps = {
  batch_size: {
    type: 'integer',
    minimum: 1,
    maximum: 4096,
    default: 8,
    description: 'Clips per training / scoring step.',
  },
  optimizer: {
    enum: ['sgd', 'adam'],
    default: 'sgd',
    description: 'SGD with momentum 0.9 and a step schedule (paper), or Adam.',
  },
  lr: { type: 'number', exclusiveMinimum: 0, maximum: 10, default: 0.01, description: 'Base learning rate.' },
  lr_steps: {
    type: 'array',
    items: { type: 'integer', minimum: 1 },
    description: 'Epochs after which the SGD rate is multiplied by 0.1 (default: after 60 % and 85 % of the epochs).',
  },
  seed: {
    type: 'integer',
    minimum: 0,
    description: 'Seed for initialisation order, sampling, crops (default: the node seed).',
  },
  device: {
    enum: ['cpu', 'gpu'],
    default: 'cpu',
    description:
      'gpu: tfjs-node-gpu in a process given one GPU (declares gpus: 1); cpu: tfjs-node, wasm or cpu, whichever works.',
  },
} as const;

const paramsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    arch: { enum: ['s3dg'], default: 's3dg', description: 'Network: S3D-G (Xie et al. 2018).' },
    width: {
      type: 'number',
      exclusiveMinimum: 0,
      maximum: 4,
      default: 0.25,
      description: 'Channel multiplier (1 = the published 64…1024 channels).',
    },
    frames: {
      type: 'integer',
      minimum: 1,
      maximum: 256,
      default: 8,
      description: 'Frames per clip fed to the network (a random window of the shard clip when it has more).',
    },
    size: {
      type: 'integer',
      minimum: 16,
      maximum: 512,
      default: 64,
      description: 'Side of the square crop fed to the network (random crop in training, centre crop in evaluation).',
    },
    epochs: {
      type: 'integer',
      minimum: 1,
      maximum: 10000,
      default: 10,
      description: 'Passes over the training clips.',
    },
    ...videoCommonProps,
    loss: {
      enum: ['softmax', 'sigmoid'],
      default: 'softmax',
      description: 'Softmax cross-entropy or one sigmoid per class (the paper tried both).',
    },
    init: {
      enum: ['scratch', 'upstream'],
      default: 'scratch',
      description:
        'scratch: random weights; upstream: the checkpoint of an upstream video.train / video.finetune node.',
    },
    classes: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      uniqueItems: true,
      description: 'Train only on these classes (default: every label in the shards).',
    },
  },
};

/** Shard folder of the upstream clips.extract node. */
export function shardsDirOf(ctx: Pick<StageContext<unknown>, 'ports'>, kindName: string): string {
  const input = requirePort(
    ctx,
    'shards',
    `${kindName}: no clip shards: depend on a clips.extract node`,
    'needs: [clips]',
  );
  return outputPath(input, 'shards', 'shards');
}

/** Checkpoint folder of the upstream video.* node on the `init` port (undefined when there is none). */
export function upstreamCheckpoint(ctx: Pick<StageContext<unknown>, 'ports'>): string | undefined {
  const input = portInput(ctx, 'init');
  return input && typeof input.outputs.checkpoint === 'string' ? outputPath(input, 'checkpoint') : undefined;
}

/** The `init` port: the checkpoint of an upstream video.train / video.finetune node when init is upstream. */
export const INIT_PORT = {
  accepts: ['checkpoint'],
  when: { param: 'init', in: ['upstream'] },
  description: 'init upstream: the checkpoint to start from (video.train or video.finetune)',
};

export async function initVideoBackend(device: VideoDevice, log: (m: string) => void): Promise<BackendName> {
  // tfjs loads with the first video node, not when the CLI starts.
  const { describeBackend, initBackend } = await import('../ml/backend.ts');
  const name = await initBackend(device === 'gpu' ? 'node-gpu' : undefined);
  if (device === 'gpu' && name !== 'node-gpu')
    log(`warning: device gpu asked for, but @tensorflow/tfjs-node-gpu is not usable here; running on ${name}`);
  else log(describeBackend([]));
  return name;
}

export async function runVideoTrain(
  ctx: StageContext<VideoTrainParams>,
): Promise<{ outputs: Record<string, JsonValue> }> {
  const p = ctx.params;
  // Heavy modules (tfjs, ffmpeg, pngjs) load when a node runs, not when the CLI starts.
  const { classesOf, openClipSet } = await import('../video/datasets/clip-batches.ts');
  const { trainVideoClassifier } = await import('../video/train.ts');
  await initVideoBackend(p.device, ctx.log);
  const data = await openClipSet(shardsDirOf(ctx, 'video.train'));
  const classes = classesOf(data.index, p.classes);
  if (p.classes?.length) {
    const absent = p.classes.filter((c) => !classes.includes(c));
    if (absent.length) ctx.log(`warning: classes without any clip: ${absent.join(', ')}`);
  }
  let init: string | undefined;
  if (p.init === 'upstream') {
    init = upstreamCheckpoint(ctx);
    if (!init)
      throw new ExpError(
        'EXP_INPUT_MISSING',
        'video.train: init is "upstream" but no upstream video.* node has a checkpoint',
        { hint: 'add the pre-training node to needs:, or use init: scratch' },
      );
  }
  const clips = data.index.clips.filter((c) => c.labels.some((l) => classes.includes(l)));
  ctx.log(
    `training S3D-G (width ${p.width}, ${p.frames}×${p.size}²) on ${clips.length} clips of ${classes.length} classes`,
  );
  const checkpointDir = path.join(ctx.scratchDir, 'checkpoint');
  // Initialisers and dropout draw from Math.random: seeded, a rerun gives the same model.
  seedGlobalRandom(p.seed ?? ctx.seed);
  const res = await trainVideoClassifier({
    data,
    clips,
    model: { arch: p.arch, width: p.width, frames: p.frames, size: p.size, classes, loss: p.loss },
    epochs: p.epochs,
    batchSize: p.batch_size,
    optimizer: p.optimizer,
    lr: p.lr,
    ...(p.lr_steps ? { lrSteps: p.lr_steps } : {}),
    seed: p.seed ?? ctx.seed,
    ...(init ? { init } : {}),
    checkpointDir,
    signal: ctx.signal,
    log: ctx.log,
    onEpoch: (s) => {
      ctx.metric('video.train.loss', s.loss, s.epoch);
      ctx.metric('video.train.accuracy', s.accuracy, s.epoch);
      ctx.metric('video.train.lr', s.lr, s.epoch);
    },
    onProgress: (d, t) => ctx.progress(d, t, 'batches'),
  });
  res.model.dispose();
  const out = path.join(ctx.outDir, 'checkpoint');
  await rm(out, { recursive: true, force: true });
  await cp(checkpointDir, out, { recursive: true });
  const last = res.history.at(-1);
  return {
    outputs: {
      checkpoint: 'checkpoint',
      classes,
      clips: clips.length,
      epochs: p.epochs,
      resumed_at: res.resumedAt,
      final_loss: last ? last.loss : null,
      final_accuracy: last ? last.accuracy : null,
      skipped_clips: res.skipped.length,
    },
  };
}

export const kind: StageKind<VideoTrainParams> = {
  name: 'video.train',
  version: '1',
  description: 'Train an S3D-G video classifier on clip shards (from scratch or an upstream checkpoint).',
  paramsSchema,
  inputs: { shards: { accepts: ['clip-shards'], description: 'decoded clips (clips.extract)' }, init: INIT_PORT },
  produces: ['checkpoint'],
  // On a CPU the wasm backend runs one thread: one slot, so two trainings use both cores.
  resources: (p) => (p.device === 'gpu' ? { cpus: 2, gpus: 1, memoryMb: 8192 } : { cpus: 1, memoryMb: 4096 }),
  runIn: 'process',
  module: import.meta.url,
  run: runVideoTrain,
};
