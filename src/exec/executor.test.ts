import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { testKinds } from '../../test/fixtures/plugins/test-kinds.ts';
import { buildPlan, type PlanSpecInput, type PlanStageInput } from '../plan/dag.ts';
import { diffPlan } from '../plan/diff.ts';
import { StageRegistry } from '../plan/registry.ts';
import { ArtifactStore } from '../store/store.ts';
import { execute } from './executor.ts';
import { parseGpuList, type Inventory } from './inventory.ts';

const registry = new StageRegistry();
for (const k of testKinds) registry.register(k);

function stage(name: string, uses: string, params: Record<string, unknown>, needs: string[] = []): PlanStageInput {
  return { name, uses, needs, with: params, runWith: params };
}

function spec(points: { id: string; stages: PlanStageInput[] }[]): PlanSpecInput {
  return {
    file: '/x.yaml',
    name: 't',
    settings: { seed: 0 },
    points: points.map((p) => ({
      id: p.id,
      name: p.id,
      assignment: {},
      stages: Object.fromEntries(p.stages.map((s) => [s.name, s])),
    })),
  };
}

const cpuOnly = (cpus = 2): Inventory => ({ cpus, memoryMb: 8000, gpus: [], gpuSource: 'none' });

function storeView(store: ArtifactStore) {
  return {
    has: (k: string, key: string) => store.has(k, key),
    readFailure: (key: string) => store.readFailure(key),
    manifestsOf: () => [],
  };
}

async function runSpec(s: PlanSpecInput, runs: string, inv = cpuOnly(), extra: { failFast?: boolean } = {}) {
  const store = new ArtifactStore(runs);
  const plan = buildPlan(s, registry);
  const decisions = diffPlan(plan, storeView(store));
  const summary = await execute({ plan, decisions, registry, store, inventory: inv, ...extra });
  return { plan, decisions, summary, store };
}

describe('executor', () => {
  it('runs shared stages once and reuses them on the second run', async () => {
    const runs = mkdtempSync(path.join(os.tmpdir(), 'exp-exec-'));
    const s = spec(
      [1, 2, 3].map((k) => ({
        id: `p${k}`,
        stages: [stage('a', 'test.add', { value: 10 }), stage('b', 'test.add', { value: k }, ['a'])],
      })),
    );
    const first = await runSpec(s, runs);
    expect(first.plan.nodes).toHaveLength(4);
    const statuses = [...first.summary.outcomes.values()].map((o) => o.status);
    expect(statuses.filter((x) => x === 'done')).toHaveLength(4);
    const bKey = first.plan.points[2]!.nodes.b!;
    expect(readFileSync(path.join(first.store.nodeDir('test.add', bKey), 'total.txt'), 'utf8')).toBe('13\n');
    const second = await runSpec(s, runs);
    expect([...second.decisions.values()].every((d) => d.status === 'cached')).toBe(true);
    expect([...second.summary.outcomes.values()].every((o) => o.status === 'cached')).toBe(true);
  });

  it('confines a failure to its dependents, keeps the log, and retries flaky nodes', async () => {
    const runs = mkdtempSync(path.join(os.tmpdir(), 'exp-exec-'));
    const s = spec([
      {
        id: 'bad',
        stages: [stage('a', 'test.add', { value: 1, fail: true }), stage('b', 'test.add', { value: 2 }, ['a'])],
      },
      { id: 'good', stages: [stage('a', 'test.add', { value: 5 }), stage('b', 'test.add', { value: 2 }, ['a'])] },
      { id: 'flaky', stages: [stage('a', 'test.add', { value: 7, fail_times: 1 })] },
    ]);
    s.points[2]!.stages.a!.retries = 1;
    const { plan, summary, store } = await runSpec(s, runs);
    const by = (pid: string, st: string) => summary.outcomes.get(plan.points.find((p) => p.id === pid)!.nodes[st]!)!;
    expect(by('bad', 'a').status).toBe('failed');
    expect(by('bad', 'a').error?.message).toMatch(/asked to fail/);
    expect(by('bad', 'b').status).toBe('skipped');
    expect(by('good', 'b').status).toBe('done');
    expect(by('flaky', 'a').status).toBe('done');
    expect(by('flaky', 'a').attempts).toBe(2);
    const log = readFileSync(store.logPath(by('bad', 'a').key), 'utf8');
    expect(log).toMatch(/asked to fail/);
    expect(store.readFailure(by('bad', 'a').key)?.error).toMatch(/asked to fail/);
  });

  it('adds the nodes a finished node decides, re-pointing its waiting dependent onto them', async () => {
    const runs = mkdtempSync(path.join(os.tmpdir(), 'exp-exec-'));
    const s = spec([
      {
        id: 'p',
        stages: [
          stage('up', 'test.add', { value: 1 }),
          stage('gather', 'test.add', { value: 1000 }, ['up']),
          stage('top', 'test.add', { value: 5 }, ['gather']),
        ],
      },
    ]);
    const store = new ArtifactStore(runs);
    const plan = buildPlan(s, registry);
    const decisions = diffPlan(plan, storeView(store));
    const up = plan.nodes.find((n) => n.stage === 'up')!;
    const shard = (i: number) => ({
      ...up,
      key: `shard${i}-${up.key}`,
      stage: 'shard',
      stages: ['shard'],
      params: { value: 10 * i },
      runParams: { value: 10 * i },
      needs: [up.key],
      needStages: ['up'],
    });
    const expanded: string[] = [];
    const summary = await execute({
      plan,
      decisions,
      registry,
      store,
      inventory: cpuOnly(),
      expand: (node) => {
        expanded.push(node.stage);
        return node.stage === 'up'
          ? {
              nodes: [1, 2, 3].map(shard),
              repoint: [{ from: up.key, to: [1, 2, 3].map((i) => `shard${i}-${up.key}`) }],
            }
          : undefined;
      },
    });
    expect(expanded.sort()).toEqual(['gather', 'shard', 'shard', 'shard', 'top', 'up']);
    const statuses = [...summary.outcomes.values()].map((o) => o.status);
    expect(statuses).toEqual(Array(6).fill('done'));
    // each shard: 1 (up) + 10·i; gather: their sum + 1000; top: + 5
    const total = (stageName: string) =>
      [...summary.outcomes.values()].find((o) => o.manifest?.stage === stageName)!.manifest!.outputs.total;
    expect(total('gather')).toBe(3 + 60 + 1000);
    expect(total('top')).toBe(1068);
    expect(decisions.get(`shard1-${up.key}`)?.why).toBe('added during the run');
  });

  it('a node cancelled without the run asking (a job cancelled from outside) fails as EXP_NODE_LOST; its dependents are skipped', async () => {
    const runs = mkdtempSync(path.join(os.tmpdir(), 'exp-exec-'));
    const s = spec([
      { id: 'p', stages: [stage('a', 'test.add', { value: 1 }), stage('b', 'test.add', { value: 2 }, ['a'])] },
    ]);
    const store = new ArtifactStore(runs);
    const plan = buildPlan(s, registry);
    const decisions = diffPlan(plan, storeView(store));
    const summary = await execute({
      plan,
      decisions,
      registry,
      store,
      inventory: cpuOnly(),
      remote: {
        run: async (node) => ({
          key: node.key,
          status: 'cancelled',
          reason: 'job 42 was scancelled',
          attempts: 0,
          durationMs: 0,
        }),
        close: async () => undefined,
      },
    });
    const [a, b] = plan.nodes.map((n) => summary.outcomes.get(n.key)!);
    expect(a!.status).toBe('failed');
    expect(a!.error).toMatchObject({ code: 'EXP_NODE_LOST', message: 'a did not finish: job 42 was scancelled' });
    expect(b!.status).toBe('skipped');
    expect(summary.interrupted).toBe(false);
  });

  it('a runner that throws fails its node, not the run', async () => {
    const runs = mkdtempSync(path.join(os.tmpdir(), 'exp-exec-'));
    const s = spec([{ id: 'p', stages: [stage('a', 'test.add', { value: 1 })] }]);
    const store = new ArtifactStore(runs);
    const plan = buildPlan(s, registry);
    const summary = await execute({
      plan,
      decisions: diffPlan(plan, storeView(store)),
      registry,
      store,
      inventory: cpuOnly(),
      remote: {
        run: async () => {
          throw new Error('the shared filesystem went away');
        },
        close: async () => undefined,
      },
    });
    expect([...summary.outcomes.values()][0]).toMatchObject({
      status: 'failed',
      error: { message: 'the shared filesystem went away' },
    });
  });

  it('places 4 GPU tasks on 2 GPUs without overlap, each process seeing only its device', async () => {
    const runs = mkdtempSync(path.join(os.tmpdir(), 'exp-exec-'));
    const s = spec(
      [0, 1, 2, 3].map((i) => ({ id: `g${i}`, stages: [stage('probe', 'test.gpu-probe', { id: i, sleep_ms: 400 })] })),
    );
    const inv: Inventory = { cpus: 4, memoryMb: 8000, gpus: parseGpuList('0,1', 'test'), gpuSource: 'flag' };
    const { summary } = await runSpec(s, runs, inv);
    const probes = [...summary.outcomes.values()].map((o) => {
      expect(o.status).toBe('done');
      return o.manifest!.outputs as {
        id: number;
        cuda: string;
        gpus: number[];
        pid: number;
        start: number;
        end: number;
      };
    });
    expect(probes).toHaveLength(4);
    for (const p of probes) {
      expect(p.gpus).toHaveLength(1);
      expect(p.cuda).toBe(String(p.gpus[0]));
      expect(p.pid).not.toBe(process.pid);
    }
    for (const gpu of [0, 1]) {
      const on = probes.filter((p) => p.gpus[0] === gpu).sort((a, b) => a.start - b.start);
      expect(on.length).toBe(2);
      for (let i = 1; i < on.length; i++) expect(on[i]!.start).toBeGreaterThanOrEqual(on[i - 1]!.end);
    }
  });

  it('fails a GPU node at once when no GPU exists', async () => {
    const runs = mkdtempSync(path.join(os.tmpdir(), 'exp-exec-'));
    const s = spec([{ id: 'g', stages: [stage('probe', 'test.gpu-probe', { id: 0 })] }]);
    const { summary } = await runSpec(s, runs);
    const o = [...summary.outcomes.values()][0]!;
    expect(o.status).toBe('failed');
    expect(o.error?.message).toMatch(/needs 1 GPU\(s\) but none are available/);
  });

  it('runs pool kinds in a worker thread', async () => {
    const runs = mkdtempSync(path.join(os.tmpdir(), 'exp-exec-'));
    const s = spec([{ id: 'p', stages: [stage('sq', 'test.pool-square', { x: 3 })] }]);
    const { summary } = await runSpec(s, runs);
    const o = [...summary.outcomes.values()][0]!;
    expect(o.error?.message).toBeUndefined();
    expect(o.status).toBe('done');
    expect(o.manifest!.outputs).toEqual({ square: 9, mainThread: false });
    expect(o.manifest!.metrics.map((m) => [m.key, m.value])).toEqual([['square', 9]]);
  });
});
