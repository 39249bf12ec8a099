// A task process never outlives the `exp run` that started it, even when that is killed with
// SIGKILL (no chance to clean up): the child notices its IPC channel close and leaves. Killing the
// parent and closing the channel look the same to the child; the test closes it, which is
// deterministic on a loaded machine.
import { fork } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/repo.ts';

describe('process hygiene', () => {
  it('a task process whose parent channel closes mid-task exits at once (code 70)', async () => {
    const child = fork(path.join(repoRoot, 'src/exec/process-child.ts'), [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const tally = path.join(mkdtempSync(path.join(os.tmpdir(), 'exp-hygiene-')), 'started');
    const task = {
      kind: 'test.add',
      module: path.join(repoRoot, 'test/fixtures/plugins/test-kinds.ts'),
      params: { value: 1, sleep_ms: 600_000, fail: false, fail_times: 0, tally },
      inputs: [],
      ports: {},
      outDir: '/nonexistent',
      scratchDir: '/nonexistent',
      sharedDir: '/nonexistent',
      seed: 0,
      gpus: [],
    };
    await new Promise<void>((resolve) => child.send({ type: 'run', task }, () => resolve()));
    // wait until the stage runs (it writes the tally, then sleeps ten minutes); the parent "dies"
    for (let i = 0; i < 600 && !existsSync(tally); i++) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(tally), 'the stage started').toBe(true);
    child.disconnect();
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await exited;
    clearTimeout(timer);
    expect(code).toBe(70);
  }, 120_000);
});
