// The slurm executor under faults, on one real one-node Slurm cluster for the whole file
// (scripts/slurm-one-node.sh; its controller stopped, frozen and started again by the tests that
// need it, and left healthy by each): a missing or garbage SLURM_CONF, a controller that does not
// answer, a job cancelled from outside, the controller restarted mid-run, the node drained while
// jobs pend, and SIGTERM while the controller hangs. Each run either finishes identical to a local
// run or fails clearly (exit 1/2, a named cause, no stack trace, the command to continue) within a
// bounded time; a rerun finishes identical; the tally (one line per execution of a node) shows
// what ran. Every wait is for an event (a tally line, a job state, a line the driver prints).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunJson } from '../../src/cli/commands/engine.ts';
import { listInvocations } from '../../src/store/invocations.ts';
import { runExp } from '../helpers/exp.ts';
import { startExp, until } from '../helpers/live.ts';
import { repoRoot } from '../helpers/repo.ts';

const plugin = path.join(repoRoot, 'test/fixtures/plugins/test-kinds.ts');
const grid = path.join(repoRoot, 'test/fixtures/engine/grid.yaml');
const script = path.join(repoRoot, 'scripts/slurm-one-node.sh');
const expBin = path.join(repoRoot, 'bin/exp.js');
const tmp = (p: string): string => mkdtempSync(path.join(os.tmpdir(), p));

let cluster: string;
let env: NodeJS.ProcessEnv;
let host: string;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

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

function tallyCounts(tally: string): Record<string, number> {
  const out: Record<string, number> = {};
  if (!existsSync(tally)) return out;
  for (const l of readFileSync(tally, 'utf8').trim().split('\n').filter(Boolean)) {
    const v = l.split(' ')[0]!;
    out[v] = (out[v] ?? 0) + 1;
  }
  return out;
}

const lastJson = (out: string): RunJson => JSON.parse(out.trim().split('\n').at(-1)!) as RunJson;
const squeue = (id: string): string =>
  spawnSync('squeue', ['-h', '-j', id, '-o', '%T'], { env, encoding: 'utf8', timeout: 20_000 }).stdout.trim();
const ctldPid = (): number => Number(readFileSync(path.join(cluster, 'slurmctld.pid'), 'utf8').trim());

/** The controller, started again the way the script starts it (its state is in the cluster folder). */
async function startController(): Promise<void> {
  const out = path.join(cluster, 'slurmctld.out');
  spawn('slurmctld', ['-D', '-i', '-f', path.join(cluster, 'slurm.conf')], {
    env,
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore'],
  }).unref();
  await until(`slurmctld to answer again (${out})`, 60_000, () =>
    / is UP/.test(spawnSync('scontrol', ['ping'], { env, encoding: 'utf8', timeout: 15_000 }).stdout ?? ''),
  );
}

async function stopController(): Promise<void> {
  const pid = ctldPid();
  process.kill(pid, 'SIGTERM');
  await until('slurmctld to exit', 30_000, () => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  });
}

/** The Slurm jobs the latest invocation of a runs folder recorded, by stage. */
async function jobsOf(runs: string): Promise<Map<string, string>> {
  const [inv] = await listInvocations(runs);
  const out = new Map<string, string>();
  for (const job of Object.values(inv?.remoteJobs ?? inv?.slurmJobs ?? {})) {
    const rec = JSON.parse(readFileSync(path.join(runs, `${job.base}.job.json`), 'utf8')) as {
      node: { stage: string };
    };
    out.set(rec.node.stage, job.id);
  }
  return out;
}

/** The same grid run locally (it adds its own tally lines: count the run under test first). */
async function localReference(dir: string, gate: string, tally: string): Promise<RunJson> {
  writeFileSync(gate, '');
  const r = await runExp([...gridArgs(gate, tally), '--runs', path.join(dir, 'local')], env);
  expect(r.code, r.err).toBe(0);
  return r.json<RunJson>();
}

describe('slurm executor under faults', () => {
  beforeAll(async () => {
    if (
      spawnSync('sh', ['-c', 'command -v sbatch && (command -v slurmctld || test -x /usr/sbin/slurmctld)']).status !== 0
    )
      throw new Error('slurm-wlm is not installed: run `make deps`');
    // Its real path: the script's stop signals only processes whose command line names this
    // cluster's slurm.conf, as the script (and startController here) write it.
    cluster = realpathSync(tmp('exp-slurmf-cluster-'));
    const ports = { SLURMCTLD_PORT: String(await freePort()), SLURMD_PORT: String(await freePort()) };
    execFileSync(script, ['start', cluster], { env: { ...process.env, ...ports }, stdio: 'pipe', timeout: 30_000 });
    env = { ...process.env, SLURM_CONF: path.join(cluster, 'slurm.conf'), EXP_PLUGINS: plugin, EXP_GPUS: 'none' };
    host = execFileSync('sinfo', ['-h', '-N', '-o', '%N'], { env, encoding: 'utf8' }).trim().split('\n')[0]!;
  }, 60_000);
  afterAll(() => {
    if (!cluster) return;
    spawnSync('scancel', ['-u', os.userInfo().username], { env, timeout: 20_000 });
    execFileSync(script, ['stop', cluster]);
  });

  it('a missing or garbage SLURM_CONF, or a controller that does not answer: named within 10 s, exit 1', async () => {
    const runs = tmp('exp-slurmf-conf-');
    const garbage = path.join(runs, 'garbage.conf');
    writeFileSync(garbage, 'this = is = not slurm\n');
    const base = ['run', grid, '--runs', runs, '--no-track', '--executor', 'slurm'];
    const cases: [NodeJS.ProcessEnv, RegExp][] = [
      [{ SLURM_CONF: '/nonexistent/slurm.conf' }, /SLURM_CONF=\/nonexistent\/slurm\.conf does not exist/],
      [{ SLURM_CONF: runs }, new RegExp(`SLURM_CONF=${runs} is a folder`)],
      [{ SLURM_CONF: garbage }, /Slurm cannot be used from here: sbatch: .*(Parsing error|unrecognized key)/],
    ];
    for (const [extra, message] of cases) {
      const t0 = Date.now();
      const r = await runExp(base, { ...env, ...extra });
      expect(r.code, r.err).toBe(1);
      expect(r.err).toMatch(message);
      expect(r.err).toMatch(/EXP_EXECUTOR_UNAVAILABLE/);
      expect(r.err).not.toMatch(/\n\s+at /);
      expect(Date.now() - t0).toBeLessThan(10_000);
    }
    // A controller that hangs (frozen here): `scontrol ping` is given 6 s.
    const pid = ctldPid();
    process.kill(pid, 'SIGSTOP');
    try {
      const t0 = Date.now();
      const r = await runExp(base, env);
      expect(r.code, r.err).toBe(1);
      expect(r.err).toMatch(/the Slurm controller does not answer \(scontrol ping: /);
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  }, 120_000);

  it('a job cancelled from outside (scancel): exit 1, the job and the node named, the command to continue; the rerun finishes as local', async () => {
    const dir = tmp('exp-slurmf-scancel-');
    const runs = path.join(dir, 'runs');
    const gate = path.join(dir, 'gate');
    const tally = path.join(dir, 'tally');
    const args = [...gridArgs(gate, tally), '--runs', runs, '--executor', 'slurm'];
    const run = startExp(args, env);
    run.done.catch(() => 1); // awaited below
    await until(
      () => `mid to run: ${run.err()}`,
      120_000,
      () => tallyCounts(tally)['1'] === 1,
    );
    const mid = (await jobsOf(runs)).get('mid')!;
    execFileSync('scancel', [mid], { env });
    expect(await run.exited(90_000), run.err()).toBe(1);
    const j = lastJson(run.out());
    expect(j.failed.map((f) => f.stage)).toEqual(['mid']);
    expect(j.failed[0]!.error).toMatch(new RegExp(`slurm job ${mid} was cancelled before mid finished`));
    expect(j.points.every((p) => p.status === 'failed')).toBe(true);
    // The same command, quoted for a shell.
    expect(j.resume).toBe(`exp ${args.map((a) => (/[[\] ,]/.test(a) ? `'${a}'` : a)).join(' ')}`);
    expect(run.err()).toMatch(/✖ mid \(test\.add\) \w+ FAILED: slurm job \d+ was cancelled/);
    expect(run.err()).toMatch(/1 ran, 0 cached, 1 failed, 2 skipped/);

    writeFileSync(gate, '');
    const again = await runExp(args, env);
    expect(again.code, again.err).toBe(0);
    expect(again.err).toMatch(/3 ran, 1 cached/); // base was kept; mid and the tops ran
    // base ran once; mid twice (the cancelled start, then the rerun), each top once.
    expect(tallyCounts(tally)).toEqual({ '10': 1, '1': 2, '100': 1, '200': 1 });
    expect(again.json<RunJson>()).toEqual(await localReference(dir, gate, tally));
  }, 240_000);

  it('the controller stopped and started again mid-run: said once, the jobs keep running, the run finishes as local, each node once', async () => {
    const dir = tmp('exp-slurmf-ctld-');
    const runs = path.join(dir, 'runs');
    const gate = path.join(dir, 'gate');
    const tally = path.join(dir, 'tally');
    const args = [...gridArgs(gate, tally), '--runs', runs, '--executor', 'slurm'];
    const run = startExp(args, env);
    run.done.catch(() => 1);
    let stopped = false;
    try {
      await until(
        () => `mid to run: ${run.err()}`,
        120_000,
        () => tallyCounts(tally)['1'] === 1,
      );
      await stopController();
      stopped = true;
      await until(
        () => `the driver to say the cluster does not answer: ${run.err()}`,
        60_000,
        () => /slurm: the cluster does not answer \(squeue/.test(run.err()),
      );
      await startController();
      stopped = false;
      await until(
        () => `the driver to see the cluster again: ${run.err()}`,
        60_000,
        () => /slurm: the cluster answers again after \d+ s/.test(run.err()),
      );
      writeFileSync(gate, '');
      expect(await run.exited(90_000), run.err()).toBe(0);
    } finally {
      if (stopped) await startController();
      writeFileSync(gate, '');
    }
    expect(run.err().match(/does not answer/g)).toHaveLength(1);
    expect(tallyCounts(tally)).toEqual({ '10': 1, '1': 1, '100': 1, '200': 1 });
    expect(lastJson(run.out())).toEqual(await localReference(dir, gate, tally));
  }, 240_000);

  it('the node drained while jobs pend: said once (job ids, node state, reason), failed after settings.slurm.pending_timeout; resumed, the rerun finishes as local', async () => {
    const dir = tmp('exp-slurmf-drain-');
    const runs = path.join(dir, 'runs');
    const gate = path.join(dir, 'gate');
    writeFileSync(gate, '');
    const tally = path.join(dir, 'tally');
    const args = [...gridArgs(gate, tally), '--runs', runs, '--executor', 'slurm'];
    const scontrol = (...a: string[]): void => void execFileSync('scontrol', a, { env });
    scontrol('update', `nodename=${host}`, 'state=drain', 'reason=Duplicate jobid');
    let r: Awaited<ReturnType<typeof runExp>>;
    try {
      const t0 = Date.now();
      r = await runExp([...args, '--set', 'settings.slurm.pending_timeout=4'], env);
      // 4 s of waiting, a diagnosis every second or so, a state check every second.
      expect(Date.now() - t0).toBeLessThan(60_000);
    } finally {
      scontrol('update', `nodename=${host}`, 'state=resume');
    }
    expect(r.code, r.err).toBe(1);
    const base = (await jobsOf(runs)).get('base')!;
    const said = r.err.match(/slurm: 1 job\(s\) wait to start .*/)?.[0];
    expect(said, r.err).toBeDefined();
    expect(said).toContain(`(${base}`);
    expect(said).toContain(`no node of partition debug can run them: ${host} drained (Reason: Duplicate jobid`);
    expect(said).toContain('exp run waits up to 4 s (settings.slurm.pending_timeout)');
    expect(r.err.match(/slurm: 1 job\(s\) wait to start/g)).toHaveLength(1);
    const j = r.json<RunJson>();
    expect(j.failed.map((f) => f.stage)).toEqual(['base']);
    expect(j.failed[0]!.error).toMatch(
      new RegExp(`slurm job ${base} waited \\d+ s to start, and nothing will start it`),
    );
    expect(j.resume).toMatch(/^exp run /);
    expect(r.err).not.toMatch(/\n\s+at /);
    await until(`job ${base} to be cancelled`, 60_000, () => ['', 'CANCELLED'].includes(squeue(base)));
    expect(tallyCounts(tally)).toEqual({});

    const again = await runExp(args, env);
    expect(again.code, again.err).toBe(0);
    expect(tallyCounts(tally)).toEqual({ '10': 1, '1': 1, '100': 1, '200': 1 });
    expect(again.json<RunJson>()).toEqual(await localReference(dir, gate, tally));
  }, 240_000);

  it('SIGTERM while the controller hangs: exp run leaves within its grace period', async () => {
    const dir = tmp('exp-slurmf-sigterm-');
    const runs = path.join(dir, 'runs');
    const gate = path.join(dir, 'gate');
    const tally = path.join(dir, 'tally');
    const driver = spawn(
      process.execPath,
      [expBin, ...gridArgs(gate, tally), '--runs', runs, '--executor', 'slurm', '--grace', '2'],
      { env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    driver.stderr!.on('data', (b) => (err += b));
    const exited = new Promise<number | null>((r) => driver.once('exit', (code) => r(code)));
    const pid = ctldPid();
    let frozen = false;
    try {
      await until(
        () => `mid to run: ${err}`,
        120_000,
        () => tallyCounts(tally)['1'] === 1,
      );
      process.kill(pid, 'SIGSTOP');
      frozen = true;
      const t0 = Date.now();
      driver.kill('SIGTERM');
      const code = await exited;
      const took = Date.now() - t0;
      expect(code, err).toBe(130);
      // Grace 2 s, plus 2 s to close; a hanging scancel is cut at its timeout.
      expect(took, err).toBeLessThan(9_000);
    } finally {
      if (frozen) process.kill(pid, 'SIGCONT');
      driver.kill('SIGKILL');
      writeFileSync(gate, '');
    }
  }, 180_000);
});
