// YAML text → plain values plus a parallel tree of source positions, so that every key and
// value of the merged doc can be traced back to the file (and line:col) that defined it.
import { readFileSync, statSync } from 'node:fs';
import {
  LineCounter,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  parseDocument,
  type Document,
  type Node as YamlNode,
} from 'yaml';
import { formatPath } from './key-path.ts';
import type { SpecIssue } from './types.ts';

export interface Origin {
  /** Absolute file path, or `--set PATH=VALUE` for a command-line override. */
  file: string;
  /** 1-based; 0 when not in a file. */
  line: number;
  col: number;
}

/** Where a value (and, for a map entry, its key) was written; children by key or list index. */
export interface SrcNode {
  at: Origin;
  keyAt?: Origin;
  children?: Map<string, SrcNode>;
}

export interface ParsedFile {
  value: unknown;
  src: SrcNode;
  issues: SpecIssue[];
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses YAML text; syntax errors and duplicate keys become issues (all of them). */
export function parseYamlText(text: string, file: string, displayFile = file): ParsedFile {
  const lineCounter = new LineCounter();
  // Integers as BigInt: one beyond 2^53 would otherwise be rounded without a word (see safeInteger).
  const doc = parseDocument(text, {
    lineCounter,
    keepSourceTokens: true,
    prettyErrors: false,
    uniqueKeys: true,
    intAsBigInt: true,
  });
  const issues: SpecIssue[] = [];
  for (const error of [...doc.errors, ...doc.warnings]) {
    const pos = error.linePos?.[0] ?? lineCounter.linePos(error.pos[0]);
    const duplicate = error.code === 'DUPLICATE_KEY';
    issues.push({
      code: duplicate ? 'duplicate_key' : 'yaml_syntax',
      path: '',
      message: duplicate
        ? `duplicate key: ${error.message.split('\n')[0]}`
        : `YAML syntax error: ${error.message.split('\n')[0]}`,
      file: displayFile,
      line: pos.line,
      col: pos.col,
      hint: duplicate ? 'each key may appear once in a map; delete or rename one of them' : undefined,
    });
  }
  const place = (offset: number | undefined): Origin => {
    const pos = lineCounter.linePos(offset ?? 0);
    return { file, line: pos.line, col: pos.col };
  };
  if (doc.errors.length > 0) return { value: undefined, src: { at: place(0) }, issues };
  try {
    const [value, src] = convert(doc.contents as YamlNode | null, doc, place, 0, { aliasNodes: 0 });
    for (const bad of nonFiniteNumbers(value)) {
      const at = srcAt(src, bad.segments);
      issues.push({ ...nonFiniteIssue(bad), file: displayFile, line: at.line, col: at.col });
    }
    for (const bad of unsafeIntegers(value)) {
      const at = srcAt(src, bad.segments);
      issues.push({ ...unsafeIntegerIssue(bad), file: displayFile, line: at.line, col: at.col });
    }
    return { value: issues.length > 0 ? undefined : value, src, issues };
  } catch (e) {
    if (!(e instanceof YamlLimit)) throw e;
    issues.push({
      code: e.code,
      path: '',
      message: e.message,
      file: displayFile,
      line: e.at.line,
      col: e.at.col,
      hint: e.hint,
    });
    return { value: undefined, src: { at: place(0) }, issues };
  }
}

/** Every number in a value that is not finite (`.inf`, `.nan`, `1e400`), with its key path. */
export function nonFiniteNumbers(
  value: unknown,
  segments: string[] = [],
  out: { segments: string[]; value: number }[] = [],
): { segments: string[]; value: number }[] {
  if (typeof value === 'number' && !Number.isFinite(value)) out.push({ segments, value });
  else if (Array.isArray(value)) value.forEach((item, i) => nonFiniteNumbers(item, [...segments, String(i)], out));
  else if (isRecord(value)) for (const key of Object.keys(value)) nonFiniteNumbers(value[key], [...segments, key], out);
  return out;
}

/** The issue for a number that is not finite (its place filled in by the caller). */
export function nonFiniteIssue(bad: { segments: string[]; value: number }): Omit<SpecIssue, 'file' | 'line' | 'col'> {
  const path = formatPath(bad.segments);
  return {
    code: 'non_finite_number',
    path,
    message: `${path || 'the value'}: ${bad.value} is not a finite number (a YAML .inf/.nan, or a number too large for a double such as 1e400)`,
    hint: 'write a finite number; quote it ("1e400") if a string is meant',
  };
}

/**
 * A YAML integer (parsed as BigInt) as a number; unchanged when it lies beyond ±(2^53 − 1),
 * where a double cannot hold every integer and the value would be silently rounded.
 */
export function safeInteger(value: unknown): unknown {
  return typeof value === 'bigint' &&
    value >= BigInt(Number.MIN_SAFE_INTEGER) &&
    value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value;
}

/** A value parsed with `intAsBigInt`, integers made numbers where they are safe (BigInts left where not). */
export function withSafeIntegers(value: unknown): unknown {
  if (typeof value === 'bigint') return safeInteger(value);
  if (Array.isArray(value)) return value.map(withSafeIntegers);
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) out[key] = withSafeIntegers(value[key]);
    return out;
  }
  return value;
}

/** Every integer left as a BigInt (beyond ±(2^53 − 1)), with its key path. */
export function unsafeIntegers(
  value: unknown,
  segments: string[] = [],
  out: { segments: string[]; value: bigint }[] = [],
): { segments: string[]; value: bigint }[] {
  if (typeof value === 'bigint') out.push({ segments, value });
  else if (Array.isArray(value)) value.forEach((item, i) => unsafeIntegers(item, [...segments, String(i)], out));
  else if (isRecord(value)) for (const key of Object.keys(value)) unsafeIntegers(value[key], [...segments, key], out);
  return out;
}

/** The issue for an integer too large to be held exactly (its place filled in by the caller). */
export function unsafeIntegerIssue(bad: {
  segments: string[];
  value: bigint;
}): Omit<SpecIssue, 'file' | 'line' | 'col'> {
  const path = formatPath(bad.segments);
  return {
    code: 'unsafe_integer',
    path,
    message: `${path || 'the value'}: the integer ${bad.value} is beyond ±2^53 (±${Number.MAX_SAFE_INTEGER.toLocaleString('en-US')}), where numbers lose digits: it would be read as ${Number(bad.value)}`,
    hint: 'write an integer of at most 9007199254740991; quote it ("…") if an id or a string is meant, or write it as a float (1e23) if an approximate value is fine',
  };
}

function srcAt(src: SrcNode, segments: readonly string[]): Origin {
  let node: SrcNode | undefined = src;
  for (const segment of segments) node = node?.children?.get(segment);
  return (node ?? src).at;
}

/** Largest spec file read (a spec is a page of YAML; a movie named by mistake is not read whole). */
export const MAX_SPEC_BYTES = 8 * 2 ** 20;

/** Most values a file may produce through `*alias` references (a "billion laughs" file stops here). */
export const MAX_ALIAS_NODES = 100_000;
/** Deepest nesting of maps and lists (aliases included). */
export const MAX_YAML_DEPTH = 200;

class YamlLimit extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly at: Origin,
    readonly hint: string,
  ) {
    super(message);
  }
}

export function parseYamlFile(file: string, displayFile = file): ParsedFile {
  const text = readSpecText(file, displayFile);
  if (typeof text !== 'string') return { value: undefined, src: { at: { file, line: 0, col: 0 } }, issues: [text] };
  return parseYamlText(text, file, displayFile);
}

/** A spec file's text, or the issue saying why it cannot be one (a folder, unreadable, binary). */
export function readSpecText(file: string, displayFile = file): string | SpecIssue {
  const issue = (code: string, message: string, hint: string): SpecIssue => ({
    code,
    path: '',
    message,
    file: displayFile,
    line: 0,
    col: 0,
    hint,
  });
  let bytes: Buffer;
  try {
    const st = statSync(file);
    if (st.isDirectory())
      return issue(
        'not_a_file',
        `${displayFile} is a directory, not a spec file`,
        'name a YAML file (e.g. experiments/quickstart.yaml)',
      );
    // A device or FIFO (/dev/zero, /dev/stdin) could be read forever.
    if (!st.isFile())
      return issue(
        'not_a_file',
        `${displayFile} is not a regular file (a device, pipe or socket)`,
        'name a YAML file (e.g. experiments/quickstart.yaml)',
      );
    if (st.size > MAX_SPEC_BYTES) {
      return issue(
        'file_too_large',
        `${displayFile} is ${(st.size / 2 ** 20).toFixed(1)} MiB; a spec file may be at most ${MAX_SPEC_BYTES / 2 ** 20} MiB`,
        'is this the spec? name the YAML spec file, not a data or media file',
      );
    }
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return issue('file_missing', `spec file not found: ${displayFile}`, 'check the path');
    return issue(
      'file_unreadable',
      `cannot read ${displayFile}: ${code ?? (e as Error).message}`,
      'check that the file exists and that you may read it',
    );
  }
  const binary = () =>
    issue(
      'not_text',
      `${displayFile} is not a YAML text file (it holds binary data)`,
      'name the YAML spec file, not a data or media file',
    );
  if (bytes.includes(0)) return binary();
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return binary();
  }
}

interface Budget {
  /** Values produced so far inside alias expansions. */
  aliasNodes: number;
  /** Set while expanding an alias: the outermost alias's place. */
  alias?: Origin;
}

function convert(
  node: YamlNode | null,
  doc: Document,
  place: (offset: number | undefined) => Origin,
  depth: number,
  budget: Budget,
): [unknown, SrcNode] {
  if (node === null || node === undefined) return [null, { at: place(0) }];
  const at = place(node.range?.[0]);
  if (depth > MAX_YAML_DEPTH) {
    throw new YamlLimit(
      'yaml_too_deep',
      `YAML nesting deeper than ${MAX_YAML_DEPTH} levels`,
      at,
      'flatten the structure (or an alias that refers to itself through its contents)',
    );
  }
  if (budget.alias && ++budget.aliasNodes > MAX_ALIAS_NODES) {
    throw new YamlLimit(
      'yaml_alias_limit',
      `YAML aliases expand to more than ${MAX_ALIAS_NODES.toLocaleString('en-US')} values (an alias bomb?); stopped at the alias here`,
      budget.alias,
      'write the values out, or use fewer nested *alias references (extends: shares a base without aliases)',
    );
  }
  if (isAlias(node)) {
    const target = node.resolve(doc);
    const outer = budget.alias;
    budget.alias ??= at;
    const [value, src] = convert((target ?? null) as YamlNode | null, doc, place, depth + 1, budget);
    budget.alias = outer;
    return [value, { ...src, at }];
  }
  if (isMap(node)) {
    const value: Record<string, unknown> = {};
    const children = new Map<string, SrcNode>();
    for (const pair of node.items) {
      const keyNode = pair.key as YamlNode | null;
      const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode ?? '');
      const keyAt = place(keyNode?.range?.[0]);
      const valueNode = pair.value as YamlNode | null;
      const [child, childSrc] = valueNode ? convert(valueNode, doc, place, depth + 1, budget) : [null, { at: keyAt }];
      value[key] = child;
      children.set(key, { ...childSrc, keyAt });
    }
    return [value, { at, children }];
  }
  if (isSeq(node)) {
    const value: unknown[] = [];
    const children = new Map<string, SrcNode>();
    node.items.forEach((item, index) => {
      const [child, childSrc] = convert(item as YamlNode | null, doc, place, depth + 1, budget);
      value.push(child);
      children.set(String(index), childSrc);
    });
    return [value, { at, children }];
  }
  if (isScalar(node)) return [safeInteger(node.value), { at }];
  return [(node as { toJSON(): unknown }).toJSON(), { at }];
}

/** A Src tree where every node points at one place (a `--set` value, an environment value). */
export function uniformSrc(value: unknown, at: Origin): SrcNode {
  if (Array.isArray(value)) return { at, children: new Map(value.map((item, i) => [String(i), uniformSrc(item, at)])) };
  if (isRecord(value))
    return { at, children: new Map(Object.keys(value).map((k) => [k, { ...uniformSrc(value[k], at), keyAt: at }])) };
  return { at };
}
