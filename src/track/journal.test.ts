import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { processStartTime } from '../process-identity.ts';
import { describe, expect, it } from 'vitest';
import { listExperiments, listRuns } from './file-store-read.ts';
import { openJournalTracker, pendingDir, replayPending } from './journal.ts';

async function journalOf(runsDir: string, end: boolean): Promise<string> {
  const tracker = openJournalTracker({ runsDir, experimentName: 'journal-test', now: () => 1_700_000_000_000 });
  const inv = await tracker.startInvocation({
    invocationId: 'inv-j',
    specFile: 's.yaml',
    specName: 'journal-test',
    resolvedSpecYaml: 'name: journal-test\n',
    user: 'u',
    sourceName: 's.yaml',
  });
  const point = await inv.startPoint({ pointId: 'p1', name: 'k=1', params: { k: 1 } });
  await point.logMetrics([{ key: 'ap', value: 0.5, step: 2, timestamp: 1_700_000_000_500 }]);
  await point.end('FINISHED');
  if (end) await inv.end('FINISHED');
  return tracker.journalFile()!;
}

async function runNames(runsDir: string): Promise<string[]> {
  const root = path.join(runsDir, 'mlruns');
  const exps = await listExperiments(root).catch(() => []);
  return (await Promise.all(exps.map((e) => listRuns(root, e.experimentId)))).flat().map((r) => r.info.runName);
}

describe('tracking journal', () => {
  it('a journal whose exp run is still alive (and has not ended) is left alone; replayed once it is gone', async () => {
    const runs = mkdtempSync(path.join(os.tmpdir(), 'exp-journal-'));
    const file = await journalOf(runs, false);
    // Pretend the run that writes it is a live process of this host.
    const alive = spawn('sleep', ['30'], { stdio: 'ignore' });
    const lines = readFileSync(file, 'utf8').split('\n');
    const start = JSON.parse(lines[0]!) as Record<string, unknown>;
    writeFileSync(
      file,
      [JSON.stringify({ ...start, pid: alive.pid, pidStart: processStartTime(alive.pid!) }), ...lines.slice(1)].join(
        '\n',
      ),
    );
    const logs: string[] = [];
    expect(await replayPending(runs, (m) => logs.push(m))).toEqual({ invocations: 0, runs: 0, artifactsMissing: 0 });
    expect(logs.join('\n')).toContain(`is still running (pid ${alive.pid})`);
    expect(existsSync(file)).toBe(true);
    alive.kill('SIGKILL');
    await new Promise((r) => alive.once('exit', r));
    expect((await replayPending(runs)).runs).toBe(2);
    expect(existsSync(file)).toBe(false);
    expect((await runNames(runs)).sort()).toEqual(['journal-test @ 2023-11-14 22:13', 'k=1']);
  });

  it('a half-written last line (killed mid-write) is ignored; a journal without a start is removed', async () => {
    const runs = mkdtempSync(path.join(os.tmpdir(), 'exp-journal-'));
    const file = await journalOf(runs, true);
    appendFileSync(file, '{"t":"metrics","at":1,"ref":"p0","metr');
    writeFileSync(path.join(pendingDir(runs), 'zz-empty.jsonl'), '\n');
    const logs: string[] = [];
    const r = await replayPending(runs, (m) => logs.push(m));
    expect(r).toEqual({ invocations: 1, runs: 2, artifactsMissing: 0 });
    expect(logs).toEqual([`${path.join(pendingDir(runs), 'zz-empty.jsonl')} holds no run start; removed`]);
    expect(readdirSync(pendingDir(runs))).toEqual([]);
  });

  it('refuses what the file store would refuse, when it is logged (not at replay)', async () => {
    const runs = mkdtempSync(path.join(os.tmpdir(), 'exp-journal-'));
    const tracker = openJournalTracker({ runsDir: runs, experimentName: 'x' });
    const inv = await tracker.startInvocation({
      invocationId: 'i',
      specFile: 's',
      specName: 'x',
      resolvedSpecYaml: '',
      user: '',
      sourceName: 's',
    });
    await expect(inv.logMetrics([{ key: '../bad', value: 1 }])).rejects.toMatchObject({ code: 'EXP_TRACK_INVALID' });
    await expect(inv.startPoint({ pointId: 'p', name: 'p', params: { 'a b\n': 1 } })).rejects.toMatchObject({
      code: 'EXP_TRACK_INVALID',
    });
  });
});
