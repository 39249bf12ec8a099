// The executors exp comes with, registered as a plugin's would be. A new engine is one file
// exporting an ExecutorDefinition, listed here.
import { bullmqExecutor } from './bullmq.ts';
import { localExecutor } from './local.ts';
import { ExecutorRegistry, type ExecutorDefinition } from './registry.ts';
import { slurmExecutor } from './slurm.ts';

export const builtinExecutors: ExecutorDefinition[] = [localExecutor, slurmExecutor, bullmqExecutor];

/** The default executor: nodes run on this machine. */
export const DEFAULT_EXECUTOR = localExecutor.name;

export function builtinExecutorRegistry(): ExecutorRegistry {
  const r = new ExecutorRegistry();
  for (const e of builtinExecutors) r.register(e);
  return r;
}
