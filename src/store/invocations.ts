// A record of every `exp run`: which points it had, which node each stage of each point used, and
// how each ended. `exp ls`, `exp show` and resume diagnostics read these.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../atomic.ts';

export type PointStatus = 'running' | 'done' | 'failed' | 'cancelled';

export interface InvocationPoint {
  id: string;
  name: string;
  assignment: Record<string, unknown>;
  /** stage name → node key */
  nodes: Record<string, string>;
  status: PointStatus;
  metrics: Record<string, number>;
  failed?: { stage: string; key: string; error: string }[];
}

export interface InvocationRecord {
  id: string;
  spec: string;
  name: string;
  command: string[];
  startedAt: number;
  finishedAt: number | null;
  status: PointStatus;
  points: InvocationPoint[];
  counts?: Record<string, number>;
  mlflowRunId?: string;
  /** node key → the job of a remote executor that computes it, recorded as soon as it is submitted. */
  remoteJobs?: Record<string, RemoteJobRecord>;
  /** Written by exp before executors were registered (Slurm's jobs): read, never written. */
  slurmJobs?: Record<string, Omit<RemoteJobRecord, 'executor'>>;
}

export interface RemoteJobRecord {
  /** The executor that submitted it (`slurm`, ...). */
  executor: string;
  /** The engine's job id (Slurm: `1234`, or `1234_5` for a task of a job array). */
  id: string;
  /** The job's files without their suffix (`.job.json`, `.result.json`, `.events.jsonl`, `.out`), relative to the runs folder. */
  base: string;
  submittedAt: number;
  /** The `exp run` that submitted it. */
  driver: { host: string; pid: number };
  /** Taken over from an earlier `exp run` that stopped watching it (killed). */
  adoptedFrom?: string;
  /** Where the engine captures the job's output, when not `<base>.out` (a task of a job array), relative to the runs folder. */
  out?: string;
}

/** The invocation record of a running `exp run`: changes are written atomically, one at a time. */
export interface InvocationHandle {
  readonly id: string;
  readonly record: InvocationRecord;
  update(change: (rec: InvocationRecord) => void): Promise<void>;
}

export function invocationHandle(runsDir: string, rec: InvocationRecord): InvocationHandle {
  let writing: Promise<void> = Promise.resolve();
  let queued: Promise<void> | undefined;
  return {
    id: rec.id,
    record: rec,
    update(change) {
      change(rec);
      // Writes are chained, so an older state never lands last; each write takes the state of
      // when it starts, so the changes made while one waits share it (a burst of sbatch
      // returns costs one or two writes, not one each).
      if (!queued) {
        const next = writing.then(() => {
          queued = undefined;
          return saveInvocation(runsDir, rec);
        });
        queued = next;
        writing = next.catch(() => {});
      }
      return queued;
    },
  };
}

export function invocationDir(runsDir: string): string {
  return path.join(path.resolve(runsDir), 'invocations');
}

export async function saveInvocation(runsDir: string, rec: InvocationRecord): Promise<void> {
  await writeFileAtomic(path.join(invocationDir(runsDir), `${rec.id}.json`), `${JSON.stringify(rec, null, 2)}\n`);
}

export async function listInvocations(runsDir: string): Promise<InvocationRecord[]> {
  const dir = invocationDir(runsDir);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const out: InvocationRecord[] = [];
  for (const n of names) {
    if (!n.endsWith('.json')) continue;
    try {
      out.push(JSON.parse(await fs.readFile(path.join(dir, n), 'utf8')) as InvocationRecord);
    } catch {
      // A record being written right now by another process; skip it.
    }
  }
  return out.sort((a, b) => b.startedAt - a.startedAt);
}
