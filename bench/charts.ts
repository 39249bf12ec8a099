// What a chart costs (src/charts): the first chart of a process (vega + vega-lite loaded then),
// then each further chart's SVG and PNG, for the kinds of chart the stages and the report draw;
// and, when a runs folder holds an invocation (after `make demo`), the time to build its report.
// Run: npx tsx bench/charts.ts [runs folder = ./runs] [charts per kind = 10]
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { barChart, type Chart, groupedBarChart, lineChart, renderPng, renderSvg } from '../src/charts/index.ts';
import { builtinKinds } from '../src/stages/index.ts';
import { StageRegistry } from '../src/plan/registry.ts';
import { buildReport, readRunSet, selectInvocations } from '../src/report/index.ts';

const runsDir = path.resolve(process.argv[2] ?? 'runs');
const perKind = Number(process.argv[3] ?? 10);

const curve = (k: number, n: number) =>
  Array.from({ length: n }, (_, i) => ({ x: i / (n - 1), y: Math.max(0, 1 - (i / (n - 1)) ** (1 + k / 5)) }));
const classes = [
  'drive',
  'phone',
  'kiss',
  'dance',
  'eat',
  'drink',
  'run',
  'point',
  'open',
  'hit',
  'shoot',
  'push',
  'hug',
  'enter',
];
const makers: Record<string, (i: number) => Chart> = {
  'PR curves (20 × 100 points)': (i) =>
    lineChart({
      name: `pr${i}`,
      title: 'PR',
      x: { title: 'recall', domain: [0, 1] },
      y: { title: 'precision', domain: [0, 1] },
      seriesTitle: 'verb',
      points: false,
      series: Array.from({ length: 20 }, (_, k) => ({ name: `verb ${k}`, points: curve(k + i, 100) })),
    }),
  'AP bars (14 classes)': (i) =>
    barChart({
      name: `ap${i}`,
      title: 'AP',
      category: 'AVA class',
      value: { title: 'AP', domain: [0, 1] },
      bars: classes.map((c, k) => ({ label: c, value: k % 4 === 0 ? null : ((k * 7 + i) % 10) / 10, positives: k })),
    }),
  'grouped bars (40 × 2)': (i) =>
    groupedBarChart({
      name: `g${i}`,
      title: 'AP per verb',
      category: 'verb',
      value: { title: 'AP', domain: [0, 1] },
      categories: Array.from({ length: 40 }, (_, k) => `verb${k}`),
      seriesTitle: 'method',
      series: ['S2A', 'keyword'].map((name, s) => ({
        name,
        values: Array.from({ length: 40 }, (_, k) => ((k * 3 + s + i) % 10) / 10),
      })),
    }),
};

const rows: [string, string][] = [];
const result: Record<string, number> = {};
const t0 = performance.now();
await renderSvg(makers['AP bars (14 classes)']!(0));
const firstMs = performance.now() - t0;
rows.push(['first chart of a process (loads vega, vega-lite)', `${firstMs.toFixed(0)} ms`]);
result.first_chart_ms = Math.round(firstMs);
const tmp = await mkdtemp(path.join(os.tmpdir(), 'exp-bench-charts-'));
try {
  for (const [kind, make] of Object.entries(makers)) {
    let svgMs = 0;
    let pngMs = 0;
    for (let i = 1; i <= perKind; i++) {
      const a = performance.now();
      const svg = await renderSvg(make(i));
      const b = performance.now();
      await renderPng(svg);
      pngMs += performance.now() - b;
      svgMs += b - a;
    }
    rows.push([
      `${kind}: SVG / PNG per chart`,
      `${(svgMs / perKind).toFixed(0)} ms / ${(pngMs / perKind).toFixed(0)} ms`,
    ]);
    const key = kind.split(' ')[0]!.toLowerCase();
    result[`${key}_svg_ms`] = Math.round(svgMs / perKind);
    result[`${key}_png_ms`] = Math.round(pngMs / perKind);
  }
  if (existsSync(path.join(runsDir, 'invocations'))) {
    const registry = new StageRegistry();
    for (const k of builtinKinds) registry.register(k);
    const declarations = registry.all().flatMap((k) => (k.report ? [{ kind: k.name, report: k.report }] : []));
    const invocations = (await selectInvocations(runsDir, {})).slice(0, 1);
    const set = await readRunSet(runsDir, invocations);
    const r = await buildReport(set, {
      declarations,
      scope: invocations[0]!.id,
      file: path.join(tmp, 'report.html'),
    });
    rows.push([
      `report of ${invocations[0]!.name} ${invocations[0]!.id}`,
      `${r.ms} ms, ${(r.bytes / 1024).toFixed(0)} KB, ${r.charts} charts (${r.live} live), ${r.tables} tables`,
    ]);
    Object.assign(result, { report_ms: r.ms, report_bytes: r.bytes, report_charts: r.charts, report_tables: r.tables });
  } else {
    rows.push(['report', `no runs in ${runsDir} (make demo first)`]);
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}
for (const [k, v] of rows) console.log(`${k.padEnd(52)} ${v}`);
console.log(JSON.stringify({ bench: 'charts', ...result }));
