// Engine overhead: planning a 1,000-point grid over a 10-stage pipeline, running 2,000 no-op
// nodes, and a fully cached re-run of a 100-point grid (through `exp run`'s own code path).
// Targets on 2 cores: plan < 1 s; median overhead per node < 2 ms; cached re-run < 3 s.
// Run: npx tsx bench/engine.ts
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../src/cli/main.ts';
import { detectInventory } from '../src/exec/inventory.ts';
import type { NodeOutcome } from '../src/exec/lifecycle.ts';
import { buildPlan } from '../src/plan/dag.ts';
import { diffPlan } from '../src/plan/diff.ts';
import { StageRegistry } from '../src/plan/registry.ts';
import { planExperiment, runExperiment } from '../src/run/experiment.ts';
import { noop } from './engine-kind.ts';
import { loadSpec } from '../src/spec/index.ts';
import { ArtifactStore } from '../src/store/store.ts';

function pipelineSpec(dir: string, axes: Record<string, number>, varyAll: boolean): string {
  const stages: string[] = [];
  for (let s = 0; s < 10; s++) {
    const needs = s === 0 ? '' : `, needs: [s${s - 1}]`;
    stages.push(`  s${s}: { uses: bench.noop${needs}, with: { i: ${s}, j: 0 } }`);
  }
  const matrix = Object.entries(axes).map(([k, n]) => `  ${k}: [${Array.from({ length: n }, (_, i) => i).join(', ')}]`);
  const file = path.join(dir, `spec-${Object.values(axes).join('x')}-${varyAll ? 'all' : 'tail'}.yaml`);
  writeFileSync(
    file,
    [
      `name: bench-${Object.values(axes).join('x')}`,
      'settings: { seed: 0 }',
      'stages:',
      ...stages,
      'matrix:',
      ...matrix,
      '',
    ].join('\n'),
  );
  return file;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2 : NaN;
}

async function main_(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'exp-bench-'));
  const registry = new StageRegistry();
  registry.register(noop);
  const pluginFile = path.join(dir, 'plugin.ts');
  writeFileSync(pluginFile, `export { noop as kind } from ${JSON.stringify(path.resolve('bench/engine-kind.ts'))};\n`);

  // 1. Plan: 1,000 points (10×10×10 on the last three stages) over 10 stages.
  const bigSpec = pipelineSpec(dir, { 's7.j': 10, 's8.j': 10, 's9.j': 10 }, false);
  const t0 = performance.now();
  const spec = await loadSpec(bigSpec, { kinds: registry });
  const t1 = performance.now();
  const plan = buildPlan(spec, registry);
  const t2 = performance.now();
  const store0 = new ArtifactStore(path.join(dir, 'runs-plan'));
  diffPlan(plan, { has: (k, key) => store0.has(k, key), readFailure: () => undefined, manifestsOf: () => [] });
  const t3 = performance.now();
  const planMs = t3 - t0;

  // 2. 2,000 no-op nodes: 200 points whose 10 stages all differ (s0.j varies).
  const runSpecFile = pipelineSpec(dir, { 's0.j': 200 }, true);
  const planned = await planExperiment(runSpecFile, { registry, runsDir: path.join(dir, 'runs-exec') });
  const plan2 = planned.plan;
  const overheads: number[] = [];
  const starts = new Map<string, number>();
  // One slot: a node's latency is then the engine's own cost (nothing waits for a sibling).
  const inventory = { ...detectInventory({ gpus: 'none' }), cpus: 1 };
  const timing = {
    nodeStarted: (n: { key: string }) => starts.set(n.key, performance.now()),
    nodeFinished: (n: { key: string }, o: NodeOutcome) => {
      const s = starts.get(n.key);
      if (s !== undefined && o.manifest) overheads.push(performance.now() - s);
    },
  };
  const e0 = performance.now();
  await runExperiment(planned, { inventory, reporters: [() => timing] });
  const execMs = performance.now() - e0;
  const nodes = plan2.nodes.length;

  // 3. Cached re-run of a 100-point grid through `exp run` (spec load, plan, diff, tracking).
  const cachedSpec = pipelineSpec(dir, { 's8.j': 10, 's9.j': 10 }, false);
  const runs = path.join(dir, 'runs-cli');
  const io = {
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    env: { ...process.env, EXP_PLUGINS: pluginFile },
    signal: new AbortController().signal,
  };
  io.stdout.resume();
  io.stderr.resume();
  const c0 = performance.now();
  const firstCode = await main(['run', cachedSpec, '--runs', runs, '--quiet', '--gpus', 'none'], io);
  const c1 = performance.now();
  const secondCode = await main(['run', cachedSpec, '--runs', runs, '--quiet', '--gpus', 'none'], io);
  const c2 = performance.now();
  if (firstCode !== 0 || secondCode !== 0) throw new Error(`exp run failed: ${firstCode} ${secondCode}`);

  const rows: [string, string, string][] = [
    [
      'plan 1,000 points × 10 stages (load+validate+expand, DAG, diff)',
      `${planMs.toFixed(0)} ms (load ${(t1 - t0).toFixed(0)}, dag ${(t2 - t1).toFixed(0)}, diff ${(t3 - t2).toFixed(0)})`,
      '< 1000 ms',
    ],
    [`run ${nodes} no-op nodes (1 slot)`, `${execMs.toFixed(0)} ms = ${(execMs / nodes).toFixed(2)} ms/node wall`, ''],
    [
      'median per-node time (claim, temp dir, run, hash, commit, release)',
      `${median(overheads).toFixed(2)} ms`,
      '< 2 ms',
    ],
    ['100-point grid, first run via exp run (with MLflow file store)', `${(c1 - c0).toFixed(0)} ms`, ''],
    ['100-point grid, fully cached re-run via exp run', `${(c2 - c1).toFixed(0)} ms`, '< 3000 ms'],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  console.log(`${'measure'.padEnd(w)}  result  (target)`);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(w)}  ${b}${c ? `  (${c})` : ''}`);
  console.log(
    JSON.stringify({
      bench: 'engine',
      plan_1000_points_ms: Math.round(planMs),
      exec_nodes: nodes,
      exec_wall_ms_per_node: +(execMs / nodes).toFixed(3),
      exec_median_node_ms: +median(overheads).toFixed(3),
      cached_rerun_100_points_ms: Math.round(c2 - c1),
      first_run_100_points_ms: Math.round(c1 - c0),
    }),
  );
}

await main_();
