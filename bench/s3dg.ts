// Training throughput (clips/s) of a tiny S3D-G on this machine's CPU cores: exp on tfjs-wasm
// (single thread), exp on the native TensorFlow backend (`make native`, TF intra/inter-op threads set
// to 2 through TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS), and the same architecture in PyTorch
// (bench/s3dg_torch.py): PyTorch 2.13 in a venv under .tmp/ (created when missing, from the local wheel
// index; EXP_PYTHON overrides) with 1 and 2 threads, then Debian's python3-torch (/usr/bin/python3).
// Each row runs in its own process, one after the other; wall ms/step, CPU ms/step and peak RSS each.
// Usage: npx tsx bench/s3dg.ts [--width 0.25] [--frames 8] [--size 64] [--batch 8] [--steps 5]
// Last line: JSON {rows, ratio_torch213_2t_over_exp_best, ...}.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as tfjs from '@tensorflow/tfjs';
import { type BackendName, initBackend, nativeThreads, tf } from '../src/ml/backend.ts';
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
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');
const dims = ['--width', width, '--frames', frames, '--size', size, '--batch', batch, '--steps', steps].map(String);

interface Row {
  name: string;
  clipsPerS: number;
  msPerStep: number;
  cpuMsPerStep: number;
  maxRssMb: number;
  params: number;
  note?: string;
}

/** One tfjs row in this process (`--row wasm|node`): prints one JSON line. */
async function tfjsRow(want: BackendName): Promise<void> {
  const backend = await initBackend(want);
  if (backend !== want) {
    console.log(JSON.stringify({ error: `exp chose ${backend}` }));
    return;
  }
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
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await model.trainOnBatch(x, y);
  const ms = (performance.now() - t0) / steps;
  const c = process.cpuUsage(c0);
  console.log(
    JSON.stringify({
      clips_per_s: (1000 * batch) / ms,
      ms_per_step: ms,
      cpu_ms_per_step: (c.user + c.system) / 1000 / steps,
      max_rss_kb: process.resourceUsage().maxRSS,
      params: countTrainableParams(model),
      threads: backend === 'node' ? nativeThreads() : 'wasm: 1 thread',
    }),
  );
}

type Result = { row: Row } | { error: string };

function lastJson(stdout: string): Record<string, unknown> {
  const line =
    stdout
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .at(-1) ?? '{}';
  return JSON.parse(line) as Record<string, unknown>;
}

function run(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Result {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30 * 60_000, env: { ...process.env, ...env } });
  if (r.status !== 0) {
    const why = (r.error?.message ?? r.stderr ?? '').trim().split('\n').at(-1) || `exit ${r.status}`;
    return { error: `${name}: ${why}` };
  }
  const j = lastJson(r.stdout);
  if (typeof j.error === 'string') return { error: `${name}: ${j.error}` };
  return {
    row: {
      name: j.torch ? `${name} ${j.torch}` : name,
      clipsPerS: j.clips_per_s as number,
      msPerStep: j.ms_per_step as number,
      cpuMsPerStep: (j.cpu_ms_per_step as number) ?? Number.NaN,
      maxRssMb: ((j.max_rss_kb as number) ?? Number.NaN) / 1024,
      params: j.params as number,
      note: typeof j.threads === 'string' ? j.threads : undefined,
    },
  };
}

/** PyTorch 2.13's interpreter: EXP_PYTHON, else .tmp/venv-torch (created from the local wheels). */
function torch213(): string | { error: string } {
  if (process.env.EXP_PYTHON) return process.env.EXP_PYTHON;
  const venv = path.join(root, '.tmp', 'venv-torch');
  const py = path.join(venv, 'bin', 'python');
  const has = () =>
    spawnSync(py, ['-c', 'import torch, sys; sys.exit(0 if torch.__version__.startswith("2.13") else 1)']);
  if (existsSync(py) && has().status === 0) return py;
  console.error('bench/s3dg: creating .tmp/venv-torch with torch==2.13.0 (pip, local wheel index)');
  const mk = spawnSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
  if (mk.status !== 0) return { error: 'python3 -m venv failed' };
  const pip = spawnSync(
    py,
    ['-m', 'pip', 'install', '-q', '--retries', '0', '--timeout', '10', 'torch==2.13.0', 'numpy'],
    {
      stdio: ['ignore', 'inherit', 'pipe'],
      encoding: 'utf8',
    },
  );
  if (pip.status !== 0 || has().status !== 0)
    return { error: `pip install torch==2.13.0 failed: ${(pip.stderr ?? '').trim().split('\n').at(-1)}` };
  return py;
}

async function main(): Promise<void> {
  const only = process.argv.indexOf('--row');
  if (only > 0) return tfjsRow(process.argv[only + 1] as BackendName);

  const self = [path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), fileURLToPath(import.meta.url)];
  const torchScript = path.join(here, 's3dg_torch.py');
  const results: Array<{ key: string; r: Result }> = [];
  results.push({
    key: 'exp_wasm',
    r: run('exp, tfjs-wasm (1 thread)', process.execPath, [...self, '--row', 'wasm', ...dims]),
  });
  results.push({
    key: 'exp_native',
    r: run('exp, tfjs-node native (2 threads)', process.execPath, [...self, '--row', 'node', ...dims], {
      TF_NUM_INTRAOP_THREADS: '2',
      TF_NUM_INTEROP_THREADS: '2',
    }),
  });
  const py = torch213();
  for (const t of [1, 2]) {
    results.push({
      key: `torch213_${t}t`,
      r:
        typeof py === 'string'
          ? run(`PyTorch (${t} thread${t > 1 ? 's' : ''})`, py, [
              torchScript,
              ...dims,
              '--classes',
              String(classes),
              '--threads',
              String(t),
            ])
          : py,
    });
  }
  if (existsSync('/usr/bin/python3'))
    results.push({
      key: 'torch_debian_2t',
      r: run('Debian python3-torch (2 threads)', '/usr/bin/python3', [
        torchScript,
        ...dims,
        '--classes',
        String(classes),
        '--threads',
        '2',
      ]),
    });

  const load = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  console.log(
    `S3D-G width ${width}, ${frames}×${size}×${size}, batch ${batch}, ${steps} timed steps (SGD momentum, softmax CE)`,
  );
  console.log(`load average after the runs: ${load} (${os.availableParallelism()} cores)`);
  console.log(
    `${'implementation'.padEnd(36)} ${'clips/s'.padStart(8)} ${'ms/step'.padStart(8)} ${'CPU ms/step'.padStart(11)} ${'peak RSS MB'.padStart(11)} ${'params'.padStart(8)}`,
  );
  for (const { r } of results) {
    if ('error' in r) {
      console.log(`unavailable: ${r.error}`);
      continue;
    }
    const w = r.row;
    console.log(
      `${w.name.padEnd(36)} ${w.clipsPerS.toFixed(2).padStart(8)} ${w.msPerStep.toFixed(0).padStart(8)} ${w.cpuMsPerStep.toFixed(0).padStart(11)} ${w.maxRssMb.toFixed(0).padStart(11)} ${String(w.params).padStart(8)}${w.note ? `  ${w.note}` : ''}`,
    );
  }
  const cps = (key: string) => {
    const r = results.find((x) => x.key === key)?.r;
    return r && 'row' in r ? r.row.clipsPerS : null;
  };
  const exps = ['exp_wasm', 'exp_native'].map(cps).filter((v): v is number => v !== null);
  const best = exps.length ? Math.max(...exps) : null;
  const t2 = cps('torch213_2t');
  const ratio = t2 !== null && best !== null ? t2 / best : null;
  if (ratio !== null) console.log(`PyTorch 2.13 (2 threads) / exp best: ${ratio.toFixed(2)}× (target ≤ 3×)`);
  // CPU time per step does not depend on what else the machine runs as much as wall time does.
  const cpu = (key: string) => {
    const r = results.find((x) => x.key === key)?.r;
    return r && 'row' in r ? r.row.cpuMsPerStep : null;
  };
  const expCpu = ['exp_wasm', 'exp_native'].map(cpu).filter((v): v is number => v !== null);
  const t1cpu = cpu('torch213_1t');
  const cpuRatio = expCpu.length && t1cpu ? Math.min(...expCpu) / t1cpu : null;
  if (cpuRatio !== null) console.log(`CPU ms per step, exp best / PyTorch 2.13 (1 thread): ${cpuRatio.toFixed(2)}×`);
  if (os.loadavg()[0]! > os.availableParallelism())
    console.log(
      `note: load average ${os.loadavg()[0]!.toFixed(1)} on ${os.availableParallelism()} cores: wall times of the multi-threaded rows are not representative (re-run on an idle machine)`,
    );
  console.log(
    JSON.stringify({
      bench: 's3dg',
      width,
      frames,
      size,
      batch,
      steps,
      loadavg: os.loadavg(),
      rows: Object.fromEntries(
        results.map(({ key, r }) => [
          key,
          'error' in r
            ? { error: r.error }
            : {
                clips_per_s: r.row.clipsPerS,
                ms_per_step: r.row.msPerStep,
                cpu_ms_per_step: r.row.cpuMsPerStep,
                max_rss_mb: r.row.maxRssMb,
                params: r.row.params,
              },
        ]),
      ),
      ratio_torch213_2t_over_exp_best: ratio,
      cpu_ratio_exp_best_over_torch213_1t: cpuRatio,
      ratio_torch213_2t_over_exp_wasm: t2 !== null && cps('exp_wasm') ? t2 / cps('exp_wasm')! : null,
      ratio_torch213_2t_over_exp_native: t2 !== null && cps('exp_native') ? t2 / cps('exp_native')! : null,
    }),
  );
}

await main();
