// YAML text → plain values plus a parallel tree of source positions, so that every key and
// value of the merged doc can be traced back to the file (and line:col) that defined it.
import { readFileSync } from 'node:fs';
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node as YamlNode } from 'yaml';
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
  const doc = parseDocument(text, { lineCounter, keepSourceTokens: true, prettyErrors: false, uniqueKeys: true });
  const issues: SpecIssue[] = [];
  for (const error of [...doc.errors, ...doc.warnings]) {
    const pos = error.linePos?.[0] ?? lineCounter.linePos(error.pos[0]);
    const duplicate = error.code === 'DUPLICATE_KEY';
    issues.push({
      code: duplicate ? 'duplicate_key' : 'yaml_syntax',
      path: '',
      message: duplicate ? `duplicate key: ${error.message.split('\n')[0]}` : `YAML syntax error: ${error.message.split('\n')[0]}`,
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
  const [value, src] = convert(doc.contents as YamlNode | null, doc, place, 0);
  return { value, src, issues };
}

export function parseYamlFile(file: string, displayFile = file): ParsedFile {
  return parseYamlText(readFileSync(file, 'utf8'), file, displayFile);
}

function convert(node: YamlNode | null, doc: Document, place: (offset: number | undefined) => Origin, depth: number): [unknown, SrcNode] {
  if (node === null || node === undefined) return [null, { at: place(0) }];
  if (depth > 200) throw new Error('YAML nesting deeper than 200 levels');
  const at = place(node.range?.[0]);
  if (isAlias(node)) {
    const target = node.resolve(doc);
    const [value, src] = convert((target ?? null) as YamlNode | null, doc, place, depth + 1);
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
      const [child, childSrc] = valueNode ? convert(valueNode, doc, place, depth + 1) : [null, { at: keyAt }];
      value[key] = child;
      children.set(key, { ...childSrc, keyAt });
    }
    return [value, { at, children }];
  }
  if (isSeq(node)) {
    const value: unknown[] = [];
    const children = new Map<string, SrcNode>();
    node.items.forEach((item, index) => {
      const [child, childSrc] = convert(item as YamlNode | null, doc, place, depth + 1);
      value.push(child);
      children.set(String(index), childSrc);
    });
    return [value, { at, children }];
  }
  if (isScalar(node)) return [node.value, { at }];
  return [(node as { toJSON(): unknown }).toJSON(), { at }];
}

/** A Src tree where every node points at one place (a `--set` value, an environment value). */
export function uniformSrc(value: unknown, at: Origin): SrcNode {
  if (Array.isArray(value)) return { at, children: new Map(value.map((item, i) => [String(i), uniformSrc(item, at)])) };
  if (isRecord(value)) return { at, children: new Map(Object.keys(value).map((k) => [k, { ...uniformSrc(value[k], at), keyAt: at }])) };
  return { at };
}
