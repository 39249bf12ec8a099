// The tables and charts the stage kinds declare (`StageKind.report`), built from run records.
// Nothing here knows what a kind does: a declaration names axes (params of nodes of some kind),
// metric keys or globs, and which of the kind's own params select the points.
import { type Chart, groupedBarChart, lineChart, scatterChart } from '../charts/index.ts';
import type { JsonValue, KindReport, ReportAxis, ReportColumn, ReportTable } from '../plan/stage-kind.ts';
import { globToRegExp } from './compare.ts';
import type { NodeRecord, PointRecord } from './records.ts';

/** A kind's declaration, as the registry gives it. */
export interface Declaration {
  kind: string;
  report: KindReport;
}

export interface AxisValue {
  /** The param's value; undefined when the point has no node of the axis's kind. */
  raw: JsonValue | undefined;
  label: string;
  /** Sorts absent first, then listed labels in their order, then numbers, then the rest by name. */
  order: [number, number | string];
}

/** An axis's value from the node of its kind (undefined: that node has no such param, or no record). */
function axisValueOfNode(node: NodeRecord | undefined, axis: ReportAxis): AxisValue | undefined {
  if (!node) return axis.absent !== undefined ? { raw: undefined, label: axis.absent, order: [0, 0] } : undefined;
  const params = node.manifest?.params;
  if (!params || !(axis.param in params)) return undefined;
  const raw = params[axis.param] as JsonValue;
  const listed = axis.labels ? Object.keys(axis.labels) : [];
  const at = listed.indexOf(String(raw));
  const label = axis.labels?.[String(raw)] ?? (typeof raw === 'string' ? raw : JSON.stringify(raw));
  const order: [number, number | string] =
    at >= 0 ? [1, at] : typeof raw === 'number' ? [2, raw] : [3, typeof raw === 'string' ? raw : JSON.stringify(raw)];
  return { raw, label, order };
}

function compareOrder(a: AxisValue, b: AxisValue): number {
  if (a.order[0] !== b.order[0]) return a.order[0] - b.order[0];
  const [x, y] = [a.order[1], b.order[1]];
  return typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * What a declaration lays out: each distinct finished node of its kind whose own params match
 * `when`, with the points that contain it (a node shared by several points is one entry: e.g. the
 * HMDB51 evaluation of a pre-trained network, whatever k the points fine-tune AVA with).
 */
export interface ScopedNode {
  key: string;
  points: PointRecord[];
  /** The node's metrics, latest value per key. */
  metrics: Record<string, number>;
}

export function scopedNodes(points: PointRecord[], kind: string, when?: Record<string, JsonValue>): ScopedNode[] {
  const byKey = new Map<string, ScopedNode>();
  for (const p of points)
    for (const n of p.nodes) {
      if (n.kind !== kind || !n.manifest) continue;
      const params = n.manifest.params;
      if (!Object.entries(when ?? {}).every(([k, v]) => sameJson(params[k], v))) continue;
      const entry = byKey.get(n.key) ?? { key: n.key, points: [], metrics: latestMetrics(n.manifest.metrics) };
      entry.points.push(p);
      byKey.set(n.key, entry);
    }
  return [...byKey.values()];
}

/** Latest value per metric key (max by step, then timestamp), as the tracker reads them. */
function latestMetrics(
  metrics: { key: string; value: number; step?: number; timestamp: number }[],
): Record<string, number> {
  const best = new Map<string, { step: number; ts: number; value: number }>();
  for (const m of metrics) {
    const step = m.step ?? 0;
    const b = best.get(m.key);
    if (!b || step > b.step || (step === b.step && m.timestamp >= b.ts))
      best.set(m.key, { step, ts: m.timestamp, value: m.value });
  }
  return Object.fromEntries([...best].map(([k, v]) => [k, v.value]));
}

/**
 * An axis's value for a scoped node: from the nearest node of the axis's kind upstream of it (the
 * mining that made its pre-training clips, the fine-tuning it evaluates), so that two nodes of one
 * kind in a point (AVA and HMDB51 fine-tuning) each give their own; absent when none is upstream.
 */
export function nodeAxisValue(s: ScopedNode, axis: ReportAxis, index: NodeIndex): AxisValue | undefined {
  const seen = new Set<string>();
  const queue = [...(index.get(s.key)?.manifest?.inputs ?? []).map((i) => i.key)];
  while (queue.length) {
    const key = queue.shift()!;
    if (seen.has(key)) continue;
    seen.add(key);
    const node = index.get(key);
    if (!node) return undefined; // an ancestor without a record: the answer cannot be known
    if (node.kind === axis.kind) return axisValueOfNode(node, axis);
    queue.push(...(node.manifest?.inputs ?? []).map((i) => i.key));
  }
  return axisValueOfNode(undefined, axis);
}

export type NodeIndex = Map<string, NodeRecord>;

export function nodeIndex(points: PointRecord[]): NodeIndex {
  return new Map(points.flatMap((p) => p.nodes.map((n) => [n.key, n] as const)));
}

/** `method=s2a k=5`, or `method=s2a k=0 and 3 more points` for a shared node. */
export function pointsLabel(s: ScopedNode): string {
  return s.points.length === 1
    ? s.points[0]!.name
    : `${s.points[0]!.name} and ${s.points.length - 1} more point${s.points.length > 2 ? 's' : ''}`;
}

export interface TableCell {
  text: string;
  value?: number | null;
  best?: boolean;
}

export interface TableModel {
  id: string;
  title: string;
  caption?: string;
  head: string[];
  /** How many leading columns are the row axes (then metrics, then the point). */
  axisColumns: number;
  rows: { pointId: string; pointName: string; cells: TableCell[] }[];
}

/** Metric columns: exact keys as given, globs expanded over the metrics the points have (sorted). */
function expandColumns(columns: ReportColumn[], metrics: Record<string, number>[]): { key: string; title: string }[] {
  const keys = [...new Set(metrics.flatMap((m) => Object.keys(m)))].sort();
  const out: { key: string; title: string }[] = [];
  for (const c of columns) {
    if (!/[*?]/.test(c.metric)) {
      out.push({ key: c.metric, title: c.title ?? c.metric });
      continue;
    }
    const re = globToRegExp(c.metric);
    const prefix = c.metric.slice(0, c.metric.search(/[*?]/));
    for (const k of keys)
      if (re.test(k) && !out.some((o) => o.key === k)) out.push({ key: k, title: k.slice(prefix.length) });
  }
  return out;
}

/** A metric for a table cell; `whole`: the column holds whole numbers only (counts), so no decimals. */
export function formatMetric(v: number | null | undefined, whole = false): string {
  if (v === null || v === undefined || Number.isNaN(v)) return 'n/a';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (whole && Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(3);
}

/** Whether every finite value of a column is a whole number (then it is printed without decimals). */
export function wholeColumn(values: (number | null | undefined)[]): boolean {
  return values.every((v) => v === null || v === undefined || !Number.isFinite(v) || Number.isInteger(v));
}

export function buildTable(d: Declaration, t: ReportTable, points: PointRecord[]): TableModel | undefined {
  const axes = t.rows.map((name) => d.report.axes[name]!);
  const index = nodeIndex(points);
  const rows = scopedNodes(points, d.kind, t.when)
    .map((n) => ({ n, values: axes.map((a) => nodeAxisValue(n, a, index)) }))
    .filter((r) => r.values.every((v) => v !== undefined)) as { n: ScopedNode; values: AxisValue[] }[];
  if (rows.length === 0) return undefined;
  rows.sort((a, b) => {
    for (let i = 0; i < axes.length; i++) {
      const c = compareOrder(a.values[i]!, b.values[i]!);
      if (c) return c;
    }
    return pointsLabel(a.n).localeCompare(pointsLabel(b.n));
  });
  const columns = expandColumns(
    t.columns,
    rows.map((r) => r.n.metrics),
  );
  const whole = columns.map((c) => wholeColumn(rows.map((r) => r.n.metrics[c.key])));
  const best = columns.map((c) => {
    const vals = rows.map((r) => r.n.metrics[c.key]).filter((v): v is number => Number.isFinite(v));
    if (!t.best || vals.length < 2) return undefined;
    return t.best === 'max' ? Math.max(...vals) : Math.min(...vals);
  });
  return {
    id: t.id,
    title: t.title,
    caption: t.caption,
    head: [...axes.map((a) => a.title), ...columns.map((c) => c.title), 'point'],
    axisColumns: axes.length,
    rows: rows.map((r) => ({
      pointId: r.n.points[0]!.id,
      pointName: pointsLabel(r.n),
      cells: [
        ...r.values.map((v) => ({ text: v.label })),
        ...columns.map((c, i) => {
          const v = r.n.metrics[c.key];
          const value = Number.isFinite(v) ? v! : null;
          return { text: formatMetric(value, whole[i]), value, best: value !== null && value === best[i] };
        }),
        { text: pointsLabel(r.n) },
      ],
    })),
  };
}

/** One chart per declared chart (per facet value for faceted bars); none where the points give no data. */
export function buildCharts(d: Declaration, points: PointRecord[]): { id: string; chart: Chart }[] {
  const out: { id: string; chart: Chart }[] = [];
  const axes = d.report.axes;
  const index = nodeIndex(points);
  for (const c of d.report.charts ?? []) {
    const scoped = scopedNodes(points, d.kind, c.when);
    if (c.type === 'line') {
      const x = axes[c.x]!;
      const s = axes[c.series]!;
      const rows = scoped
        .map((n) => ({ x: nodeAxisValue(n, x, index), s: nodeAxisValue(n, s, index), y: n.metrics[c.y.metric] }))
        .filter((r) => r.x && r.s && Number.isFinite(r.y)) as { x: AxisValue; s: AxisValue; y: number }[];
      // A line needs an x that is a number (k), and at least two points to join.
      if (rows.length < 2 || !rows.every((r) => typeof r.x.raw === 'number')) continue;
      const seriesOrder = [...new Map(rows.map((r) => [r.s.label, r.s])).values()].sort(compareOrder);
      const styles = axisStyles(scoped, s, index);
      out.push({
        id: c.id,
        chart: lineChart({
          name: c.id,
          title: c.title,
          x: { title: x.title, ordinal: true },
          y: { title: c.y.title ?? c.y.metric, domain: c.yDomain ?? [0, 1] },
          seriesTitle: s.title,
          points: true,
          series: seriesOrder.map((sv) => ({
            name: sv.label,
            style: styles.get(sv.label),
            points: rows
              .filter((r) => r.s.label === sv.label)
              .map((r) => ({ x: r.x.raw as number, y: r.y }))
              .sort((a, b) => a.x - b.x),
          })),
        }),
      });
    } else if (c.type === 'paired') {
      const axis = axes[c.axis]!;
      const match = c.match.map((m) => axes[m]!);
      const re = globToRegExp(c.metrics);
      const prefix = c.metrics.slice(0, c.metrics.search(/[*?]/));
      const groups = new Map<string, { label: string; order: AxisValue[]; x?: ScopedNode; y?: ScopedNode }>();
      for (const n of scoped) {
        const v = nodeAxisValue(n, axis, index);
        const m = match.map((a) => nodeAxisValue(n, a, index));
        if (!v || m.some((x) => !x)) continue;
        const key = JSON.stringify(m.map((x) => x!.raw));
        const g = groups.get(key) ?? {
          label: m.map((x, i) => `${match[i]!.title}=${x!.label}`).join(' '),
          order: m as AxisValue[],
        };
        if (sameJson(v.raw, c.x)) g.x = n;
        if (sameJson(v.raw, c.y)) g.y = n;
        groups.set(key, g);
      }
      const ordered = [...groups.values()].filter((g) => g.x && g.y);
      ordered.sort((a, b) => {
        for (let i = 0; i < a.order.length; i++) {
          const r = compareOrder(a.order[i]!, b.order[i]!);
          if (r) return r;
        }
        return 0;
      });
      const dots = ordered.flatMap((g) =>
        Object.keys(g.x!.metrics)
          .filter((k) => re.test(k) && Number.isFinite(g.x!.metrics[k]) && Number.isFinite(g.y!.metrics[k]))
          .map((k) => ({ x: g.x!.metrics[k]!, y: g.y!.metrics[k]!, label: k.slice(prefix.length), series: g.label })),
      );
      if (dots.length === 0) continue;
      const label = (v: JsonValue) => axis.labels?.[String(v)] ?? String(v);
      out.push({
        id: c.id,
        chart: scatterChart({
          name: c.id,
          title: c.title,
          description: `One dot per item and ${match.map((m) => m.title).join(', ')}: its value after ${label(c.x)} (x) and after ${label(c.y)} (y) ${axis.title}; above the diagonal, ${label(c.y)} is higher.`,
          x: { title: label(c.x), ...(c.domain ? { domain: c.domain } : {}) },
          y: { title: label(c.y), ...(c.domain ? { domain: c.domain } : {}) },
          diagonal: true,
          seriesTitle: match.map((m) => m.title).join(', '),
          points: dots,
        }),
      });
    } else {
      const series = axes[c.series]!;
      const facet = c.facet ? axes[c.facet] : undefined;
      const re = globToRegExp(c.metrics);
      const prefix = c.metrics.slice(0, c.metrics.search(/[*?]/));
      const facets = new Map<string, { value?: AxisValue; nodes: ScopedNode[] }>();
      for (const n of scoped) {
        const f = facet ? nodeAxisValue(n, facet, index) : undefined;
        if (facet && !f) continue;
        const key = f ? JSON.stringify(f.raw ?? null) : '';
        const entry = facets.get(key) ?? { value: f, nodes: [] };
        entry.nodes.push(n);
        facets.set(key, entry);
      }
      const ordered = [...facets.values()].sort((a, b) => (a.value && b.value ? compareOrder(a.value, b.value) : 0));
      const styles = axisStyles(scoped, series, index);
      for (const f of ordered) {
        const rows = f.nodes.map((n) => ({ n, s: nodeAxisValue(n, series, index) })).filter((r) => r.s) as {
          n: ScopedNode;
          s: AxisValue;
        }[];
        rows.sort((a, b) => compareOrder(a.s, b.s));
        const labels = [...new Set(rows.map((r) => r.s.label))];
        const categories = [...new Set(rows.flatMap((r) => Object.keys(r.n.metrics).filter((k) => re.test(k))))]
          .sort()
          .map((k) => k.slice(prefix.length));
        if (labels.length === 0 || categories.length === 0) continue;
        const id = f.value ? `${c.id}-${slug(String(f.value.raw ?? 'none'))}` : c.id;
        out.push({
          id,
          chart: groupedBarChart({
            name: id,
            title: f.value ? `${c.title} (${facet!.title} = ${f.value.label})` : c.title,
            value: { title: c.valueTitle, ...(c.domain ? { domain: c.domain } : {}) },
            category: 'class',
            categories,
            missing: 'n/a: no value for this class after that pre-training',
            seriesTitle: series.title,
            series: labels.map((l) => {
              const n = rows.find((r) => r.s.label === l)!.n;
              return {
                name: l,
                style: styles.get(l),
                values: categories.map((cat) => n.metrics[`${prefix}${cat}`] ?? null),
              };
            }),
          }),
        });
      }
    }
  }
  return out;
}

/** Palette slot of each label of an axis over all the declaration's nodes: one value, one colour, in every chart. */
function axisStyles(scoped: ScopedNode[], axis: ReportAxis, index: NodeIndex): Map<string, number> {
  const values = [
    ...new Map(
      scoped.flatMap((n) => {
        const v = nodeAxisValue(n, axis, index);
        return v ? [[v.label, v] as const] : [];
      }),
    ).values(),
  ].sort(compareOrder);
  return new Map(values.map((v, i) => [v.label, i]));
}

export function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 40) || 'x';
}
