// The bullmq executor under faults, on a real redis-server (one per file, killed and started again
// on the same port by the tests that need it): a Redis restarted empty mid-run, a Redis gone for
// good, a worker serving another runs folder, and Redis URLs that lead nowhere. Each run either
// finishes identical to a local run or fails clearly (exit 1/2, a named cause, the command to
// continue) within a bounded time; a rerun finishes identical; the tally (one line per execution
// of a node) shows that nothing was computed twice. Every wait is for an event (a tally line, a
// line the driver prints), never a fixed delay.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunJson } from '../../src/cli/commands/engine.ts';
import { makeRegistry } from '../../src/cli/workspace.ts';
import { startWorker, type RunningWorker } from '../../src/exec/bullmq.ts';
import { runExp } from '../helpers/exp.ts';
import { startExp, until } from '../helpers/live.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';
import { repoRoot } from '../helpers/repo.ts';

const plugin = path.join(repoRoot, 'test/fixtures/plugins/test-kinds.ts');
const grid = path.join(repoRoot, 'test/fixtures/engine/grid.yaml');
const env = { ...process.env, EXP_PLUGINS: plugin, EXP_GPUS: 'none' };
const tmp = (p: string): string => mkdtempSync(path.join(os.tmpdir(), p));

let redis: RedisServer;
let queueN = 0;

/** grid.yaml as 4 nodes (base → mid → top×2), mid waiting for `gate`, every node tallied. */
function gridArgs(gate: string, tally: string): string[] {
  return [
    'run',
    grid,
    '--set',
    'mid.value=[1]',
    '--set',
    'top.value=[100, 200]',
    '--set',
    `mid.gate=${gate}`,
    ...['base', 'mid', 'top'].flatMap((s) => ['--set', `${s}.tally=${tally}`]),
    '--json',
    '--no-track',
  ];
}

/** How many times each value's node ran (the tally has "<value> <pid>" per execution). */
function tallyCounts(tally: string): Record<string, number> {
  const out: Record<string, number> = {};
  if (!existsSync(tally)) return out;
  for (const l of readFileSync(tally, 'utf8').trim().split('\n').filter(Boolean)) {
    const v = l.split(' ')[0]!;
    out[v] = (out[v] ?? 0) + 1;
  }
  return out;
}

/** How many test.add nodes a runs folder holds, committed (a manifest written). */
function committed(runs: string): number {
  const dir = path.join(runs, 'cache', 'test.add');
  return existsSync(dir) ? readdirSync(dir).filter((k) => existsSync(path.join(dir, k, 'manifest.json'))).length : 0;
}

async function workerOn(runs: string, queue: string, warnings?: string[]): Promise<RunningWorker> {
  return startWorker({
    redis: redis.url,
    runsDir: runs,
    registry: await makeRegistry([plugin], {}),
    inventory: { cpus: 2, memoryMb: 4096, gpus: [], gpuSource: 'none' },
    queue,
    lockMs: 1000,
    ...(warnings ? { warn: (l: string) => warnings.push(l) } : {}),
  });
}

const bullmq = (runs: string, queue: string): string[] => [
  '--runs',
  runs,
  '--executor',
  'bullmq',
  '--redis',
  redis.url,
  '--queue',
  queue,
];

describe('bullmq executor under faults', () => {
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('Redis killed and started again (empty) mid-run: noticed, the lost node queued again, the run finishes as local, nothing computed twice', async () => {
    const dir = tmp('exp-bullf-restart-');
    const runs = path.join(dir, 'runs');
    const gate = path.join(dir, 'gate');
    const tally = path.join(dir, 'tally');
    const queue = `f${++queueN}`;
    const worker = await workerOn(runs, queue);
    const run = startExp([...gridArgs(gate, tally), ...bullmq(runs, queue)], env);
    run.done.catch(() => undefined); // awaited below
    try {
      // mid runs on the worker (it waits for its gate): Redis holds its job, and loses it.
      await until(
        () => `mid to start: ${run.err()}`,
        60_000,
        () => tallyCounts(tally)['1'] === 1,
      );
      await redis.kill();
      await redis.start();
      await until(
        () => `the driver to notice the restart: ${run.err()}`,
        30_000,
        () =>
          /bullmq: Redis at 127\.0\.0\.1:\d+ was restarted \(a new run_id\): it lost 1 node\(s\) this run had sent it: 0 already committed by their workers \(used\), 1 queued again/.test(
            run.err(),
          ),
      );
      writeFileSync(gate, '');
      expect(await run.exited(90_000), run.err()).toBe(0);
    } finally {
      writeFileSync(gate, '');
      await worker.close();
    }
    // The worker that held mid when Redis died finished it; the job queued again found it committed.
    expect(tallyCounts(tally)).toEqual({ '10': 1, '1': 1, '100': 1, '200': 1 });
    const local = await runExp([...gridArgs(gate, tally), '--runs', path.join(dir, 'local')], env);
    expect(local.code, local.err).toBe(0);
    expect(JSON.parse(run.out().trim().split('\n').at(-1)!)).toEqual(local.json<RunJson>());
  }, 120_000);

  it('Redis gone for good: the nodes sent there fail after settings.bullmq.redis_timeout (exit 1, the command to continue); the rerun finishes as local', async () => {
    const dir = tmp('exp-bullf-gone-');
    const runs = path.join(dir, 'runs');
    const gate = path.join(dir, 'gate');
    const tally = path.join(dir, 'tally');
    const queue = `f${++queueN}`;
    const worker = await workerOn(runs, queue);
    const args = [...gridArgs(gate, tally), ...bullmq(runs, queue), '--set', 'settings.bullmq.redis_timeout=3'];
    const run = startExp(args, env);
    run.done.catch(() => undefined);
    let killedAt = 0;
    try {
      await until(
        () => `mid to start: ${run.err()}`,
        60_000,
        () => tallyCounts(tally)['1'] === 1,
      );
      await redis.kill();
      killedAt = Date.now();
      expect(await run.exited(60_000), run.err()).toBe(1);
      // Said once when it stopped answering, then failed after 3 s (plus a check or two).
      expect(Date.now() - killedAt).toBeLessThan(30_000);
      expect(run.err().match(/does not answer/g)).toHaveLength(1);
      const j = JSON.parse(run.out().trim().split('\n').at(-1)!) as RunJson;
      expect(j.failed.map((f) => f.stage)).toEqual(['mid']);
      expect(j.failed[0]!.error).toMatch(/Redis at 127\.0\.0\.1:\d+ did not answer for 3 s/);
      expect(j.resume).toMatch(/^exp run .*--executor bullmq/);
      expect(run.err()).not.toMatch(/\n\s+at /); // no stack trace
    } finally {
      if (killedAt) await redis.start();
      writeFileSync(gate, '');
    }
    // The worker finishes mid into the store (base and mid: two manifests); the rerun reuses it.
    // Not the tally: mid wrote its line when it started, before Redis died.
    await until('mid to be committed by the worker', 60_000, () => committed(runs) === 2);
    const again = startExp(args, env);
    let code: number;
    try {
      code = await again.exited(60_000);
    } finally {
      await worker.close();
    }
    expect(code, again.err()).toBe(0);
    expect(tallyCounts(tally)).toEqual({ '10': 1, '1': 1, '100': 1, '200': 1 });
    const local = await runExp([...gridArgs(gate, tally), '--runs', path.join(dir, 'local')], env);
    expect(JSON.parse(again.out().trim().split('\n').at(-1)!)).toEqual(local.json<RunJson>());
  }, 240_000);

  it('a worker serving another runs folder refuses the nodes loudly (both sides name both folders) and never answers from its cache', async () => {
    const dir = tmp('exp-bullf-mismatch-');
    const runs = path.join(dir, 'runs-A');
    const other = path.join(dir, 'runs-B');
    const tally = path.join(dir, 'tally');
    const gate = path.join(dir, 'gate');
    writeFileSync(gate, '');
    const queue = `f${++queueN}`;
    const warnings: string[] = [];
    const wrong = await workerOn(other, queue, warnings);
    const run = startExp([...gridArgs(gate, tally), ...bullmq(runs, queue)], env);
    run.done.catch(() => undefined);
    let right: RunningWorker | undefined;
    try {
      const said = await until(
        () => `the driver to report the refusal: ${run.err()}`,
        60_000,
        () => run.err().match(/bullmq: worker \S+ pid \d+ serves runs folder .*/)?.[0],
      );
      expect(said).toContain(`serves runs folder ${other} (id `);
      expect(said).toContain(`not this run's ${runs} (id `);
      expect(said).toContain(`Start exp worker with --runs ${runs}`);
      await until('the worker to warn', 10_000, () => warnings.length > 0);
      expect(warnings[0]).toContain(`it runs on runs folder ${runs}`);
      expect(warnings[0]).toContain(`this worker on ${other}`);
      // Nothing computed or answered there.
      expect(existsSync(path.join(other, 'cache', 'test.add'))).toBe(false);
      expect(existsSync(tally)).toBe(false);
      right = await workerOn(runs, queue);
      expect(await run.exited(90_000), run.err()).toBe(0);
    } finally {
      await wrong.close();
      await right?.close();
    }
    expect(warnings).toHaveLength(1); // once per runs folder, however often the job came back
    expect(existsSync(path.join(other, 'cache', 'test.add'))).toBe(false);
    expect(tallyCounts(tally)).toEqual({ '10': 1, '1': 1, '100': 1, '200': 1 });
    const local = await runExp([...gridArgs(gate, tally), '--runs', path.join(dir, 'local')], env);
    expect(JSON.parse(run.out().trim().split('\n').at(-1)!)).toEqual(local.json<RunJson>());
  }, 120_000);

  it('SIGTERM while Redis hangs: exp run leaves within its grace period (exit 130)', async () => {
    const dir = tmp('exp-bullf-sigterm-');
    const runs = path.join(dir, 'runs');
    const gate = path.join(dir, 'gate');
    const tally = path.join(dir, 'tally');
    const queue = `f${++queueN}`;
    const worker = await workerOn(runs, queue);
    const driver = spawn(
      process.execPath,
      [path.join(repoRoot, 'bin/exp.js'), ...gridArgs(gate, tally), ...bullmq(runs, queue), '--grace', '2'],
      { env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    driver.stderr!.on('data', (b) => (err += b));
    const exited = new Promise<number | null>((r) => driver.once('exit', (code) => r(code)));
    let frozen = false;
    try {
      await until(
        () => `mid to start: ${err}`,
        60_000,
        () => tallyCounts(tally)['1'] === 1,
      );
      redis.freeze();
      frozen = true;
      const t0 = Date.now();
      driver.kill('SIGTERM');
      const code = await exited;
      const took = Date.now() - t0;
      expect(code, err).toBe(130);
      // Grace 2 s, then at most 2 s more to close (a Redis that answers nothing is not waited for).
      expect(took, err).toBeLessThan(9_000);
      expect(err).not.toMatch(/\n\s+at /);
    } finally {
      if (frozen) redis.thaw();
      driver.kill('SIGKILL');
      writeFileSync(gate, '');
      await worker.close();
    }
  }, 120_000);

  it('Redis URLs that lead nowhere: named, with the cause, within 10 s', async () => {
    const runs = tmp('exp-bullf-urls-');
    const base = ['run', grid, '--runs', runs, '--no-track', '--executor', 'bullmq'];
    // Something that is not a Redis: answers every line like a web server.
    const web = net.createServer((s) => {
      s.on('data', () => s.write('HTTP/1.1 400 Bad Request\r\n\r\n'));
      s.on('error', () => s.destroy());
    });
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    const webPort = (web.address() as net.AddressInfo).port;
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const closedPort = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    try {
      const cases: [string, number, RegExp][] = [
        [
          `redis://127.0.0.1:${closedPort}`,
          1,
          new RegExp(`cannot reach Redis at 127\\.0\\.0\\.1:${closedPort}: nothing listens there`),
        ],
        [
          `redis://127.0.0.1:${webPort}`,
          1,
          new RegExp(`127\\.0\\.0\\.1:${webPort} answered, but not as a Redis server does`),
        ],
        ['redis://no-such-host.invalid:6379', 1, /cannot reach Redis at no-such-host\.invalid:6379: host not found/],
        ['redis://[::1', 2, /not a Redis URL: "redis:\/\/\[::1"/],
        ['http://127.0.0.1:6379', 2, /not a Redis URL/],
      ];
      for (const [url, code, message] of cases) {
        const t0 = Date.now();
        const r = await runExp([...base, '--redis', url], env);
        expect(r.code, `${url}: ${r.err}`).toBe(code);
        expect(r.err, url).toMatch(message);
        expect(r.err, url).not.toMatch(/\n\s+at /);
        expect(Date.now() - t0, url).toBeLessThan(10_000);
      }
      const w = await runExp(['worker', '--runs', runs, '--redis', `redis://127.0.0.1:${webPort}`], env);
      expect(w.code).toBe(1);
      expect(w.err).toMatch(/answered, but not as a Redis server does/);
    } finally {
      web.close();
    }
  }, 120_000);
});
