// The slurm executor on a real one-node Slurm cluster with 2 fake GPUs (scripts/slurm-one-node.sh,
// on free loopback ports; stopped after). Missing slurm-wlm/munge is a failure: `make deps`.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunJson } from '../../src/cli/commands/engine.ts';
import { listInvocations, type RemoteJobRecord } from '../../src/store/invocations.ts';
import type { NodeManifest } from '../../src/store/store.ts';
import { runExp } from '../helpers/exp.ts';
import { mlflowMetric, startExp, TICKER_METRICS, until, valuesAndSteps } from '../helpers/live.ts';
import { repoRoot } from '../helpers/repo.ts';

const plugin = path.join(repoRoot, 'test/fixtures/plugins/test-kinds.ts');
const grid = path.join(repoRoot, 'test/fixtures/engine/grid.yaml');
const gpuPair = path.join(repoRoot, 'test/fixtures/engine/gpu-pair.yaml');
const ticker = path.join(repoRoot, 'test/fixtures/engine/ticker.yaml');
const arrayGrid = path.join(repoRoot, 'test/fixtures/engine/array-grid.yaml');
const script = path.join(repoRoot, 'scripts/slurm-one-node.sh');
const expBin = path.join(repoRoot, 'bin/exp.js');
const tmp = (p: string): string => mkdtempSync(path.join(os.tmpdir(), p));
const small = ['--set', 'mid.value=[1]', '--set', 'top.value=[100, 200]'];

function manifests(runs: string, kind = 'test.add'): Map<string, NodeManifest> {
  const dir = path.join(runs, 'cache', kind);
  const out = new Map<string, NodeManifest>();
  if (!existsSync(dir)) return out;
  for (const key of readdirSync(dir))
    out.set(key, JSON.parse(readFileSync(path.join(dir, key, 'manifest.json'), 'utf8')) as NodeManifest);
  return out;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * `exp ARGS` in a child process, SIGKILLed as soon as its invocation has recorded `jobs` Slurm
 * jobs; returns them.
 */
async function killedDriver(args: string[], runs: string, jobs: number): Promise<RemoteJobRecord[]> {
  const driver = spawn(process.execPath, [expBin, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  driver.stderr!.on('data', (b) => (err += b));
  const exited = new Promise<void>((r) => driver.once('exit', () => r()));
  try {
    return await until(
      () => `exp run to record ${jobs} Slurm jobs (it said: ${err})`,
      120_000,
      async () => {
        const recorded = Object.values((await listInvocations(runs))[0]?.remoteJobs ?? {});
        return recorded.length === jobs && recorded;
      },
    );
  } finally {
    driver.kill('SIGKILL');
    await exited;
  }
}

let cluster: string;
let env: NodeJS.ProcessEnv;

describe('slurm executor', () => {
  beforeAll(async () => {
    if (
      spawnSync('sh', ['-c', 'command -v sbatch && (command -v slurmctld || test -x /usr/sbin/slurmctld)']).status !== 0
    )
      throw new Error('slurm-wlm is not installed: run `make deps`');
    cluster = tmp('exp-slurm-cluster-');
    const ports = { SLURMCTLD_PORT: String(await freePort()), SLURMD_PORT: String(await freePort()) };
    execFileSync(script, ['start', cluster], { env: { ...process.env, ...ports }, stdio: 'pipe', timeout: 30_000 });
    env = { ...process.env, SLURM_CONF: path.join(cluster, 'slurm.conf'), EXP_PLUGINS: plugin, EXP_GPUS: 'none' };
  }, 120_000);
  afterAll(() => {
    if (cluster) execFileSync(script, ['stop', cluster]);
  });

  it('a failed node skips its dependents; then the grid matches the local executor', async () => {
    const local = tmp('exp-slurm-local-');
    const remote = tmp('exp-slurm-remote-');
    const bad = await runExp(
      [
        'run',
        grid,
        ...small,
        '--set',
        'mid.fail=true',
        '--runs',
        remote,
        '--json',
        '--no-track',
        '--executor',
        'slurm',
      ],
      env,
    );
    expect(bad.code, bad.err).toBe(1);
    expect(bad.json<RunJson>().failed.map((f) => f.stage)).toEqual(['mid']);
    expect(bad.err).toMatch(/1 ran, 0 cached, 1 failed, 2 skipped/);

    const a = await runExp(['run', grid, ...small, '--runs', local, '--json', '--no-track'], env);
    const b = await runExp(
      ['run', grid, ...small, '--runs', remote, '--json', '--no-track', '--set', 'settings.executor=slurm'],
      env,
    );
    expect(a.code).toBe(0);
    expect(b.code, b.err).toBe(0);
    expect(b.json<RunJson>()).toEqual(a.json<RunJson>());
    expect(b.err).toMatch(/3 ran, 1 cached/); // base came from the failed run
    const ma = manifests(local);
    const mb = manifests(remote);
    expect([...mb.keys()].sort()).toEqual([...ma.keys()].sort());
    for (const [key, m] of ma) {
      expect(mb.get(key)!.outputs).toEqual(m.outputs);
      expect(mb.get(key)!.files).toEqual(m.files);
    }
  }, 120_000);

  it('concurrent GPU nodes get distinct devices from Slurm', async () => {
    const runs = tmp('exp-slurm-gpu-');
    const r = await runExp(['run', gpuPair, '--runs', runs, '--json', '--no-track', '--executor', 'slurm'], env);
    expect(r.code, r.err).toBe(0);
    const probes = [...manifests(runs, 'test.gpu-probe').values()].map(
      (m) => m.outputs as { cuda: string; start: number; end: number },
    );
    expect(probes).toHaveLength(2);
    const [p, q] = probes as [(typeof probes)[0], (typeof probes)[0]];
    expect(p.start < q.end && q.start < p.end, 'the two nodes overlapped').toBe(true);
    expect(new Set(probes.map((x) => x.cuda))).toEqual(new Set(['0', '1']));
  }, 120_000);

  it('a killed exp run, run again, re-attaches to its jobs: every node runs once, outputs equal local', async () => {
    const runs = tmp('exp-slurm-kill-');
    const dir = tmp('exp-slurm-kill-files-');
    const tally = path.join(dir, 'tally.txt');
    const gate = path.join(dir, 'gate'); // the mid nodes finish once it exists
    // One more mid node than the cluster has CPUs: one stays PENDING while the others wait at the gate.
    const cpus = Number(execFileSync('sinfo', ['-h', '-o', '%c'], { env, encoding: 'utf8' }).trim().split('\n')[0]);
    const mids = Array.from({ length: cpus + 1 }, (_, i) => i + 1);
    const args = [
      'run',
      grid,
      '--set',
      `mid.value=[${mids.join(',')}]`,
      '--set',
      'top.value=[100]',
      '--set',
      `mid.gate=${gate}`,
      ...['base', 'mid', 'top'].flatMap((s) => ['--set', `${s}.tally=${tally}`]),
      '--json',
      '--no-track',
    ];
    const squeue = (id: string): string =>
      execFileSync('squeue', ['-h', '-j', id, '-o', '%T'], { env, encoding: 'utf8' }).trim();
    try {
      // Killed as soon as every mid job is recorded in its invocation (base is done by then).
      const killed = await killedDriver([...args, '--runs', runs, '--executor', 'slurm'], runs, mids.length + 1);
      const states = await until(
        () => `${cpus} mid jobs running and one pending: ${killed.map((j) => `${j.id} ${squeue(j.id)}`).join(', ')}`,
        120_000,
        () => {
          const s = killed.map((j) => ({ ...j, state: squeue(j.id) }));
          return s.filter((j) => j.state === 'RUNNING').length === cpus && s.some((j) => j.state === 'PENDING') && s;
        },
      );
      // The mids went out together: one job array, its tasks recorded as <array id>_<index>.
      const midIds = killed
        .map((j) => j.id)
        .filter((id) => id.includes('_'))
        .sort();
      expect(midIds).toEqual(mids.map((_, i) => `${midIds[0]!.split('_')[0]}_${i}`));
      // The pending one vanishes without a result while no driver watches.
      const pending = states.find((j) => j.state === 'PENDING')!;
      execFileSync('scancel', ['--state=PENDING', pending.id], { env });

      const again = startExp([...args, '--runs', runs, '--executor', 'slurm'], env);
      again.done.catch(() => {});
      await until(
        () => `the rerun to re-attach and resubmit: ${again.err()}`,
        120_000,
        () =>
          again
            .err()
            .includes(
              `slurm: ${cpus} job(s) of an earlier exp run still queued or running: re-attached, not submitted again`,
            ) &&
          again
            .err()
            .includes(
              `slurm: 1 job(s) of an earlier exp run ended without a result (cancelled or lost): submitted again, once: ${pending.id} mid`,
            ),
      );
      writeFileSync(gate, '');
      expect(await again.done, again.err()).toBe(0);

      // Every node ran exactly once (the tally has one line per execution of a stage)...
      const lines = readFileSync(tally, 'utf8')
        .trim()
        .split('\n')
        .map((l) => Number(l.split(' ')[0]));
      const count = (v: number): number => lines.filter((x) => x === v).length;
      expect(lines).toHaveLength(1 + 2 * mids.length);
      expect(count(10)).toBe(1);
      for (const m of mids) expect(count(m)).toBe(1);
      expect(count(100)).toBe(mids.length);
      // ...and was submitted once, but for the job that vanished (its node was submitted again).
      const idsByKey = new Map<string, Set<string>>();
      for (const inv of await listInvocations(runs))
        for (const [key, job] of Object.entries(inv.remoteJobs ?? {}))
          (idsByKey.get(key) ?? idsByKey.set(key, new Set()).get(key)!).add(job.id);
      expect(idsByKey.size).toBe(1 + 2 * mids.length);
      const twice = [...idsByKey].filter(([, ids]) => ids.size > 1);
      expect(twice).toHaveLength(1);
      expect(twice[0]![1].has(pending.id)).toBe(true);

      const local = tmp('exp-slurm-kill-local-');
      const ref = await runExp([...args, '--runs', local], env);
      expect(ref.code, ref.err).toBe(0);
      expect(JSON.parse(again.out().trim().split('\n').at(-1)!)).toEqual(ref.json<RunJson>());
      const ma = manifests(local);
      const mb = manifests(runs);
      expect([...mb.keys()].sort()).toEqual([...ma.keys()].sort());
      for (const [key, m] of ma) expect(mb.get(key)!.outputs).toEqual(m.outputs);
    } finally {
      writeFileSync(gate, ''); // whatever failed, no job waits for it
    }
  }, 240_000);

  it('a job that failed while no exp run watched is taken from its result, not run again; the next run retries', async () => {
    const runs = tmp('exp-slurm-failed-');
    const files = tmp('exp-slurm-tally-');
    const tally = path.join(files, 'tally.txt');
    // mid fails once this file exists: after its driver was killed, however loaded the machine.
    const gate = path.join(files, 'gate');
    const args = [
      'run',
      grid,
      ...small,
      '--set',
      'mid.fail=true',
      '--set',
      `mid.gate=${gate}`,
      '--set',
      `mid.tally=${tally}`,
      '--json',
      '--no-track',
      '--runs',
      runs,
      '--executor',
      'slurm',
    ];
    const [, mid] = await killedDriver(args, runs, 2); // base, then mid
    expect(mid).toBeDefined();
    writeFileSync(gate, '');
    await until(`the result of job ${mid!.id}`, 120_000, () => existsSync(path.join(runs, `${mid!.base}.result.json`)));
    const again = await runExp(args, env);
    expect(again.code, again.err).toBe(1);
    expect(again.err).toMatch(
      new RegExp(
        `1 job\\(s\\) of an earlier exp run finished while no exp run watched: their results are used: ${mid!.id} mid \\w+ \\(failed\\)`,
      ),
    );
    expect(again.json<RunJson>().failed.map((f) => f.stage)).toEqual(['mid']);
    expect(readFileSync(tally, 'utf8').trim().split('\n')).toHaveLength(1);
    // That run finished: the next one does not take the old result again, it retries the node.
    const third = await runExp(args, env);
    expect(third.code, third.err).toBe(1);
    expect(third.err).not.toMatch(/earlier exp run/);
    expect(readFileSync(tally, 'utf8').trim().split('\n')).toHaveLength(2);
  }, 240_000);

  it('Ctrl-C cancels the jobs this exp run submitted, and nothing else', async () => {
    const runs = tmp('exp-slurm-ctrlc-');
    const squeue = (id: string): string =>
      execFileSync('squeue', ['-h', '-j', id, '-o', '%T'], { env, encoding: 'utf8' }).trim();
    // Someone else's job on the same cluster.
    const other = execFileSync(
      'sbatch',
      ['--parsable', '--wrap=sleep 120', `--output=${path.join(runs, 'other.out')}`],
      {
        env,
        encoding: 'utf8',
      },
    )
      .trim()
      .split(';')[0]!;
    try {
      const args = [
        'run',
        grid,
        ...small,
        '--set',
        'base.sleep_ms=60000',
        '--runs',
        runs,
        '--no-track',
        '--executor',
        'slurm',
      ];
      const run = startExp(args, env);
      const [base] = await until(
        () => `the base job to be recorded: ${run.err()}`,
        120_000,
        async () => {
          const jobs = Object.values((await listInvocations(runs))[0]?.remoteJobs ?? {});
          return jobs.length > 0 && jobs;
        },
      );
      run.stop();
      expect(await run.done, run.err()).toBe(130);
      await until(`job ${base!.id} to be cancelled (${squeue(base!.id)})`, 60_000, () =>
        ['', 'CANCELLED'].includes(squeue(base!.id)),
      );
      expect(squeue(other)).toMatch(/^(PENDING|RUNNING)$/);
    } finally {
      execFileSync('scancel', [other], { env });
    }
  }, 180_000);

  it("running jobs' progress and metrics reach the driver and MLflow live, once", async () => {
    const runs = tmp('exp-slurm-live-');
    const gate = path.join(tmp('exp-slurm-gate-'), 'open');
    const args = ['run', ticker, '--set', `tick.gate=${gate}`];
    const run = startExp([...args, '--runs', runs, '--executor', 'slurm'], env);
    try {
      // Both nodes emitted their metrics and wait for the gate: the metrics are in MLflow already.
      await until(
        () => `live metrics in MLflow: ${JSON.stringify(mlflowMetric(runs, 'tick'))} ${run.err()}`,
        120_000,
        () => JSON.stringify(valuesAndSteps(mlflowMetric(runs, 'tick'))) === JSON.stringify(TICKER_METRICS),
      );
      await until(
        () => `the progress lines in: ${run.err()}`,
        30_000,
        () => /tick: 3\/3 ticks/.test(run.err()) && /tick: 4\/4 ticks/.test(run.err()),
      );
      expect(manifests(runs, 'test.ticker').size, 'the nodes are still running').toBe(0);
    } finally {
      writeFileSync(gate, '');
      run.done.catch(() => {}); // awaited below; a failure above must not leave it unhandled
    }
    expect(await run.done, run.err()).toBe(0);
    expect(manifests(runs, 'test.ticker').size).toBe(2);
    // Not logged again from the manifests, and as a local run logs them.
    expect(valuesAndSteps(mlflowMetric(runs, 'tick'))).toEqual(TICKER_METRICS);
    const local = tmp('exp-slurm-live-local-');
    const ref = await runExp([...args, '--runs', local], env);
    expect(ref.code, ref.err).toBe(0);
    expect(valuesAndSteps(mlflowMetric(local, 'tick'))).toEqual(TICKER_METRICS);
  }, 180_000);
  it('the ready nodes of a stage go out as one job array (throttled); a failed task fails only its node', async () => {
    const dir = tmp('exp-slurm-array-');
    // Every sbatch goes through this wrapper, which logs its arguments: submissions are counted.
    const bin = path.join(dir, 'bin');
    const log = path.join(dir, 'sbatch.log');
    const real = execFileSync('sh', ['-c', 'command -v sbatch'], { encoding: 'utf8' }).trim();
    mkdirSync(bin);
    writeFileSync(path.join(bin, 'sbatch'), `#!/bin/sh\nprintf '%s\\n' "$*" >> ${log}\nexec ${real} "$@"\n`, {
      mode: 0o755,
    });
    const args = ['run', arrayGrid, '--no-track', '--json'];
    const local = await runExp([...args, '--runs', path.join(dir, 'local')], env);
    const remote = path.join(dir, 'runs');
    const r = await runExp(
      [...args, '--runs', remote, '--executor', 'slurm', '--set', 'settings.slurm.array_throttle=2'],
      { ...env, PATH: `${bin}:${env.PATH}` },
    );
    expect(local.code, local.err).toBe(1);
    expect(r.code, r.err).toBe(1);
    const [a, b] = [local.json<RunJson>(), r.json<RunJson>()];
    expect(b.points).toEqual(a.points);
    const failures = (j: RunJson) => j.failed.map((f) => [f.stage, f.error]).sort();
    expect(failures(b)).toEqual(failures(a));
    expect(b.failed).toHaveLength(2); // the two mids asked to fail; the other two and their tops are done
    expect(r.err).toMatch(/5 ran, 0 cached, 2 failed, 2 skipped/);
    // One sbatch for the four mids: an array of 4 tasks, at most 2 at once.
    const submissions = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .filter((l) => l.includes('--wrap='));
    const mids = submissions.filter((l) => l.includes('--job-name=exp-mid'));
    expect(mids).toHaveLength(1);
    expect(mids[0]).toMatch(/^--array=0-3%2 /);
    expect(submissions.filter((l) => l.includes('--job-name=exp-base'))).toHaveLength(1);
    // Each task recorded as <array id>_<index>, in the order of the index file.
    const [inv] = await listInvocations(remote);
    const midIds = Object.values(inv!.remoteJobs ?? {})
      .filter((j) => JSON.parse(readFileSync(path.join(remote, `${j.base}.job.json`), 'utf8')).node.stage === 'mid')
      .map((j) => j.id)
      .sort();
    const arrayId = midIds[0]!.split('_')[0];
    expect(midIds).toEqual([0, 1, 2, 3].map((i) => `${arrayId}_${i}`));
  }, 120_000);
});
