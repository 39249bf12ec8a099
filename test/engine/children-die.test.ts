// Issue 14: no child outlives the `exp` that started it, under SIGKILL too. `exp run` is started
// in its own session (setsid) with three stages waiting inside ffprobe (inline on the main
// thread, on a piscina worker thread, in a node task process); it is killed with SIGKILL at random
// moments, and every process of its session must be gone within 2 s (zombies count as gone: in a
// container nobody may reap them). A control run with the guard off shows the test can fail.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { spawnChild } from '../../src/children.ts';
import { repoRoot } from '../helpers/repo.ts';

const plugin = path.join(repoRoot, 'test/fixtures/plugins/test-kinds.ts');
const spec = path.join(repoRoot, 'test/fixtures/engine/children.yaml');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Proc {
  pid: number;
  name: string;
  state: string;
  session: number;
}

/** Every process on the machine (from /proc/<pid>/stat). */
function processes(): Proc[] {
  const out: Proc[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' ');
      out.push({
        pid: Number(e),
        name: stat.slice(stat.indexOf('(') + 1, close),
        state: fields[0]!,
        session: Number(fields[3]),
      });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The live (not zombie) processes of a session, but its leader. */
function liveInSession(sid: number): Proc[] {
  return processes().filter((p) => p.session === sid && p.pid !== sid && p.state !== 'Z' && p.state !== 'X');
}

function startExp(runs: string, fifo: string, env: Record<string, string> = {}): ChildProcess {
  return spawn(
    process.execPath,
    [
      path.join(repoRoot, 'bin/exp.js'),
      'run',
      spec,
      '--runs',
      runs,
      '--quiet',
      '--no-track',
      '--set',
      `vars.fifo=${fifo}`,
    ],
    {
      cwd: os.tmpdir(),
      detached: true, // its own session: every descendant carries its pid as session id
      stdio: 'ignore',
      env: { ...process.env, EXP_PLUGINS: plugin, ...env },
    },
  );
}

async function until(test: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (test()) return true;
    await sleep(50);
  }
  return test();
}

function fifoIn(dir: string): string {
  const fifo = path.join(dir, 'never-written.fifo');
  expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
  return fifo;
}

const probesOf = (sid: number) => liveInSession(sid).filter((p) => p.name === 'ffprobe');

describe('children die with exp', () => {
  it('SIGKILL of exp run at 5 random moments (3 inside ffprobe work, 2 anywhere): no descendant survives 2 s', async () => {
    const report: string[] = [];
    let startup = 0; // ms from launch until the three ffprobes run (the slowest of trials 0-2)
    for (let trial = 0; trial < 5; trial++) {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'exp-children-'));
      const launched = Date.now();
      const exp = startExp(path.join(dir, 'runs'), fifoIn(dir));
      const sid = exp.pid!;
      const exited = new Promise((r) => exp.once('exit', r));
      try {
        if (trial < 3) {
          // Inside ffmpeg work: all three stages wait in ffprobe (the process stage in its own node).
          expect(await until(() => probesOf(sid).length === 3, 60_000), 'three ffprobe children started').toBe(true);
          startup = Math.max(startup, Date.now() - launched);
          await sleep(Math.random() * 500);
        } else {
          // Anywhere from start-up (loading, planning, spawning) to well inside the work.
          await sleep(startup * (0.3 + Math.random()));
        }
        const before = liveInSession(sid);
        expect(exp.exitCode ?? exp.signalCode, 'exp is still running when it is killed').toBeNull();
        // Through the handle, never by a bare pid: pids are reused quickly (pid_max 32768 here).
        exp.kill('SIGKILL');
        await exited;
        const killedAt = Date.now();
        const gone = await until(() => liveInSession(sid).length === 0, 2000);
        const left = liveInSession(sid);
        report.push(
          `trial ${trial}: killed ${Date.now() - launched} ms after launch with ${before.map((p) => p.name).join(',') || 'no child'} alive; ${left.length} left ${Date.now() - killedAt} ms later`,
        );
        expect(gone, `${report.join('\n')}\nsurvivors: ${left.map((p) => `${p.pid} ${p.name}`).join(', ')}`).toBe(true);
      } finally {
        exp.kill('SIGKILL');
        for (const p of liveInSession(sid)) process.kill(p.pid, 'SIGKILL');
      }
    }
    console.log(report.join('\n'));
  }, 240_000);

  it('control: with the guard off (EXP_CHILD_GUARD=off) an inline ffprobe outlives a killed exp', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'exp-children-'));
    const exp = startExp(path.join(dir, 'runs'), fifoIn(dir), { EXP_CHILD_GUARD: 'off' });
    const sid = exp.pid!;
    const exited = new Promise((r) => exp.once('exit', r));
    let left: Proc[] = [];
    try {
      expect(await until(() => probesOf(sid).length === 3, 60_000)).toBe(true);
      exp.kill('SIGKILL');
      await exited;
      await sleep(2000);
      left = liveInSession(sid);
    } finally {
      exp.kill('SIGKILL');
      for (const p of liveInSession(sid)) process.kill(p.pid, 'SIGKILL');
    }
    expect(left.filter((p) => p.name === 'ffprobe').length).toBeGreaterThan(0);
  }, 120_000);

  it('a worker thread that ends takes only its own children; the main thread keeps its own', async () => {
    const main = spawnChild('sleep', ['60'], { stdio: 'ignore' });
    const worker = new Worker(path.join(repoRoot, 'test/fixtures/plugins/spawn-in-thread.mjs'));
    const threadChild = await new Promise<number>((r) => worker.once('message', r));
    const alive = (pid: number) => processes().some((p) => p.pid === pid && p.state !== 'Z');
    expect(alive(threadChild)).toBe(true);
    await worker.terminate();
    expect(await until(() => !alive(threadChild), 2000), 'the ended thread took its child').toBe(true);
    expect(alive(main.pid!), 'the main thread keeps its child').toBe(true);
    main.kill('SIGKILL');
  }, 180_000);
});
