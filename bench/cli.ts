// How fast the `exp` command starts, as a user sees it: the wall time of a whole process (node's
// start, loading the compiled code, the command, exit), measured N times per command (median, p90).
// Targets (issue "the first five minutes"): --version and --help ≤ 0.3 s; validate and plan of the
// paper's AVA few-shot grid ≤ 1 s; a fully cached run of the quickstart ≤ 1.5 s.
//
// Run: npx tsx bench/cli.ts [--runs N] [--baseline PATH/TO/bin/exp.js]
//   --baseline measures another exp (e.g. an older checkout's bin/exp.js) on the same commands,
//   interleaved with this one, so that both see the same machine load.
// The cached run needs the quickstart's nodes in a runs folder: bench/out/cli-runs is filled by one
// untimed run first (about 1.5 min on 2 cores) and reused afterwards.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

const repo = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: { runs: { type: 'string', default: '10' }, baseline: { type: 'string' } },
});
const N = Math.max(1, Number(values.runs));
const runsDir = path.join(repo, 'bench/out/cli-runs');
mkdirSync(runsDir, { recursive: true });

interface Case {
  name: string;
  args: string[];
  target: number;
}
const cases: Case[] = [
  { name: 'exp --version', args: ['--version'], target: 0.3 },
  { name: 'exp --help', args: ['--help'], target: 0.3 },
  { name: 'exp validate ava_fewshot', args: ['validate', 'experiments/ava_fewshot.yaml'], target: 1 },
  { name: 'exp plan ava_fewshot', args: ['plan', 'experiments/ava_fewshot.yaml', '--runs', runsDir], target: 1 },
  { name: 'exp run quickstart (cached)', args: ['run', 'experiments/quickstart.yaml', '--runs', runsDir], target: 1.5 },
];

const bins: { label: string; bin: string }[] = [{ label: 'this', bin: path.join(repo, 'bin/exp.js') }];
if (values.baseline) bins.push({ label: 'baseline', bin: path.resolve(values.baseline) });
for (const b of bins) if (!existsSync(b.bin)) throw new Error(`no ${b.bin}`);

/** CPU seconds (user + system) of the children waited for so far (Linux: /proc/self/stat); NaN elsewhere. */
function childrenCpu(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100; // cutime + cstime, in clock ticks of 1/100 s
  } catch {
    return Number.NaN;
  }
}

/** One process: its wall time, and its CPU time (which the machine's load changes far less). */
function once(bin: string, args: string[]): { wall: number; cpu: number } {
  const cpu0 = childrenCpu();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')} exited ${r.status}: ${String(r.stderr).slice(-500)}`);
  return { wall, cpu: childrenCpu() - cpu0 };
}

// The current sources, compiled (incremental: seconds when dist/ is up to date).
spawnSync(process.execPath, [path.join(repo, 'scripts/build.mjs')], { cwd: repo, stdio: 'inherit' });

// The quickstart's nodes, once (untimed), so that the timed runs find every node cached.
process.stderr.write(`filling ${runsDir} with the quickstart (once; cached afterwards)…\n`);
once(bins[0]!.bin, ['run', 'experiments/quickstart.yaml', '--runs', runsDir, '--quiet']);

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
}

interface Row {
  command: string;
  exp: string;
  median_s: number;
  p90_s: number;
  cpu_median_s: number;
  target_s: number;
  met: boolean;
}
const rows: Row[] = [];
for (const c of cases) {
  const times = new Map(bins.map((b) => [b.label, [] as { wall: number; cpu: number }[]]));
  for (const b of bins) once(b.bin, c.args); // warm the file cache, not timed
  for (let i = 0; i < N; i++) for (const b of bins) times.get(b.label)!.push(once(b.bin, c.args));
  for (const b of bins) {
    const t = times.get(b.label)!;
    const median = quantile(
      t.map((x) => x.wall),
      0.5,
    );
    rows.push({
      command: c.name,
      exp: b.label,
      median_s: +median.toFixed(3),
      p90_s: +quantile(
        t.map((x) => x.wall),
        0.9,
      ).toFixed(3),
      cpu_median_s: +quantile(
        t.map((x) => x.cpu),
        0.5,
      ).toFixed(2),
      target_s: c.target,
      met: median <= c.target,
    });
  }
}

const head = ['command', 'exp', 'median s', 'p90 s', 'cpu s', 'target s', 'met'];
const body = rows.map((r) => [
  r.command,
  r.exp,
  r.median_s.toFixed(3),
  r.p90_s.toFixed(3),
  r.cpu_median_s.toFixed(2),
  r.target_s.toFixed(1),
  r.met ? 'yes' : 'NO',
]);
const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
const load = existsSync('/proc/loadavg') ? readFileSync('/proc/loadavg', 'utf8').split(' ')[0] : '?';
console.log(
  `process wall time over ${N} runs each (median, p90; cpu = user+system, median) · node ${process.version} · load average ${load} · ${bins.map((b) => b.label).join(' vs ')}`,
);
console.log(line(head));
for (const r of body) console.log(line(r));
console.log(JSON.stringify({ bench: 'cli', runs: N, node: process.version, load_average: Number(load), rows }));
