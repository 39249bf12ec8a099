// A task as it crosses a thread or process boundary: plain data only. Events flow back the same
// way for all three runners (inline, pool, process), so reporters never know where a task ran.
import type { JsonValue, StageContext, StageInput, AnyStageKind, StageResult } from '../plan/stage-kind.ts';

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
  return {
    params: task.params,
    inputs: task.inputs,
    ports: Object.fromEntries(
      Object.entries(task.ports).map(([port, stages]) => [port, task.inputs.filter((i) => stages.includes(i.stage))]),
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
  };
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
