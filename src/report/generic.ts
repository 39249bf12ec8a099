// What any grid gets in its report, whatever its kinds: training curves across nodes, the
// headline metrics across points, and the charts each node published (`*.vl.json` artifacts).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { barChart, type Chart, lineChart, MAX_SERIES, readChart } from '../charts/index.ts';
import { formatMetric, slug } from './declared.ts';
import type { NodeRecord, PointRecord } from './records.ts';

/** A node of the covered points, with the points that contain it. */
export interface SharedNode {
  node: NodeRecord;
  points: PointRecord[];
}

/** Every distinct node of the points (by key), in the order the points list them. */
export function distinctNodes(points: PointRecord[]): SharedNode[] {
  const byKey = new Map<string, SharedNode>();
  for (const p of points)
    for (const n of p.nodes) {
      const entry = byKey.get(n.key) ?? { node: n, points: [] };
      entry.points.push(p);
      byKey.set(n.key, entry);
    }
  return [...byKey.values()];
}

/**
 * What a node's points have in common, as words (`method=s2a`): a label for the node in charts
 * that put several nodes of one stage side by side. Empty when the points share nothing.
 */
export function commonValues(points: PointRecord[]): string {
  const values = (p: PointRecord): Record<string, unknown> => ({ ...p.assignment, ...p.overrides });
  const first = values(points[0]!);
  const shared = Object.entries(first).filter(([k, v]) =>
    points.every((p) => JSON.stringify(values(p)[k]) === JSON.stringify(v)),
  );
  return shared.map(([k, v]) => `${k.split('.').at(-1)}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
}

/** Metric keys logged with several steps by a node: training curves. */
function curves(n: NodeRecord): Map<string, { x: number; y: number }[]> {
  const out = new Map<string, { x: number; y: number }[]>();
  for (const m of n.manifest?.metrics ?? []) {
    if (m.step === undefined || !Number.isFinite(m.value)) continue;
    const list = out.get(m.key) ?? [];
    list.push({ x: m.step, y: m.value });
    out.set(m.key, list);
  }
  for (const [k, v] of out) if (new Set(v.map((p) => p.x)).size < 2) out.delete(k);
  return out;
}

/**
 * Loss curves (metrics named *loss* logged per step): one chart per stage and metric, one line
 * per node, labelled by what its points have in common.
 */
export function lossCharts(points: PointRecord[]): { id: string; chart: Chart; note?: string }[] {
  const groups = new Map<
    string,
    { stage: string; key: string; series: { name: string; points: { x: number; y: number }[] }[] }
  >();
  for (const { node, points: ps } of distinctNodes(points)) {
    for (const [key, pts] of curves(node)) {
      if (!/loss/i.test(key)) continue;
      const id = `${node.stage}:${key}`;
      const g = groups.get(id) ?? { stage: node.stage, key, series: [] };
      const base = commonValues(ps) || node.stage;
      const name = g.series.some((s) => s.name === base) ? `${base} (${node.key.slice(0, 6)})` : base;
      g.series.push({ name, points: pts.sort((a, b) => a.x - b.x) });
      groups.set(id, g);
    }
  }
  return [...groups.values()].map((g) => {
    const shown = g.series.slice(0, MAX_SERIES);
    const id = `loss-${slug(g.stage)}-${slug(g.key)}`;
    return {
      id,
      chart: lineChart({
        name: id,
        title: `${g.key} of ${g.stage}, per step`,
        x: { title: 'step (epoch)', integer: true },
        y: { title: g.key },
        seriesTitle: `${g.stage} node`,
        series: shown,
      }),
      ...(shown.length < g.series.length ? { note: `${g.series.length - shown.length} more nodes not drawn` } : {}),
    };
  });
}

/** One bar chart per headline metric that at least two points have: the metric per point, n/a where missing. */
export function headlineCharts(points: PointRecord[], headline: string[]): { id: string; chart: Chart }[] {
  if (points.length < 2) return [];
  // Only metrics that tell points apart (a shared node's metric is the same in all its points).
  return headline
    .filter((k) => new Set(points.flatMap((p) => (Number.isFinite(p.metrics[k]) ? [p.metrics[k]] : []))).size >= 2)
    .map((k) => {
      const id = `headline-${slug(k)}`;
      return {
        id,
        chart: barChart({
          name: id,
          title: `${k} per point`,
          value: { title: k },
          category: 'point',
          horizontal: true,
          labelFormat: '.3f',
          missing: 'n/a: the point has no such metric',
          bars: points.map((p) => ({ label: p.name, value: Number.isFinite(p.metrics[k]) ? p.metrics[k]! : null })),
        }),
      };
    });
}

export interface NodeChart {
  chart: Chart;
  /** The SVG the node wrote beside the spec (absolute path), when there is one. */
  svgFile?: string;
  specFile: string;
}

/** The charts a node published (its `*.vl.json` artifacts), read back with their SVG. */
export async function nodeCharts(node: NodeRecord): Promise<NodeChart[]> {
  if (!node.manifest || !node.dir) return [];
  const out: NodeChart[] = [];
  for (const a of node.manifest.artifacts) {
    if (!a.endsWith('.vl.json')) continue;
    const specFile = path.join(node.dir, a);
    if (!existsSync(specFile)) continue;
    const chart = await readChart(specFile);
    const svgFile = specFile.replace(/\.vl\.json$/, '.svg');
    out.push({ chart, specFile, ...(existsSync(svgFile) ? { svgFile } : {}) });
  }
  return out;
}

export async function readSvg(file: string): Promise<string> {
  return readFile(file, 'utf8');
}

export { formatMetric };
