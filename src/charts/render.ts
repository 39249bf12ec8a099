// Drawing a chart: Vega-Lite → Vega → SVG (vega's headless View, no DOM, no canvas) → PNG
// (resvg, text set in the machine's fonts). vega, vega-lite and resvg are loaded on the first
// chart only, so a command or a stage that draws nothing pays nothing for them.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Chart, VegaLiteSpec } from './build.ts';

type VegaModule = typeof import('vega');
type VegaLiteModule = typeof import('vega-lite');
type ResvgModule = typeof import('@resvg/resvg-js');

let engines: Promise<{ vega: VegaModule; vl: VegaLiteModule }> | undefined;
let resvg: Promise<ResvgModule> | undefined;

function loadVega(): Promise<{ vega: VegaModule; vl: VegaLiteModule }> {
  engines ??= Promise.all([import('vega'), import('vega-lite')]).then(([vega, vl]) => ({ vega, vl }));
  return engines;
}

/** The Vega spec a Vega-Lite spec compiles to (what the report hands to the browser's runtime). */
export async function compileToVega(spec: VegaLiteSpec): Promise<Record<string, unknown>> {
  const { vl } = await loadVega();
  // A copy: Vega tags the data objects it ingests, and the caller's chart stays plain data.
  return vl.compile(structuredClone(spec) as unknown as Parameters<VegaLiteModule['compile']>[0])
    .spec as unknown as Record<string, unknown>;
}

/** The chart as a standalone SVG document. */
export async function renderSvg(chart: Chart | VegaLiteSpec): Promise<string> {
  const { vega } = await loadVega();
  const spec = 'spec' in chart && 'marks' in chart ? (chart as Chart).spec : (chart as VegaLiteSpec);
  const view = new vega.View(vega.parse(await compileToVega(spec)), { renderer: 'none' });
  try {
    return stableIds(await view.toSVG());
  } finally {
    view.finalize();
  }
}

/**
 * vega numbers clip paths and gradients with a counter global to the process (`clip1`, `clip7`…),
 * so the same chart drawn twice in one process gave different bytes: a cache keyed by content, and a
 * sharded gather compared with the unsharded node, saw a change where there was none. The ids are
 * renumbered in order of first appearance, per document.
 */
export function stableIds(svg: string): string {
  const renamed = new Map<string, string>();
  for (const m of svg.matchAll(/\sid="([^"]+)"/g)) {
    const id = m[1]!;
    const base = /^(.*?)\d+$/.exec(id)?.[1];
    if (base !== undefined && !renamed.has(id)) renamed.set(id, `${base}${renamed.size + 1}`);
  }
  if (!renamed.size) return svg;
  return svg.replace(/(\sid="|url\(#|href="#)([^")]+)/g, (whole, lead: string, id: string) => {
    const to = renamed.get(id);
    return to === undefined ? whole : `${lead}${to}`;
  });
}

/**
 * A PNG of an SVG at `scale` (2 = sharp on high-density screens), text in DejaVu Sans where the
 * machine has it (Debian's fonts-dejavu-core; `make deps` installs it), else its sans-serif.
 */
export async function renderPng(svg: string, scale = 2): Promise<Buffer> {
  resvg ??= import('@resvg/resvg-js');
  const { Resvg } = await resvg;
  const r = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: '#ffffff',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  });
  return r.render().asPng();
}

export interface WrittenChart {
  /** File names relative to the folder: `<name>.vl.json`, `<name>.svg`, `<name>.png`. */
  spec: string;
  svg: string;
  png: string;
}

/** Writes the chart's Vega-Lite spec, SVG and PNG into `dir`; returns the file names. */
export async function writeChart(dir: string, chart: Chart, opts: { png?: boolean } = {}): Promise<WrittenChart> {
  await mkdir(dir, { recursive: true });
  const files = { spec: `${chart.name}.vl.json`, svg: `${chart.name}.svg`, png: `${chart.name}.png` };
  const svg = await renderSvg(chart);
  await writeFile(path.join(dir, files.spec), `${JSON.stringify(chartFile(chart), null, 1)}\n`);
  await writeFile(path.join(dir, files.svg), svg);
  if (opts.png !== false) await writeFile(path.join(dir, files.png), await renderPng(svg));
  return files;
}

/**
 * The spec file of a chart: a plain Vega-Lite spec (opens in the Vega editor as is) that also
 * carries the chart's name and expected mark counts under `usermeta`, Vega-Lite's free field.
 */
export function chartFile(chart: Chart): VegaLiteSpec {
  return { ...chart.spec, usermeta: { exp: { name: chart.name, title: chart.title, marks: chart.marks } } };
}

/** Reads back a chart written by writeChart (a report gathering the charts of nodes). */
export async function readChart(file: string): Promise<Chart> {
  const spec = JSON.parse(await readFile(file, 'utf8')) as VegaLiteSpec;
  const meta = (spec.usermeta as { exp?: Partial<Chart> } | undefined)?.exp;
  const { usermeta: _meta, ...rest } = spec;
  const name = typeof meta?.name === 'string' ? meta.name : path.basename(file).replace(/\.vl\.json$/, '');
  const title = typeof meta?.title === 'string' ? meta.title : name;
  return { name, title, description: String(rest.description ?? title), spec: rest, marks: meta?.marks ?? {} };
}

/**
 * The data marks an SVG drawn by Vega holds, by mark type (reference lines left out): what a test
 * compares with `Chart.marks`. Vega writes each mark as `<g class="mark-TYPE role-mark NAME">`
 * holding one element per item.
 */
export function countSvgMarks(svg: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const m of svg.matchAll(/<g class="mark-(\w+) role-mark([^"]*)"[^>]*>([\s\S]*?)<\/g>/g)) {
    if (m[2]!.includes('reference')) continue;
    const items = (m[3]!.match(/<(path|text|line|rect|circle)[\s>]/g) ?? []).length;
    // A mark with no items (a layer whose filter keeps nothing) draws nothing: not counted.
    if (items > 0) counts[m[1]!] = (counts[m[1]!] ?? 0) + (m[1] === 'line' ? 1 : items);
  }
  return counts;
}

/** Vega's browser build (one self-contained script) for pages that render charts themselves. */
export async function vegaBrowserRuntime(): Promise<string> {
  const require = createRequire(import.meta.url);
  const main = require.resolve('vega');
  // vega's package main is build/vega.node.js (or similar) beside the browser bundle.
  const file = path.join(path.dirname(main), 'vega.min.js');
  return readFile(file, 'utf8');
}
