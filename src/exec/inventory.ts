// What this machine offers the scheduler: CPU slots, memory, and GPUs by device id.
// GPUs come from `--gpus 0,1`, else EXP_GPUS, else nvidia-smi when present (none otherwise), so
// GPU placement is testable on machines without one.
import { execFileSyncChild } from '../children.ts';
import os from 'node:os';
import { ExpError } from '../errors.ts';

export interface Gpu {
  id: number;
  memoryMb?: number;
  name?: string;
}

export interface Inventory {
  cpus: number;
  memoryMb: number;
  gpus: Gpu[];
  /** Where the GPU list came from, for `exp run` to print. */
  gpuSource: 'flag' | 'env' | 'nvidia-smi' | 'none';
}

export function parseGpuList(text: string, origin: string): Gpu[] {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === 'none') return [];
  const ids = trimmed.split(',').map((s) => s.trim());
  const gpus: Gpu[] = [];
  for (const id of ids) {
    if (!/^\d+$/.test(id)) {
      throw new ExpError('EXP_ARGS_INVALID', `${origin}: "${text}" is not a comma-separated list of GPU ids`, {
        hint: 'use e.g. --gpus 0,1 (or "none")',
      });
    }
    const n = Number(id);
    if (gpus.some((g) => g.id === n)) throw new ExpError('EXP_ARGS_INVALID', `${origin}: GPU ${n} is listed twice`);
    gpus.push({ id: n });
  }
  return gpus;
}

function fromNvidiaSmi(): Gpu[] | undefined {
  try {
    const out = execFileSyncChild(
      'nvidia-smi',
      ['--query-gpu=index,memory.total,name', '--format=csv,noheader,nounits'],
      {
        encoding: 'utf8',
        timeout: 5000,
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    return out
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => {
        const [id, mem, ...name] = l.split(',').map((s) => s.trim());
        return { id: Number(id), memoryMb: Number(mem), name: name.join(',') };
      })
      .filter((g) => Number.isInteger(g.id));
  } catch {
    return undefined;
  }
}

export function detectInventory(options: { gpus?: string; jobs?: number; env?: NodeJS.ProcessEnv } = {}): Inventory {
  const env = options.env ?? process.env;
  const cpus = options.jobs ?? os.availableParallelism();
  const memoryMb = Math.floor(os.totalmem() / 2 ** 20);
  if (options.gpus !== undefined)
    return { cpus, memoryMb, gpus: parseGpuList(options.gpus, '--gpus'), gpuSource: 'flag' };
  if (env.EXP_GPUS !== undefined)
    return { cpus, memoryMb, gpus: parseGpuList(env.EXP_GPUS, 'EXP_GPUS'), gpuSource: 'env' };
  const smi = fromNvidiaSmi();
  if (smi?.length) return { cpus, memoryMb, gpus: smi, gpuSource: 'nvidia-smi' };
  return { cpus, memoryMb, gpus: [], gpuSource: 'none' };
}
