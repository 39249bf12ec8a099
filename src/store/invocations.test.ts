import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { invocationHandle, listInvocations, saveInvocation, type InvocationRecord } from './invocations.ts';

const record = (): InvocationRecord => ({
  id: 'inv-1',
  spec: 'spec.yaml',
  name: 'x',
  command: [],
  startedAt: 1,
  finishedAt: null,
  status: 'running',
  points: [],
});

describe('invocation handle', () => {
  it('changes made at once (and while a write runs) all land, the latest state last', async () => {
    const runs = mkdtempSync(path.join(os.tmpdir(), 'exp-inv-'));
    const rec = record();
    await saveInvocation(runs, rec);
    const h = invocationHandle(runs, rec);
    const job = (i: number) => ({
      executor: 'slurm',
      id: String(i),
      base: `slurm/t/k${i}`,
      submittedAt: i,
      driver: { host: 'h', pid: 1 },
    });
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 40; i++) {
      writes.push(
        h.update((r) => {
          r.remoteJobs ??= {};
          r.remoteJobs[`k${i}`] = job(i);
        }),
      );
      if (i === 20) await writes[i]; // some changes arrive while others are being written
    }
    // Each promise means "written, with this change in it".
    await writes[5];
    const early = JSON.parse(readFileSync(path.join(runs, 'invocations', 'inv-1.json'), 'utf8')) as InvocationRecord;
    expect(early.remoteJobs?.k5).toEqual(job(5));
    await Promise.all(writes);
    await h.update((r) => {
      r.status = 'done';
    });
    const [onDisk] = await listInvocations(runs);
    expect(onDisk!.status).toBe('done');
    expect(Object.keys(onDisk!.remoteJobs ?? {})).toHaveLength(40);
  });
});
