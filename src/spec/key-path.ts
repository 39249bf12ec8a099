// Key paths, shared by `matrix:`, `include:`/`exclude:`, `${...}` references and `--set`:
// dotted segments; absolute when the first segment is a top-level key, otherwise short for
// `stages.<stage>.with.<rest>`. A segment holding dots is quoted: `a.`b.c`` or `a["b.c"]`.
import { isRecord } from './source.ts';

/** Top-level keys a key path may start with (anything else names a stage). */
export const TOP_LEVEL_KEYS = ['name', 'description', 'vars', 'data', 'settings', 'stages'] as const;
const TOP_LEVEL = new Set<string>(TOP_LEVEL_KEYS);

export type Segments = string[];

/** Splits a key path into segments; throws an Error with a readable message when malformed. */
export function parseKeyPath(text: string): Segments {
  const segments: string[] = [];
  let i = 0;
  let current = '';
  let expectSegment = true;
  const fail = (why: string): never => {
    throw new Error(`malformed key path "${text}": ${why}`);
  };
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '`') {
      const end = text.indexOf('`', i + 1);
      if (end < 0) fail('unclosed backquote');
      current += text.slice(i + 1, end);
      i = end + 1;
      expectSegment = false;
    } else if (ch === '[') {
      const quoted = text[i + 1] === '"' || text[i + 1] === "'";
      if (current !== '' || !expectSegment) {
        if (current !== '') segments.push(current);
        current = '';
      }
      if (quoted) {
        const quote = text[i + 1]!;
        const end = text.indexOf(`${quote}]`, i + 2);
        if (end < 0) fail('unclosed ["..."]');
        segments.push(text.slice(i + 2, end));
        i = end + 2;
      } else {
        const end = text.indexOf(']', i + 1);
        if (end < 0) fail('unclosed [');
        const index = text.slice(i + 1, end).trim();
        if (!/^\d+$/.test(index)) fail(`[${index}] is neither a list index nor a quoted key`);
        segments.push(index);
        i = end + 1;
      }
      expectSegment = false;
      if (i < text.length && text[i] !== '.' && text[i] !== '[') fail('expected "." after "]"');
    } else if (ch === '.') {
      if (current !== '') segments.push(current);
      else if (expectSegment) fail('empty segment');
      current = '';
      expectSegment = true;
      i++;
    } else {
      current += ch;
      expectSegment = false;
      i++;
    }
  }
  if (current !== '') segments.push(current);
  else if (expectSegment) fail(text === '' ? 'empty path' : 'ends with "."');
  return segments;
}

const parsedPaths = new Map<string, readonly string[]>();

/** parseKeyPath, memoised (references repeat in every grid point); the result must not be mutated. */
export function parseKeyPathCached(text: string): readonly string[] {
  let segments = parsedPaths.get(text);
  if (!segments) {
    segments = Object.freeze(absolutePath(parseKeyPath(text)));
    if (parsedPaths.size < 10_000) parsedPaths.set(text, segments);
  }
  return segments;
}

/** Absolute segments: `finetune.k` → `stages.finetune.with.k`; `settings.seed` stays. */
export function absolutePath<T extends readonly string[]>(segments: T): T | string[] {
  if (segments.length === 0 || TOP_LEVEL.has(segments[0]!)) return segments;
  return ['stages', segments[0]!, 'with', ...segments.slice(1)];
}

/** `stages.parse.with.min_count`, `stages.video.needs[0]`, `vars.`a.b``. */
export function formatPath(segments: readonly string[]): string {
  let out = '';
  for (const segment of segments) {
    if (/^\d+$/.test(segment)) out += `[${segment}]`;
    else if (/^[^.`[\]"]+$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `${out === '' ? '' : '.'}\`${segment}\``;
  }
  return out;
}

/** Joined form used as a map key for paths (no segment contains \u0000). */
export function pathKey(segments: readonly string[]): string {
  return segments.join('\u0000');
}

export function getAt(root: unknown, segments: readonly string[]): { found: boolean; value: unknown } {
  let node: unknown = root;
  for (const segment of segments) {
    if (Array.isArray(node)) {
      if (!/^\d+$/.test(segment) || Number(segment) >= node.length) return { found: false, value: undefined };
      node = node[Number(segment)];
    } else if (isRecord(node)) {
      if (!Object.hasOwn(node, segment)) return { found: false, value: undefined };
      node = node[segment];
    } else {
      return { found: false, value: undefined };
    }
  }
  return { found: true, value: node };
}

/**
 * Returns a new root with `value` at `segments`, copying only the containers on the way (the
 * rest is shared with `root`). Missing maps on the way are created.
 */
export function setAt(root: unknown, segments: readonly string[], value: unknown, index = 0): unknown {
  if (index === segments.length) return value;
  const segment = segments[index]!;
  if (Array.isArray(root) && /^\d+$/.test(segment) && Number(segment) < root.length) {
    const copy = root.slice();
    copy[Number(segment)] = setAt(root[Number(segment)], segments, value, index + 1);
    return copy;
  }
  const base = isRecord(root) ? root : {};
  return { ...base, [segment]: setAt(base[segment], segments, value, index + 1) };
}

/** A copy of `root` without the value at `segments` (unchanged when there is none). */
export function deleteAt(root: unknown, segments: readonly string[], index = 0): unknown {
  const segment = segments[index]!;
  const last = index === segments.length - 1;
  if (Array.isArray(root) && /^\d+$/.test(segment) && Number(segment) < root.length) {
    const copy = root.slice();
    if (last) copy.splice(Number(segment), 1);
    else copy[Number(segment)] = deleteAt(root[Number(segment)], segments, index + 1);
    return copy;
  }
  if (!isRecord(root) || !Object.hasOwn(root, segment)) return root;
  const copy = { ...root };
  if (last) delete copy[segment];
  else copy[segment] = deleteAt(root[segment], segments, index + 1);
  return copy;
}
