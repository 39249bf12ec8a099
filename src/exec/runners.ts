// Three places a task can run: inline (this process), pool (piscina worker thread for CPU-bound
// JavaScript), process (a child process with CUDA_VISIBLE_DEVICES set to exactly its GPUs).
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import { forkChild } from '../children.ts';
import type { AnyStageKind, StageResult } from '../plan/stage-kind.ts';
import {
  makeContext,
  POOL_EVENTS_END,
  runStage,
  serialiseError,
  type TaskEvent,
  type TaskRunner,
  type TaskSpec,
} from './task.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
// Compiled (dist/*.js), the worker and child entries are JavaScript and need no loader. From the
// TypeScript sources (vitest), they load through tsx's, by absolute URL: a bare `tsx` would be
// resolved from the user's working folder, where it is not installed.
const fromSources = import.meta.url.endsWith('.ts');
const entryExt = fromSources ? '.ts' : '.js';
const entryExecArgv = fromSources ? ['--import', import.meta.resolve('tsx')] : [];

/** Rebuild an error thrown on the other side, keeping code and hint (piscina drops custom fields). */
function revive(err: { message: string; stack?: string; code?: string; hint?: string }): Error {
  const e = new Error(err.message) as Error & { code?: string; hint?: string };
  if (err.stack) e.stack = err.stack;
  if (err.code) {
    e.code = err.code;
    e.name = 'ExpError';
  }
  if (err.hint) e.hint = err.hint;
  return e;
}

export class InlineRunner implements TaskRunner {
  async run(
    task: TaskSpec,
    kind: AnyStageKind,
    onEvent: (e: TaskEvent) => void,
    signal: AbortSignal,
  ): Promise<StageResult> {
    return runStage(kind, task, makeContext(task, onEvent, signal));
  }
  async close(): Promise<void> {}
}

export class PoolRunner implements TaskRunner {
  private pool: Piscina | undefined;
  constructor(private readonly threads: number) {}

  // piscina is loaded with the first pool task: `exp --help` and a cached run never pay for it.
  private async piscina(): Promise<Piscina> {
    if (this.pool) return this.pool;
    const { Piscina } = await import('piscina');
    this.pool ??= new Piscina({
      filename: path.join(here, `pool-worker${entryExt}`),
      execArgv: entryExecArgv,
      minThreads: 0,
      maxThreads: Math.max(1, this.threads),
      idleTimeout: 30_000,
    });
    return this.pool;
  }

  async run(
    task: TaskSpec,
    kind: AnyStageKind,
    onEvent: (e: TaskEvent) => void,
    signal: AbortSignal,
  ): Promise<StageResult> {
    if (!kind.module) throw new Error(`stage kind "${kind.name}" runs in the pool but declares no module`);
    const { port1, port2 } = new MessageChannel();
    // Every event the task sent, up to its end marker (or the port closing with the thread).
    const drained = new Promise<void>((resolve) => {
      port1.on('message', (e: TaskEvent | typeof POOL_EVENTS_END) => {
        if (e.type === POOL_EVENTS_END.type) resolve();
        else onEvent(e);
      });
      port1.once('close', () => resolve());
    });
    try {
      const reply = (await (
        await this.piscina()
      ).run({ task: { ...task, module: kind.module }, port: port2 }, { transferList: [port2], signal })) as
        | { ok: true; result: StageResult }
        | { ok: false; error: { message: string; stack?: string; code?: string; hint?: string } };
      await drained;
      if (!reply.ok) throw revive(reply.error);
      return reply.result;
    } finally {
      port1.close();
    }
  }

  async close(): Promise<void> {
    await this.pool?.destroy();
  }
}

export class ProcessRunner implements TaskRunner {
  private readonly children = new Set<ChildProcess>();
  constructor(private readonly graceMs = 5000) {}

  run(task: TaskSpec, kind: AnyStageKind, onEvent: (e: TaskEvent) => void, signal: AbortSignal): Promise<StageResult> {
    if (!kind.module)
      return Promise.reject(new Error(`stage kind "${kind.name}" runs in a process but declares no module`));
    const env = { ...process.env, CUDA_VISIBLE_DEVICES: task.gpus.join(',') };
    // Dies with this process even under SIGKILL (children.ts); it also leaves when the IPC channel closes.
    const child = forkChild(path.join(here, `process-child${entryExt}`), [], {
      execArgv: entryExecArgv,
      env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.children.add(child);
    child.stdout?.on('data', (b: Buffer) => onEvent({ type: 'log', message: b.toString().replace(/\n$/, '') }));
    child.stderr?.on('data', (b: Buffer) => onEvent({ type: 'log', message: b.toString().replace(/\n$/, '') }));
    return new Promise<StageResult>((resolve, reject) => {
      let settled = false;
      let killTimer: NodeJS.Timeout | undefined;
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        if (killTimer) clearTimeout(killTimer);
        signal.removeEventListener('abort', onAbort);
        fn();
      };
      const onAbort = (): void => {
        child.send?.({ type: 'abort' });
        killTimer = setTimeout(() => child.kill('SIGKILL'), this.graceMs);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      child.on('message', (m: { type: string } & Record<string, unknown>) => {
        if (m.type === 'result') finish(() => resolve(m.result as StageResult));
        else if (m.type === 'error') finish(() => reject(revive(m.error as { message: string })));
        else onEvent(m as unknown as TaskEvent);
      });
      child.on('exit', (code, sig) => {
        this.children.delete(child);
        finish(() =>
          reject(
            new Error(
              signal.aborted ? 'interrupted' : `task process exited (${sig ?? `code ${code}`}) before finishing`,
            ),
          ),
        );
      });
      child.send({ type: 'run', task: { ...task, module: kind.module } });
    });
  }

  async close(): Promise<void> {
    for (const c of this.children) c.kill('SIGKILL');
  }
}

export { serialiseError };
