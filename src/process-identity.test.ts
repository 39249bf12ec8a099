import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ownStartTime, processAlive, processStartTime } from './process-identity.ts';
import { ArtifactStore } from './store/store.ts';

describe('process identity', () => {
  it('a pid counts as alive only while its start time matches (a reused pid is another process)', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    const pid = child.pid!;
    const start = processStartTime(pid);
    expect(start).toBeTypeOf('number');
    expect(processAlive(pid, start)).toBe(true);
    expect(processAlive(pid, start! + 1), 'same pid, another start time').toBe(false);
    expect(processAlive(pid), 'a record without a start time checks the pid only').toBe(true);
    child.kill('SIGKILL');
    await exited;
    expect(processAlive(pid, start)).toBe(false);
    expect(processAlive(0)).toBe(false);
    expect(processAlive(-1)).toBe(false);
  });

  it('a claim whose holder pid now belongs to another process is stale: the node is claimed, not waited on for ever', async () => {
    const store = new ArtifactStore(path.join(mkdtempSync(path.join(os.tmpdir(), 'exp-pid-')), 'runs'));
    await store.init();
    // A claim left by a SIGKILLed exp whose pid the kernel has since given to a live process
    // (here: this one, with another start time).
    writeFileSync(
      path.join(store.lockDir, 'k1.lock'),
      JSON.stringify({
        pid: process.pid,
        start: ownStartTime()! - 1,
        host: os.hostname(),
        at: Date.now(),
        owner: 'gone',
      }),
    );
    expect((await store.claim('k1')).status).toBe('claimed');
    // The same claim with the live holder's real start time is respected.
    writeFileSync(
      path.join(store.lockDir, 'k2.lock'),
      JSON.stringify({ pid: process.pid, start: ownStartTime(), host: os.hostname(), at: Date.now(), owner: 'other' }),
    );
    expect((await store.claim('k2')).status).toBe('busy');
  });
});
