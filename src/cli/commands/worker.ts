// `exp worker`: take nodes from a bullmq executor's Redis queues and run them into a shared runs
// folder, exactly as `exp run` would locally. SIGINT/SIGTERM: stop taking nodes and finish the
// running ones; a second signal aborts them (they go back to the queue for another worker).
import { detectInventory } from '../../exec/inventory.ts';
import { ExpError } from '../../errors.ts';
import { int, list, parseCommand, str, type CommandSpec } from '../args.ts';
import { makeRegistry, runsDirFrom } from '../workspace.ts';
import type { Io } from './engine.ts';

export const workerSpec: CommandSpec = {
  name: 'worker',
  usage: 'worker --redis URL --runs DIR [--gpus LIST] [--cpus N] [--queue NAME] [--plugin MODULE]...',
  summary: 'Run nodes of `exp run --executor bullmq` from a Redis queue, into a shared runs folder.',
  description:
    'Takes only nodes whose GPUs it has (and runs as many at once as --cpus and --gpus allow). The runs folder\n' +
    'must be the one `exp run` uses (a shared filesystem); load the same --plugin modules as `exp run`.\n' +
    'A worker killed with SIGKILL loses nothing: its node runs again on another worker about 1 s after --lock-ms.\n' +
    'A job from an exp run on another runs folder is refused (back to the queue, said once): never answered from here.',
  options: [
    {
      name: 'redis',
      type: 'string',
      value: 'URL',
      description: 'Redis URL, e.g. redis://10.0.0.5:6379 (also EXP_REDIS)',
    },
    {
      name: 'gpus',
      type: 'string',
      value: 'LIST',
      description: 'GPU ids this worker offers, e.g. 0,1 or none (default: EXP_GPUS, else nvidia-smi)',
    },
    {
      name: 'cpus',
      type: 'string',
      value: 'N',
      description: 'CPU slots for parallel nodes (default: the number of cores)',
    },
    { name: 'queue', type: 'string', value: 'NAME', description: 'queue prefix, as given to exp run (default exp)' },
    {
      name: 'lock-ms',
      type: 'string',
      value: 'MS',
      description:
        "job lock duration, renewed while a node runs; a dead worker's node is retaken about 1 s after it (default 5000)",
    },
    { name: 'quiet', short: 'q', type: 'boolean', description: 'no line per node' },
  ],
  examples: [
    'exp worker --redis redis://10.0.0.5:6379 --runs /shared/runs --gpus 0,1',
    'exp worker --redis redis://127.0.0.1:6379 --runs runs --cpus 4 --plugin ./my-kinds.ts',
  ],
  success: 'stopped after SIGINT/SIGTERM, its running nodes finished',
  errors: ['EXP_PLUGIN_INVALID', 'EXP_EXECUTOR_UNAVAILABLE'],
};

export async function workerCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseCommand(workerSpec, argv);
  const env = io.env ?? process.env;
  const redis = str(values.redis) ?? env.EXP_REDIS;
  if (!redis)
    throw new ExpError('EXP_ARGS_INVALID', 'exp worker needs --redis URL', {
      hint: 'e.g. exp worker --redis redis://127.0.0.1:6379 --runs /shared/runs',
    });
  const runsDir = runsDirFrom(str(values.runs), env);
  const registry = await makeRegistry(list(values.plugin), env);
  const inventory = detectInventory({ gpus: str(values.gpus), jobs: int(values.cpus, 'cpus'), env });
  const lockMs = int(values['lock-ms'], 'lock-ms');
  const { startWorker } = await import('../../exec/bullmq.ts');
  const say = (m: string): void => {
    if (!values.quiet) io.stderr.write(`${new Date().toISOString().slice(11, 19)} ${m}\n`);
  };
  // Refused jobs and a lost Redis are said even with --quiet.
  const warn = (m: string): void => void io.stderr.write(`${new Date().toISOString().slice(11, 19)} ${m}\n`);
  const worker = await startWorker({
    redis,
    runsDir,
    registry,
    inventory,
    queue: str(values.queue),
    lockMs,
    log: say,
    warn,
  });
  io.stderr.write(
    `exp worker pid ${process.pid} · ${redis} · runs ${runsDir} · ${inventory.cpus} CPU slot(s) · GPUs ${inventory.gpus.map((g) => g.id).join(',') || 'none'} · queues ${worker.queues.join(',')}\n`,
  );
  await new Promise<void>((resolve) => {
    let signals = 0;
    const stop = (sig: NodeJS.Signals): void => {
      signals++;
      const force = signals > 1;
      io.stderr.write(
        `${sig}: ${force ? 'aborting running nodes (they go back to the queue)' : 'finishing running nodes, taking no more (again to abort them)'}\n`,
      );
      if (signals > 2) process.exit(130);
      void worker.close(force).finally(() => {
        resolve();
        // Closed: nothing of ours is left; a handle some library forgot must not keep the process up.
        if (!io.signal) setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
      });
    };
    io.signal?.addEventListener('abort', () => stop('SIGTERM'), { once: true });
    if (!io.signal) {
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    }
  });
  return 0;
}
