// What every command needs: the runs folder, the registry (built-in kinds + plugins), the store.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ExpError } from '../errors.ts';
import { StageRegistry } from '../plan/registry.ts';
import type { StageKind } from '../plan/stage-kind.ts';
import { builtinKinds } from '../stages/index.ts';

export function runsDirFrom(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(flag ?? env.EXP_RUNS ?? 'runs');
}

function isKind(v: unknown): v is StageKind<any> {
  return typeof v === 'object' && v !== null && typeof (v as StageKind).name === 'string' && typeof (v as StageKind).run === 'function';
}

/** Load a plugin module: it exports `kinds` (array), `kind`, or a default array / function(registry). */
export async function loadPlugin(registry: StageRegistry, spec: string, cwd = process.cwd()): Promise<void> {
  const file = path.resolve(cwd, spec);
  if (!existsSync(file)) {
    throw new ExpError('EXP_PLUGIN_INVALID', `plugin module not found: ${spec} (looked at ${file})`, {
      hint: 'pass a path to a .js/.ts module that exports `kinds` (an array of stage kinds)',
    });
  }
  const url = pathToFileURL(file).href;
  let mod: Record<string, unknown>;
  try {
    mod = (/\.[cm]?ts$/.test(file) ? await (await import('tsx/esm/api')).tsImport(url, import.meta.url) : await import(url)) as Record<string, unknown>;
  } catch (e) {
    throw new ExpError('EXP_PLUGIN_INVALID', `plugin ${spec} failed to load: ${(e as Error).message}`, { cause: e });
  }
  const found: StageKind<any>[] = [];
  const take = (v: unknown): void => {
    if (Array.isArray(v)) v.filter(isKind).forEach((k) => found.push(k));
    else if (isKind(v)) found.push(v);
  };
  take(mod.kinds);
  take(mod.kind);
  if (typeof mod.default === 'function') await (mod.default as (r: StageRegistry) => unknown)(registry);
  else take(mod.default);
  // Otherwise every exported stage kind (or array of them) counts.
  if (!found.length) for (const v of Object.values(mod)) take(v);
  const unique = [...new Set(found)];
  found.length = 0;
  found.push(...unique);
  if (!found.length && typeof mod.default !== 'function') {
    throw new ExpError('EXP_PLUGIN_INVALID', `plugin ${spec} exports no stage kinds`, {
      hint: 'export `kinds` (an array of StageKind objects), `kind`, or a default function(registry)',
    });
  }
  for (const k of found) registry.register(k);
}

export async function makeRegistry(plugins: string[], env: NodeJS.ProcessEnv = process.env): Promise<StageRegistry> {
  const registry = new StageRegistry();
  for (const k of builtinKinds) registry.register(k);
  const fromEnv = (env.EXP_PLUGINS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const p of [...fromEnv, ...plugins]) await loadPlugin(registry, p);
  return registry;
}
