// The slurm executor: one `sbatch` job per ready node, submitted when its parents are done. The
// job runs `exp node-run` on a compute node: the same per-node code path as the local executor,
// into the shared runs folder, and writes its outcome to a result file next to the job file (exit
// status without sacct). The stage's resources map to --cpus-per-task, --mem and --gres=gpu:N;
// the node takes its GPUs from Slurm's CUDA_VISIBLE_DEVICES. The job appends its live events (log
// lines, progress, metrics) to an events file that the driver tails, so reporters see them as they
// happen. Job ids are recorded in the invocation as soon as sbatch returns: an `exp run` that was
// killed and is started again re-attaches to its jobs still queued or running, takes the results of
// those that finished meanwhile, and submits again (saying so) those that vanished without one.
// Ctrl-C cancels what this run submitted or re-attached to (scancel).
import { existsSync, readFileSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../atomic.ts';
import { execFileChild } from '../children.ts';
import { ExpError } from '../errors.ts';
import { processAlive } from '../process-identity.ts';
import type { StageRegistry } from '../plan/registry.ts';
import { listInvocations, type InvocationHandle, type SlurmJobRecord } from '../store/invocations.ts';
import type { ArtifactStore } from '../store/store.ts';
import { EventsFileTail } from './events-file.ts';
import type { PlanNode } from '../plan/dag.ts';
import type { RemoteNodeRunner } from './executor.ts';
import type { NodeOutcome } from './lifecycle.ts';
import { nodeSpecOf, sleep, type NodeJob } from './node-run.ts';

// sbatch/squeue/scancel die with this process (children.ts).
const run = execFileChild;
const expBin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/exp.js');

export interface SlurmOptions {
  store: ArtifactStore;
  registry: StageRegistry;
  /** Plugin modules the driver loaded (made absolute), passed to the jobs as EXP_PLUGINS. */
  plugins?: string[];
  partition?: string;
  account?: string;
  qos?: string;
  /** Extra sbatch flags, e.g. ["--constraint=a100"]. */
  extra?: string[];
  pollMs?: number;
  env?: NodeJS.ProcessEnv;
  /** This run's invocation record: job ids are written into it as soon as sbatch returns. */
  invocation?: InvocationHandle;
  /** Where to say what happened to an earlier run's jobs (re-attached, resubmitted). */
  log?: (line: string) => void;
}

/** Job states in which a job may still write its result. */
const ACTIVE =
  /^(PENDING|RUNNING|CONFIGURING|COMPLETING|SUSPENDED|REQUEUED|REQUEUE_FED|REQUEUE_HOLD|RESIZING|SIGNALING|STAGE_OUT|STOPPED|RESV_DEL_HOLD)/;

interface Earlier {
  job: SlurmJobRecord;
  invocation: string;
}

/**
 * Jobs that earlier `exp run`s on this runs folder submitted and stopped watching: for each node
 * key, the job of the latest invocation that recorded one, when that invocation never finished
 * (killed) and its driver is not alive on this host. (A driver on another host cannot be asked.)
 */
async function earlierJobs(root: string, own?: string): Promise<Map<string, Earlier>> {
  const latest = new Map<string, Earlier & { open: boolean }>();
  for (const rec of await listInvocations(root)) {
    if (rec.id === own) continue;
    for (const [key, job] of Object.entries(rec.slurmJobs ?? {}))
      if (!latest.has(key)) latest.set(key, { job, invocation: rec.id, open: rec.status === 'running' });
  }
  const out = new Map<string, Earlier>();
  for (const [key, e] of latest) {
    const d = e.job.driver;
    const watched = d.host === os.hostname() && d.pid !== process.pid && processAlive(d.pid);
    if (e.open && !watched) out.set(key, { job: e.job, invocation: e.invocation });
  }
  return out;
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export async function slurmRunner(o: SlurmOptions): Promise<RemoteNodeRunner> {
  const env = { ...(o.env ?? process.env) };
  if (o.plugins?.length)
    env.EXP_PLUGINS = [...(env.EXP_PLUGINS ?? '').split(',').filter(Boolean), ...o.plugins].join(',');
  try {
    await run('sbatch', ['--version'], { env });
  } catch {
    throw new ExpError('EXP_EXECUTOR_UNAVAILABLE', 'sbatch is not available here', {
      hint: 'run exp from a Slurm login node (SLURM_CONF set, sbatch on PATH)',
    });
  }
  const root = o.store.root;
  const tag = `${Date.now().toString(36)}-${process.pid}`;
  const dir = path.join(root, 'slurm', tag);
  await fs.mkdir(dir, { recursive: true });
  const me = { host: os.hostname(), pid: process.pid };
  const submitted = new Set<string>();
  const earlier = await earlierJobs(root, o.invocation?.id);
  const pollMs = o.pollMs ?? 250;

  // What happened to earlier runs' jobs, told in a few lines rather than one per node.
  const told = { adopted: [] as string[], finished: [] as string[], vanished: [] as string[] };
  let tellTimer: NodeJS.Timeout | undefined;
  const flushTold = (): void => {
    tellTimer = undefined;
    const say = (items: string[], text: string): void => {
      if (!items.length) return;
      const shown = items.length > 8 ? [...items.slice(0, 8), `… ${items.length - 8} more`] : items;
      o.log?.(`slurm: ${items.length} job(s) ${text}: ${shown.join(', ')}`);
      items.length = 0;
    };
    say(told.adopted, 'of an earlier exp run still queued or running: re-attached, not submitted again');
    say(told.finished, 'of an earlier exp run finished while no exp run watched: their results are used');
    say(told.vanished, 'of an earlier exp run ended without a result (cancelled or lost): submitted again, once');
  };
  const tell = (what: keyof typeof told, item: string): void => {
    told[what].push(item);
    tellTimer ??= setTimeout(flushTold, 300);
  };

  /** Squeue's state of a job; '' when Slurm no longer knows it (or cannot be asked). */
  const squeueState = async (id: string): Promise<string> => {
    const { stdout } = await run('squeue', ['-h', '-j', id, '-o', '%T'], { env }).catch(() => ({ stdout: '' }));
    return stdout.trim();
  };
  const record = async (key: string, job: SlurmJobRecord): Promise<void> => {
    await o.invocation?.update((rec) => {
      rec.slurmJobs ??= {};
      rec.slurmJobs[key] = job;
    });
  };
  /** A job's outcome, with folders in this process's view of the runs folder. */
  const localise = (node: PlanNode, out: NodeOutcome): NodeOutcome => ({
    ...out,
    ...(out.dir ? { dir: o.store.nodeDir(node.kind, node.key) } : {}),
    ...(out.logFile ? { logFile: o.store.logPath(node.key) } : {}),
  });
  type Ctx = Parameters<RemoteNodeRunner['run']>[2];
  const forwarder = (base: string, ctx: Ctx) => {
    const tail = new EventsFileTail(`${base}.events.jsonl`);
    return (): void => {
      for (const e of tail.read()) {
        if (e.type !== 'started') ctx.onEvent(e);
        else if (e.attempt > 1) ctx.onStarted(e.attempt); // attempt 1 was announced at submission
      }
    };
  };

  /** Waits for a job's result file, forwarding its live events; cancels it on abort. */
  const watch = async (node: PlanNode, id: string, base: string, ctx: Ctx): Promise<NodeOutcome> => {
    const resultFile = `${base}.result.json`;
    const forward = forwarder(base, ctx);
    const t0 = Date.now();
    let gone = 0;
    submitted.add(id);
    try {
      for (let i = 0; ; i++) {
        if (ctx.signal.aborted) {
          await run('scancel', [id], { env }).catch(() => {});
          return { key: node.key, status: 'cancelled', attempts: 0, durationMs: Date.now() - t0 };
        }
        if (existsSync(resultFile)) {
          const out = readJson<NodeOutcome>(resultFile);
          if (out) {
            forward(); // the job wrote all its events before its result
            return localise(node, out);
          }
        }
        forward();
        // No result yet: still queued or running? (checked less often than the file)
        if (i % 4 === 3) {
          const state = await squeueState(id);
          gone = state === '' || !ACTIVE.test(state) ? gone + 1 : 0;
          if (gone >= 2 && !existsSync(resultFile)) {
            let tail = '';
            try {
              tail = readFileSync(`${base}.out`, 'utf8').split('\n').slice(-5).join('\n').trim();
            } catch {
              // cancelled before it started: no output file
            }
            return {
              key: node.key,
              status: 'failed',
              error: {
                message: `Slurm job ${id} ended without a result${state ? ` (${state})` : ''}${tail ? `: ${tail}` : ''}`,
              },
              attempts: 1,
              durationMs: Date.now() - t0,
              logFile: `${base}.out`,
            };
          }
        }
        await sleep(pollMs, ctx.signal);
      }
    } finally {
      submitted.delete(id);
    }
  };

  /**
   * A job an earlier run submitted for this node: watch it if it is still queued or running, use
   * its result if it finished meanwhile; undefined when it must be submitted again.
   */
  const reattach = async (node: PlanNode, job: NodeJob, e: Earlier, ctx: Ctx): Promise<NodeOutcome | undefined> => {
    const base = path.join(root, e.job.base);
    const theirs = readJson<NodeJob>(`${base}.job.json`);
    // Another decision about the node (e.g. --force): the earlier job does not do this run's work.
    if (!theirs || JSON.stringify({ ...theirs, driver: '' }) !== JSON.stringify({ ...job, driver: '' }))
      return undefined;
    const label = `${e.job.id} ${node.stage} ${node.key.slice(0, 10)}`;
    const adopt = (): Promise<void> => record(node.key, { ...e.job, driver: me, adoptedFrom: e.invocation });
    const finished = async (): Promise<NodeOutcome | undefined> => {
      const out = readJson<NodeOutcome>(`${base}.result.json`);
      if (!out || out.status === 'cancelled') return undefined;
      await adopt();
      tell('finished', `${label} (${out.status})`);
      ctx.onStarted(1);
      forwarder(base, ctx)();
      return localise(node, out);
    };
    const done = await finished();
    if (done) return done;
    // Asked twice before giving up on it: one failed squeue is not a lost job.
    for (let check = 0; check < 2; check++) {
      if (check) await sleep(pollMs * 4, ctx.signal);
      const state = await squeueState(e.job.id);
      if (ACTIVE.test(state)) {
        await adopt();
        tell('adopted', `${label} (${state.toLowerCase()})`);
        ctx.onStarted(1);
        return watch(node, e.job.id, base, ctx);
      }
      const late = await finished();
      if (late) return late;
    }
    tell('vanished', label);
    return undefined;
  };

  return {
    async run(node, inputs, ctx) {
      const job: NodeJob = {
        node: nodeSpecOf(node),
        inputs: inputs.map(({ dir: _d, ...rest }) => rest),
        rerunInPlace: ctx.rerunInPlace,
        ...(ctx.retries !== undefined ? { retries: ctx.retries } : {}),
        ...(o.registry.get(node.kind)?.module ? { kindModule: o.registry.get(node.kind)!.module } : {}),
        driver: `${me.host}:${me.pid}`,
      };
      const before = earlier.get(node.key);
      if (before) {
        earlier.delete(node.key);
        const outcome = await reattach(node, job, before, ctx);
        if (outcome) return outcome;
      }
      if (ctx.signal.aborted) return { key: node.key, status: 'cancelled', attempts: 0, durationMs: 0 };
      const base = path.join(dir, `${node.key}`);
      await writeFileAtomic(`${base}.job.json`, JSON.stringify(job));
      const r = node.resources;
      const q = JSON.stringify;
      const args = [
        '--parsable',
        `--job-name=exp-${node.stage}`,
        `--cpus-per-task=${Math.max(1, Math.ceil(r.cpus))}`,
        ...(r.memoryMb > 0 ? [`--mem=${Math.ceil(r.memoryMb)}M`] : []),
        ...(r.gpus > 0 ? [`--gres=gpu:${Math.ceil(r.gpus)}`] : []),
        ...(o.partition ? [`--partition=${o.partition}`] : []),
        ...(o.account ? [`--account=${o.account}`] : []),
        ...(o.qos ? [`--qos=${o.qos}`] : []),
        `--output=${base}.out`,
        ...(o.extra ?? []),
        `--wrap=exec ${q(process.execPath)} ${q(expBin)} node-run ${q(`${base}.job.json`)} --runs ${q(root)} --result ${q(`${base}.result.json`)} --events ${q(`${base}.events.jsonl`)}`,
      ];
      if (ctx.signal.aborted) return { key: node.key, status: 'cancelled', attempts: 0, durationMs: 0 };
      let id: string;
      try {
        id = (await run('sbatch', args, { env })).stdout.trim().split(';')[0]!;
      } catch (e) {
        return {
          key: node.key,
          status: 'failed',
          error: {
            message: `sbatch failed: ${(e as { stderr?: string }).stderr?.trim() || (e as Error).message}`,
            code: 'EXP_EXECUTOR_UNAVAILABLE',
          },
          attempts: 0,
          durationMs: 0,
        };
      }
      // Recorded before anything else: a driver killed from here on leaves a job the next run finds.
      submitted.add(id);
      await record(node.key, { id, base: path.relative(root, base), submittedAt: Date.now(), driver: me }).catch((e) =>
        o.log?.(
          `slurm: job ${id} not recorded in the invocation (${(e as Error).message}): a restarted exp run would submit it again`,
        ),
      );
      ctx.onStarted(1);
      return watch(node, id, base, ctx);
    },
    async close() {
      if (tellTimer) clearTimeout(tellTimer);
      flushTold();
      if (submitted.size) await run('scancel', [...submitted], { env }).catch(() => {});
    },
  };
}
