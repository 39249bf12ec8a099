// What every command needs: the runs folder, the registry (built-in kinds + plugins), the store.
import { accessSync, constants, existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ExpError } from '../errors.ts';
import { builtinExecutorRegistry } from '../exec/builtin.ts';
import type { ExecutorDefinition, ExecutorRegistry } from '../exec/registry.ts';
import { StageRegistry } from '../plan/registry.ts';
import type { AnyStageKind, StageKind } from '../plan/stage-kind.ts';

/**
 * The runs folder from --runs, else EXP_RUNS, else ./runs. An empty value, or a path that is (or
 * lies under) a file, is refused here, naming the option and the path.
 */
export function runsDirFrom(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const from = flag !== undefined ? '--runs' : env.EXP_RUNS !== undefined ? 'EXP_RUNS' : undefined;
  const raw = flag ?? env.EXP_RUNS ?? 'runs';
  if (raw.trim() === '') {
    throw new ExpError('EXP_ARGS_INVALID', `${from} expects a folder, got an empty value`, {
      hint: `pass a folder, e.g. ${from === 'EXP_RUNS' ? 'EXP_RUNS=runs' : '--runs runs'} (leave it out for ./runs)`,
    });
  }
  const dir = path.resolve(raw);
  const blocker = fileInTheWay(dir);
  if (blocker !== undefined) {
    throw new ExpError(
      'EXP_ARGS_INVALID',
      `${from ?? 'the runs folder'} ${raw}: ${blocker === dir ? `${dir} is a file, not a folder` : `${blocker} is a file, so ${dir} cannot be a folder`}`,
      {
        hint: 'point --runs (or EXP_RUNS) at a folder; it is created when missing',
      },
    );
  }
  return dir;
}

/** The nearest existing path at or above `dir` when it is not a folder. */
function fileInTheWay(dir: string): string | undefined {
  for (let p = dir; ; p = path.dirname(p)) {
    try {
      return statSync(p).isDirectory() ? undefined : p;
    } catch {
      if (path.dirname(p) === p) return undefined;
    }
  }
}

/** mlruns is left out: an unwritable tracking store only costs a warning. */
const NOT_CHECKED = new Set(['mlruns']);

/** The folders `exp run` writes into: the runs folder's subfolders and those of cache/ (kinds, .tmp, ...). */
function writtenParts(dir: string): string[] {
  const subfolders = (d: string): string[] => {
    try {
      return readdirSync(d, { withFileTypes: true })
        .filter((e) => e.isDirectory() && !NOT_CHECKED.has(e.name))
        .map((e) => path.join(d, e.name));
    } catch {
      return [d]; // unreadable: reported by the access check
    }
  };
  const top = subfolders(dir);
  return [...top, ...top.filter((p) => path.basename(p) === 'cache').flatMap(subfolders)];
}

/**
 * Up-front check that `exp run` can write its runs folder: the folder and the parts of it that
 * exist, or, when it does not exist yet, the nearest folder above it where it would be created.
 */
export function checkRunsWritable(dir: string): void {
  let existing = dir;
  while (!existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  const targets = existing === dir ? [dir, ...writtenParts(dir)] : [existing];
  for (const target of targets) {
    try {
      accessSync(target, constants.W_OK | constants.X_OK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EACCES';
      throw new ExpError(
        'EXP_RUNS_UNWRITABLE',
        `the runs folder cannot be written: ${target} is not writable (${code})${target === dir ? '' : ` (runs folder ${dir})`}`,
        {
          detail: { path: target, runsDir: dir },
        },
      );
    }
  }
}

function isKind(v: unknown): v is AnyStageKind {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as StageKind).name === 'string' &&
    typeof (v as StageKind).run === 'function'
  );
}

function isExecutor(v: unknown): v is ExecutorDefinition {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as ExecutorDefinition).name === 'string' &&
    typeof (v as ExecutorDefinition).open === 'function'
  );
}

/**
 * Load a plugin module: it exports `kinds` (array), `kind`, or a default array / function(registry,
 * executors); and/or `executors` (an array of executor definitions) or `executor`.
 */
export async function loadPlugin(
  registry: StageRegistry,
  spec: string,
  cwd = process.cwd(),
  executors?: ExecutorRegistry,
): Promise<void> {
  const file = path.resolve(cwd, spec);
  if (!existsSync(file)) {
    throw new ExpError('EXP_PLUGIN_INVALID', `plugin module not found: ${spec} (looked at ${file})`, {
      hint: 'pass a path to a .js/.ts module that exports `kinds` (an array of stage kinds)',
    });
  }
  const url = pathToFileURL(file).href;
  let mod: Record<string, unknown>;
  try {
    mod = (
      /\.[cm]?ts$/.test(file) ? await (await import('tsx/esm/api')).tsImport(url, import.meta.url) : await import(url)
    ) as Record<string, unknown>;
  } catch (e) {
    throw new ExpError('EXP_PLUGIN_INVALID', `plugin ${spec} failed to load: ${(e as Error).message}`, { cause: e });
  }
  const before = new Set(registry.names());
  const found: AnyStageKind[] = [];
  const take = (v: unknown): void => {
    if (Array.isArray(v)) v.filter(isKind).forEach((k) => found.push(k));
    else if (isKind(v)) found.push(v);
  };
  take(mod.kinds);
  take(mod.kind);
  const executorDefs = [...(Array.isArray(mod.executors) ? mod.executors : []), mod.executor].filter(isExecutor);
  if (typeof mod.default === 'function')
    await (mod.default as (r: StageRegistry, e?: ExecutorRegistry) => unknown)(registry, executors);
  else take(mod.default);
  // Otherwise every exported stage kind (or array of them) counts.
  if (!found.length && !executorDefs.length) for (const v of Object.values(mod)) take(v);
  const unique = [...new Set(found)];
  found.length = 0;
  found.push(...unique);
  if (!found.length && !executorDefs.length && typeof mod.default !== 'function') {
    throw new ExpError('EXP_PLUGIN_INVALID', `plugin ${spec} exports no stage kinds`, {
      hint: 'export `kinds` (an array of StageKind objects), `kind`, `executors`, or a default function(registry, executors)',
    });
  }
  for (const k of found) registry.register(k);
  // Kinds of this plugin (registered by it or from its exports): a broken params schema would
  // otherwise surface only when a spec uses the kind. (ajv loads only when a plugin is given.)
  const added = registry.names().filter((name) => !before.has(name) || found.some((k) => k.name === name));
  const { paramsSchemaProblem } = added.length
    ? await import('../spec/schema.ts')
    : { paramsSchemaProblem: () => undefined };
  for (const name of added) {
    const problem = paramsSchemaProblem(registry.get(name)!.paramsSchema);
    if (problem)
      throw new ExpError(
        'EXP_PLUGIN_INVALID',
        `plugin ${spec}: stage kind "${name}" has an invalid params schema: ${problem}`,
        {
          hint: 'paramsSchema must be a JSON Schema (2020-12) object, e.g. { type: "object", properties: { k: { type: "integer" } } }',
        },
      );
  }
  for (const e of executorDefs) executors?.register(e);
}

export async function makeRegistry(plugins: string[], env: NodeJS.ProcessEnv = process.env): Promise<StageRegistry> {
  return (await makeRegistries(plugins, env)).kinds;
}

/** The stage kinds and the executors: the built-in ones, then those of EXP_PLUGINS and --plugin. */
export async function makeRegistries(
  plugins: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ kinds: StageRegistry; executors: ExecutorRegistry }> {
  const kinds = new StageRegistry();
  // The stage kinds load with the first command that needs them, not with `exp --help`.
  const { builtinKinds } = await import('../stages/index.ts');
  for (const k of builtinKinds) kinds.register(k);
  const executors = builtinExecutorRegistry();
  const fromEnv = (env.EXP_PLUGINS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const p of [...fromEnv, ...plugins]) await loadPlugin(kinds, p, process.cwd(), executors);
  return { kinds, executors };
}
