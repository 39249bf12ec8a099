// Sharded stages in the engine, with the toy shardable kinds of test/fixtures/plugins/shard-kinds.ts:
// keys (the gather is the unsharded node), incremental reruns, failures and retries per shard,
// --rerun/--force, dynamic expansion after an upstream node, `exp plan --why`, the bad keys.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runExp } from '../helpers/exp.ts';
import { repoRoot } from '../helpers/repo.ts';

const plugin = path.join(repoRoot, 'test/fixtures/plugins/shard-kinds.ts');
const exp = (args: string[]) => runExp(args, { ...process.env, EXP_PLUGINS: plugin });

interface PlanJson {
  nodes: {
    key: string;
    stage: string;
    status: 'cached' | 'run';
    why: string;
    shard?: { gather: string; index: number; count: number; items: number };
    shards?: Record<string, unknown>;
  }[];
}
interface RunJson {
  points: { status: string; metrics: Record<string, number> }[];
  failed: { stage: string; key: string; error: string }[];
}

/** A folder of `n` files holding `word` (names f00.txt …), a spec over it, a tally file. */
function setup(n: number, stageExtra = '', words: Record<number, string> = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'exp-shards-'));
  const data = path.join(dir, 'data');
  mkdirSync(data);
  for (let i = 0; i < n; i++) writeFileSync(path.join(data, `f${String(i).padStart(2, '0')}.txt`), words[i] ?? `w${i}`);
  const tally = path.join(dir, 'tally.txt');
  const spec = path.join(dir, 'spec.yaml');
  writeFileSync(
    spec,
    [
      'name: shards-toy',
      'stages:',
      `  lines: { uses: test.lines, with: { dir: ${JSON.stringify(data)}, tally: ${JSON.stringify(tally)} }${stageExtra} }`,
      '  after: { uses: test.files, needs: [lines], with: { count: 1 } }',
      '',
    ].join('\n'),
  );
  const runs = path.join(dir, 'runs');
  const tallied = (): string[] =>
    existsSync(tally) ? readFileSync(tally, 'utf8').trim().split('\n').filter(Boolean) : [];
  return { dir, data, spec, runs, tally, tallied };
}

const all = (runs: string, key: string) => readFileSync(path.join(runs, 'cache/test.lines', key, 'all.txt'), 'utf8');

describe('sharded stages (engine)', () => {
  it('the gather keeps the unsharded key: same outputs, metrics and downstream keys; each cache serves the other', async () => {
    const t = setup(9);
    const plain = await exp(['plan', t.spec, '--runs', t.runs, '--json']);
    const sharded = await exp(['plan', t.spec, '--runs', t.runs, '--json', '--set', 'stages.lines.shards=3']);
    const p0 = plain.json<PlanJson>();
    const p1 = sharded.json<PlanJson>();
    const gather = p1.nodes.find((n) => n.shards)!;
    expect(gather.key).toBe(p0.nodes.find((n) => n.stage === 'lines')!.key);
    expect(p1.nodes.find((n) => n.stage === 'after')!.key).toBe(p0.nodes.find((n) => n.stage === 'after')!.key);
    expect(p1.nodes.filter((n) => n.shard)).toHaveLength(3);
    expect(p1.nodes.filter((n) => n.shard).reduce((s, n) => s + n.shard!.items, 0)).toBe(9);

    const r1 = await exp([
      'run',
      t.spec,
      '--runs',
      t.runs,
      '--json',
      '--quiet',
      '--no-track',
      '--set',
      'stages.lines.shards=3',
    ]);
    expect(r1.code, r1.err).toBe(0);
    expect(t.tallied().filter((l) => l.startsWith('shard'))).toHaveLength(3);
    const text = all(t.runs, gather.key);
    expect(text.split('\n')).toHaveLength(10);
    expect(text).toContain('f04.txt\tW4');
    // The unsharded stage is the same node: cached, nothing runs.
    const r2 = await exp(['run', t.spec, '--runs', t.runs, '--json', '--quiet', '--no-track']);
    expect(r2.json<RunJson>().points[0]!.metrics).toEqual(r1.json<RunJson>().points[0]!.metrics);
    expect(t.tallied()).toHaveLength(4);
    // Run unsharded from scratch: the same bytes.
    const r3 = await exp(['run', t.spec, '--runs', `${t.runs}-plain`, '--json', '--quiet', '--no-track']);
    expect(r3.code, r3.err).toBe(0);
    expect(all(`${t.runs}-plain`, gather.key)).toBe(text);
  });

  it('shards declared runIn "pool" run in worker threads, the gather in the run; the same bytes as unsharded', async () => {
    const t = setup(9);
    writeFileSync(t.spec, readFileSync(t.spec, 'utf8').replace('uses: test.lines', 'uses: test.pooled'));
    const r1 = await exp([
      'run',
      t.spec,
      '--runs',
      t.runs,
      '--json',
      '--quiet',
      '--no-track',
      '--set',
      'stages.lines.shards=3',
    ]);
    expect(r1.code, r1.err).toBe(0);
    const plan = (
      await exp(['plan', t.spec, '--runs', t.runs, '--json', '--set', 'stages.lines.shards=3'])
    ).json<PlanJson>();
    const gather = plan.nodes.find((n) => n.shards)!;
    const dir = path.join(t.runs, 'cache/test.pooled', gather.key);
    const [shardThreads, gatherLine] = readFileSync(path.join(dir, 'threads.txt'), 'utf8').trim().split('\n');
    const threads = shardThreads!.split(' ').map(Number);
    expect(threads).toHaveLength(3);
    // threadId 0 is a process's main thread: every shard ran in a pool worker, the gather did not.
    expect(threads.every((id) => id > 0)).toBe(true);
    expect(gatherLine).toBe('gather 0');
    const r2 = await exp(['run', t.spec, '--runs', `${t.runs}-plain`, '--json', '--quiet', '--no-track']);
    expect(r2.code, r2.err).toBe(0);
    expect(r2.json<RunJson>().points[0]!.metrics).toEqual(r1.json<RunJson>().points[0]!.metrics);
    expect(readFileSync(path.join(`${t.runs}-plain`, 'cache/test.pooled', gather.key, 'all.txt'), 'utf8')).toBe(
      readFileSync(path.join(dir, 'all.txt'), 'utf8'),
    );
  });

  it('new items rerun only their shards and the gather; --why names them; --rerun and --force rerun every shard', async () => {
    const t = setup(40);
    const args = ['--runs', t.runs, '--set', 'stages.lines.shards=8'];
    expect((await exp(['run', t.spec, ...args, '--quiet', '--no-track'])).code).toBe(0);
    expect(t.tallied().filter((l) => l.startsWith('shard'))).toHaveLength(8);
    writeFileSync(path.join(t.data, 'f07b.txt'), 'new one');
    writeFileSync(path.join(t.data, 'f31b.txt'), 'new two');
    const why = await exp(['plan', t.spec, ...args, '--why']);
    expect(why.out).toMatch(/lines \([0-9a-f]{10}, shards: 8\): 8 shard\(s\) of 42 item\(s\): \d cached, [123] to run/);
    expect(why.out).toContain('new item(s) (f07b.txt)');
    expect(why.out).toContain('new item(s) (f31b.txt)');
    expect(why.out).toMatch(/input data changed: dir/);
    const planned = (await exp(['plan', t.spec, ...args, '--json'])).json<PlanJson>();
    const toRun = planned.nodes.filter((n) => n.shard && n.status === 'run');
    expect(toRun.length).toBeGreaterThanOrEqual(2);
    expect(toRun.length).toBeLessThanOrEqual(4);
    const before = t.tallied().length;
    expect((await exp(['run', t.spec, ...args, '--quiet', '--no-track'])).code).toBe(0);
    const ran = t.tallied().slice(before);
    expect(ran.filter((l) => l.startsWith('shard'))).toHaveLength(toRun.length);
    expect(ran.filter((l) => l === 'gather')).toHaveLength(1);
    expect(ran.filter((l) => l.startsWith('shard')).join(' ')).toContain('f07b.txt');

    const rerun = t.tallied().length;
    expect((await exp(['run', t.spec, ...args, '--rerun', 'lines', '--quiet', '--no-track'])).code).toBe(0);
    expect(
      t
        .tallied()
        .slice(rerun)
        .filter((l) => l.startsWith('shard')),
    ).toHaveLength(8);
    const force = t.tallied().length;
    expect((await exp(['run', t.spec, ...args, '--force', '--quiet', '--no-track'])).code).toBe(0);
    expect(t.tallied().slice(force)).toHaveLength(9);
  });

  it('a failed shard fails itself and its gather, not its siblings; retries are per shard; fixing it reruns it alone', async () => {
    const t = setup(12, ', retries: 1', { 3: 'fail', 9: 'flaky' });
    const args = ['--runs', t.runs, '--set', 'stages.lines.shards=4', '--json', '--quiet', '--no-track'];
    const r = await exp(['run', t.spec, ...args]);
    expect(r.code).toBe(1);
    const out = r.json<RunJson>();
    expect(out.points[0]!.status).toBe('failed');
    expect(out.failed).toHaveLength(1);
    expect(out.failed[0]!.stage).toMatch(/^lines\[\d\/4\]$/);
    expect(out.failed[0]!.error).toContain('item f03.txt asked to fail');
    const shardRuns = t.tallied().filter((l) => l.startsWith('shard'));
    // 4 shards, the failing one tried twice (retries: 1), the flaky one twice (then done)
    expect(shardRuns).toHaveLength(6);
    expect(t.tallied()).not.toContain('gather');
    expect(readdirSync(path.join(t.runs, 'cache/test.lines')).filter((k) => !k.startsWith('.'))).toHaveLength(3);

    writeFileSync(path.join(t.data, 'f03.txt'), 'fixed');
    const before = t.tallied().length;
    const again = await exp(['run', t.spec, ...args]);
    expect(again.code, again.err).toBe(0);
    expect(t.tallied().slice(before)).toEqual([expect.stringMatching(/^shard .*f03\.txt/), 'gather']);
  });

  it('items made upstream: shards decided after that node, in plan and run; a failed listing fails one shard', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'exp-shards-dyn-'));
    const spec = path.join(dir, 'spec.yaml');
    const runs = path.join(dir, 'runs');
    writeFileSync(
      spec,
      [
        'name: shards-dyn',
        'stages:',
        '  make: { uses: test.files, with: { count: 7, words: [x, y] } }',
        '  lines: { uses: test.lines, needs: [make], shard_size: 2 }',
        '  other: { uses: test.files, with: { count: 2 } }',
        '',
      ].join('\n'),
    );
    const plan = await exp(['plan', spec, '--runs', runs, '--why']);
    expect(plan.code, plan.err).toBe(0);
    expect(plan.out).toMatch(/lines \([0-9a-f]{10}, shard_size: 2\): shards decided after make/);
    const planJson = (await exp(['plan', spec, '--runs', runs, '--json'])).json<PlanJson>();
    expect(planJson.nodes.find((n) => n.stage === 'lines')!.shards).toMatchObject({
      decided: false,
      decided_after: 'make',
    });

    const r = await exp(['run', spec, '--runs', runs, '--json', '--no-track']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/\+ \d+ shard node\(s\) of lines/);
    expect(r.json<RunJson>().points[0]!.metrics['lines.count']).toBe(7);
    const after = await exp(['plan', spec, '--runs', runs, '--why']);
    expect(after.out).toMatch(/lines \([0-9a-f]{10}, shard_size: 2\): cached; its shards are not needed/);

    // A listing that fails: one shard fails with the reason, the other stages still run.
    const broken = await exp([
      'run',
      spec,
      '--runs',
      runs,
      '--json',
      '--quiet',
      '--no-track',
      '--set',
      'make.broken=true',
    ]);
    expect(broken.code).toBe(1);
    const failed = broken.json<RunJson>().failed;
    expect(failed).toHaveLength(1);
    expect(failed[0]!.stage).toBe('lines[1/1]');
    expect(failed[0]!.error).toMatch(/lines: listing its items for sharding failed: .*missing/);
  });

  it('bad keys: shards on a kind that cannot shard, shards with shard_size, shards below 1 or not "auto"', async () => {
    const t = setup(3);
    const bad = await exp([
      'validate',
      t.spec,
      '--set',
      'stages.after.shards=2',
      '--set',
      'stages.lines.shards=0',
      '--set',
      'stages.lines.shard_size=5',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('stage "after" uses test.files, which cannot run as shards');
    expect(bad.err).toContain('kinds that shard:');
    expect(bad.err).toContain('test.lines');
    expect(bad.err).toMatch(/expected a number >= 1, got integer 0\n\s+→ at stages\.lines\.shards/);
    const both = await exp([
      'validate',
      t.spec,
      '--set',
      'stages.lines.shards=auto',
      '--set',
      'stages.lines.shard_size=5',
    ]);
    expect(both.code).toBe(2);
    expect(both.err).toContain('stage "lines" sets both shards and shard_size');
    const word = await exp(['validate', t.spec, '--set', 'stages.lines.shards=many']);
    expect(word.err).toContain('does not match the pattern ^auto$');
    const fine = await exp(['validate', t.spec, '--set', 'stages.lines.shards=auto']);
    expect(fine.code, fine.err).toBe(0);
  });
});
