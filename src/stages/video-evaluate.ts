// Stage `video.evaluate`: score a video classifier on a benchmark as the paper does.
// AVA (Table 4): clips centred on the val keyframes, per-class clip-level AP over the 14 Table-4
// classes and their mean, as `video.ava_clip_ap.<class>` / `video.ava_clip_map` (not AVA's
// official frame-level detection mAP). HMDB51 (Table 3): top-1 accuracy on each split's test part
// with that split's fine-tuned checkpoint, averaged over the splits (`video.hmdb51_accuracy`).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ExpError } from '../errors.ts';
import type { JsonSchema, JsonValue, StageContext, StageInput, StageKind } from '../plan/stage-kind.ts';
import { AVA_TABLE4_NAMES } from '../video/datasets/ava.ts';
import type { ClipSet } from '../video/datasets/clip-batches.ts';
import type { ApReport } from '../video/evaluate.ts';
import { requirePort } from './ports.ts';
import {
  benchmarkPorts,
  benchmarkProps,
  benchmarkRoot,
  checkBenchmarkData,
  shardGeometry,
  sharedClipsDir,
} from './video-finetune.ts';
import type { Benchmark } from './video-finetune.ts';
import { initVideoBackend, videoCommonProps } from './video-train.ts';
import type { VideoDevice } from './video-train.ts';

export interface VideoEvaluateParams {
  benchmark: Benchmark;
  data?: string;
  clip_seconds: number;
  splits: number[];
  batch_size: number;
  device: VideoDevice;
  plot: boolean;
}

const paramsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    benchmark: {
      enum: ['ava', 'hmdb51'],
      default: 'ava',
      description:
        'ava: per-class clip AP over the 14 classes of Table 4; hmdb51: top-1 accuracy averaged over the splits.',
    },
    ...benchmarkProps,
    batch_size: videoCommonProps.batch_size,
    device: videoCommonProps.device,
    plot: { type: 'boolean', default: true, description: 'AVA: also draw the per-class AP as a bar chart (ap.png).' },
  },
};

function modelInput(ctx: StageContext<VideoEvaluateParams>): StageInput {
  return requirePort(
    ctx,
    'model',
    'video.evaluate: no model: depend on a video.train or video.finetune node',
    'needs: [finetune]',
  );
}

function resolve(input: StageInput, rel: string): string {
  return path.isAbsolute(rel) ? rel : path.join(input.dir, rel);
}

async function writeApChart(outDir: string, rep: ApReport): Promise<void> {
  const { renderBarChart } = await import('../ml/plot.ts');
  const png = renderBarChart({
    title: `AVA clip AP (mean ${Number.isFinite(rep.mean) ? rep.mean.toFixed(3) : 'n/a'})`,
    yLabel: 'AP',
    categories: rep.perClass.map((c) => c.class),
    series: [{ name: 'clip AP', values: rep.perClass.map((c) => (Number.isFinite(c.ap) ? c.ap : 0)) }],
    yRange: [0, 1],
  });
  await writeFile(path.join(outDir, 'ap.png'), png);
}

export async function runVideoEvaluate(
  ctx: StageContext<VideoEvaluateParams>,
): Promise<{ outputs: Record<string, JsonValue> }> {
  const p = ctx.params;
  // Heavy modules (tfjs, ffmpeg, pngjs) load when a node runs, not when the CLI starts.
  const { hmdbSplits, prepareAva, prepareHmdb } = await import('../video/datasets/prepare.ts');
  const { apReport, scoreClips, top1Accuracy } = await import('../video/evaluate.ts');
  const { loadVideoModel, readVideoConfig } = await import('../video/model/io.ts');
  await initVideoBackend(p.device, ctx.log);
  const input = modelInput(ctx);
  const root = benchmarkRoot(p.data, p.benchmark, ctx, 'video.evaluate');
  const warn = (m: string) => ctx.log(`warning: ${m}`);

  if (p.benchmark === 'ava') {
    if (typeof input.outputs.checkpoint !== 'string')
      throw new ExpError(
        'EXP_INPUT_MISSING',
        `video.evaluate: ${input.stage} has no single checkpoint to evaluate on AVA`,
        { hint: 'evaluate the output of video.train or of video.finetune with dataset: ava' },
      );
    const ckDir = resolve(input, input.outputs.checkpoint);
    const cfg = await readVideoConfig(ckDir);
    const data = await prepareAva(root, 'val', p.clip_seconds, {
      ...shardGeometry(cfg),
      shardsDir: sharedClipsDir(ctx, 'ava-val', root, p.clip_seconds, shardGeometry(cfg)),
      signal: ctx.signal,
      log: ctx.log,
    });
    const { model, config } = await loadVideoModel(ckDir);
    const scores = await scoreClips(model, config, data, {
      batchSize: p.batch_size,
      signal: ctx.signal,
      warn,
      onProgress: (d, t) => ctx.progress(d, t, 'clips'),
    });
    model.dispose();
    const rep = apReport(scores, config.classes, AVA_TABLE4_NAMES);
    if (rep.untrained.length)
      ctx.log(`classes without training data (constant score, AP still computed): ${rep.untrained.join(', ')}`);
    for (const c of rep.perClass) {
      if (c.positives === 0) ctx.log(`class ${c.class}: no positive clip in the evaluation set, AP undefined`);
      else ctx.metric(`video.ava_clip_ap.${c.class}`, c.ap);
    }
    ctx.metric('video.ava_clip_map', rep.mean);
    const doc = {
      metric: 'clip-level AP (keyframe clips, label set = union of box labels); not AVA frame-mAP',
      mean_ap: Number.isFinite(rep.mean) ? rep.mean : null,
      clips: scores.clips.length,
      untrained: rep.untrained,
      classes: rep.perClass.map((c) => ({ ...c, ap: Number.isFinite(c.ap) ? c.ap : null })),
    };
    await writeFile(path.join(ctx.outDir, 'ap.json'), `${JSON.stringify(doc, null, 2)}\n`);
    ctx.artifact('ap.json');
    if (p.plot) {
      await writeApChart(ctx.outDir, rep);
      ctx.artifact('ap.png');
    }
    return {
      outputs: {
        benchmark: 'ava',
        ap: 'ap.json',
        mean_ap: doc.mean_ap,
        clips: scores.clips.length,
        untrained: rep.untrained,
      },
    };
  }

  const checkpoints = (input.outputs.checkpoints ?? {}) as Record<string, JsonValue>;
  const { classes, splits } = await hmdbSplits(root, ctx.log);
  const wanted = splits.filter((s) => p.splits.includes(s.split));
  if (wanted.length === 0)
    throw new ExpError('EXP_DATA_INVALID', `no HMDB51 split ${p.splits.join(', ')} under ${root}`, {
      hint: 'splits: [1, 2, 3]',
    });
  const ckFor = (split: number): string => {
    const rel = checkpoints[String(split)] ?? input.outputs.checkpoint;
    if (typeof rel !== 'string')
      throw new ExpError(
        'EXP_INPUT_MISSING',
        `video.evaluate: ${input.stage} has no checkpoint for HMDB51 split ${split}`,
        { hint: 'fine-tune with dataset: hmdb51 and the same splits' },
      );
    return resolve(input, rel);
  };
  const first = await readVideoConfig(ckFor(wanted[0]!.split));
  const data = await prepareHmdb(
    root,
    wanted.flatMap((s) => s.test),
    {
      ...shardGeometry(first),
      shardsDir: sharedClipsDir(ctx, `hmdb51-test-${p.splits.join('')}`, root, 0, shardGeometry(first)),
      signal: ctx.signal,
      log: ctx.log,
    },
  );
  const perSplit: Record<string, JsonValue> = {};
  const accs: number[] = [];
  for (const s of wanted) {
    const ids = new Set(s.test.map((v) => v.video));
    const part: ClipSet = {
      dir: data.dir,
      index: { ...data.index, clips: data.index.clips.filter((c) => ids.has(c.id)) },
    };
    const { model, config } = await loadVideoModel(ckFor(s.split));
    const scores = await scoreClips(model, config, part, { batchSize: p.batch_size, signal: ctx.signal, warn });
    model.dispose();
    const missing = classes.filter((c) => !config.classes.includes(c));
    if (missing.length) ctx.log(`split ${s.split}: classes without training data: ${missing.join(', ')}`);
    const acc = top1Accuracy(scores, config.classes, classes);
    accs.push(acc);
    perSplit[String(s.split)] = { accuracy: acc, clips: scores.clips.length };
    ctx.metric(`video.hmdb51_accuracy.split${s.split}`, acc);
  }
  const mean = accs.reduce((a, b) => a + b, 0) / accs.length;
  ctx.metric('video.hmdb51_accuracy', mean);
  await writeFile(
    path.join(ctx.outDir, 'accuracy.json'),
    `${JSON.stringify({ metric: 'top-1 accuracy, mean over splits', accuracy: mean, splits: perSplit }, null, 2)}\n`,
  );
  ctx.artifact('accuracy.json');
  return { outputs: { benchmark: 'hmdb51', accuracy: mean, splits: perSplit } };
}

export const kind: StageKind<VideoEvaluateParams> = {
  name: 'video.evaluate',
  version: '1',
  description: 'Evaluate a video classifier: AVA per-class clip AP (Table 4 classes) or HMDB51 accuracy over splits.',
  paramsSchema,
  inputs: {
    model: { accepts: ['checkpoint'], description: 'the model to evaluate (video.train or video.finetune)' },
    ...benchmarkPorts('benchmark'),
  },
  produces: ['video-scores'],
  summaryMetrics: ['video.ava_clip_map', 'video.hmdb51_accuracy'],
  resources: (p) => (p.device === 'gpu' ? { cpus: 2, gpus: 1, memoryMb: 8192 } : { cpus: 1, memoryMb: 4096 }),
  runIn: 'process',
  module: import.meta.url,
  // Evaluation reads AVA's val annotations, or the test part of the HMDB51 splits.
  checkInputs: (p, look) => checkBenchmarkData(p.benchmark, p.data, 'val', p.splits, look),
  run: runVideoEvaluate,
};
