// The executors' fault table (docs/executors.md, "What exp does in each fault"), measured as an
// operator meets the faults: `exp run` and `exp worker` as processes, a real redis-server, a
// one-node Slurm cluster (scripts/slurm-one-node.sh, needs root, slurm-wlm and munge), and the
// test fixtures' 4-node grid (base → mid → top×2, mid waiting at a gate file). For each fault: the
// line exp printed about it, its exit code, the seconds from the fault to that line (or to the
// exit), and whether the same command run again finishes with the --json of a local run.
// Run: npx tsx bench/faults.ts [--only bullmq|slurm]   (prints a table, then one JSON line)
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { listInvocations } from '../src/store/invocations.ts';
import { startRedis } from '../test/helpers/redis.ts';

const root = path.resolve(import.meta.dirname, '..');
const expBin = path.join(root, 'bin/exp.js');
const plugin = path.join(root, 'test/fixtures/plugins/test-kinds.ts');
const grid = path.join(root, 'test/fixtures/engine/grid.yaml');
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const tmp = (p: string): string => mkdtempSync(path.join(os.tmpdir(), p));
const baseEnv = { ...process.env, EXP_PLUGINS: plugin, EXP_GPUS: 'none' };

interface Row {
  fault: string;
  printed: string;
  exit: number | string;
  detect_s: number | string;
  rerun_identical: string;
}
const rows: Row[] = [];

interface Proc {
  child: ChildProcess;
  err: () => string;
  out: () => string;
  done: Promise<number>;
}

function exp(args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(process.execPath, [expBin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (err += b));
  const done = new Promise<number>((r) =>
    child.once('exit', (code, sig) => r(code ?? (sig === 'SIGKILL' ? 137 : 143))),
  );
  return { child, err: () => err, out: () => out, done };
}

async function until<T>(
  what: string | (() => string),
  ms: number,
  check: () => T | undefined | false | Promise<T | undefined | false>,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function gridArgs(gate: string, tally: string): string[] {
  return [
    'run',
    grid,
    ...['--set', 'mid.value=[1]', '--set', 'top.value=[100, 200]', '--set', `mid.gate=${gate}`],
    ...['base', 'mid', 'top'].flatMap((s) => ['--set', `${s}.tally=${tally}`]),
    '--json',
    '--no-track',
  ];
}

const tallyHas = (tally: string, value: string): number =>
  existsSync(tally)
    ? readFileSync(tally, 'utf8')
        .split('\n')
        .filter((l) => l.split(' ')[0] === value).length
    : 0;
const lastJson = (out: string): unknown => JSON.parse(out.trim().split('\n').at(-1) ?? 'null');
const line = (text: string, re: RegExp): string =>
  text
    .split('\n')
    .find((l) => re.test(l))
    ?.trim() ?? '(nothing)';
const secs = (ms: number): number => Math.round(ms / 100) / 10;

/**
 * Whether `args` run again exit 0 with the --json of the same grid run locally (the same gate and
 * tally parameters, another runs folder), and how often mid ran before that reference ran.
 */
async function rerunIdentical(args: string[], env: NodeJS.ProcessEnv, gate: string, tally: string): Promise<string> {
  const again = exp(args, env);
  const code = await again.done;
  const mid = `mid ran ${tallyHas(tally, '1')}× in all`;
  if (code !== 0) return `no (exit ${code}); ${mid}`;
  writeFileSync(gate, '');
  const ref = exp([...gridArgs(gate, tally), '--runs', tmp('exp-faults-local-')], baseEnv);
  if ((await ref.done) !== 0) throw new Error(`the local reference failed: ${ref.err()}`);
  return `${isDeepStrictEqual(lastJson(again.out()), lastJson(ref.out())) ? 'yes' : 'no (differs from local)'}; ${mid}`;
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

async function bullmq(): Promise<void> {
  const redis = await startRedis();
  let q = 0;
  const worker = (runs: string, queue: string, lockMs = 1000): Proc =>
    exp(['worker', '--runs', runs, '--redis', redis.url, '--queue', queue, '--lock-ms', String(lockMs)], baseEnv);
  const started = (w: Proc): Promise<boolean> =>
    until(
      () => `a worker to start (exit ${w.child.exitCode}; it said: ${w.err()})`,
      60_000,
      () => w.err().includes('queues'),
    );
  const setup = (name: string) => {
    const dir = tmp(`exp-faults-${name}-`);
    const runs = path.join(dir, 'runs');
    const gate = path.join(dir, 'gate');
    const tally = path.join(dir, 'tally');
    const queue = `faults${++q}`;
    const args = [
      ...gridArgs(gate, tally),
      '--runs',
      runs,
      '--executor',
      'bullmq',
      '--redis',
      redis.url,
      '--queue',
      queue,
    ];
    return { dir, runs, gate, tally, queue, args };
  };
  try {
    {
      const s = setup('redis-restart');
      const w = worker(s.runs, s.queue);
      await started(w);
      const run = exp(s.args, baseEnv);
      await until('mid to start', 60_000, () => tallyHas(s.tally, '1') === 1);
      const t0 = Date.now();
      await redis.kill();
      await redis.start();
      await until('the restart to be noticed', 60_000, () => /was restarted/.test(run.err()));
      const detect = Date.now() - t0;
      writeFileSync(s.gate, '');
      const code = await run.done;
      rows.push({
        fault: 'Redis killed and started again (empty) mid-run',
        printed: line(run.err(), /was restarted/),
        exit: code,
        detect_s: secs(detect),
        rerun_identical: `${await rerunIdentical(s.args, baseEnv, s.gate, s.tally)}`,
      });
      w.child.kill('SIGTERM');
      await w.done;
    }
    {
      const s = setup('mismatch');
      writeFileSync(s.gate, '');
      const wrong = worker(path.join(s.dir, 'runs-B'), s.queue);
      await started(wrong);
      const t0 = Date.now();
      const run = exp(s.args, baseEnv);
      await until('the driver to report the refusal', 60_000, () => /serves runs folder/.test(run.err()));
      const detect = Date.now() - t0;
      await until('the worker to warn', 30_000, () => /it runs on runs folder/.test(wrong.err()));
      const right = worker(s.runs, s.queue);
      const code = await run.done;
      rows.push({
        fault: 'a worker serving another runs folder (driver side)',
        printed: line(run.err(), /serves runs folder/),
        exit: `${code} (once a worker of the right folder joined)`,
        detect_s: secs(detect),
        rerun_identical: await rerunIdentical(s.args, baseEnv, s.gate, s.tally),
      });
      rows.push({
        fault: 'a worker serving another runs folder (worker side)',
        printed: line(wrong.err(), /it runs on runs folder/),
        exit: '— (keeps serving its own folder)',
        detect_s: secs(detect),
        rerun_identical: '—',
      });
      for (const w of [wrong, right]) w.child.kill('SIGTERM');
      await Promise.all([wrong.done, right.done]);
    }
    {
      const s = setup('worker-kill');
      // The default --lock-ms (5000): the restart delay an operator gets.
      const first = exp(['worker', '--runs', s.runs, '--redis', redis.url, '--queue', s.queue, '--cpus', '1'], baseEnv);
      await started(first);
      const run = exp(s.args, baseEnv);
      await until('mid to start', 60_000, () => tallyHas(s.tally, '1') === 1);
      const second = worker(s.runs, s.queue, 5000);
      await started(second);
      const t0 = Date.now();
      first.child.kill('SIGKILL');
      await until('mid to start again', 60_000, () => tallyHas(s.tally, '1') === 2);
      const detect = Date.now() - t0;
      writeFileSync(s.gate, '');
      const code = await run.done;
      rows.push({
        fault: 'an exp worker SIGKILLed mid-node (--lock-ms 5000)',
        printed: '(nothing: the node starts again on the other worker)',
        exit: code,
        detect_s: `${secs(detect)} (to the node's restart)`,
        rerun_identical: await rerunIdentical(s.args, baseEnv, s.gate, s.tally),
      });
      second.child.kill('SIGTERM');
      await second.done;
    }
    {
      const s = setup('driver-kill');
      const w = worker(s.runs, s.queue);
      await started(w);
      const run = exp(s.args, baseEnv);
      await until('mid to start', 60_000, () => tallyHas(s.tally, '1') === 1);
      run.child.kill('SIGKILL');
      const code = await run.done;
      writeFileSync(s.gate, '');
      const again = await rerunIdentical(s.args, baseEnv, s.gate, s.tally);
      rows.push({
        fault: 'exp run SIGKILLed mid-run (BullMQ), then run again',
        printed: '(killed: nothing)',
        exit: `${code} (killed); rerun 0`,
        detect_s: '—',
        rerun_identical: again,
      });
      w.child.kill('SIGTERM');
      await w.done;
    }
    {
      const runs = tmp('exp-faults-urls-');
      const web = net.createServer((sock) => {
        sock.on('data', () => sock.write('HTTP/1.1 400 Bad Request\r\n\r\n'));
        sock.on('error', () => sock.destroy());
      });
      await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
      const webPort = (web.address() as net.AddressInfo).port;
      const closedPort = await freePort();
      for (const [fault, url] of [
        ['Redis URL unreachable (nothing listens)', `redis://127.0.0.1:${closedPort}`],
        ['Redis URL unreachable (unknown host)', 'redis://no-such-host.invalid:6379'],
        ['Redis URL not a Redis (a web server)', `redis://127.0.0.1:${webPort}`],
      ] as const) {
        const t0 = Date.now();
        const r = exp(['run', grid, '--runs', runs, '--no-track', '--executor', 'bullmq', '--redis', url], baseEnv);
        const code = await r.done;
        rows.push({
          fault,
          printed: line(r.err(), /Redis/),
          exit: code,
          detect_s: secs(Date.now() - t0),
          rerun_identical: '— (nothing ran)',
        });
      }
      web.close();
    }
  } finally {
    await redis.stop();
  }
}

async function slurm(): Promise<void> {
  if (process.getuid?.() !== 0 || spawnSync('sh', ['-c', 'command -v sbatch']).status !== 0) {
    console.error('slurm: not measured (needs slurm-wlm, munge and root)');
    return;
  }
  const script = path.join(root, 'scripts/slurm-one-node.sh');
  const cluster = realpathSync(tmp('exp-faults-slurm-'));
  const ports = { SLURMCTLD_PORT: String(await freePort()), SLURMD_PORT: String(await freePort()) };
  execFileSync(script, ['start', cluster], { env: { ...process.env, ...ports }, stdio: 'pipe', timeout: 60_000 });
  const conf = path.join(cluster, 'slurm.conf');
  const env = { ...baseEnv, SLURM_CONF: conf };
  const host = execFileSync('sinfo', ['-h', '-N', '-o', '%N'], { env, encoding: 'utf8' }).trim().split('\n')[0]!;
  const ctldPid = (): number => Number(readFileSync(path.join(cluster, 'slurmctld.pid'), 'utf8').trim());
  const setup = (name: string) => {
    const dir = tmp(`exp-faults-${name}-`);
    const runs = path.join(dir, 'runs');
    const gate = path.join(dir, 'gate');
    const tally = path.join(dir, 'tally');
    return { dir, runs, gate, tally, args: [...gridArgs(gate, tally), '--runs', runs, '--executor', 'slurm'] };
  };
  try {
    for (const [fault, conf2] of [
      ['SLURM_CONF missing', '/nonexistent/slurm.conf'],
      [
        'SLURM_CONF garbage',
        (() => {
          const f = path.join(tmp('exp-faults-conf-'), 'garbage.conf');
          writeFileSync(f, 'this = is = not slurm\n');
          return f;
        })(),
      ],
    ] as const) {
      const t0 = Date.now();
      const r = exp(['run', grid, '--runs', tmp('exp-faults-conf-'), '--no-track', '--executor', 'slurm'], {
        ...env,
        SLURM_CONF: conf2,
      });
      const code = await r.done;
      rows.push({
        fault,
        printed: line(r.err(), /SLURM_CONF|Slurm cannot/),
        exit: code,
        detect_s: secs(Date.now() - t0),
        rerun_identical: '— (nothing ran)',
      });
    }
    {
      const s = setup('scancel');
      const run = exp(s.args, env);
      await until('mid to run', 120_000, () => tallyHas(s.tally, '1') === 1);
      const [inv] = await listInvocations(s.runs);
      const jobs = Object.values(inv?.remoteJobs ?? {});
      const mid = jobs.find(
        (j) => JSON.parse(readFileSync(path.join(s.runs, `${j.base}.job.json`), 'utf8')).node.stage === 'mid',
      )!;
      const t0 = Date.now();
      execFileSync('scancel', [mid.id], { env });
      const code = await run.done;
      const detect = Date.now() - t0;
      writeFileSync(s.gate, '');
      rows.push({
        fault: 'a Slurm job cancelled from outside (scancel)',
        printed: line(run.err(), /was cancelled/),
        exit: code,
        detect_s: `${secs(detect)} (to the exit)`,
        rerun_identical: await rerunIdentical(s.args, env, s.gate, s.tally),
      });
    }
    {
      const s = setup('ctld');
      // SIGKILL: the controller keeps no state of the last seconds; on its restart Slurm may launch
      // a running job again, the node report "Duplicate jobid" and drain, the job wait held. exp
      // then says so and fails after pending_timeout (20 s here, 600 s by default).
      const args = [...s.args, '--set', 'settings.slurm.pending_timeout=20'];
      const run = exp(args, env);
      await until('mid to run', 120_000, () => tallyHas(s.tally, '1') === 1);
      const t0 = Date.now();
      process.kill(ctldPid(), 'SIGKILL');
      await until('the driver to notice', 120_000, () => /does not answer/.test(run.err()));
      const detect = Date.now() - t0;
      spawn('slurmctld', ['-D', '-i', '-f', conf], { env, detached: true, stdio: 'ignore' }).unref();
      await until('the driver to see it again', 120_000, () => /answers again/.test(run.err()));
      writeFileSync(s.gate, '');
      const code = await run.done;
      const stuck = line(run.err(), /wait to start/);
      execFileSync('scontrol', ['update', `nodename=${host}`, 'state=resume'], { env });
      rows.push({
        fault: 'slurmctld SIGKILLed mid-run, started again',
        printed: `${line(run.err(), /does not answer/)}${stuck === '(nothing)' ? '' : ` … then: ${stuck}`}`,
        exit: code,
        detect_s: secs(detect),
        rerun_identical: `${await rerunIdentical(s.args, env, s.gate, s.tally)} (rerun after scontrol update state=resume)`,
      });
    }
    {
      const s = setup('drain');
      writeFileSync(s.gate, '');
      execFileSync('scontrol', ['update', `nodename=${host}`, 'state=drain', 'reason=Duplicate jobid'], { env });
      const t0 = Date.now();
      const run = exp([...s.args, '--set', 'settings.slurm.pending_timeout=10'], env);
      await until('the driver to say why', 120_000, () => /wait to start/.test(run.err()));
      const detect = Date.now() - t0;
      const code = await run.done;
      execFileSync('scontrol', ['update', `nodename=${host}`, 'state=resume'], { env });
      rows.push({
        fault: 'the node drained while jobs pend (pending_timeout 10 s)',
        printed: line(run.err(), /wait to start/),
        exit: `${code} (after ${secs(Date.now() - t0)} s)`,
        detect_s: `${secs(detect)} (from the start)`,
        rerun_identical: await rerunIdentical(s.args, env, s.gate, s.tally),
      });
    }
  } finally {
    spawnSync('scancel', ['-u', os.userInfo().username], { env, timeout: 20_000 });
    execFileSync(script, ['stop', cluster]);
  }
}

if (only !== 'slurm') await bullmq();
if (only !== 'bullmq') await slurm();
console.log('| fault | what exp printed | exit | time to detect (s) | rerun identical |');
console.log('|---|---|---|---|---|');
for (const r of rows)
  console.log(
    `| ${r.fault} | \`${r.printed.replace(/\|/g, '\\|')}\` | ${r.exit} | ${r.detect_s} | ${r.rerun_identical} |`,
  );
console.log(JSON.stringify({ bench: 'faults', host: os.hostname(), load: os.loadavg()[0], rows }));
