// `matrix:` → the list of assignments (key path → value), one per grid point: the cartesian
// product of the axes (first axis slowest), minus `exclude:` matches, plus `include:` entries.
import { canonicalJson } from '../canonical.ts';
import { didYouMean } from './did-you-mean.ts';
import { hintFor } from './issues.ts';
import { absolutePath, formatPath, getAt, parseKeyPath, pathKey } from './key-path.ts';
import { checkSettable } from './settable.ts';
import { isRecord, type Origin, type SrcNode } from './source.ts';
import type { ExecutorLookup, KindLookup, SpecIssue } from './types.ts';

export interface Assigned {
  /** The key path as written in the spec (`finetune.k`). */
  label: string;
  /** Absolute segments (`stages.finetune.with.k`). */
  segments: string[];
  value: unknown;
  /** Where the value was written (for errors and for resolving relative paths). */
  src: SrcNode;
}

export interface Assignment {
  entries: Assigned[];
  /** From an `include:` entry (not subject to exclude). */
  included: boolean;
}

interface Axis {
  label: string;
  segments: string[];
  values: unknown[];
  srcs: SrcNode[];
}

export interface MatrixContext {
  kinds: KindLookup;
  executors?: ExecutorLookup;
  place(at: Origin): { file: string; line: number; col: number };
  issue(issue: SpecIssue): void;
}

/** Resolves a written key path, reporting a malformed or unknown one (with a did-you-mean). */
export function resolveWrittenPath(
  written: string,
  doc: unknown,
  ctx: MatrixContext,
  at: Origin,
  where: string,
): string[] | undefined {
  let writtenSegments: string[];
  try {
    writtenSegments = parseKeyPath(written);
  } catch (e) {
    ctx.issue({ code: 'invalid_path', path: where, message: (e as Error).message, ...ctx.place(at) });
    return undefined;
  }
  const segments = absolutePath(writtenSegments);
  const settable = checkSettable(doc, segments, ctx.kinds, ctx.executors);
  if (settable.ok) return segments;
  const relative = segments !== writtenSegments && segments.length === writtenSegments.length + 2;
  const writtenIndex = !relative ? settable.failedAt : settable.failedAt === 1 ? 0 : settable.failedAt - 2;
  let candidates = settable.candidates;
  if (relative && settable.failedAt === 1)
    candidates = [...candidates, 'name', 'description', 'vars', 'data', 'settings', 'stages'];
  const match = writtenIndex >= 0 ? didYouMean(writtenSegments[writtenIndex]!, candidates) : undefined;
  let hint: string | undefined;
  if (match !== undefined) {
    const fixed = [...writtenSegments];
    fixed[writtenIndex] = match;
    hint = hintFor(formatPath(fixed));
  } else if (relative && settable.failedAt === 1) {
    hint = 'a key path starts with a top-level key (vars, data, settings, stages, ...) or a stage name';
  }
  const missing = formatPath(segments.slice(0, settable.failedAt + 1));
  ctx.issue({
    code: 'unknown_path',
    path: where,
    message: `key path "${written}" does not exist in the spec${relative ? ` (${formatPath(segments)})` : ''}: no ${missing}`,
    ...ctx.place(at),
    hint,
  });
  return undefined;
}

function readEntries(
  entry: unknown,
  entrySrc: SrcNode | undefined,
  doc: unknown,
  ctx: MatrixContext,
  where: string,
): Assigned[] | undefined {
  if (!isRecord(entry)) return undefined;
  const out: Assigned[] = [];
  let ok = true;
  for (const label of Object.keys(entry)) {
    const src = entrySrc?.children?.get(label) ?? entrySrc ?? { at: { file: '', line: 0, col: 0 } };
    const segments = resolveWrittenPath(label, doc, ctx, src.keyAt ?? src.at, `${where}.${label}`);
    if (!segments) ok = false;
    else out.push({ label, segments, value: entry[label], src });
  }
  return ok ? out : undefined;
}

/** Returns the assignments, or undefined when the matrix has problems (reported through ctx). */
export function expandMatrix(
  doc: Record<string, unknown>,
  matrixSrc: SrcNode | undefined,
  ctx: MatrixContext,
): Assignment[] | undefined {
  const matrix = doc.matrix;
  if (matrix === undefined || matrix === null) return [{ entries: [], included: false }];
  if (!isRecord(matrix)) return undefined; // reported by the schema
  const axes: Axis[] = [];
  let ok = true;
  for (const label of Object.keys(matrix)) {
    if (label === 'include' || label === 'exclude') continue;
    const values = matrix[label];
    const src = matrixSrc?.children?.get(label);
    const segments = resolveWrittenPath(
      label,
      doc,
      ctx,
      src?.keyAt ?? src?.at ?? { file: '', line: 0, col: 0 },
      `matrix.${label}`,
    );
    if (!segments) ok = false;
    if (!Array.isArray(values) || values.length === 0) {
      ok = false; // the schema reports the type or the empty list
      continue;
    }
    if (segments)
      axes.push({
        label,
        segments,
        values,
        srcs: values.map((_, i) => src?.children?.get(String(i)) ?? src ?? { at: { file: '', line: 0, col: 0 } }),
      });
  }
  const seenAxes = new Map<string, string>();
  for (const axis of axes) {
    const key = pathKey(axis.segments);
    const other = seenAxes.get(key);
    if (other !== undefined) {
      ok = false;
      const at = matrixSrc?.children?.get(axis.label);
      ctx.issue({
        code: 'duplicate_axis',
        path: `matrix.${axis.label}`,
        message: `matrix keys "${other}" and "${axis.label}" name the same key path ${formatPath(axis.segments)}`,
        ...ctx.place(at?.keyAt ?? at?.at ?? { file: '', line: 0, col: 0 }),
      });
    }
    seenAxes.set(key, axis.label);
  }
  const readList = (name: 'include' | 'exclude'): Assigned[][] => {
    const list = matrix[name];
    const listSrc = matrixSrc?.children?.get(name);
    if (!Array.isArray(list)) return [];
    const out: Assigned[][] = [];
    list.forEach((entry, i) => {
      const entries = readEntries(entry, listSrc?.children?.get(String(i)), doc, ctx, `matrix.${name}[${i}]`);
      if (entries) out.push(entries);
      else if (isRecord(entry)) ok = false;
    });
    return out;
  };
  const include = readList('include');
  const exclude = readList('exclude');
  if (!ok) return undefined;
  // The size is known before a single point is built: refuse a grid past the limit here, not
  // after the heap has run out.
  const limit = maxPoints(doc);
  const size = (axes.length > 0 ? axes.reduce((n, axis) => n * axis.values.length, 1) : 0) + include.length;
  if (size > limit) {
    const at = matrixSrc?.keyAt ?? matrixSrc?.at ?? { file: '', line: 0, col: 0 };
    ctx.issue({
      code: 'too_many_points',
      path: 'matrix',
      message: `the matrix would expand to ${size.toLocaleString('en-US')} points (${axes.map((a) => `${a.label}: ${a.values.length}`).join(' × ')}${include.length > 0 ? ` + ${include.length} included` : ''}), more than the limit of ${limit.toLocaleString('en-US')}`,
      ...ctx.place(at),
      hint: 'shrink the matrix axes, or raise settings.max_points if the grid is meant to be this big',
    });
    return undefined;
  }

  const excluded = (entries: Assigned[]): boolean =>
    exclude.some((rule) =>
      rule.every((cond) => {
        const assigned = entries.find((e) => pathKey(e.segments) === pathKey(cond.segments));
        const actual = assigned ? assigned.value : specValue(doc, cond.segments, ctx.kinds);
        return canonicalJson(actual) === canonicalJson(cond.value);
      }),
    );

  const out: Assignment[] = [];
  if (axes.length > 0) {
    const total = axes.reduce((n, axis) => n * axis.values.length, 1);
    const index = new Array<number>(axes.length).fill(0);
    for (let n = 0; n < total; n++) {
      const entries = axes.map((axis, a) => ({
        label: axis.label,
        segments: axis.segments,
        value: axis.values[index[a]!],
        src: axis.srcs[index[a]!]!,
      }));
      if (!excluded(entries)) out.push({ entries, included: false });
      for (let a = axes.length - 1; a >= 0; a--) {
        index[a]!++;
        if (index[a]! < axes[a]!.values.length) break;
        index[a] = 0;
      }
    }
  } else if (include.length === 0) {
    out.push({ entries: [], included: false });
  }
  for (const entries of include) out.push({ entries, included: true });
  return out;
}

/** Default for `settings.max_points`. */
export const DEFAULT_MAX_POINTS = 100_000;

/** `settings.max_points` when it is a usable count (the schema reports a bad one), else the default. */
function maxPoints(doc: Record<string, unknown>): number {
  const value = isRecord(doc.settings) ? doc.settings.max_points : undefined;
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 ? value : DEFAULT_MAX_POINTS;
}

/** The spec's value at a path; a param left out of `with:` has its kind's default. */
function specValue(doc: Record<string, unknown>, segments: readonly string[], kinds: KindLookup): unknown {
  const found = getAt(doc, segments);
  if (found.found || segments.length !== 4 || segments[0] !== 'stages' || segments[2] !== 'with') return found.value;
  const uses = getAt(doc, ['stages', segments[1]!, 'uses']).value;
  const kind = typeof uses === 'string' ? kinds.get(uses) : undefined;
  const prop = kind && isRecord(kind.paramsSchema.properties) ? kind.paramsSchema.properties[segments[3]!] : undefined;
  return isRecord(prop) ? prop.default : undefined;
}

/** `method=s2a k=20`: last key segment of each path (the full path where two would collide). */
export function pointName(entries: readonly Assigned[]): string {
  if (entries.length === 0) return 'default';
  const last = entries.map((e) => e.segments[e.segments.length - 1]!);
  return entries
    .map((e, i) => {
      const short = last.filter((l) => l === last[i]).length > 1 ? e.label : last[i];
      const value = typeof e.value === 'string' ? e.value : canonicalJson(e.value);
      return `${short}=${value}`;
    })
    .join(' ');
}
