// Runs one stage task in its own process (GPU work: CUDA_VISIBLE_DEVICES is set by the parent).
import { importKind, makeContext, runStage, serialiseError, type TaskSpec } from './task.ts';

const controller = new AbortController();

// The parent gone (even killed with SIGKILL), the IPC channel closes: leave at once, so that no
// task process outlives the `exp` that started it. Its node stays unfinished; a rerun redoes it.
process.on('disconnect', () => process.exit(70));
if (!process.connected) process.exit(70); // gone while this module was loading
const send = (m: unknown, done?: () => void): void => {
  process.send?.(m, undefined, {}, () => done?.());
};
const sendAndExit = (m: unknown): void => send(m, () => process.exit(0));

process.on('message', (m: { type: string; task?: TaskSpec }) => {
  if (m.type === 'abort') {
    controller.abort();
    return;
  }
  if (m.type !== 'run' || !m.task) return;
  const task = m.task;
  void (async () => {
    try {
      const kind = await importKind(task.module!, task.kind);
      const result = await runStage(kind, task, makeContext(task, send, controller.signal));
      sendAndExit({ type: 'result', result: result ?? {} });
    } catch (e) {
      sendAndExit({ type: 'error', error: serialiseError(e) });
    }
  })();
});
