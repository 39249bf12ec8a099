import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Plan, PlanNode } from '../plan/dag.ts';
import { ProgressReporter, formatDuration } from './progress.ts';

const node = (key: string, stage: string): PlanNode => ({
  key,
  stage,
  stages: [stage],
  kind: 'k.x',
  kindVersion: '1',
  params: {},
  runParams: {},
  needs: [],
  needStages: [],
  ports: {},
  points: ['p'],
  resources: { cpus: 1, gpus: 0, memoryMb: 1 },
  retries: 0,
  seed: 0,
});

function capture(tty: boolean) {
  const out = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
  out.columns = 0; // what a pseudo-terminal without a size reports
  let text = '';
  out.on('data', (b) => (text += b));
  return { out, text: () => text, reporter: new ProgressReporter(out, { tty, jobs: 2 }) };
}

describe('progress reporter', () => {
  const a = node('aaaaaaaaaaaaaaaa', 'parse');
  const b = node('bbbbbbbbbbbbbbbb', 'train');
  const plan = { nodes: [a, b], points: [{ id: 'p' }] } as unknown as Plan;
  const decisions = new Map([
    [a.key, { key: a.key, status: 'run' as const, reason: 'never-run' as const, why: 'never run' }],
    [b.key, { key: b.key, status: 'run' as const, reason: 'never-run' as const, why: 'never run' }],
  ]);

  it('prints plain timestamped lines with per-node counts when not on a TTY', () => {
    const c = capture(false);
    c.reporter.planned(plan, decisions);
    c.reporter.nodeStarted(a, 1);
    c.reporter.nodeEvent(a, { type: 'progress', done: 10, total: 10, label: 'files' });
    c.reporter.nodeFinished(a, { key: a.key, status: 'done', attempts: 1, durationMs: 5 });
    c.reporter.nodeStarted(b, 1);
    c.reporter.nodeFinished(b, {
      key: b.key,
      status: 'failed',
      attempts: 1,
      durationMs: 5,
      error: { message: 'boom' },
      logFile: '/x.log',
    });
    c.reporter.finished();
    const t = c.text();
    expect(t).toMatch(/^\[\d\d:\d\d:\d\d\] 1 point\(s\), 2 node\(s\): 0 cached, 2 to run/m);
    expect(t).toMatch(/parse: 10\/10 files/);
    expect(t).toMatch(/✖ train \(k\.x\) bbbbbbbb FAILED: boom\n {2}log: \/x\.log/);
    expect(t).toMatch(/1 ran, 0 cached, 1 failed, 0 skipped/);
    expect(t).not.toMatch(/\x1b\[/);
  });

  it('on a TTY redraws a live block and leaves none behind after the summary', () => {
    const c = capture(true);
    c.reporter.planned(plan, decisions);
    c.reporter.nodeStarted(a, 1);
    c.reporter.nodeEvent(a, { type: 'progress', done: 5, total: 10 });
    c.reporter.nodeFinished(a, { key: a.key, status: 'done', attempts: 1, durationMs: 5 });
    c.reporter.finished();
    const t = c.text();
    expect(t).toMatch(/\x1b\[\d+A\x1b\[0J/);
    const tail = t.slice(t.lastIndexOf('1 ran,'));
    expect(tail).not.toMatch(/running/);
  });

  it('formats durations', () => {
    expect(formatDuration(250)).toBe('250ms');
    expect(formatDuration(12_300)).toBe('12.3s');
    expect(formatDuration(125_000)).toBe('2m05s');
    expect(formatDuration(3_700_000)).toBe('1h01m');
  });
});
