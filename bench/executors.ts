// Executors compared on a 200-node DAG of trivial nodes (20 points × a 10-stage chain, every node
// distinct): end-to-end time and per-node overhead of `local` and `bullmq` (a real redis-server on
// a free loopback port, `exp worker` child processes on the same machine and runs folder).
// Same parallelism on both sides: 1 slot, then 2 slots (local --jobs 2 / two 1-CPU workers).
// Slurm (when slurm-wlm is installed and we are root): a one-node cluster brought up by
// scripts/slurm-one-node.sh, on a 20-node DAG (2 chains of 10: each job starts `exp node-run`).
// Goal (issue 13): bullmq ≤ 20 ms per node over local; Slurm bounded by its scheduler cycle.
// Also: how long a SIGKILLed `exp worker`'s node waits before another worker starts it again
// (--lock-ms at its default, 5 s; 3 trials). Run: npx tsx bench/executors.ts [--only restart]
// (needs redis-server: make deps)
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { main as cliMain } from '../src/cli/main.ts';
import { bullmqRunner } from '../src/exec/bullmq.ts';
import { execute } from '../src/exec/executor.ts';
import { detectInventory } from '../src/exec/inventory.ts';
import type { NodeOutcome } from '../src/exec/lifecycle.ts';
import { StageRegistry } from '../src/plan/registry.ts';
import { planExperiment, runExperiment, type Executor } from '../src/run/experiment.ts';
import { startRedis } from '../test/helpers/redis.ts';
import { noop } from './engine-kind.ts';

const POINTS = 20;
const SLURM_POINTS = 2;
const STAGES = 10;

function chainSpec(dir: string, points = POINTS): string {
  const stages = Array.from(
    { length: STAGES },
    (_, s) => `  s${s}: { uses: bench.noop${s ? `, needs: [s${s - 1}]` : ''}, with: { i: ${s}, j: 0 } }`,
  );
  const file = path.join(dir, `spec-${points}.yaml`);
  writeFileSync(
    file,
    [
      'name: bench-executors',
      'stages:',
      ...stages,
      'matrix:',
      `  s0.j: [${Array.from({ length: points }, (_, i) => i).join(', ')}]`,
      '',
    ].join('\n'),
  );
  return file;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2 : NaN;
}

interface Measure {
  wallMs: number;
  nodes: number;
  /** Per node: from ready (its parent finished, or the start) to finished, as the driver sees it (includes waiting for a slot). */
  medianLatencyMs: number;
  /** Per node: the stage's own run time (manifest durationMs). */
  medianRunMs: number;
}

async function measure(
  spec: string,
  registry: StageRegistry,
  runsDir: string,
  cpus: number,
  executor?: Executor,
): Promise<Measure> {
  const planned = await planExperiment(spec, { registry, runsDir });
  const finishedAt = new Map<string, number>();
  const latencies: number[] = [];
  const runMs: number[] = [];
  const t0 = performance.now();
  const timing = {
    nodeFinished: (n: { key: string; needs: string[] }, o: NodeOutcome) => {
      const now = performance.now();
      finishedAt.set(n.key, now);
      const ready = n.needs.length ? Math.max(...n.needs.map((k) => finishedAt.get(k) ?? t0)) : t0;
      if (o.status === 'done') {
        latencies.push(now - ready);
        runMs.push(o.manifest!.durationMs);
      }
    },
  };
  const inventory = { ...detectInventory({ gpus: 'none' }), cpus };
  const r = await runExperiment(planned, { inventory, reporters: [() => timing], executor });
  const wallMs = performance.now() - t0;
  const bad = r.points.filter((p) => p.status !== 'done');
  if (bad.length || latencies.length !== planned.plan.nodes.length)
    throw new Error(`bench run incomplete: ${bad.length} points not done, ${latencies.length} nodes done`);
  return { wallMs, nodes: planned.plan.nodes.length, medianLatencyMs: median(latencies), medianRunMs: median(runMs) };
}

function spawnWorker(redis: string, runs: string, pluginFile: string, queue: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      path.resolve('bin/exp.js'),
      'worker',
      '--redis',
      redis,
      '--runs',
      runs,
      '--cpus',
      '1',
      '--gpus',
      'none',
      '--queue',
      queue,
      '--quiet',
      '--plugin',
      pluginFile,
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (b) => {
      err += b;
      if (err.includes('queues')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`exp worker exited (${code}): ${err}`)));
  });
}

/**
 * A node runs on one of two `exp worker` processes (default --lock-ms 5000) and waits at a gate;
 * the worker running it is SIGKILLed; the time until the other worker starts the node again.
 */
async function restartDelay(redisUrl: string, dir: string, trials = 3): Promise<number[]> {
  const kinds = path.resolve('test/fixtures/plugins/test-kinds.ts');
  const delays: number[] = [];
  for (let t = 0; t < trials; t++) {
    const runs = path.join(dir, `runs-restart-${t}`);
    const gate = path.join(dir, `gate-${t}`);
    const tally = path.join(dir, `tally-${t}`);
    const queue = `restart${t}`;
    const ws = await Promise.all([0, 1].map(() => spawnWorker(redisUrl, runs, kinds, queue)));
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    stdout.resume();
    stderr.resume();
    const run = cliMain(
      [
        'run',
        path.resolve('test/fixtures/engine/slow-pair.yaml'),
        '--set',
        'slow.sleep_ms=0',
        '--set',
        `slow.gate=${gate}`,
        '--set',
        `slow.tally=${tally}`,
        '--set',
        `slow.value=${7 + t}`,
        '--runs',
        runs,
        '--no-track',
        '--quiet',
        '--executor',
        'bullmq',
        '--redis',
        redisUrl,
        '--queue',
        queue,
      ],
      {
        stdout,
        stderr,
        env: { ...process.env, EXP_PLUGINS: kinds, EXP_GPUS: 'none' },
        signal: new AbortController().signal,
      },
    );
    const lines = (): string[] => (existsSync(tally) ? readFileSync(tally, 'utf8').trim().split('\n') : []);
    const waitFor = async (n: number): Promise<void> => {
      const deadline = Date.now() + 120_000;
      while (lines().length < n) {
        if (Date.now() > deadline) throw new Error(`restart bench: the node did not start ${n} time(s)`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await waitFor(1);
    const pid = Number(lines()[0]!.split(' ')[1]);
    const victim = ws.find((w) => w.pid === pid)!;
    const killedAt = performance.now();
    victim.kill('SIGKILL');
    await waitFor(2);
    delays.push(performance.now() - killedAt);
    writeFileSync(gate, '');
    if ((await run) !== 0) throw new Error('restart bench: the run failed');
    for (const w of ws) w.kill('SIGKILL');
  }
  return delays;
}

async function main_(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'exp-bench-exec-'));
  if (process.argv.includes('--only') && process.argv.includes('arrays')) {
    const registry = new StageRegistry();
    registry.register(noop);
    const pluginFile = path.join(dir, 'plugin.ts');
    writeFileSync(
      pluginFile,
      `export { noop as kind } from ${JSON.stringify(path.resolve('bench/engine-kind.ts'))};\n`,
    );
    const arrays: ArrayRow[] = [];
    await benchSlurm(dir, registry, pluginFile, [], arrays, 'arrays');
    printArrays(arrays);
    return;
  }
  if (process.argv.includes('--only') && process.argv.includes('restart')) {
    const redis = await startRedis();
    try {
      const d = await restartDelay(redis.url, dir);
      console.log('worker SIGKILLed mid-node (--lock-ms 5000): its node started again on another worker after');
      console.log(d.map((x) => `${(x / 1000).toFixed(1)} s`).join(', '));
      console.log(JSON.stringify({ bench: 'executors', restart_delay_ms: d.map(Math.round), lock_ms: 5000 }));
    } finally {
      await redis.stop();
    }
    return;
  }
  const registry = new StageRegistry();
  registry.register(noop);
  const pluginFile = path.join(dir, 'plugin.ts');
  writeFileSync(pluginFile, `export { noop as kind } from ${JSON.stringify(path.resolve('bench/engine-kind.ts'))};\n`);
  const spec = chainSpec(dir);
  const redis = await startRedis();
  const children: ChildProcess[] = [];
  const rows: { executor: string; slots: number; m: Measure }[] = [];
  let restart: number[] = [];
  const arrays: ArrayRow[] = [];
  try {
    // Warm-up (module loading, JIT) so that the first measured run is not penalised.
    await measure(spec, registry, path.join(dir, 'runs-warmup'), 2);
    for (const slots of [1, 2]) {
      rows.push({
        executor: 'local',
        slots,
        m: await measure(spec, registry, path.join(dir, `runs-local-${slots}`), slots),
      });
      const runs = path.join(dir, `runs-bullmq-${slots}`);
      const queue = `bench${slots}`;
      const ws = await Promise.all(
        Array.from({ length: slots }, () => spawnWorker(redis.url, runs, pluginFile, queue)),
      );
      children.push(...ws);
      const executor: Executor = async (o) =>
        execute({ ...o, remote: await bullmqRunner({ redis: redis.url, queue, registry, store: o.store }) });
      rows.push({ executor: 'bullmq', slots, m: await measure(spec, registry, runs, slots, executor) });
      for (const w of ws) w.kill('SIGTERM');
    }
    await benchSlurm(dir, registry, pluginFile, rows, arrays);
    restart = await restartDelay(redis.url, dir);
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await redis.stop();
  }

  const header2 = [
    'executor',
    'slots',
    'nodes',
    'end-to-end',
    'ms/node (wall)',
    'median ready→done',
    'median stage run',
    'overhead/node vs local',
  ];
  const lines = rows.map(({ executor, slots, m }) => {
    const local = rows.find(
      (r) => r.executor === (executor === 'slurm' ? 'local-20' : 'local') && r.slots === slots,
    )!.m;
    return [
      executor,
      String(slots),
      String(m.nodes),
      `${(m.wallMs / 1000).toFixed(2)} s`,
      (m.wallMs / m.nodes).toFixed(2),
      `${m.medianLatencyMs.toFixed(2)} ms`,
      `${m.medianRunMs.toFixed(2)} ms`,
      executor.startsWith('local')
        ? '-'
        : `${((m.wallMs - local.wallMs) / m.nodes).toFixed(2)} ms${executor === 'bullmq' ? ' (goal ≤ 20)' : ''}`,
    ];
  });
  const widths = header2.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  for (const l of [header2, ...lines]) console.log(l.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  printArrays(arrays);
  console.log(
    `bullmq: a SIGKILLed worker's node started again on another worker after ${restart.map((x) => `${(x / 1000).toFixed(1)} s`).join(', ')} (--lock-ms 5000)`,
  );
  const pick = (e: string, s: number) => rows.find((r) => r.executor === e && r.slots === s)!.m;
  console.log(
    JSON.stringify({
      bench: 'executors',
      nodes: POINTS * STAGES,
      cores: os.availableParallelism(),
      ...Object.fromEntries(
        rows.flatMap(({ executor, slots, m }) => [
          [`${executor}_${slots}slot_wall_ms`, Math.round(m.wallMs)],
          [`${executor}_${slots}slot_median_latency_ms`, +m.medianLatencyMs.toFixed(2)],
        ]),
      ),
      bullmq_restart_delay_ms: restart.map(Math.round),
      ...arrayFigures(arrays),
      bullmq_overhead_ms_per_node_1slot: +(
        (pick('bullmq', 1).wallMs - pick('local', 1).wallMs) /
        (POINTS * STAGES)
      ).toFixed(2),
      bullmq_overhead_ms_per_node_2slot: +(
        (pick('bullmq', 2).wallMs - pick('local', 2).wallMs) /
        (POINTS * STAGES)
      ).toFixed(2),
      ...(rows.some((r) => r.executor === 'slurm')
        ? {
            slurm_nodes: SLURM_POINTS * STAGES,
            slurm_overhead_ms_per_node: +(
              (pick('slurm', 2).wallMs - pick('local-20', 2).wallMs) /
              (SLURM_POINTS * STAGES)
            ).toFixed(0),
          }
        : { slurm: 'not measured (needs slurm-wlm, munge and root)' }),
    }),
  );
}

function arrayFigures(arrays: ArrayRow[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of arrays) {
    out[`slurm_fan${FAN}_${a.mode}_wall_ms`] = Math.round(a.m.wallMs);
    out[`slurm_fan${FAN}_${a.mode}_ms_per_task`] = Math.round(a.m.wallMs / a.m.nodes);
  }
  return out;
}

/** Job array vs separate jobs: the same FAN nodes on the one-node cluster (2 CPUs). */
function printArrays(arrays: ArrayRow[]): void {
  if (!arrays.length) return;
  console.log(`\nslurm, ${FAN} independent trivial nodes of one stage (ready together):`);
  for (const a of arrays)
    console.log(
      `  ${a.mode === 'array' ? `one job array (1 sbatch)` : `${FAN} separate jobs (${FAN} sbatch)`}: ${(a.m.wallMs / 1000).toFixed(1)} s end to end, ${(a.m.wallMs / a.m.nodes).toFixed(0)} ms per task`,
    );
  console.log(JSON.stringify({ bench: 'executors-slurm-arrays', tasks: FAN, ...arrayFigures(arrays) }));
}

/** Slurm rows, when a one-node cluster can be brought up here. */
/** FAN independent nodes of one stage: ready together, so one job array on Slurm (or FAN jobs). */
const FAN = 24;

function fanSpec(dir: string): string {
  const file = path.join(dir, 'spec-fan.yaml');
  writeFileSync(
    file,
    [
      'name: bench-executors-fan',
      'stages:',
      '  s0: { uses: bench.noop, with: { i: 0, j: 0 } }',
      'matrix:',
      `  s0.j: [${Array.from({ length: FAN }, (_, i) => i).join(', ')}]`,
      '',
    ].join('\n'),
  );
  return file;
}

interface ArrayRow {
  mode: 'array' | 'jobs';
  m: Measure;
}

async function benchSlurm(
  dir: string,
  registry: StageRegistry,
  pluginFile: string,
  rows: { executor: string; slots: number; m: Measure }[],
  arrays: ArrayRow[] = [],
  only?: 'arrays',
): Promise<void> {
  const script = path.resolve('scripts/slurm-one-node.sh');
  const cluster = path.join(dir, 'slurm');
  const { spawnSync } = await import('node:child_process');
  if (
    process.getuid?.() !== 0 ||
    spawnSync('sh', ['-c', 'command -v sbatch && test -x /usr/sbin/slurmctld']).status !== 0
  ) {
    console.error('slurm: not measured (needs slurm-wlm, munge and root)');
    return;
  }
  const up = spawnSync(script, ['start', cluster], {
    encoding: 'utf8',
    env: { ...process.env, SLURMCTLD_PORT: '16917', SLURMD_PORT: '16918' },
  });
  if (up.status !== 0) {
    console.error(`slurm: not measured (cluster did not start: ${up.stderr.trim()})`);
    return;
  }
  try {
    const spec = chainSpec(dir, SLURM_POINTS);
    const env = { ...process.env, SLURM_CONF: path.join(cluster, 'slurm.conf') };
    const { slurmExecutor } = await import('../src/exec/slurm.ts');
    const slurm =
      (settings: Record<string, unknown>): Executor =>
      async (o) =>
        execute({
          ...o,
          remote: await slurmExecutor.open({
            settings,
            store: o.store,
            registry,
            plugins: [pluginFile],
            env,
            log: (line) => console.error(line),
          }),
        });
    if (only !== 'arrays') {
      rows.push({
        executor: 'local-20',
        slots: 2,
        m: await measure(spec, registry, path.join(dir, 'runs-local-20'), 2),
      });
      rows.push({
        executor: 'slurm',
        slots: 2,
        m: await measure(spec, registry, path.join(dir, 'runs-slurm'), 2, slurm({})),
      });
    }
    // The same FAN nodes as one job array (one sbatch), then as FAN separate jobs.
    const fan = fanSpec(dir);
    arrays.push({ mode: 'array', m: await measure(fan, registry, path.join(dir, 'runs-fan-array'), 2, slurm({})) });
    arrays.push({
      mode: 'jobs',
      m: await measure(fan, registry, path.join(dir, 'runs-fan-jobs'), 2, slurm({ arrays: false })),
    });
  } finally {
    spawnSync(script, ['stop', cluster]);
  }
}

await main_();
