// Bookkeeping of free CPU slots, memory and GPU capacity. A task asking for n ≥ 1 GPUs gets n
// whole, otherwise idle devices; a fractional request (0.5) shares a device whose remaining
// capacity covers it. Two tasks never share a GPU unless both asked for a fraction.
import type { Inventory } from './inventory.ts';

export interface Request {
  cpus: number;
  gpus: number;
  memoryMb: number;
  /** Runs without a GPU where the machine has none (StageResources.gpuOptional). */
  gpuOptional?: boolean;
}

export interface Grant {
  cpus: number;
  memoryMb: number;
  gpus: { id: number; share: number }[];
}

export class ResourcePool {
  private freeCpus: number;
  private freeMem: number;
  private readonly gpuFree = new Map<number, number>();

  constructor(private readonly inventory: Inventory) {
    this.freeCpus = inventory.cpus;
    this.freeMem = inventory.memoryMb;
    for (const g of inventory.gpus) this.gpuFree.set(g.id, 1);
  }

  /** Can this request ever be met on this machine? (Otherwise the node fails at once.) */
  feasible(r0: Request): string | undefined {
    const r = this.effective(r0);
    if (r.gpus > 0 && this.inventory.gpus.length === 0) {
      return `needs ${r.gpus} GPU(s) but none are available (set --gpus or EXP_GPUS, or run where nvidia-smi lists GPUs)`;
    }
    if (r.gpus >= 1 && Math.ceil(r.gpus) > this.inventory.gpus.length) {
      return `needs ${r.gpus} GPUs but only ${this.inventory.gpus.length} exist`;
    }
    return undefined;
  }

  /** An optional GPU request on a machine without GPUs becomes a request for none. */
  private effective(r: Request): Request {
    return r.gpuOptional && this.inventory.gpus.length === 0 ? { ...r, gpus: 0 } : r;
  }

  tryAcquire(r0: Request): Grant | undefined {
    const r = this.effective(r0);
    // A task asking for more CPUs than exist is clamped, else it could never start.
    const cpus = Math.min(Math.max(r.cpus, 0), this.inventory.cpus);
    const mem = Math.min(r.memoryMb, this.inventory.memoryMb);
    if (cpus > this.freeCpus + 1e-9 || mem > this.freeMem) return undefined;
    const gpus: { id: number; share: number }[] = [];
    if (r.gpus >= 1) {
      const need = Math.ceil(r.gpus);
      const idle = [...this.gpuFree].filter(([, free]) => free >= 1).map(([id]) => id);
      if (idle.length < need) return undefined;
      for (const id of idle.slice(0, need)) gpus.push({ id, share: 1 });
    } else if (r.gpus > 0) {
      // Best fit: the most used device that still has room keeps whole devices free.
      const fit = [...this.gpuFree].filter(([, free]) => free + 1e-9 >= r.gpus).sort((a, b) => a[1] - b[1])[0];
      if (!fit) return undefined;
      gpus.push({ id: fit[0], share: r.gpus });
    }
    this.freeCpus -= cpus;
    this.freeMem -= mem;
    for (const g of gpus) this.gpuFree.set(g.id, this.gpuFree.get(g.id)! - g.share);
    return { cpus, memoryMb: mem, gpus };
  }

  cpusExhausted(): boolean {
    return this.freeCpus < 1e-6;
  }

  release(g: Grant): void {
    this.freeCpus += g.cpus;
    this.freeMem += g.memoryMb;
    for (const x of g.gpus) this.gpuFree.set(x.id, Math.min(1, this.gpuFree.get(x.id)! + x.share));
  }
}
