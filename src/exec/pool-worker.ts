// Runs one stage task inside a piscina worker thread. Events go back over the transferred port.
import type { MessagePort } from 'node:worker_threads';
import { importKind, makeContext, runStage, serialiseError, type TaskSpec } from './task.ts';

export default async function runTask({ task, port }: { task: TaskSpec; port: MessagePort }): Promise<unknown> {
  const controller = new AbortController();
  try {
    const kind = await importKind(task.module!, task.kind);
    const result = await runStage(
      kind,
      task,
      makeContext(task, (e) => port.postMessage(e), controller.signal),
    );
    return { ok: true, result: result ?? {} };
  } catch (e) {
    return { ok: false, error: serialiseError(e) };
  } finally {
    port.close();
  }
}
