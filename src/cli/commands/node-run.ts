// `exp node-run JOB.json --runs DIR --result FILE`: run one handed-over node (a Slurm job of the
// slurm executor) through the local executor's per-node code path, then write its outcome to FILE.
// GPUs come from CUDA_VISIBLE_DEVICES as Slurm sets it. With --events FILE its live events (log
// lines, progress, metrics) are appended there as JSON lines while it runs: the driver tails them.
// `exp node-run --index FILE --runs DIR` is one task of a job array: FILE lists each task's job,
// result and events files, and the task's index comes from SLURM_ARRAY_TASK_ID (--task-env).
// Internal: `exp run` writes the job files.
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../atomic.ts';
import { ExpError } from '../../errors.ts';
import { EventsFileWriter } from '../../exec/events-file.ts';
import type { NodeOutcome } from '../../exec/lifecycle.ts';
import { resolveJob, runNodeInStore, type NodeJob } from '../../exec/node-run.ts';
import type { JobGroupIndex } from '../../exec/remote.ts';
import { InlineRunner, PoolRunner, ProcessRunner } from '../../exec/runners.ts';
import { serialiseError } from '../../exec/task.ts';
import { ArtifactStore } from '../../store/store.ts';
import { list, parseCommand, str, type CommandSpec } from '../args.ts';
import { makeRegistry, runsDirFrom } from '../workspace.ts';
import type { Io } from './engine.ts';

export const nodeRunSpec: CommandSpec = {
  name: 'node-run',
  usage: 'node-run <job.json> --runs DIR --result FILE [--events FILE] | node-run --index FILE --runs DIR',
  summary: 'Internal: run one node of `exp run --executor slurm` inside its Slurm job.',
  options: [
    { name: 'result', type: 'string', value: 'FILE', description: 'where to write the node outcome (JSON)' },
    { name: 'events', type: 'string', value: 'FILE', description: 'append live events there (JSON lines)' },
    {
      name: 'index',
      type: 'string',
      value: 'FILE',
      description: "a job array's task list: this task's job, result and events files are at its index",
    },
    {
      name: 'task-env',
      type: 'string',
      value: 'NAME',
      description: "the environment variable holding this task's index (default SLURM_ARRAY_TASK_ID)",
    },
  ],
  examples: [
    'exp node-run KEY.job.json --runs /shared/runs --result KEY.result.json  (as exp run --executor slurm writes it)',
  ],
  success: 'the node is done (or was cached); its outcome is in --result',
  otherExits: [[1, 'the node failed; its outcome is in --result']],
  errors: ['EXP_PLUGIN_INVALID', 'EXP_KIND_UNREGISTERED'],
};

/** This task's files in a job array's index (FILE, and the index from the environment). */
function taskOf(
  indexFile: string,
  taskEnv: string,
  env: NodeJS.ProcessEnv,
): { job: string; result: string; events: string } {
  const index = JSON.parse(readFileSync(indexFile, 'utf8')) as JobGroupIndex;
  const raw = env[taskEnv];
  const i = Number(raw);
  const task = raw !== undefined && /^\d+$/.test(raw) ? index.tasks[i] : undefined;
  if (!task)
    throw new ExpError(
      'EXP_ARGS_INVALID',
      `exp node-run --index ${indexFile}: ${taskEnv}=${raw ?? '(unset)'} names no task of its ${index.tasks.length}`,
    );
  return task;
}

export async function nodeRunCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand(nodeRunSpec, argv);
  const env = io.env ?? process.env;
  const indexFile = str(values.index);
  const task = indexFile ? taskOf(indexFile, str(values['task-env']) ?? 'SLURM_ARRAY_TASK_ID', env) : undefined;
  const file = task?.job ?? positionals[0];
  const result = task?.result ?? str(values.result);
  if (!file || !result) throw new ExpError('EXP_ARGS_INVALID', 'exp node-run needs a job file and --result FILE');
  const job = JSON.parse(readFileSync(file, 'utf8')) as NodeJob;
  const store = new ArtifactStore(runsDirFrom(str(values.runs), env));
  await store.init();
  const registry = await makeRegistry(list(values.plugin), env);
  let resolved: Awaited<ReturnType<typeof resolveJob>>;
  try {
    resolved = await resolveJob(job, store, registry);
  } catch (e) {
    // Said in the result too: the driver fails the node at once, with the reason (another runs
    // folder, a missing input, a kind this machine lacks), instead of finding the job gone later.
    const { stack: _stack, ...err } = serialiseError(e);
    const outcome: NodeOutcome = { key: job.node.key, status: 'failed', error: err, attempts: 0, durationMs: 0 };
    await writeFileAtomic(result, JSON.stringify(outcome));
    throw e;
  }
  const { kind, inputs } = resolved;
  const gpus = (env.CUDA_VISIBLE_DEVICES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => /^\d+$/.test(s))
    .map(Number);
  const cpus = Math.max(1, Math.ceil(job.node.resources.cpus));
  const runners = { inline: new InlineRunner(), pool: new PoolRunner(cpus), process: new ProcessRunner(5000) };
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.on('SIGTERM', stop);
  const eventsFile = task?.events ?? str(values.events);
  const events = eventsFile ? new EventsFileWriter(eventsFile) : undefined;
  try {
    const outcome = await runNodeInStore({
      node: job.node,
      kind,
      inputs,
      store,
      runners,
      gpus,
      signal: controller.signal,
      retries: job.retries,
      rerunInPlace: job.rerunInPlace,
      ...(events
        ? { onStarted: (attempt: number) => events.push({ type: 'started', attempt }), onEvent: (e) => events.push(e) }
        : {}),
    });
    // Every event is in the file before the result appears: the driver reads them all first.
    events?.close();
    await writeFileAtomic(result, JSON.stringify(outcome));
    io.stderr.write(`${job.node.stage} ${job.node.key.slice(0, 10)}: ${outcome.status}\n`);
    return outcome.status === 'done' || outcome.status === 'cached' ? 0 : 1;
  } finally {
    events?.close();
    process.off('SIGTERM', stop);
    await Promise.all(Object.values(runners).map((r) => r.close()));
  }
}
