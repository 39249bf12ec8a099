// The bullmq executor against a real redis-server (started here on a free loopback port, stopped
// after): the same grid gives the same outputs and metrics as local, a failed node skips its
// dependents, node retries work remotely, and a worker SIGKILLed mid-node loses nothing.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRegistry } from '../../src/cli/workspace.ts';
import { startWorker, type RunningWorker } from '../../src/exec/bullmq.ts';
import type { RunJson } from '../../src/cli/commands/engine.ts';
import type { NodeManifest } from '../../src/store/store.ts';
import { runExp } from '../helpers/exp.ts';
import { mlflowMetric, startExp, TICKER_METRICS, until, valuesAndSteps } from '../helpers/live.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';
import { repoRoot } from '../helpers/repo.ts';

const plugin = path.join(repoRoot, 'test/fixtures/plugins/test-kinds.ts');
const grid = path.join(repoRoot, 'test/fixtures/engine/grid.yaml');
const slowPair = path.join(repoRoot, 'test/fixtures/engine/slow-pair.yaml');
const gpuPair = path.join(repoRoot, 'test/fixtures/engine/gpu-pair.yaml');
const ticker = path.join(repoRoot, 'test/fixtures/engine/ticker.yaml');
const env = { ...process.env, EXP_PLUGINS: plugin, EXP_GPUS: 'none' };

const tmp = (p: string): string => mkdtempSync(path.join(os.tmpdir(), p));

function manifests(runs: string): Map<string, NodeManifest> {
  const dir = path.join(runs, 'cache', 'test.add');
  const out = new Map<string, NodeManifest>();
  if (!existsSync(dir)) return out;
  for (const key of readdirSync(dir))
    out.set(key, JSON.parse(readFileSync(path.join(dir, key, 'manifest.json'), 'utf8')) as NodeManifest);
  return out;
}

let redis: RedisServer;
let queueN = 0;

async function workers(runs: string, n: number, queue: string): Promise<RunningWorker[]> {
  const registry = await makeRegistry([plugin], {});
  return Promise.all(
    Array.from({ length: n }, () =>
      startWorker({
        redis: redis.url,
        runsDir: runs,
        registry,
        inventory: { cpus: 2, memoryMb: 4096, gpus: [], gpuSource: 'none' },
        queue,
        lockMs: 1000,
      }),
    ),
  );
}

describe('bullmq executor', () => {
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('runs a grid on two workers with the outputs, metrics and --json of the local executor', async () => {
    const local = tmp('exp-bull-local-');
    const remote = tmp('exp-bull-remote-');
    const queue = `t${++queueN}`;
    const ws = await workers(remote, 2, queue);
    try {
      const a = await runExp(['run', grid, '--runs', local, '--json', '--no-track'], env);
      const b = await runExp(
        [
          'run',
          grid,
          '--runs',
          remote,
          '--json',
          '--no-track',
          '--executor',
          'bullmq',
          '--redis',
          redis.url,
          '--queue',
          queue,
        ],
        env,
      );
      expect(a.code).toBe(0);
      expect(b.code, b.err).toBe(0);
      expect(b.json<RunJson>()).toEqual(a.json<RunJson>());
      const ma = manifests(local);
      const mb = manifests(remote);
      expect(ma.size).toBe(9);
      expect([...mb.keys()].sort()).toEqual([...ma.keys()].sort());
      for (const [key, m] of ma) {
        const r = mb.get(key)!;
        expect(r.outputs).toEqual(m.outputs);
        expect(r.files).toEqual(m.files);
        expect(r.metrics.map(({ key: k, value, step }) => [k, value, step])).toEqual(
          m.metrics.map(({ key: k, value, step }) => [k, value, step]),
        );
        expect(existsSync(path.join(remote, 'logs', `${key}.log`))).toBe(true);
      }
      // A second run is fully cached, without asking the workers.
      const c = await runExp(
        [
          'run',
          grid,
          '--runs',
          remote,
          '--json',
          '--no-track',
          '--executor',
          'bullmq',
          '--redis',
          redis.url,
          '--queue',
          queue,
        ],
        env,
      );
      expect(c.code).toBe(0);
      expect(c.err).toMatch(/0 ran, 9 cached/);
    } finally {
      await Promise.all(ws.map((w) => w.close()));
    }
  });

  it('a failed node skips its dependents; node retries run on the worker', async () => {
    const runs = tmp('exp-bull-fail-');
    const queue = `t${++queueN}`;
    const ws = await workers(runs, 1, queue);
    try {
      // Through the spec's settings this time (settings.executor, settings.bullmq.*).
      const args = [
        'run',
        grid,
        '--runs',
        runs,
        '--json',
        '--no-track',
        '--set',
        'settings.executor=bullmq',
        '--set',
        `settings.bullmq={redis: "${redis.url}", queue: ${queue}}`,
      ];
      const bad = await runExp([...args, '--set', 'mid.fail=true', '--set', 'mid.value=[1]'], env);
      expect(bad.code).toBe(1);
      const j = bad.json<RunJson>();
      expect(j.points.every((p) => p.status === 'failed')).toBe(true);
      expect(j.failed.map((f) => f.stage)).toEqual(['mid']);
      expect(j.failed[0]!.error).toMatch(/asked to fail/);
      expect(bad.err).toMatch(/1 ran, 0 cached, 1 failed, 3 skipped/);
      expect([...manifests(runs).values()].map((m) => m.stage)).toEqual(['base']);

      const flaky = await runExp([...args, '--set', 'mid.fail_times=1', '--set', 'mid.value=[5]', '--retry', '1'], env);
      expect(flaky.code, flaky.err).toBe(0);
      const mid = [...manifests(runs).values()].find((m) => m.stage === 'mid')!;
      expect(mid.attempts).toBe(2);
    } finally {
      await Promise.all(ws.map((w) => w.close()));
    }
  });

  it('refuses a missing Redis URL, an unknown executor, and a misspelt settings.bullmq key', async () => {
    const runs = tmp('exp-bull-args-');
    const w = await runExp(['worker', '--runs', runs], env);
    expect(w.code).toBe(2);
    expect(w.err).toMatch(/needs --redis/);
    const r = await runExp(['run', grid, '--runs', runs, '--executor', 'bullmq', '--no-track'], env);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/needs a Redis URL/);
    const u = await runExp(['run', grid, '--runs', runs, '--executor', 'slurmm', '--no-track'], env);
    expect(u.code).toBe(2);
    const s = await runExp(
      ['run', grid, '--runs', runs, '--no-track', '--set', 'settings.bullmq={redsi: "redis://x:1"}'],
      env,
    );
    expect(s.code).toBe(2);
    expect(s.err).toMatch(/redis/);
    const down = await runExp(
      ['run', grid, '--runs', runs, '--no-track', '--executor', 'bullmq', '--redis', 'redis://127.0.0.1:1'],
      env,
    );
    expect(down.code).toBe(1);
    expect(down.err).toMatch(/EXP_EXECUTOR_UNAVAILABLE.*cannot reach Redis/);
  });

  it('a worker SIGKILLed mid-node loses nothing: the node completes on another worker', async () => {
    const runs = tmp('exp-bull-kill-');
    const tally = path.join(runs, 'tally.txt');
    // The slow node waits for this file: the kill lands while it runs, however loaded the machine.
    const gate = path.join(runs, 'gate');
    const queue = `t${++queueN}`;
    const child = spawn(
      process.execPath,
      [
        path.join(repoRoot, 'bin/exp.js'),
        'worker',
        '--redis',
        redis.url,
        '--runs',
        runs,
        '--cpus',
        '1',
        '--queue',
        queue,
        '--lock-ms',
        '1000',
      ],
      {
        cwd: repoRoot,
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let childErr = '';
    child.stderr!.on('data', (b) => (childErr += b));
    const childExited = new Promise<void>((r) => child.once('exit', () => r()));
    let ws: RunningWorker[] = [];
    try {
      await until(
        () => `the worker to start: ${childErr}`,
        60_000,
        () => childErr.includes('queues'),
      );
      const run = startExp(
        [
          'run',
          slowPair,
          '--set',
          'slow.sleep_ms=0',
          '--set',
          `slow.gate=${gate}`,
          '--runs',
          runs,
          '--json',
          '--no-track',
          '--executor',
          'bullmq',
          '--redis',
          redis.url,
          '--queue',
          queue,
        ],
        { ...env, EXP_TEST_TALLY: tally },
      );
      run.done.catch(() => 1); // awaited below
      // The child worker has started the slow node, which waits at its gate: kill the worker.
      await until(
        () => `the slow node to start: ${childErr}`,
        60_000,
        () => existsSync(tally),
      );
      child.kill('SIGKILL');
      await childExited;
      ws = await workers(runs, 1, queue);
      // Its lock expires, a stalled check gives the job back, and this worker starts it again.
      await until(
        () => `the node to start again: ${run.err()}`,
        60_000,
        () => readFileSync(tally, 'utf8').trim().split('\n').length === 2,
      );
      writeFileSync(gate, '');
      expect(await run.done, run.err()).toBe(0);
      expect((JSON.parse(run.out().trim().split('\n').at(-1)!) as RunJson).points[0]!.metrics).toEqual({ total: 8 });
      const lines = readFileSync(tally, 'utf8').trim().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]!.split(' ')[1]).toBe(String(child.pid));
      expect(lines[1]!.split(' ')[1]).toBe(String(process.pid));
      expect(manifests(runs).size).toBe(2);
    } finally {
      writeFileSync(gate, '');
      child.kill('SIGKILL');
      await Promise.all(ws.map((w) => w.close()));
    }
  });

  it('a node no live worker can host is reported, not silent, and waits until a worker that can joins', async () => {
    const runs = tmp('exp-bull-unhostable-');
    const queue = `t${++queueN}`;
    const registry = await makeRegistry([plugin], {});
    const started: RunningWorker[] = [];
    const worker = async (gpus: number[]): Promise<void> => {
      started.push(
        await startWorker({
          redis: redis.url,
          runsDir: runs,
          registry,
          inventory: { cpus: 2, memoryMb: 4096, gpus: gpus.map((id) => ({ id })), gpuSource: 'flag' },
          queue,
          lockMs: 1000,
        }),
      );
    };
    // Two nodes that need 1 GPU each (test.gpu-probe).
    const run = startExp(
      [
        'run',
        gpuPair,
        '--runs',
        runs,
        '--json',
        '--no-track',
        '--executor',
        'bullmq',
        '--redis',
        redis.url,
        '--queue',
        queue,
      ],
      { ...env, EXP_UNHOSTABLE_WARN_MS: '500' },
    );
    try {
      await until(
        () => `the no-worker warning in: ${run.err()}`,
        60_000,
        () =>
          run
            .err()
            .includes(`bullmq: no exp worker is alive on queue "${queue}" of ${redis.url}: 2 node(s) wait in Redis`),
      );
      await worker([]);
      const warning = await until(
        () => `the unhostable warning in: ${run.err()}`,
        60_000,
        () => run.err().match(/bullmq: no live worker can host probe \w+, probe \w+: they need 1 GPU\(s\).*/)?.[0],
      );
      expect(warning).toMatch(/the 1 live worker\(s\) offer [^:]+ pid \d+: 0 GPU\(s\), 2 CPU\(s\)/);
      expect(warning).toMatch(new RegExp(`wait in Redis \\(queue ${queue}-gpu1\\) until such a worker joins`));
      expect(warning).toMatch(/exp worker --gpus with at least 1 id/);
      // It was waiting, not failed: a worker with GPUs joins and the grid completes.
      await worker([0, 1]);
      expect(await run.done, run.err()).toBe(0);
      expect(run.err()).toMatch(/2 ran, 0 cached/);
      // Once per kind of need, not once per check.
      expect(run.err().split('no live worker can host')).toHaveLength(2);
    } finally {
      run.stop(); // a no-op once it finished; else it stops waiting for workers
      await run.done.catch(() => 1);
      await Promise.all(started.map((w) => w.close()));
    }
  }, 120_000);

  it("running nodes' progress and metrics reach the driver and MLflow live, once", async () => {
    const runs = tmp('exp-bull-live-');
    const queue = `t${++queueN}`;
    const gate = path.join(tmp('exp-bull-gate-'), 'open');
    const ws = await workers(runs, 1, queue);
    const run = startExp(
      [
        'run',
        ticker,
        '--set',
        `tick.gate=${gate}`,
        '--runs',
        runs,
        '--executor',
        'bullmq',
        '--redis',
        redis.url,
        '--queue',
        queue,
      ],
      env,
    );
    try {
      await until(
        () => `live metrics in MLflow: ${JSON.stringify(mlflowMetric(runs, 'tick'))} ${run.err()}`,
        60_000,
        () => JSON.stringify(valuesAndSteps(mlflowMetric(runs, 'tick'))) === JSON.stringify(TICKER_METRICS),
      );
      await until(
        () => `the progress lines in: ${run.err()}`,
        30_000,
        () => /tick: 3\/3 ticks/.test(run.err()) && /tick: 4\/4 ticks/.test(run.err()),
      );
      expect(existsSync(path.join(runs, 'cache', 'test.ticker')), 'the nodes are still running').toBe(false);
      writeFileSync(gate, '');
      expect(await run.done, run.err()).toBe(0);
      expect(valuesAndSteps(mlflowMetric(runs, 'tick'))).toEqual(TICKER_METRICS);
      expect(run.err().match(/▶ tick/g)).toHaveLength(2);
    } finally {
      writeFileSync(gate, '');
      run.stop();
      await run.done.catch(() => 1);
      await Promise.all(ws.map((w) => w.close()));
    }
  }, 120_000);
});
