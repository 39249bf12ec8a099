// The local executor: ready nodes run on this machine (the piscina pool, child processes for GPU
// work) under the resource limits of --jobs and --gpus. The default.
import type { ExecutorDefinition } from './registry.ts';

export const localExecutor: ExecutorDefinition = {
  name: 'local',
  description: 'this machine, the default (CPU work in a thread pool, GPU work in child processes)',
  where: () => 'this machine',
  open: async () => undefined,
};
