// The engine through its command line, as a user drives it: exit codes, JSON contracts,
// nothing written for a bad spec, resume after SIGKILL, and two processes on one runs folder.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findExperimentByName, listRuns } from '../../src/track/file-store-read.ts';
import { runExp } from '../helpers/exp.ts';
import { repoRoot } from '../helpers/repo.ts';

const plugin = path.join(repoRoot, 'test/fixtures/plugins/test-kinds.ts');
const grid = path.join(repoRoot, 'test/fixtures/engine/grid.yaml');
const chain = path.join(repoRoot, 'test/fixtures/engine/chain.yaml');

function exp(args: string[], env: Record<string, string> = {}) {
  return runExp(args, { ...process.env, EXP_PLUGINS: plugin, ...env });
}

function spawnExp(args: string[], env: Record<string, string> = {}) {
  return spawn(process.execPath, [path.join(repoRoot, 'bin/exp.js'), ...args], {
    cwd: repoRoot,
    env: { ...process.env, EXP_PLUGINS: plugin, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function tmp(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

function finishedNodes(runs: string): Map<string, number> {
  const dir = path.join(runs, 'cache', 'test.add');
  const out = new Map<string, number>();
  if (!existsSync(dir)) return out;
  for (const key of readdirSync(dir)) {
    const m = JSON.parse(readFileSync(path.join(dir, key, 'manifest.json'), 'utf8')) as { finishedAt: number };
    out.set(key, m.finishedAt);
  }
  return out;
}

describe('exp CLI', () => {
  it('plan --json has the documented shape and shares nodes between points', async () => {
    const runs = tmp('exp-cli-');
    const r = await exp(['plan', grid, '--json', '--runs', runs]);
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.out) as {
      points: { id: string; params: Record<string, unknown> }[];
      nodes: {
        key: string;
        stage: string;
        kind: string;
        needs: string[];
        points: string[];
        status: string;
        why: string;
      }[];
    };
    expect(plan.points).toHaveLength(6);
    expect(plan.points[0]!.params).toEqual({ 'mid.value': 1, 'top.value': 100 });
    expect(plan.nodes).toHaveLength(1 + 2 + 6);
    const base = plan.nodes.find((n) => n.stage === 'base')!;
    expect(base.points).toHaveLength(6);
    expect(Object.keys(base).sort()).toEqual(['key', 'kind', 'needs', 'points', 'stage', 'status', 'why']);
    expect(plan.nodes.every((n) => n.status === 'run')).toBe(true);
    expect(existsSync(path.join(runs, 'cache'))).toBe(false);
  });

  it('run --json ends with the documented object; a second run is fully cached and plan says why things rerun', async () => {
    const runs = tmp('exp-cli-');
    const r1 = await exp(['run', grid, '--json', '--runs', runs, '--quiet']);
    expect(r1.code).toBe(0);
    const last = JSON.parse(r1.out.trim().split('\n').at(-1)!) as {
      points: { id: string; name: string; params: unknown; status: string; metrics: Record<string, number> }[];
      failed: unknown[];
    };
    expect(last.failed).toEqual([]);
    expect(last.points.map((p) => p.metrics.total).sort((a, b) => a! - b!)).toEqual([111, 112, 211, 212, 311, 312]);
    expect(last.points.every((p) => p.status === 'done')).toBe(true);

    const p2 = JSON.parse((await exp(['plan', grid, '--json', '--runs', runs])).out) as { nodes: { status: string }[] };
    expect(p2.nodes.every((n) => n.status === 'cached')).toBe(true);

    const p3 = JSON.parse(
      (await exp(['plan', grid, '--json', '--runs', runs, '--set', 'top.value=[100]', '--set', 'mid.sleep_ms=1'])).out,
    ) as {
      nodes: { stage: string; status: string; why: string }[];
    };
    const mid = p3.nodes.filter((n) => n.stage === 'mid');
    expect(mid.every((n) => n.status === 'run' && /params changed: sleep_ms 0 → 1/.test(n.why))).toBe(true);
    expect(p3.nodes.find((n) => n.stage === 'base')!.status).toBe('cached');
    expect(p3.nodes.filter((n) => n.stage === 'top').every((n) => /upstream/.test(n.why))).toBe(true);

    const forced = JSON.parse((await exp(['plan', grid, '--json', '--runs', runs, '--force'])).out) as {
      nodes: { why: string }[];
    };
    expect(forced.nodes.every((n) => n.why === '--force')).toBe(true);
  });

  it('logs every point as an MLflow child run, complete even when its nodes came from the cache', async () => {
    const runs = tmp('exp-track-');
    expect((await exp(['run', grid, '--runs', runs, '--quiet'])).code).toBe(0);
    expect((await exp(['run', grid, '--runs', runs, '--quiet', '--set', 'top.value=[100]'])).code).toBe(0);
    const root = path.join(runs, 'mlruns');
    const experiment = (await findExperimentByName(root, 'engine-grid'))!;
    expect(experiment).toBeTruthy();
    const all = await listRuns(root, experiment.experimentId);
    const parents = all.filter((r) => !r.tags['mlflow.parentRunId']);
    const children = all.filter((r) => r.tags['mlflow.parentRunId']);
    expect(parents).toHaveLength(2);
    expect(children).toHaveLength(6 + 2);
    for (const c of children) {
      expect(c.info.status).toBe('FINISHED');
      expect(parents.map((p) => p.info.runId)).toContain(c.tags['mlflow.parentRunId']);
      expect(c.tags['exp.point_id']).toMatch(/^[0-9a-f]{12}$/);
      expect(c.params['stages.top.with.value']).toBeDefined();
      expect(c.metrics.total!.value).toBe(
        Number(c.params['stages.top.with.value']) + Number(c.params['stages.mid.with.value']) + 10,
      );
    }
    // The second invocation reused every node: its runs are complete and say so.
    const second = children.filter((c) => c.tags['exp.cached'] === 'true');
    expect(second).toHaveLength(2);
    expect(second.map((c) => c.info.runName).sort()).toEqual([
      'mid.value=1 top.value=100',
      'mid.value=2 top.value=100',
    ]);
  });

  it('notices input data that changed under the same path and reruns only that node', async () => {
    const dir = tmp('exp-data-');
    const data = path.join(dir, 'data');
    const runs = path.join(dir, 'runs');
    mkdirSync(data);
    writeFileSync(path.join(data, 'a.txt'), 'a');
    const spec = path.join(dir, 'count.yaml');
    writeFileSync(
      spec,
      [
        'name: count',
        'stages:',
        '  count: { uses: test.count-files, with: { dir: data } }',
        '  after: { uses: test.add, needs: [count], with: { value: 1 } }',
        '',
      ].join('\n'),
    );
    expect((await exp(['run', spec, '--runs', runs, '--quiet'])).code).toBe(0);
    const plan = async () =>
      JSON.parse((await exp(['plan', spec, '--json', '--runs', runs])).out) as {
        nodes: { stage: string; status: string; why: string }[];
      };
    expect((await plan()).nodes.every((n) => n.status === 'cached')).toBe(true);

    writeFileSync(path.join(data, 'b.txt'), 'b');
    const changed = await plan();
    const count = changed.nodes.find((n) => n.stage === 'count')!;
    expect(count.status).toBe('run');
    expect(count.why).toMatch(/^input data changed: dir \(.*data\)/);
    const after = changed.nodes.find((n) => n.stage === 'after')!;
    expect(after.status).toBe('run');
    expect(after.why).toBe('input data changed upstream (count)');

    const r = await exp(['run', spec, '--runs', runs, '--quiet', '--json']);
    expect(r.code).toBe(0);
    expect(r.json<{ points: { metrics: Record<string, number> }[] }>().points[0]!.metrics.files).toBe(2);
    expect((await plan()).nodes.every((n) => n.status === 'cached')).toBe(true);
  });

  it('a failing stage fails only its dependents: exit 1, the failure listed, its log kept', async () => {
    const runs = tmp('exp-cli-');
    const r = await exp([
      'run',
      grid,
      '--json',
      '--runs',
      runs,
      '--quiet',
      '--set',
      'mid.fail=true',
      '--set',
      'mid.value=[1]',
    ]);
    expect(r.code).toBe(1);
    const last = JSON.parse(r.out.trim().split('\n').at(-1)!) as {
      failed: { stage: string; error: string; log: string }[];
      points: { status: string }[];
    };
    expect(last.failed).toHaveLength(1);
    expect(last.failed[0]!.stage).toBe('mid');
    expect(last.failed[0]!.error).toMatch(/asked to fail/);
    expect(readFileSync(last.failed[0]!.log, 'utf8')).toMatch(/asked to fail/);
    expect(last.points.every((p) => p.status === 'failed')).toBe(true);
    // base still finished and is reused next time.
    const plan = JSON.parse(
      (await exp(['plan', grid, '--json', '--runs', runs, '--set', 'mid.fail=true', '--set', 'mid.value=[1]'])).out,
    ) as { nodes: { stage: string; status: string; why: string }[] };
    expect(plan.nodes.find((n) => n.stage === 'base')!.status).toBe('cached');
    expect(plan.nodes.find((n) => n.stage === 'mid' && n.why.startsWith('previous attempt failed'))).toBeTruthy();
  });

  it('bad specs and arguments exit 2 with every problem listed and nothing written', async () => {
    const runs = tmp('exp-cli-');
    const dir = tmp('exp-spec-');
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      [
        'name: bad',
        'stages:',
        '  a: { uses: test.ad, with: { value: 1 } }',
        '  b: { uses: test.add, needs: [c], with: { valeu: 2 } }',
        '',
      ].join('\n'),
    );
    const r = await exp(['run', bad, '--runs', runs]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown stage kind "test.ad"[\s\S]*bad.yaml:3:/);
    expect(r.err).toMatch(/did you mean "test.add"/);
    expect(r.err).toMatch(/valeu[\s\S]*did you mean "value"/);
    expect(r.err).toMatch(/needs[\s\S]*"c"/);
    expect(existsSync(runs) && readdirSync(runs).length).toBeFalsy();

    const unknownSet = await exp(['validate', grid, '--set', 'nope.value=1']);
    expect(unknownSet.code).toBe(2);
    expect(unknownSet.err).toMatch(/nope/);

    const unknownFlag = await exp(['run', grid, '--jbos', '2']);
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.err).toMatch(/did you mean --jobs/);

    const badGpus = await exp(['run', grid, '--gpus', 'zero', '--runs', runs]);
    expect(badGpus.code).toBe(2);
    expect(badGpus.err).toMatch(/--gpus: "zero" is not a comma-separated list/);

    const noCommand = await exp(['rnu']);
    expect(noCommand.code).toBe(2);
    expect(noCommand.err).toMatch(/did you mean "exp run"/);
  });

  it('resumes after SIGKILL without recomputing finished nodes, with identical outputs', async () => {
    const runs = tmp('exp-kill-');
    const child = spawnExp(['run', chain, '--runs', runs, '--jobs', '1']);
    // Wait until some, but not all, nodes have finished, then kill without warning.
    const deadline = Date.now() + 60_000;
    while (finishedNodes(runs).size < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    const before = finishedNodes(runs);
    expect(before.size).toBeGreaterThanOrEqual(3);
    expect(before.size).toBeLessThan(8);

    const second = await exp(['run', chain, '--runs', runs, '--json', '--quiet']);
    expect(second.code).toBe(0);
    const after = finishedNodes(runs);
    expect(after.size).toBe(8);
    for (const [key, finishedAt] of before) expect(after.get(key)).toBe(finishedAt);

    const clean = tmp('exp-clean-');
    expect((await exp(['run', chain, '--runs', clean, '--quiet'])).code).toBe(0);
    for (const key of after.keys()) {
      const a = readFileSync(path.join(runs, 'cache/test.add', key, 'total.txt'), 'utf8');
      const b = readFileSync(path.join(clean, 'cache/test.add', key, 'total.txt'), 'utf8');
      expect(a).toBe(b);
    }
  }, 120_000);

  it('two exp run processes on one runs folder compute each node once', async () => {
    const runs = tmp('exp-race-');
    const tally = path.join(tmp('exp-tally-'), 'tally.txt');
    writeFileSync(tally, '');
    const env = { EXP_TEST_TALLY: tally };
    const a = spawnExp(['run', chain, '--runs', runs, '--quiet', '--no-track'], env);
    const b = spawnExp(['run', chain, '--runs', runs, '--quiet', '--no-track'], env);
    const codes = await Promise.all([a, b].map((c) => new Promise<number | null>((r) => c.on('exit', r))));
    expect(codes).toEqual([0, 0]);
    const lines = readFileSync(tally, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(8);
    expect(finishedNodes(runs).size).toBe(8);
  }, 120_000);
});
