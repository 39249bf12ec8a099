// `exp compare`: the points of one invocation side by side: the params that vary between them
// and the chosen metrics (latest values), sortable, as a table or JSON.
import { ExpError } from '../errors.ts';
import { findExperimentByName, listExperiments, listRuns } from './file-store-read.ts';
import type { RunRecord } from './types.ts';

export interface CompareOptions {
  /** Parent run id or `exp.invocation` tag; default the latest invocation. */
  invocation?: string;
  /** Metric key globs (`*` any characters, `?` one); default every metric. */
  metrics?: string[];
  /** Column to sort by; `-key` or `key:desc` for descending. Default the point name. */
  sort?: string;
}

export interface CompareRow {
  runId: string;
  name: string;
  status: string;
  pointId: string;
  cached: boolean;
  params: Record<string, string>;
  metrics: Record<string, number | null>;
}

export interface CompareTable {
  experiment: string;
  experimentId: string;
  invocation: string;
  parentRunId: string;
  startTime: number;
  /** Params whose value differs between the points (the grid's axes). */
  params: string[];
  metrics: string[];
  rows: CompareRow[];
  /** Invocations of the experiment, newest first. */
  invocations: { invocation: string; parentRunId: string; runName: string; startTime: number; points: number }[];
}

export function globToRegExp(glob: string): RegExp {
  return new RegExp(
    `^${glob
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('')}$`,
  );
}

export async function compareInvocation(
  storeRoot: string,
  experimentName: string,
  opts: CompareOptions = {},
): Promise<CompareTable> {
  const exp = await findExperimentByName(storeRoot, experimentName);
  if (!exp) {
    const names = (await listExperiments(storeRoot)).map((e) => e.name);
    throw new ExpError('EXP_NOT_FOUND', `no experiment called ${JSON.stringify(experimentName)} in ${storeRoot}`, {
      hint: names.length ? `experiments there: ${names.join(', ')}` : 'run `exp run <spec>` first',
    });
  }
  const runs = await listRuns(storeRoot, exp.experimentId);
  const children = new Map<string, RunRecord[]>();
  for (const r of runs) {
    const p = r.tags['mlflow.parentRunId'];
    if (p) children.set(p, [...(children.get(p) ?? []), r]);
  }
  const parents = runs.filter((r) => !r.tags['mlflow.parentRunId']).sort((a, b) => b.info.startTime - a.info.startTime);
  const invocations = parents.map((p) => ({
    invocation: p.tags['exp.invocation'] ?? p.info.runId,
    parentRunId: p.info.runId,
    runName: p.info.runName,
    startTime: p.info.startTime,
    points: children.get(p.info.runId)?.length ?? 0,
  }));
  const parent = opts.invocation
    ? parents.find((p) => p.info.runId === opts.invocation || p.tags['exp.invocation'] === opts.invocation)
    : parents[0];
  if (!parent) {
    throw new ExpError(
      'EXP_NOT_FOUND',
      opts.invocation
        ? `no invocation ${JSON.stringify(opts.invocation)} in experiment ${JSON.stringify(experimentName)}`
        : `experiment ${JSON.stringify(experimentName)} has no runs yet`,
      {
        hint: invocations.length
          ? `invocations: ${invocations
              .slice(0, 10)
              .map((i) => i.invocation)
              .join(', ')}`
          : 'run `exp run <spec>` first',
      },
    );
  }
  const points = children.get(parent.info.runId) ?? [];

  const paramKeys = [...new Set(points.flatMap((r) => Object.keys(r.params)))].sort();
  const varying = paramKeys.filter((k) => new Set(points.map((r) => r.params[k] ?? '\u0000')).size > 1);
  const metricKeys = [...new Set(points.flatMap((r) => Object.keys(r.metrics)))].sort();
  const patterns = (opts.metrics ?? []).map(globToRegExp);
  const chosen = patterns.length ? metricKeys.filter((k) => patterns.some((p) => p.test(k))) : metricKeys;

  const rows: CompareRow[] = points.map((r) => ({
    runId: r.info.runId,
    name: r.info.runName,
    status: r.info.status,
    pointId: r.tags['exp.point_id'] ?? '',
    cached: r.tags['exp.cached'] === 'true',
    params: Object.fromEntries(varying.map((k) => [k, r.params[k] ?? ''])),
    metrics: Object.fromEntries(chosen.map((k) => [k, r.metrics[k]?.value ?? null])),
  }));
  sortRows(rows, opts.sort ?? 'name', [...varying, ...chosen]);
  return {
    experiment: exp.name,
    experimentId: exp.experimentId,
    invocation: parent.tags['exp.invocation'] ?? parent.info.runId,
    parentRunId: parent.info.runId,
    startTime: parent.info.startTime,
    params: varying,
    metrics: chosen,
    rows,
    invocations,
  };
}

function sortRows(rows: CompareRow[], sort: string, columns: string[]): void {
  let key = sort;
  let desc = false;
  if (key.startsWith('-')) [key, desc] = [key.slice(1), true];
  else if (/:(desc|asc)$/i.test(key)) [key, desc] = [key.replace(/:(desc|asc)$/i, ''), /:desc$/i.test(key)];
  const fixed = ['name', 'status', 'run', 'point'];
  if (!fixed.includes(key) && !columns.includes(key)) {
    throw new ExpError('EXP_ARGS_INVALID', `cannot sort by ${JSON.stringify(key)}: it is not a column`, {
      hint: `columns: ${[...fixed, ...columns].join(', ')}`,
    });
  }
  const value = (r: CompareRow): string | number | null =>
    key === 'name'
      ? r.name
      : key === 'status'
        ? r.status
        : key === 'run'
          ? r.runId
          : key === 'point'
            ? r.pointId
            : key in r.metrics
              ? r.metrics[key]!
              : (r.params[key] ?? null);
  const cmp = (a: string | number | null, b: string | number | null): number => {
    // Missing or NaN values always go last, whatever the direction.
    const missing = (v: string | number | null) => v === null || (typeof v === 'number' && Number.isNaN(v));
    if (missing(a) || missing(b)) return missing(a) === missing(b) ? 0 : missing(a) ? 1 : -1;
    const na = Number(a);
    const nb = Number(b);
    const d =
      a !== '' && b !== '' && Number.isFinite(na) && Number.isFinite(nb)
        ? na - nb
        : String(a).localeCompare(String(b), undefined, { numeric: true });
    return desc ? -d : d;
  };
  rows.sort((a, b) => cmp(value(a), value(b)) || a.name.localeCompare(b.name));
}

function fmt(v: number | null): string {
  if (v === null) return '—';
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3 ? v.toExponential(3) : v.toFixed(4);
}

/** The table as aligned text (numbers right-aligned). */
export function formatCompareTable(t: CompareTable): string {
  const head = ['point', ...t.params, ...t.metrics, 'status'];
  const body = t.rows.map((r) => [
    r.name + (r.cached ? ' (cached)' : ''),
    ...t.params.map((k) => r.params[k] ?? ''),
    ...t.metrics.map((k) => fmt(r.metrics[k] ?? null)),
    r.status,
  ]);
  const numeric = head.map((_, i) => i > t.params.length && i <= t.params.length + t.metrics.length);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const when = new Date(t.startTime).toISOString().slice(0, 16).replace('T', ' ');
  const out = [
    `experiment ${t.experiment} (id ${t.experimentId}) · invocation ${t.invocation} · ${when} UTC · ${t.rows.length} point${t.rows.length === 1 ? '' : 's'}`,
    '',
    line(head),
    line(widths.map((w) => '─'.repeat(w))),
    ...body.map(line),
  ];
  if (t.rows.length === 0) out.push('(no points in this invocation)');
  return `${out.join('\n')}\n`;
}
