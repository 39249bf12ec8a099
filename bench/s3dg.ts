// Training throughput (clips/s) of a tiny S3D-G on this machine's CPU cores, tfjs (the backend
// exp chooses: wasm here, single-threaded) against the same architecture in PyTorch on the CPU
// (bench/s3dg_torch.py, Debian's python3-torch), run one after the other in this process's run.
// Usage: npx tsx bench/s3dg.ts [--width 0.25] [--frames 8] [--size 64] [--batch 8] [--steps 5]
// Last line: JSON {tfjs_clips_per_s, torch_clips_per_s, ratio, ...} (ratio = torch / tfjs).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as tfjs from '@tensorflow/tfjs';
import { initBackend, tf } from '../src/ml/backend.ts';
import { buildS3dg, countTrainableParams } from '../src/video/model/s3dg.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const width = arg('width', 0.25);
const frames = arg('frames', 8);
const size = arg('size', 64);
const batch = arg('batch', 8);
const steps = arg('steps', 5);
const classes = 10;

async function tfjsThroughput(): Promise<{ clipsPerS: number; msPerStep: number; params: number; backend: string }> {
  const backend = await initBackend();
  const model = buildS3dg({ arch: 's3dg', width, frames, size, numClasses: classes });
  model.compile({
    optimizer: tf.train.momentum(0.01, 0.9),
    loss: (y: tfjs.Tensor, p: tfjs.Tensor) => tf.losses.softmaxCrossEntropy(y, p),
  });
  const x = tf.randomUniform([batch, frames, size, size, 3], -1, 1);
  const y = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: batch }, (_, i) => i % classes),
      'int32',
    ),
    classes,
  );
  await model.trainOnBatch(x, y); // warm-up: kernels, allocations
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await model.trainOnBatch(x, y);
  const ms = (performance.now() - t0) / steps;
  const params = countTrainableParams(model);
  tf.dispose([x, y]);
  model.dispose();
  return { clipsPerS: (1000 * batch) / ms, msPerStep: ms, params, backend };
}

function torchThroughput():
  | { clipsPerS: number; msPerStep: number; params: number; version: string }
  | { error: string } {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 's3dg_torch.py');
  const python = process.env.EXP_PYTHON ?? '/usr/bin/python3';
  const r = spawnSync(
    python,
    [
      script,
      '--width',
      String(width),
      '--frames',
      String(frames),
      '--size',
      String(size),
      '--batch',
      String(batch),
      '--steps',
      String(steps),
      '--classes',
      String(classes),
      '--threads',
      '2',
    ],
    { encoding: 'utf8', timeout: 30 * 60_000 },
  );
  if (r.status !== 0)
    return { error: (r.error?.message ?? r.stderr ?? '').trim().split('\n').slice(-1)[0] ?? `exit ${r.status}` };
  const line = r.stdout.trim().split('\n').at(-1) ?? '{}';
  const j = JSON.parse(line) as { clips_per_s: number; ms_per_step: number; params: number; torch: string };
  return { clipsPerS: j.clips_per_s, msPerStep: j.ms_per_step, params: j.params, version: j.torch };
}

const mine = await tfjsThroughput();
const peer = torchThroughput();
const row = (name: string, cps: number, ms: number, params: number) =>
  `${name.padEnd(26)} ${cps.toFixed(2).padStart(9)} ${ms.toFixed(0).padStart(10)} ${String(params).padStart(9)}`;
console.log(
  `S3D-G width ${width}, ${frames}×${size}×${size}, batch ${batch}, ${steps} timed steps (SGD momentum, softmax CE)`,
);
console.log(
  `${'implementation'.padEnd(26)} ${'clips/s'.padStart(9)} ${'ms/step'.padStart(10)} ${'params'.padStart(9)}`,
);
console.log(row(`tfjs (${mine.backend}, 1 thread)`, mine.clipsPerS, mine.msPerStep, mine.params));
if ('error' in peer) console.log(`PyTorch peer unavailable: ${peer.error} (apt-get install python3-torch)`);
else console.log(row(`PyTorch ${peer.version} (2 threads)`, peer.clipsPerS, peer.msPerStep, peer.params));
const ratio = 'error' in peer ? null : peer.clipsPerS / mine.clipsPerS;
if (ratio !== null) console.log(`PyTorch / tfjs throughput: ${ratio.toFixed(2)}× (target ≤ 3×)`);
console.log(
  JSON.stringify({
    bench: 's3dg',
    width,
    frames,
    size,
    batch,
    steps,
    tfjs_backend: mine.backend,
    tfjs_clips_per_s: mine.clipsPerS,
    torch_clips_per_s: 'error' in peer ? null : peer.clipsPerS,
    ratio,
    params_tfjs: mine.params,
    params_torch: 'error' in peer ? null : peer.params,
    ...('error' in peer ? { torch_error: peer.error } : {}),
  }),
);
