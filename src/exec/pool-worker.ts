// Runs one stage task inside a piscina worker thread. Events go back over the transferred port,
// closed by an end marker: the result travels on piscina's own channel, which does not wait for the
// port, so the runner waits for the marker before it takes the result (else a loaded machine drops
// the last metrics of a task).
import type { MessagePort } from 'node:worker_threads';
import { importKind, makeContext, POOL_EVENTS_END, runStage, serialiseError, type TaskSpec } from './task.ts';

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
    port.postMessage(POOL_EVENTS_END);
    port.close();
  }
}
