// Stage `video.finetune`: few-shot fine-tuning on a labelled benchmark (paper §5.2, Table 4):
// k examples per class drawn by seed (k = 0: none, the model is only re-headed onto the
// benchmark's classes by name), or all the labelled training data; one epoch by default.
// AVA: the keyframe clips of the train annotations, labelled with the 14 Table-4 classes.
// HMDB51: one fine-tuned checkpoint per split (train part), for video.evaluate to test.
import { createHash } from 'node:crypto';
import { cp, rm } from 'node:fs/promises';
import path from 'node:path';
import { ExpError } from '../errors.ts';
import type {
  InputLook,
  InputProblem,
  JsonSchema,
  JsonValue,
  StageContext,
  StageKind,
  StagePort,
} from '../plan/stage-kind.ts';
import { AVA_TABLE4_NAMES } from '../video/datasets/ava.ts';
import type { ClipSet } from '../video/datasets/clip-batches.ts';
import type { VideoLoss, VideoModelConfig } from '../video/model/io.ts';
import type { VideoOptimizer } from '../video/train.ts';
import { outputPath, requirePort } from './ports.ts';
import { INIT_PORT, initVideoBackend, upstreamCheckpoint, videoCommonProps } from './video-train.ts';
import type { VideoDevice } from './video-train.ts';
import { seedGlobalRandom } from '../random.ts';

export type Benchmark = 'ava' | 'hmdb51';

export interface VideoFinetuneParams {
  dataset: Benchmark;
  data?: string;
  k: number | 'all';
  epochs: number;
  batch_size: number;
  optimizer: VideoOptimizer;
  lr: number;
  lr_steps?: number[];
  seed?: number;
  device: VideoDevice;
  init: 'upstream' | 'scratch';
  width: number;
  frames: number;
  size: number;
  loss: VideoLoss;
  clip_seconds: number;
  splits: number[];
}

/** Schema fragments shared with video.evaluate. */
export const benchmarkProps = {
  data: {
    type: 'string',
    'x-exp-path': 'dir',
    description:
      'Benchmark folder (AVA: annotation CSVs + videos; HMDB51: split files + class folders of videos). Default: the `ava` / `hmdb51` output of an upstream node (e.g. demo.world) when empty or omitted.',
  },
  clip_seconds: {
    type: 'number',
    exclusiveMinimum: 0,
    maximum: 60,
    default: 3,
    description: 'AVA: length of the clip centred on each keyframe, seconds.',
  },
  splits: {
    type: 'array',
    items: { enum: [1, 2, 3] },
    minItems: 1,
    uniqueItems: true,
    default: [1, 2, 3],
    description: 'HMDB51: the official splits to use (accuracy is averaged over them).',
  },
} as const;

const paramsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    dataset: { enum: ['ava', 'hmdb51'], default: 'ava', description: 'Labelled benchmark to fine-tune on.' },
    ...benchmarkProps,
    k: {
      anyOf: [{ type: 'integer', minimum: 0 }, { const: 'all' }],
      default: 0,
      description:
        'Labelled examples per class, drawn by seed (paper: 0, 20, 50, 100); 0 = no fine-tuning; "all" = every labelled training clip.',
    },
    epochs: { type: 'integer', minimum: 1, maximum: 1000, default: 1, description: 'Fine-tuning epochs (paper: one).' },
    ...videoCommonProps,
    init: {
      enum: ['upstream', 'scratch'],
      default: 'upstream',
      description:
        'upstream: the checkpoint of the upstream video.train node (its architecture, width, frames, size, loss); scratch: a fresh network.',
    },
    width: {
      type: 'number',
      exclusiveMinimum: 0,
      maximum: 4,
      default: 0.25,
      description: 'init scratch only: channel multiplier.',
    },
    frames: {
      type: 'integer',
      minimum: 1,
      maximum: 256,
      default: 8,
      description: 'init scratch only: frames per clip.',
    },
    size: { type: 'integer', minimum: 16, maximum: 512, default: 64, description: 'init scratch only: crop side.' },
    loss: {
      enum: ['softmax', 'sigmoid'],
      default: 'softmax',
      description: 'init scratch only: softmax cross-entropy or per-class sigmoid.',
    },
  },
};

/** Benchmark root: the `data` param, else the upstream node on the port named after the dataset. */
export function benchmarkRoot(
  data: string | undefined,
  dataset: Benchmark,
  ctx: Pick<StageContext<unknown>, 'ports'>,
  kindName: string,
): string {
  if (data) return path.resolve(data);
  const input = requirePort(
    ctx,
    dataset,
    `${kindName}: no ${dataset} data: set \`data\` or depend on a node whose outputs have \`${dataset}\` (e.g. demo.world)`,
    `with: { data: /path/to/${dataset} }`,
  );
  return outputPath(input, dataset);
}

/**
 * A look inside the benchmark folder the `data` param names (annotation or split files, videos,
 * their ids matching), shared by video.finetune and video.evaluate; nothing when `data` is unset
 * (an upstream node gives the folder).
 */
export async function checkBenchmarkData(
  benchmark: Benchmark,
  data: string | undefined,
  avaPart: 'train' | 'val',
  splits: readonly number[],
  look: InputLook,
): Promise<InputProblem[]> {
  if (!data) return [];
  const { inspectAvaFolder, inspectHmdbFolder } = await import('../video/datasets/prepare.ts');
  const problem =
    benchmark === 'ava'
      ? await look.once(`ava:${avaPart}:${data}`, () => inspectAvaFolder(data, [avaPart]))
      : await look.once(`hmdb51:${splits.join(',')}:${data}`, () => inspectHmdbFolder(data, splits));
  return problem ? [{ param: 'data', ...problem }] : [];
}

/** The `ava` and `hmdb51` ports: the benchmark's folder from an upstream node, or the `data` param. */
export function benchmarkPorts(selector: string): Record<'ava' | 'hmdb51', StagePort> {
  const port = (name: 'ava' | 'hmdb51'): StagePort => ({
    accepts: [name],
    param: 'data',
    when: { param: selector, in: [name] },
    description: `${selector} ${name}: the ${name === 'ava' ? 'AVA' : 'HMDB51'} folder (or set \`data\`)`,
  });
  return { ava: port('ava'), hmdb51: port('hmdb51') };
}

/** Extraction geometry: the network's frames, and a margin around its crop for random crops. */
/**
 * Where decoded benchmark clips live: in the runs folder's shared cache, named by what they
 * contain (benchmark folder, part, clip length, geometry), so every fine-tune and evaluation
 * node of a grid decodes the same videos once.
 */
export function sharedClipsDir(
  ctx: StageContext<unknown>,
  part: string,
  root: string,
  clipSeconds: number,
  g: { frames: number; size: number },
): string {
  const id = createHash('sha256')
    .update(JSON.stringify([path.resolve(root), part, clipSeconds, g.frames, g.size]))
    .digest('hex')
    .slice(0, 16);
  return path.join(ctx.sharedDir ?? path.join(ctx.outDir, 'shards'), 'video-clips', `${part}-${id}`);
}

export function shardGeometry(cfg: { frames: number; size: number }): { frames: number; size: number } {
  return { frames: cfg.frames, size: Math.ceil(cfg.size * 1.125) };
}

async function modelConfig(
  p: VideoFinetuneParams,
  ctx: Pick<StageContext<unknown>, 'ports'>,
  classes: string[],
): Promise<{ cfg: VideoModelConfig; init?: string }> {
  if (p.init === 'scratch')
    return { cfg: { arch: 's3dg', width: p.width, frames: p.frames, size: p.size, classes, loss: p.loss } };
  const init = upstreamCheckpoint(ctx);
  if (!init)
    throw new ExpError(
      'EXP_INPUT_MISSING',
      'video.finetune: init is "upstream" but no upstream video.* node has a checkpoint',
      { hint: 'depend on a video.train node, or use init: scratch' },
    );
  const { readVideoConfig } = await import('../video/model/io.ts');
  const up = await readVideoConfig(init);
  return { cfg: { arch: up.arch, width: up.width, frames: up.frames, size: up.size, classes, loss: up.loss }, init };
}

export async function runVideoFinetune(
  ctx: StageContext<VideoFinetuneParams>,
): Promise<{ outputs: Record<string, JsonValue> }> {
  const p = ctx.params;
  // Heavy modules (tfjs, ffmpeg, pngjs) load when a node runs, not when the CLI starts.
  const { hmdbSplits, prepareAva, prepareHmdb } = await import('../video/datasets/prepare.ts');
  const { finetuneVideoClassifier } = await import('../video/finetune.ts');
  await initVideoBackend(p.device, ctx.log);
  const root = benchmarkRoot(p.data, p.dataset, ctx, 'video.finetune');
  const seed = p.seed ?? ctx.seed;
  // Initialisers and dropout draw from Math.random: seeded, a rerun gives the same model.
  seedGlobalRandom(seed);
  const common = {
    batchSize: p.batch_size,
    optimizer: p.optimizer,
    lr: p.lr,
    ...(p.lr_steps ? { lrSteps: p.lr_steps } : {}),
    seed,
    signal: ctx.signal,
    log: ctx.log,
    k: p.k,
    epochs: p.epochs,
  };

  const tune = async (data: ClipSet, cfg: VideoModelConfig, init: string | undefined, name: string) => {
    const checkpointDir = path.join(ctx.scratchDir, name);
    const res = await finetuneVideoClassifier({
      ...common,
      data,
      model: cfg,
      ...(init ? { init } : {}),
      checkpointDir,
      onEpoch: (s) => ctx.metric(`video.finetune.loss${name === 'checkpoint' ? '' : `.${name}`}`, s.loss, s.epoch),
    });
    res.model.dispose();
    const out = path.join(ctx.outDir, name);
    await rm(out, { recursive: true, force: true });
    await cp(checkpointDir, out, { recursive: true });
    return res.examples;
  };

  if (p.dataset === 'ava') {
    const { cfg, init } = await modelConfig(p, ctx, [...AVA_TABLE4_NAMES]);
    const data = await prepareAva(root, 'train', p.clip_seconds, {
      ...shardGeometry(cfg),
      shardsDir: sharedClipsDir(ctx, 'ava-train', root, p.clip_seconds, shardGeometry(cfg)),
      signal: ctx.signal,
      log: ctx.log,
    });
    const examples = await tune(data, cfg, init, 'checkpoint');
    ctx.metric('video.finetune.examples', examples);
    return { outputs: { checkpoint: 'checkpoint', dataset: 'ava', ava: root, k: p.k, examples, classes: cfg.classes } };
  }

  const { classes, splits } = await hmdbSplits(root, ctx.log);
  const { cfg, init } = await modelConfig(p, ctx, classes);
  const wanted = splits.filter((s) => p.splits.includes(s.split));
  if (wanted.length === 0)
    throw new ExpError('EXP_DATA_INVALID', `no HMDB51 split ${p.splits.join(', ')} under ${root}`, {
      hint: 'splits: [1, 2, 3]',
    });
  const data = await prepareHmdb(
    root,
    wanted.flatMap((s) => s.train),
    {
      ...shardGeometry(cfg),
      shardsDir: sharedClipsDir(ctx, `hmdb51-train-${p.splits.join('')}`, root, 0, shardGeometry(cfg)),
      signal: ctx.signal,
      log: ctx.log,
    },
  );
  const checkpoints: Record<string, JsonValue> = {};
  const examples: Record<string, JsonValue> = {};
  for (const s of wanted) {
    const ids = new Set(s.train.map((v) => v.video));
    const part: ClipSet = {
      dir: data.dir,
      index: { ...data.index, clips: data.index.clips.filter((c) => ids.has(c.id)) },
    };
    const name = `checkpoint-split${s.split}`;
    examples[String(s.split)] = await tune(part, cfg, init, name);
    checkpoints[String(s.split)] = name;
  }
  return { outputs: { checkpoints, dataset: 'hmdb51', hmdb51: root, k: p.k, examples, classes: cfg.classes } };
}

export const kind: StageKind<VideoFinetuneParams> = {
  name: 'video.finetune',
  version: '1',
  description: 'Fine-tune a video classifier with k labelled examples per class of AVA or HMDB51 (k = 0: none).',
  paramsSchema,
  inputs: { ...benchmarkPorts('dataset'), init: INIT_PORT },
  produces: ['checkpoint'],
  resources: (p) => (p.device === 'gpu' ? { cpus: 2, gpus: 1, memoryMb: 8192 } : { cpus: 1, memoryMb: 4096 }),
  runIn: 'process',
  module: import.meta.url,
  // Fine-tuning reads AVA's train annotations, or the train part of the HMDB51 splits.
  checkInputs: (p, look) => checkBenchmarkData(p.dataset, p.data, 'train', p.splits, look),
  run: runVideoFinetune,
};
