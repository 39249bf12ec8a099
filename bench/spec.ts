// Spec loading at grid scale: a synthetic 10-stage pipeline with a 10×10×10 matrix (1,000
// points), interpolation in every stage and per-point validation of every stage's params.
// Run: npx tsx bench/spec.ts
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadSpec, type KindInfo, type KindLookup } from '../src/spec/index.ts';

const STAGES = 10;
const kinds: KindInfo[] = Array.from({ length: STAGES }, (_, i) => ({
  name: `bench.step${i}`,
  description: `synthetic step ${i}`,
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      a: { type: 'integer', minimum: 0, default: 1, description: 'an integer' },
      b: { type: 'number', default: 0.5, description: 'a number' },
      mode: { type: 'string', enum: ['x', 'y', 'z'], default: 'x', description: 'an enum' },
      label: { type: 'string', default: '', description: 'free text' },
      input: { type: 'string', 'x-exp-path': 'dir', default: '', description: 'a folder' },
      list: { type: 'array', items: { type: 'integer' }, default: [], description: 'a list' },
    },
  },
}));
const byName = new Map(kinds.map((k) => [k.name, k]));
const lookup: KindLookup = { get: (n) => byName.get(n), names: () => [...byName.keys()] };

const dir = mkdtempSync(join(tmpdir(), 'exp-bench-spec-'));
mkdirSync(join(dir, 'data'));
const stageLines: string[] = [];
for (let i = 0; i < STAGES; i++) {
  stageLines.push(`  s${i}:`, `    uses: bench.step${i}`);
  if (i > 0) stageLines.push(`    needs: [s${i - 1}${i > 2 ? `, s${i - 3}` : ''}]`);
  stageLines.push(
    '    with:',
    `      a: ${i}`,
    `      label: "step ${i} of \${name} seed \${settings.seed} a=\${s${i}.a}"`,
    '      list: [1, 2, 3]',
  );
  if (i === 0) stageLines.push('      input: ${data.root}');
  if (i >= 7) stageLines.push(`      b: \${vars.b${i}}`);
}
const spec = [
  'name: bench-grid',
  'data: { root: data }',
  'vars: { b7: 0.1, b8: 0.2, b9: 0.3 }',
  'settings: { seed: 1 }',
  'stages:',
  ...stageLines,
  'matrix:',
  `  s7.a: [${Array.from({ length: 10 }, (_, i) => i).join(', ')}]`,
  `  s8.a: [${Array.from({ length: 10 }, (_, i) => i).join(', ')}]`,
  `  s9.a: [${Array.from({ length: 10 }, (_, i) => i).join(', ')}]`,
  '',
].join('\n');
const file = join(dir, 'grid.yaml');
writeFileSync(file, spec);

const times: number[] = [];
const cpuTimes: number[] = [];
let points = 0;
try {
  for (let run = 0; run < Number(process.env.BENCH_RUNS ?? 15); run++) {
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    const loaded = await loadSpec(file, { kinds: lookup, cwd: dir, env: {} });
    const cpu = process.cpuUsage(cpuStart);
    times.push(performance.now() - start);
    // CPU time is the honest figure on a shared machine (wall time includes waiting for a core).
    cpuTimes.push((cpu.user + cpu.system) / 1000);
    points = loaded.points.length;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const round = (x: number): number => Math.round(x * 10) / 10;
const runs = times.length;
const best = Math.min(...times);
console.log(
  `| case | points | stages | first run (cold) wall / cpu ms | median of ${runs} wall / cpu ms | best wall ms |`,
);
console.log('|---|---|---|---|---|---|');
console.log(
  `| 10×10×10 matrix | ${points} | ${STAGES} | ${times[0]!.toFixed(0)} / ${cpuTimes[0]!.toFixed(0)} | ${median(times).toFixed(0)} / ${median(cpuTimes).toFixed(0)} | ${best.toFixed(0)} |`,
);
console.log(
  JSON.stringify({
    bench: 'spec',
    points,
    stages: STAGES,
    runs,
    first_wall_ms: round(times[0]!),
    first_cpu_ms: round(cpuTimes[0]!),
    median_wall_ms: round(median(times)),
    median_cpu_ms: round(median(cpuTimes)),
    best_wall_ms: round(best),
  }),
);
