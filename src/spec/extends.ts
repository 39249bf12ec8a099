// Reads a spec and, recursively, the files it `extends:` (paths relative to the file that names
// them), merging bases first (in list order) and the file itself last.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { didYouMean } from './did-you-mean.ts';
import { hintFor, type IssueList } from './issues.ts';
import { deepMerge, type Sourced } from './merge.ts';
import { isRecord, parseYamlFile, type Origin } from './source.ts';

export interface ExtendsContext {
  issues: IssueList;
  files: string[];
  /** Files from the least specific to the most specific: bases before the files extending them, in list order. */
  layers?: string[];
  display(file: string): string;
}

export function loadWithExtends(file: string, ctx: ExtendsContext, chain: string[] = []): Sourced | undefined {
  const parsed = parseYamlFile(file, ctx.display(file));
  if (!ctx.files.includes(file)) ctx.files.push(file);
  for (const issue of parsed.issues) ctx.issues.add(issue);
  if (parsed.issues.length > 0 && parsed.value === undefined) return undefined;
  if (parsed.value === null || parsed.value === undefined) return { value: {}, src: parsed.src };
  if (!isRecord(parsed.value)) {
    ctx.issues.add({
      code: 'invalid_type',
      path: '',
      message: `a spec must be a map of keys (name, stages, ...), got ${Array.isArray(parsed.value) ? 'a list' : typeof parsed.value}`,
      ...place(parsed.src.at, ctx),
    });
    return undefined;
  }
  const own: Record<string, unknown> = { ...parsed.value };
  const ownSrc = { ...parsed.src, children: new Map(parsed.src.children) };
  const extendsValue = own.extends;
  const extendsSrc = ownSrc.children.get('extends');
  delete own.extends;
  ownSrc.children.delete('extends');

  let merged: Sourced | undefined;
  if (extendsValue !== undefined && extendsValue !== null) {
    const entries =
      typeof extendsValue === 'string' ? [extendsValue] : Array.isArray(extendsValue) ? extendsValue : undefined;
    if (!entries) {
      ctx.issues.add({
        code: 'invalid_type',
        path: 'extends',
        message: `expected a file path or a list of file paths, got ${typeof extendsValue}`,
        ...place(extendsSrc?.at ?? parsed.src.at, ctx),
      });
    } else {
      const here = [...chain, file];
      entries.forEach((entry, index) => {
        const at =
          (typeof extendsValue === 'string' ? extendsSrc?.at : extendsSrc?.children?.get(String(index))?.at) ??
          parsed.src.at;
        const path = typeof extendsValue === 'string' ? 'extends' : `extends[${index}]`;
        if (typeof entry !== 'string' || entry === '') {
          ctx.issues.add({
            code: 'invalid_type',
            path,
            message: `expected a file path, got ${JSON.stringify(entry)}`,
            ...place(at, ctx),
          });
          return;
        }
        const target = resolve(dirname(file), entry);
        if (here.includes(target)) {
          const cycle = [...here.slice(here.indexOf(target)), target].map((f) => ctx.display(f)).join(' → ');
          ctx.issues.add({
            code: 'extends_cycle',
            path,
            message: `extends cycle: ${cycle}`,
            ...place(at, ctx),
            hint: 'a spec cannot extend itself, directly or through its bases; remove one link',
          });
          return;
        }
        if (existsSync(target) && !statSync(target).isFile()) {
          ctx.issues.add({
            code: 'not_a_file',
            path,
            message: `extends: ${entry} is ${statSync(target).isDirectory() ? 'a directory' : 'not a regular file'}, not a spec file (${target})`,
            ...place(at, ctx),
            hint: 'extends: names YAML files; paths are relative to the file that names them',
          });
          return;
        }
        if (!existsSync(target) || !statSync(target).isFile()) {
          ctx.issues.add({
            code: 'file_missing',
            path,
            message: `extends: file not found: ${entry} (looked for ${target})`,
            ...place(at, ctx),
            hint: hintFor(siblingSuggestion(target)) ?? 'paths in extends: are relative to the file that names them',
          });
          return;
        }
        const base = loadWithExtends(target, ctx, here);
        if (base) merged = merged ? deepMerge(merged, base) : base;
      });
    }
  }
  const self: Sourced = { value: own, src: ownSrc };
  ctx.layers?.push(file);
  return merged ? deepMerge(merged, self) : self;
}

export function place(at: Origin, ctx: { display(file: string): string }): { file: string; line: number; col: number } {
  return { file: ctx.display(at.file), line: at.line, col: at.col };
}

/** A YAML file next to a missing one with a close name (`base/speech2acton.yaml` → `speech2action.yaml`). */
export function siblingSuggestion(target: string): string | undefined {
  const dir = dirname(target);
  if (!existsSync(dir)) return undefined;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  const match = didYouMean(basename(target), names);
  return match;
}
