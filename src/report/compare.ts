// `exp compare`: every point a spec has had in this runs folder, from any invocation (run, cached
// or failed), one row per point named by the values that define it, the headline metrics (or the
// metrics a glob picks) as columns; as text that fits the terminal, JSON or CSV.
import { ExpError } from '../errors.ts';
import type { PointRecord, RunSet } from './records.ts';

export interface CompareOptions {
  /** Metric key globs (`*` any characters, `?` one); default the headline metrics. */
  metrics?: string[];
  /** Column to sort by: `name`, `status`, `point`, `last run`, a param or a metric; `-KEY` or `KEY:desc` descending. Default: grid order. */
  sort?: string;
}

export interface CompareRow {
  id: string;
  name: string;
  status: string;
  /** Matrix values and --set overrides together (key path → value). */
  values: Record<string, unknown>;
  metrics: Record<string, number | null>;
  /** The newest invocation that had the point, and how many did. */
  invocation: string;
  runs: number;
  startedAt: number;
}

export interface CompareTable {
  experiment: string;
  /** Keys of `values` that differ between rows (the grid's axes, over every invocation). */
  params: string[];
  metrics: string[];
  rows: CompareRow[];
  invocations: { id: string; startedAt: number; status: string; points: number; command: string[] }[];
}

export function globToRegExp(glob: string): RegExp {
  return new RegExp(
    `^${glob
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('')}$`,
  );
}

/** Training curves and timings are not what a comparison is about when no kind declared headlines. */
const NOT_HEADLINE = /(loss|\.lr|seconds|_ms)$/;

export function compareTable(set: RunSet, opts: CompareOptions = {}): CompareTable {
  const keys = [...new Set(set.points.flatMap((p) => Object.keys(p.metrics)))].sort();
  let metrics: string[];
  if (opts.metrics?.length) {
    const patterns = opts.metrics.map(globToRegExp);
    metrics = keys.filter((k) => patterns.some((p) => p.test(k)));
  } else {
    const headline = set.headline.filter((k) => keys.includes(k)).sort();
    metrics = headline.length ? headline : keys.filter((k) => !NOT_HEADLINE.test(k)).slice(0, 6);
  }
  const values = (p: PointRecord): Record<string, unknown> => ({ ...p.assignment, ...p.overrides });
  const paramKeys = [...new Set(set.points.flatMap((p) => Object.keys(values(p))))];
  const params = paramKeys.filter((k) => new Set(set.points.map((p) => JSON.stringify(values(p)[k]))).size > 1);
  const rows: CompareRow[] = set.points.map((p) => ({
    id: p.id,
    name: p.name,
    status: p.status,
    values: values(p),
    metrics: Object.fromEntries(metrics.map((k) => [k, p.metrics[k] ?? null])),
    invocation: p.invocation,
    runs: p.invocations.length,
    startedAt: p.startedAt,
  }));
  if (opts.sort) sortRows(rows, opts.sort, [...params, ...metrics]);
  return {
    experiment: set.name,
    params,
    metrics,
    rows,
    invocations: set.invocations.map((i) => ({
      id: i.id,
      startedAt: i.startedAt,
      status: i.status,
      points: i.points.length,
      command: i.command,
    })),
  };
}

function sortRows(rows: CompareRow[], sort: string, columns: string[]): void {
  let key = sort;
  let desc = false;
  if (key.startsWith('-')) [key, desc] = [key.slice(1), true];
  else if (/:(desc|asc)$/i.test(key)) [key, desc] = [key.replace(/:(desc|asc)$/i, ''), /:desc$/i.test(key)];
  const fixed = ['name', 'status', 'point', 'last run'];
  if (!fixed.includes(key) && !columns.includes(key)) {
    throw new ExpError('EXP_ARGS_INVALID', `cannot sort by ${JSON.stringify(key)}: it is not a column`, {
      hint: `columns: ${[...fixed, ...columns].join(', ')}`,
    });
  }
  const value = (r: CompareRow): unknown =>
    key === 'name'
      ? r.name
      : key === 'status'
        ? r.status
        : key === 'point'
          ? r.id
          : key === 'last run'
            ? r.startedAt
            : key in r.metrics
              ? r.metrics[key]
              : r.values[key];
  const missing = (v: unknown) => v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v));
  rows.sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    // Missing values always go last, whatever the direction.
    if (missing(va) || missing(vb)) return missing(va) === missing(vb) ? 0 : missing(va) ? 1 : -1;
    const d =
      typeof va === 'number' && typeof vb === 'number'
        ? va - vb
        : String(va).localeCompare(String(vb), undefined, { numeric: true });
    return desc ? -d : d;
  });
}

export function formatValue(v: number | null | undefined): string {
  if (v === null || v === undefined) return 'n/a';
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toFixed(4);
}

/** Words to lines of at most `width` characters (a longer word stays whole). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

const when = (ms: number): string => new Date(ms).toISOString().slice(5, 16).replace('T', ' ');

/**
 * The table as text no wider than `width`: point names and metric values; metric titles break at
 * their first dot onto two header lines when that is narrower, and metric columns that still do
 * not fit go to further blocks, each starting with the point names again.
 */
export function formatCompareText(t: CompareTable, width = 100): string {
  const out: string[] = [];
  const first = t.invocations.at(-1);
  const last = t.invocations[0];
  out.push(
    ...wrap(
      `${t.experiment}: ${t.rows.length} point${t.rows.length === 1 ? '' : 's'} from ${t.invocations.length} invocation${t.invocations.length === 1 ? '' : 's'}${first && last ? ` (${when(first.startedAt)} … ${when(last.startedAt)} UTC)` : ''}`,
      width,
    ),
  );
  if (t.rows.length === 0) return `${out.join('\n')}\n(no points)\n`;
  const anyNotDone = t.rows.some((r) => r.status !== 'done');
  const suffix = (r: CompareRow) => (r.status !== 'done' ? ` (${r.status})` : '');
  const full = t.rows.map((r) => r.name + suffix(r));
  const nameW = Math.min(Math.max(5, ...full.map((n) => n.length)), Math.max(16, Math.floor(width / 2)));
  // A name too long for its column loses its end, never the status after it.
  const names = t.rows.map((r, i) => {
    if (full[i]!.length <= nameW) return full[i]!;
    const keep = Math.max(1, nameW - suffix(r).length - 1);
    return `${r.name.slice(0, keep)}…${suffix(r)}`;
  });
  const cell = (s: string, w: number, right: boolean) =>
    s.length > w ? `${s.slice(0, w - 1)}…` : right ? s.padStart(w) : s.padEnd(w);
  const runsCol = { title: ['', 'runs'], values: t.rows.map((r) => String(r.runs)) };
  const lastCol = { title: ['', 'last run'], values: t.rows.map((r) => when(r.startedAt)) };
  const metricCols = t.metrics.map((m) => {
    const values = t.rows.map((r) => formatValue(r.metrics[m]));
    const vw = Math.max(...values.map((v) => v.length));
    const dot = m.indexOf('.');
    const split = dot > 0 && Math.max(dot + 1, m.length - dot - 1) < m.length && m.length > vw;
    return { title: split ? [m.slice(0, dot + 1), m.slice(dot + 1)] : ['', m], values };
  });
  const colW = (c: { title: string[]; values: string[] }) =>
    Math.max(...c.title.map((s) => s.length), ...c.values.map((v) => v.length));
  // Blocks of metric columns that fit beside the names (the run columns go with the last block).
  const blocks: (typeof metricCols)[] = [[]];
  let used = nameW;
  for (const c of metricCols) {
    const w = colW(c) + 2;
    if (used + w > width && blocks.at(-1)!.length > 0) {
      blocks.push([]);
      used = nameW;
    }
    blocks.at(-1)!.push(c);
    used += w;
  }
  const tail = [runsCol, lastCol];
  const tailW = tail.reduce((s, c) => s + colW(c) + 2, 0);
  const lastBlock = blocks.at(-1)!;
  const lastUsed = nameW + lastBlock.reduce((s, c) => s + colW(c) + 2, 0);
  if (lastUsed + tailW <= width) lastBlock.push(...tail);
  else blocks.push(tail);
  for (const cols of blocks) {
    const widths = cols.map(colW);
    const head = (line: number) =>
      [cell(line === 1 ? 'point' : '', nameW, false), ...cols.map((c, i) => cell(c.title[line]!, widths[i]!, true))]
        .join('  ')
        .trimEnd();
    out.push('');
    if (cols.some((c) => c.title[0])) out.push(head(0));
    out.push(head(1));
    out.push([nameW, ...widths].map((w) => '─'.repeat(w)).join('  '));
    t.rows.forEach((_, r) =>
      out.push(
        [cell(names[r]!, nameW, false), ...cols.map((c, i) => cell(c.values[r]!, widths[i]!, true))]
          .join('  ')
          .trimEnd(),
      ),
    );
  }
  if (anyNotDone) out.push('', ...wrap('(status) after a name: the point did not finish in its latest run', width));
  return `${out.join('\n')}\n`;
}

/** RFC 4180 CSV: point, id, status, the varying values, the metrics (empty when missing), runs, last run. */
export function formatCompareCsv(t: CompareTable): string {
  const q = (v: unknown): string => {
    const s =
      v === undefined || v === null
        ? ''
        : typeof v === 'string'
          ? v
          : typeof v === 'number'
            ? String(v)
            : JSON.stringify(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [['point', 'id', 'status', ...t.params, ...t.metrics, 'runs', 'last_invocation'].map(q).join(',')];
  for (const r of t.rows)
    lines.push(
      [
        r.name,
        r.id,
        r.status,
        ...t.params.map((k) => r.values[k]),
        ...t.metrics.map((k) => (r.metrics[k] === null ? '' : r.metrics[k])),
        r.runs,
        r.invocation,
      ]
        .map(q)
        .join(','),
    );
  return `${lines.join('\n')}\n`;
}
