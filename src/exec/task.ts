// A task as it crosses a thread or process boundary: plain data only. Events flow back the same
// way for all three runners (inline, pool, process), so reporters never know where a task ran.
import { ExpError } from '../errors.ts';
import {
  type AnyStageKind,
  type JsonValue,
  type ShardTask,
  type StageContext,
  type StageInput,
  type StageResult,
  withCheckedParams,
} from '../plan/stage-kind.ts';

export interface TaskSpec {
  kind: string;
  /** Module exporting `kind` (path or file URL); required for pool and process runners. */
  module?: string;
  params: Record<string, unknown>;
  inputs: StageInput[];
  /** Port name → names of the upstream stages (in `inputs`) that feed it. */
  ports: Record<string, string[]>;
  outDir: string;
  scratchDir: string;
  sharedDir: string;
  seed: number;
  gpus: number[];
  /**
   * A shard of a sharded stage (its items), or its gather (the keys of the shard nodes among
   * `inputs`, in shard order); absent for an ordinary node.
   */
  shard?:
    | ({ role: 'map'; error?: { message: string; hint?: string } } & ShardTask)
    | { role: 'gather'; shards: string[] };
}

export type TaskEvent =
  | { type: 'log'; message: string }
  | { type: 'metric'; key: string; value: number; step?: number; timestamp: number }
  | { type: 'progress'; done: number; total?: number; label?: string }
  | { type: 'artifact'; path: string };

/** The last message of a pool task's event port (pool-worker.ts): every event before it has arrived. */
export const POOL_EVENTS_END = { type: 'pool-events-end' } as const;

export interface TaskRunner {
  run(task: TaskSpec, kind: AnyStageKind, onEvent: (e: TaskEvent) => void, signal: AbortSignal): Promise<StageResult>;
  close(): Promise<void>;
}

/** The StageContext a stage sees, wired to an event sink. */
export function makeContext(task: TaskSpec, emit: (e: TaskEvent) => void, signal: AbortSignal): StageContext {
  // A gather sees the stage's own inputs as usual and its shards' outputs apart, in shard order.
  const shardKeys = task.shard?.role === 'gather' ? new Set(task.shard.shards) : undefined;
  const inputs = shardKeys ? task.inputs.filter((i) => !shardKeys.has(i.key)) : task.inputs;
  const byKey = new Map(task.inputs.map((i) => [i.key, i]));
  return {
    params: task.params,
    inputs,
    ports: Object.fromEntries(
      Object.entries(task.ports).map(([port, stages]) => [port, inputs.filter((i) => stages.includes(i.stage))]),
    ),
    outDir: task.outDir,
    scratchDir: task.scratchDir,
    sharedDir: task.sharedDir,
    seed: task.seed,
    gpus: task.gpus,
    signal,
    log: (message) => emit({ type: 'log', message: String(message) }),
    progress: (done, total, label) => emit({ type: 'progress', done, total, label }),
    metric: (key, value, step) => emit({ type: 'metric', key, value, step, timestamp: Date.now() }),
    artifact: (path) => emit({ type: 'artifact', path }),
    ...(task.shard?.role === 'map'
      ? { shard: { index: task.shard.index, count: task.shard.count, items: task.shard.items } }
      : {}),
    ...(task.shard?.role === 'gather' ? { shards: task.shard.shards.map((k) => byKey.get(k)!) } : {}),
  };
}

/** The function of the kind a task calls: `run`, or a shard's run / the gather of a sharded stage. */
export function runStage(anyKind: AnyStageKind, task: TaskSpec, ctx: StageContext): Promise<StageResult> {
  const kind = withCheckedParams(anyKind);
  if (!task.shard) return kind.run(ctx);
  if (!kind.shard) throw new Error(`stage kind "${kind.name}" was given a shard task but declares no sharding`);
  if (task.shard.role === 'map') {
    if (task.shard.error)
      throw new ExpError('EXP_INPUT_MISSING', task.shard.error.message, { hint: task.shard.error.hint });
    return kind.shard.run(ctx);
  }
  // A decided stage has at least one shard (an empty corpus gives one empty shard).
  if (!task.shard.shards.length) throw new Error(`the shards of ${kind.name} were never decided before its gather`);
  return kind.shard.gather(ctx);
}

/** Load the `kind` export of a stage module (pool workers and child processes). */
const loaded = new Map<string, Promise<Record<string, unknown>>>();

export async function importKind(module: string, name: string): Promise<AnyStageKind> {
  if (!loaded.has(module)) loaded.set(module, loadModule(module));
  const mod = await loaded.get(module)!;
  const candidates = [mod.kind, ...Object.values(mod)].filter(
    (v): v is AnyStageKind => typeof v === 'object' && v !== null && (v as AnyStageKind).name === name,
  );
  if (!candidates.length) throw new Error(`module ${module} does not export stage kind "${name}"`);
  return candidates[0]!;
}

async function loadModule(module0: string): Promise<Record<string, unknown>> {
  // A plugin loaded through tsx's API has `?tsx-namespace=...` in its import.meta.url: drop it.
  const module = module0.replace(/\?tsx-namespace=[^#]*$/, '');
  // Worker threads do not inherit the TypeScript loader: load .ts modules through tsx's API.
  const isTs = /\.[cm]?ts$/.test(module);
  return (
    isTs ? await (await import('tsx/esm/api')).tsImport(module, import.meta.url) : await import(module)
  ) as Record<string, unknown>;
}

export function serialiseError(e: unknown): { message: string; stack?: string; code?: string; hint?: string } {
  if (e instanceof Error) {
    const x = e as Error & { code?: unknown; hint?: unknown };
    return {
      message: e.message,
      stack: e.stack,
      code: typeof x.code === 'string' ? x.code : undefined,
      hint: typeof x.hint === 'string' ? x.hint : undefined,
    };
  }
  return { message: String(e) };
}

export type { JsonValue };
