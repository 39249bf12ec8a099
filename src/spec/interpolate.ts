// `${a.b}` references, resolved per point after the matrix values are applied. A string that is
// exactly `${x}` takes the referenced value with its type; embedded references are stringified;
// `$${` is a literal `${`; `${env:NAME}` / `${env:NAME,default}` read the environment.
import { didYouMean } from './did-you-mean.ts';
import { hintFor } from './issues.ts';
import { deepFreeze } from '../canonical.ts';
import { formatPath, getAt, parseKeyPath, parseKeyPathCached, pathKey } from './key-path.ts';
import { isRecord } from './source.ts';

type Part = { literal: string } | { ref: string };

const templateCache = new Map<string, Part[]>();

/** True when the string needs interpolation (holds `${` or the `$${` escape). */
export function hasTemplate(text: string): boolean {
  return text.includes('${');
}

export function parseTemplate(text: string): Part[] {
  const cached = templateCache.get(text);
  if (cached) return cached;
  const parts: Part[] = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i)) {
      literal += '${';
      i += 3;
    } else if (text.startsWith('${', i)) {
      const end = text.indexOf('}', i + 2);
      if (end < 0) throw new Error(`unclosed "\${" in ${JSON.stringify(text)}`);
      if (literal) parts.push({ literal });
      literal = '';
      parts.push({ ref: text.slice(i + 2, end).trim() });
      i = end + 1;
    } else {
      literal += text[i];
      i++;
    }
  }
  if (literal) parts.push({ literal });
  if (templateCache.size < 10_000) templateCache.set(text, parts);
  return parts;
}

/** Paths (segments) of every string holding a template, under `prefix`. */
export function findTemplates(value: unknown, prefix: string[] = [], out: string[][] = []): string[][] {
  if (typeof value === 'string') {
    if (hasTemplate(value)) out.push(prefix);
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => findTemplates(item, [...prefix, String(i)], out));
  } else if (isRecord(value)) {
    for (const key of Object.keys(value)) findTemplates(value[key], [...prefix, key], out);
  }
  return out;
}

export interface InterpolationProblem {
  code: 'unknown_reference' | 'reference_cycle' | 'invalid_reference';
  /** Path of the string holding the bad reference. */
  segments: string[];
  message: string;
  hint?: string;
}

export interface InterpolationResult {
  doc: Record<string, unknown>;
  /** Site path key → the path its whole-string reference took its value from (for origins). */
  wholeRefs: Map<string, string[]>;
  problems: InterpolationProblem[];
}

export interface InterpolationOptions {
  env: NodeJS.ProcessEnv;
  /** Default of a param not written in the spec (`${finetune.k}` when k is left at its default). */
  paramDefault(stage: string, param: string): { found: boolean; value: unknown };
  /**
   * Shared by the points of one spec: a frozen (shared) container that resolves to the same
   * values as in an earlier point gives the same frozen copy, so later steps cache by identity.
   */
  intern?: WeakMap<object, { values: unknown[]; copy: object }[]>;
}

function stringify(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** The paths of template strings as a trie: a site, or a container holding sites below it. */
export interface SiteTrie {
  site: boolean;
  /** The node's path, built once (the trie is reused by every point of a grid). */
  segments: string[];
  key: string;
  children: Map<string, SiteTrie>;
}

export function buildSiteTrie(sites: readonly (readonly string[])[]): SiteTrie {
  const root: SiteTrie = { site: false, segments: [], key: '', children: new Map() };
  for (const site of sites) {
    let node = root;
    for (const segment of site) {
      let child = node.children.get(segment);
      if (!child) {
        const segments = [...node.segments, segment];
        child = { site: false, segments, key: pathKey(segments), children: new Map() };
        node.children.set(segment, child);
      }
      node = child;
    }
    node.site = true;
  }
  return root;
}

function trieAt(root: SiteTrie, segments: readonly string[]): SiteTrie | undefined {
  let node: SiteTrie | undefined = root;
  for (const segment of segments) {
    node = node.children.get(segment);
    if (!node) return undefined;
  }
  return node;
}

function internCopy(options: InterpolationOptions, raw: object, values: unknown[], make: () => object): object {
  const table = options.intern;
  // Only shared (frozen) containers can recur in another point.
  if (!table || !Object.isFrozen(raw)) return make();
  let entries = table.get(raw);
  if (!entries) {
    entries = [];
    table.set(raw, entries);
  }
  for (const entry of entries) {
    if (entry.values.length === values.length && entry.values.every((v, i) => v === values[i])) return entry.copy;
  }
  const copy = deepFreeze(make());
  if (entries.length < 256) entries.push({ values, copy });
  return copy;
}

/** Resolves every template site of `doc` (given as a trie), copying only the containers that change. */
export function interpolate(
  doc: Record<string, unknown>,
  trie: SiteTrie,
  options: InterpolationOptions,
): InterpolationResult {
  const problems: InterpolationProblem[] = [];
  const wholeRefs = new Map<string, string[]>();
  if (trie.children.size === 0) return { doc, wholeRefs, problems };

  const memo = new Map<SiteTrie, unknown>();
  const stack: SiteTrie[] = [];
  const stackPaths: string[][] = [];

  // Only paths in the trie hold templates; anything else is returned as written.
  const resolvePath = (raw: unknown, node: SiteTrie): unknown => {
    if (memo.has(node)) return memo.get(node);
    const segments = node.segments;
    const index = stack.indexOf(node);
    if (index >= 0) {
      const cycle = [...stackPaths.slice(index), segments].map((s) => formatPath(s)).join(' → ');
      problems.push({
        code: 'reference_cycle',
        segments: stackPaths[stackPaths.length - 1] ?? segments,
        message: `reference cycle: ${cycle}`,
        hint: 'a value cannot depend on itself; break one of the references',
      });
      return null;
    }
    stack.push(node);
    stackPaths.push(segments);
    let value: unknown = raw;
    if (typeof raw === 'string') {
      if (hasTemplate(raw)) value = resolveString(raw, node);
    } else if (Array.isArray(raw)) {
      const changed: [number, unknown][] = [];
      for (const [segment, child] of node.children) {
        const i = Number(segment);
        if (i < raw.length) changed.push([i, resolvePath(raw[i], child)]);
      }
      value = internCopy(
        options,
        raw,
        changed.map((c) => c[1]),
        () => {
          const copy = raw.slice();
          for (const [i, v] of changed) copy[i] = v;
          return copy;
        },
      );
    } else if (isRecord(raw)) {
      const changed: [string, unknown][] = [];
      for (const [segment, child] of node.children) {
        if (segment in raw) changed.push([segment, resolvePath(raw[segment], child)]);
      }
      value = internCopy(
        options,
        raw,
        changed.map((c) => c[1]),
        () => {
          const copy: Record<string, unknown> = { ...raw };
          for (const [k, v] of changed) copy[k] = v;
          return copy;
        },
      );
    }
    stack.pop();
    stackPaths.pop();
    memo.set(node, value);
    return value;
  };

  const lookup = (ref: string, from: string[]): unknown => {
    if (ref.startsWith('env:')) {
      const body = ref.slice(4);
      const comma = body.indexOf(',');
      const name = (comma < 0 ? body : body.slice(0, comma)).trim();
      const value = options.env[name];
      if (value !== undefined) return value;
      if (comma >= 0) return body.slice(comma + 1);
      problems.push({
        code: 'unknown_reference',
        segments: from,
        message: `environment variable ${name} is not set (\${${ref}} in ${formatPath(from)})`,
        hint: `set ${name}, or give a default: \${env:${name},default}`,
      });
      return null;
    }
    let target: readonly string[];
    try {
      target = parseKeyPathCached(ref);
    } catch (e) {
      problems.push({
        code: 'invalid_reference',
        segments: from,
        message: `${(e as Error).message} (in ${formatPath(from)})`,
      });
      return null;
    }
    const found = getAt(doc, target);
    if (found.found) {
      const node = trieAt(trie, target);
      return node ? resolvePath(found.value, node) : found.value;
    }
    if (target.length === 4 && target[0] === 'stages' && target[2] === 'with') {
      const fallback = options.paramDefault(target[1]!, target[3]!);
      if (fallback.found) return fallback.value;
    }
    problems.push({
      code: 'unknown_reference',
      segments: from,
      message: `unknown reference \${${ref}} in ${formatPath(from)}: ${formatPath(target)} does not exist`,
      hint: hintFor(suggestReference(doc, [...target], ref)),
    });
    return null;
  };

  const resolveString = (text: string, node: SiteTrie): unknown => {
    const segments = node.segments;
    let parts: Part[];
    try {
      parts = parseTemplate(text);
    } catch (e) {
      problems.push({
        code: 'invalid_reference',
        segments,
        message: `${(e as Error).message} in ${formatPath(segments)}`,
        hint: 'write $${ for a literal ${',
      });
      return text;
    }
    const only = parts.length === 1 ? parts[0] : undefined;
    if (only && 'ref' in only) {
      const value = lookup(only.ref, segments);
      if (!only.ref.startsWith('env:')) {
        try {
          wholeRefs.set(node.key, [...parseKeyPathCached(only.ref)]);
        } catch {
          // already reported by lookup
        }
      }
      return value;
    }
    return parts.map((part) => ('literal' in part ? part.literal : stringify(lookup(part.ref, segments)))).join('');
  };

  const out = resolvePath(doc, trie) as Record<string, unknown>;
  return { doc: out, wholeRefs, problems };
}

/** `${finetune.kk}` → `finetune.k`: replaces the first segment that does not exist by its closest sibling. */
function suggestReference(doc: unknown, target: string[], written: string): string | undefined {
  let node: unknown = doc;
  for (let i = 0; i < target.length; i++) {
    const segment = target[i]!;
    if (!isRecord(node)) return undefined;
    if (!(segment in node)) {
      const match = didYouMean(segment, Object.keys(node));
      if (match === undefined) return undefined;
      const writtenSegments = parseKeyPath(written);
      const offset = target.length - writtenSegments.length;
      const at = offset === 2 && i === 1 ? 0 : i - offset;
      if (at < 0) return undefined;
      writtenSegments[at] = match;
      return `\${${formatPath(writtenSegments)}}`;
    }
    node = node[segment];
  }
  return undefined;
}
