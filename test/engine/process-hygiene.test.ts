// A task process never outlives the `exp run` that started it, even when that is killed with
// SIGKILL (no chance to clean up): the child notices its IPC channel close and leaves.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/repo.ts';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Task processes (src/exec/process-child.ts) started by `pid`. */
const taskChildrenOf = (pid: number): number[] => {
  try {
    return execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes('process-child'))
      .map((l) => Number(l.trim().split(/\s+/)[0]))
      .filter((n) => n > 0);
  } catch {
    return [];
  }
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('process hygiene', () => {
  it('SIGKILL of exp run: its task process is gone within 10 s (prompt on an idle machine)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'exp-hygiene-'));
    const spec = path.join(dir, 'spec.yaml');
    writeFileSync(spec, 'name: hygiene\nstages:\n  probe: { uses: test.gpu-probe, with: { id: 1, sleep_ms: 60000 } }\n');
    const plugin = path.join(repoRoot, 'test/fixtures/plugins/test-kinds.ts');
    const exp = spawn(process.execPath, [path.join(repoRoot, 'bin/exp.js'), 'run', spec, '--runs', path.join(dir, 'runs'), '--quiet', '--no-track', '--plugin', plugin, '--gpus', '0'], {
      stdio: 'ignore',
    });
    // wait for the task process to start
    let kids: number[] = [];
    for (let i = 0; i < 900 && kids.length === 0; i++) {
      await sleep(100);
      kids = taskChildrenOf(exp.pid!);
    }
    expect(kids.length, 'a task process started').toBeGreaterThan(0);
    await sleep(3000); // let it load its stage and start working
    exp.kill('SIGKILL');
    await new Promise((r) => exp.once('exit', r));
    let left = kids.filter(alive);
    for (let i = 0; i < 100 && left.length > 0; i++) {
      await sleep(100);
      left = kids.filter(alive);
    }
    if (left.length) console.log(execFileSync('ps', ['-o', 'pid,ppid,stat,args', '-p', left.join(',')], { encoding: 'utf8' }));
    expect(left, 'task processes left after their parent was killed').toEqual([]);
  }, 180_000);
});
