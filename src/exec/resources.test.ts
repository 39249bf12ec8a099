// Placement of GPU requests, in particular the optional ones (StageResources.gpuOptional).
import { describe, expect, it } from 'vitest';
import { ResourcePool } from './resources.ts';

const machine = (gpus: number) =>
  new ResourcePool({
    cpus: 2,
    memoryMb: 8192,
    gpus: Array.from({ length: gpus }, (_, id) => ({ id })),
    gpuSource: 'flag',
  });

describe('ResourcePool', () => {
  it('fails a required GPU request on a machine without GPUs', () => {
    expect(machine(0).feasible({ cpus: 1, gpus: 1, memoryMb: 512 })).toMatch(/none are available/);
  });

  it('places an optional GPU request without a GPU where there is none', () => {
    const pool = machine(0);
    const r = { cpus: 1, gpus: 1, memoryMb: 512, gpuOptional: true };
    expect(pool.feasible(r)).toBeUndefined();
    expect(pool.tryAcquire(r)).toEqual({ cpus: 1, memoryMb: 512, gpus: [] });
  });

  it('gives an optional GPU request a GPU where there is one', () => {
    const pool = machine(1);
    const r = { cpus: 1, gpus: 1, memoryMb: 512, gpuOptional: true };
    expect(pool.tryAcquire(r)?.gpus).toEqual([{ id: 0, share: 1 }]);
    // the device is busy now: the second such task waits for it
    expect(pool.tryAcquire(r)).toBeUndefined();
  });
});
