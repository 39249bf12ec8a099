import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compareInvocation, formatCompareTable, globToRegExp } from './compare.ts';
import { openTracker } from './tracker.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'exp-compare-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

let clock = Date.UTC(2026, 10, 23, 23, 40);
/** Two invocations of a 2×2 grid; the second has different results. */
async function twoInvocations() {
  const tracker = await openTracker({
    runsDir: dir,
    experimentName: 'ava-fewshot',
    log: () => {},
    now: () => (clock += 1000),
  });
  for (const inv of ['inv-a', 'inv-b']) {
    const parent = await tracker.startInvocation({
      invocationId: inv,
      specFile: 's.yaml',
      specName: 'ava-fewshot',
      resolvedSpecYaml: '',
      user: 'u',
      sourceName: 'exp',
    });
    for (const method of ['keyword', 's2a']) {
      for (const k of [0, 20]) {
        const run = await parent.startPoint({
          pointId: `${method}-${k}`,
          name: `method=${method} k=${k}`,
          params: { 'mining.method': method, 'finetune.k': k, 'video.arch': 's3dg' },
        });
        const base = (method === 's2a' ? 0.3 : 0.2) + k / 100 + (inv === 'inv-b' ? 0.1 : 0);
        await run.logMetrics([
          { key: 'video.ap.drive', value: base },
          { key: 'video.ap.phone', value: base / 2 },
          { key: 'video.mean_ap', value: method === 'keyword' && k === 0 ? NaN : base * 0.75 },
          { key: 'train.loss', value: 2, step: 0 },
          { key: 'train.loss', value: 1, step: 1 },
        ]);
        if (k === 0 && inv === 'inv-b') await run.setTags({ 'exp.cached': 'true' });
        await run.end('FINISHED');
      }
    }
    await parent.end('FINISHED');
  }
  await tracker.close();
  return join(dir, 'mlruns');
}

describe('compare', () => {
  it('shows the latest invocation: varying params only, chosen metrics by glob, sorted', async () => {
    const root = await twoInvocations();
    const t = await compareInvocation(root, 'ava-fewshot', { metrics: ['video.ap.*'], sort: '-video.ap.drive' });
    expect(t.invocation).toBe('inv-b');
    expect(t.params).toEqual(['finetune.k', 'mining.method']); // video.arch is the same everywhere
    expect(t.metrics).toEqual(['video.ap.drive', 'video.ap.phone']);
    expect(t.rows.map((r) => r.name)).toEqual([
      'method=s2a k=20',
      'method=keyword k=20',
      'method=s2a k=0',
      'method=keyword k=0',
    ]);
    expect(t.rows[0]!.metrics['video.ap.drive']).toBeCloseTo(0.6);
    expect(t.rows[2]!.cached).toBe(true);
    expect(t.invocations.map((i) => [i.invocation, i.points])).toEqual([
      ['inv-b', 4],
      ['inv-a', 4],
    ]);
  });

  it('picks an invocation by id or parent run id; unknown ones and unknown sort keys are named', async () => {
    const root = await twoInvocations();
    const a = await compareInvocation(root, 'ava-fewshot', { invocation: 'inv-a', sort: 'finetune.k' });
    expect(a.rows[0]!.metrics['video.ap.drive']).toBeCloseTo(0.2);
    expect((await compareInvocation(root, 'ava-fewshot', { invocation: a.parentRunId })).invocation).toBe('inv-a');
    await expect(compareInvocation(root, 'ava-fewshot', { invocation: 'zzz' })).rejects.toMatchObject({
      code: 'EXP_NOT_FOUND',
      hint: expect.stringContaining('inv-b'),
    });
    await expect(compareInvocation(root, 'nope')).rejects.toMatchObject({
      code: 'EXP_NOT_FOUND',
      hint: expect.stringContaining('ava-fewshot'),
    });
    await expect(compareInvocation(root, 'ava-fewshot', { sort: 'video.nothing' })).rejects.toMatchObject({
      code: 'EXP_ARGS_INVALID',
    });
  });

  it('puts NaN last in either direction and prints an aligned table', async () => {
    const root = await twoInvocations();
    for (const sort of ['video.mean_ap', 'video.mean_ap:desc']) {
      const t = await compareInvocation(root, 'ava-fewshot', { metrics: ['video.mean_ap'], sort });
      expect(t.rows.at(-1)!.name).toBe('method=keyword k=0');
    }
    const t = await compareInvocation(root, 'ava-fewshot', { metrics: ['*mean*', 'train.loss'] });
    const text = formatCompareTable(t);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^experiment ava-fewshot \(id 1\) · invocation inv-b · .* · 4 points$/);
    expect(lines[2]).toMatch(/^point\s+finetune\.k\s+mining\.method\s+train\.loss\s+video\.mean_ap\s+status$/);
    expect(text).toContain('method=keyword k=0 (cached)');
    expect(text).toMatch(/\bnan\b/);
    expect(lines.slice(4, 8).every((l) => l.endsWith('FINISHED'))).toBe(true);
  });

  it('globs match whole keys', () => {
    expect(globToRegExp('video.ap.*').test('video.ap.drive')).toBe(true);
    expect(globToRegExp('video.ap.*').test('xvideo.ap.drive')).toBe(false);
    expect(globToRegExp('video?ap*').test('video.ap')).toBe(true);
    expect(globToRegExp('s2a.ap').test('s2aXap')).toBe(false);
  });
});
