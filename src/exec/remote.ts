// What every remote executor shares, whatever engine carries its nodes (Slurm, a BullMQ fleet,
// a Kubernetes Job or a Ray task tomorrow): the node handed over as plain data (NodeJob), its
// outcome brought back with folders in this process's view of the runs folder, its live events
// forwarded to the reporters, the job ids recorded in the invocation so that a killed and rerun
// `exp run` re-attaches to the jobs still queued or running, and the few lines that say what
// happened to an earlier run's jobs.
//
// Engines that run a command somewhere with the runs folder mounted (Slurm, Kubernetes Jobs, Ray
// jobs) need only say how to submit, ask after and cancel a job: `batchRunner` below does the rest
// (job files, result files, events files, watching, re-attaching). An engine with its own
// transport for results and events (BullMQ) uses the helpers and implements RemoteNodeRunner.
import { existsSync, readFileSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../atomic.ts';
import { processAlive } from '../process-identity.ts';
import type { PlanNode } from '../plan/dag.ts';
import type { StageRegistry } from '../plan/registry.ts';
import type { StageInput } from '../plan/stage-kind.ts';
import { listInvocations, type InvocationHandle, type RemoteJobRecord } from '../store/invocations.ts';
import type { ArtifactStore } from '../store/store.ts';
import { EventsFileTail, type NodeEvent } from './events-file.ts';
import type { NodeOutcome } from './lifecycle.ts';
import { nodeSpecOf, sleep, type NodeJob } from './node-run.ts';
import type { TaskEvent } from './task.ts';

/** Runs nodes somewhere else (a cluster, a worker fleet); outcomes carry dirs in this process's store. */
export interface RemoteNodeRunner {
  run(node: PlanNode, inputs: StageInput[], ctx: RemoteContext): Promise<NodeOutcome>;
  close(): Promise<void>;
}

export interface RemoteContext {
  signal: AbortSignal;
  retries?: number;
  rerunInPlace: boolean;
  onStarted(attempt: number): void;
  onEvent(e: TaskEvent): void;
}

/** This host and process, as recorded with the jobs it submits. */
export const thisDriver = { host: os.hostname(), pid: process.pid };

/** The node as it is handed to a runner on another machine: plain data, no folders. */
export function nodeJobOf(
  node: PlanNode,
  inputs: StageInput[],
  ctx: Pick<RemoteContext, 'rerunInPlace' | 'retries'>,
  registry: StageRegistry,
  driver: string,
): NodeJob {
  const module = registry.get(node.kind)?.module;
  return {
    node: nodeSpecOf(node),
    inputs: inputs.map(({ dir: _dir, ...rest }) => rest),
    rerunInPlace: ctx.rerunInPlace,
    ...(ctx.retries !== undefined ? { retries: ctx.retries } : {}),
    ...(module ? { kindModule: module } : {}),
    driver,
  };
}

/** A remote outcome with its folders in this process's view of the shared runs folder. */
export function localise(store: ArtifactStore, node: PlanNode, out: NodeOutcome): NodeOutcome {
  return {
    ...out,
    ...(out.dir ? { dir: store.nodeDir(node.kind, node.key) } : {}),
    ...(out.logFile ? { logFile: store.logPath(node.key) } : {}),
  };
}

export function cancelledOutcome(node: PlanNode, reason?: string, durationMs = 0): NodeOutcome {
  return { key: node.key, status: 'cancelled', attempts: 0, durationMs, ...(reason ? { reason } : {}) };
}

export function failedOutcome(
  node: PlanNode,
  message: string,
  extra: { code?: string; hint?: string; attempts?: number; durationMs?: number; logFile?: string } = {},
): NodeOutcome {
  const { code, hint, attempts = 0, durationMs = 0, logFile } = extra;
  return {
    key: node.key,
    status: 'failed',
    error: { message, ...(code ? { code } : {}), ...(hint ? { hint } : {}) },
    attempts,
    durationMs,
    ...(logFile ? { logFile } : {}),
  };
}

/**
 * Forwards a remote node's events to the reporters. `announced`: the first attempt's start was
 * already reported (at submission), so only later attempts' starts are.
 */
export function eventForwarder(ctx: Pick<RemoteContext, 'onStarted' | 'onEvent'>, announced: boolean) {
  return (e: NodeEvent): void => {
    if (e.type !== 'started') ctx.onEvent(e);
    else if (!announced || e.attempt > 1) ctx.onStarted(e.attempt);
  };
}

/** The files of one job in the runs folder, all named after `base`. */
export class JobFiles {
  constructor(readonly base: string) {}
  get job(): string {
    return `${this.base}.job.json`;
  }
  get result(): string {
    return `${this.base}.result.json`;
  }
  get events(): string {
    return `${this.base}.events.jsonl`;
  }
  /** The engine's own capture of the job's stdout and stderr. */
  get out(): string {
    return `${this.base}.out`;
  }
  readJob(): NodeJob | undefined {
    return readJson<NodeJob>(this.job);
  }
  readResult(): NodeOutcome | undefined {
    return existsSync(this.result) ? readJson<NodeOutcome>(this.result) : undefined;
  }
  /** The last lines the job printed, for a job that ended without a result. */
  outTail(lines = 5): string {
    try {
      return readFileSync(this.out, 'utf8').split('\n').slice(-lines).join('\n').trim();
    } catch {
      return ''; // cancelled before it started: no output file
    }
  }
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Two jobs of one node do the same work when their payloads are equal but for the driver. */
export function sameWork(a: NodeJob, b: NodeJob): boolean {
  return JSON.stringify({ ...a, driver: '' }) === JSON.stringify({ ...b, driver: '' });
}

export interface EarlierJob {
  job: RemoteJobRecord;
  invocation: string;
}

/**
 * Jobs that earlier `exp run`s on this runs folder submitted with this executor and stopped
 * watching: for each node key, the job of the latest invocation that recorded one, when that
 * invocation never finished (killed) and its driver is not alive on this host. (A driver on
 * another host cannot be asked.)
 */
export async function earlierJobs(root: string, executor: string, own?: string): Promise<Map<string, EarlierJob>> {
  const latest = new Map<string, EarlierJob & { open: boolean }>();
  for (const rec of await listInvocations(root)) {
    if (rec.id === own) continue;
    const jobs: Record<string, RemoteJobRecord> = {
      // Records written before executors were registered name no executor: they are Slurm's.
      ...Object.fromEntries(Object.entries(rec.slurmJobs ?? {}).map(([k, j]) => [k, { ...j, executor: 'slurm' }])),
      ...rec.remoteJobs,
    };
    for (const [key, job] of Object.entries(jobs)) {
      if (job.executor !== executor || latest.has(key)) continue;
      latest.set(key, { job, invocation: rec.id, open: rec.status === 'running' });
    }
  }
  const out = new Map<string, EarlierJob>();
  for (const [key, e] of latest) {
    const d = e.job.driver;
    const watched = d.host === thisDriver.host && d.pid !== process.pid && processAlive(d.pid);
    if (e.open && !watched) out.set(key, { job: e.job, invocation: e.invocation });
  }
  return out;
}

/** Records a node's job in the invocation (before anything else: a killed driver leaves it findable). */
export async function recordJob(
  invocation: InvocationHandle | undefined,
  key: string,
  job: RemoteJobRecord,
): Promise<void> {
  await invocation?.update((rec) => {
    rec.remoteJobs ??= {};
    rec.remoteJobs[key] = job;
  });
}

/**
 * What happened to an earlier run's jobs, told in a few lines rather than one per node: items
 * gathered for a moment, then one line per kind of news.
 */
export class Announcer<K extends string> {
  private readonly items = new Map<K, string[]>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly prefix: string,
    private readonly texts: Record<K, string>,
    private readonly log: ((line: string) => void) | undefined,
  ) {}

  tell(what: K, item: string): void {
    (this.items.get(what) ?? this.items.set(what, []).get(what)!).push(item);
    this.timer ??= setTimeout(() => this.flush(), 300);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const what of Object.keys(this.texts) as K[]) {
      const items = this.items.get(what);
      if (!items?.length) continue;
      const shown = items.length > 8 ? [...items.slice(0, 8), `… ${items.length - 8} more`] : items;
      this.log?.(`${this.prefix}: ${items.length} job(s) ${this.texts[what]}: ${shown.join(', ')}`);
      this.items.delete(what);
    }
  }
}

/** The `exp` command line as it starts in a job: the same node and exp that run here. */
export const expCommand = [
  process.execPath,
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/exp.js'),
];

/** An engine that runs one command per job on machines that mount the runs folder. */
export interface BatchEngine {
  /** The executor's name: in the invocation's job records and the messages. */
  name: string;
  /** Submits a job running `command` (argv) with the node's resources; returns the engine's job id. */
  submit(node: PlanNode, command: string[], files: JobFiles): Promise<string>;
  /**
   * The states of these jobs as the engine reports them; a job missing from the map is unknown
   * to it (ended long ago, or never existed). Throws when the engine cannot be asked.
   */
  states(ids: string[]): Promise<Map<string, string>>;
  /** Whether a job in this state may still write its result (queued, running, completing). */
  active(state: string): boolean;
  cancel(ids: string[]): Promise<void>;
}

export interface BatchRunnerOptions {
  engine: BatchEngine;
  store: ArtifactStore;
  registry: StageRegistry;
  /** Environment of the job (EXP_PLUGINS, ...) as the engine passes it on. */
  invocation?: InvocationHandle;
  log?: (line: string) => void;
  /** How often result and events files are read (default 250 ms; job states every 4th time). */
  pollMs?: number;
}

/**
 * A RemoteNodeRunner on a batch engine: a job file per node, the job runs `exp node-run` and writes
 * a result file and an events file that are watched here. Jobs are recorded in the invocation as
 * soon as they are submitted; a killed `exp run` started again re-attaches to its jobs still
 * queued or running, takes the results of those that finished meanwhile, and submits again
 * (saying so) those that vanished without one. On abort (Ctrl-C) a job is cancelled.
 */
export async function batchRunner(o: BatchRunnerOptions): Promise<RemoteNodeRunner> {
  const { engine, store } = o;
  const root = store.root;
  const dir = path.join(root, engine.name, `${Date.now().toString(36)}-${process.pid}`);
  await fs.mkdir(dir, { recursive: true });
  const driver = `${thisDriver.host}:${thisDriver.pid}`;
  const submitted = new Set<string>();
  const earlier = await earlierJobs(root, engine.name, o.invocation?.id);
  const pollMs = o.pollMs ?? 250;
  const news = new Announcer(
    engine.name,
    {
      adopted: 'of an earlier exp run still queued or running: re-attached, not submitted again',
      finished: 'of an earlier exp run finished while no exp run watched: their results are used',
      vanished: 'of an earlier exp run ended without a result (cancelled or lost): submitted again, once',
    },
    o.log,
  );

  /** The engine's state of a job; '' when it no longer knows it or cannot be asked. */
  const stateOf = async (id: string): Promise<string> => {
    try {
      return (await engine.states([id])).get(id) ?? '';
    } catch (e) {
      o.log?.(`${engine.name}: could not ask for job ${id}: ${(e as Error).message}`);
      return '';
    }
  };

  /** Waits for a job's result file, forwarding its live events; cancels it on abort. */
  const watch = async (node: PlanNode, id: string, files: JobFiles, ctx: RemoteContext): Promise<NodeOutcome> => {
    const tail = new EventsFileTail(files.events);
    const forward = eventForwarder(ctx, true);
    const t0 = Date.now();
    let gone = 0;
    submitted.add(id);
    try {
      for (let i = 0; ; i++) {
        if (ctx.signal.aborted) {
          await engine
            .cancel([id])
            .catch((e: Error) => o.log?.(`${engine.name}: cancelling job ${id} failed: ${e.message}`));
          return cancelledOutcome(node, 'interrupted', Date.now() - t0);
        }
        const out = files.readResult();
        // The job wrote all its events before its result.
        for (const e of tail.read()) forward(e);
        if (out) return localise(store, node, out);
        // No result yet: still queued or running? (asked less often than the file is read)
        if (i % 4 === 3) {
          const state = await stateOf(id);
          gone = engine.active(state) ? 0 : gone + 1;
          if (gone >= 2 && !existsSync(files.result)) {
            const tailText = files.outTail();
            return failedOutcome(
              node,
              `${engine.name} job ${id} ended without a result${state ? ` (${state})` : ''}${tailText ? `: ${tailText}` : ''}`,
              { attempts: 1, durationMs: Date.now() - t0, logFile: files.out },
            );
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
  const reattach = async (node: PlanNode, job: NodeJob, e: EarlierJob, ctx: RemoteContext) => {
    const files = new JobFiles(path.join(root, e.job.base));
    const theirs = files.readJob();
    // Another decision about the node (e.g. --force): the earlier job does not do this run's work.
    if (!theirs || !sameWork(theirs, job)) return undefined;
    const label = `${e.job.id} ${node.stage} ${node.key.slice(0, 10)}`;
    const adopt = (): Promise<void> =>
      recordJob(o.invocation, node.key, { ...e.job, driver: thisDriver, adoptedFrom: e.invocation });
    const finished = async (): Promise<NodeOutcome | undefined> => {
      const out = files.readResult();
      if (!out || out.status === 'cancelled') return undefined;
      await adopt();
      news.tell('finished', `${label} (${out.status})`);
      ctx.onStarted(1);
      const forward = eventForwarder(ctx, true);
      for (const ev of new EventsFileTail(files.events).read()) forward(ev);
      return localise(store, node, out);
    };
    const done = await finished();
    if (done) return done;
    // Asked twice before giving up on it: one failed answer is not a lost job.
    for (let check = 0; check < 2; check++) {
      if (check) await sleep(pollMs * 4, ctx.signal);
      const state = await stateOf(e.job.id);
      if (engine.active(state)) {
        await adopt();
        news.tell('adopted', `${label} (${state.toLowerCase()})`);
        ctx.onStarted(1);
        return watch(node, e.job.id, files, ctx);
      }
      const late = await finished();
      if (late) return late;
    }
    news.tell('vanished', label);
    return undefined;
  };

  return {
    async run(node, inputs, ctx) {
      const job = nodeJobOf(node, inputs, ctx, o.registry, driver);
      const before = earlier.get(node.key);
      if (before) {
        earlier.delete(node.key);
        const outcome = await reattach(node, job, before, ctx);
        if (outcome) return outcome;
      }
      if (ctx.signal.aborted) return cancelledOutcome(node, 'interrupted');
      const files = new JobFiles(path.join(dir, node.key));
      await writeFileAtomic(files.job, JSON.stringify(job));
      const command = [
        ...expCommand,
        'node-run',
        files.job,
        '--runs',
        root,
        '--result',
        files.result,
        '--events',
        files.events,
      ];
      if (ctx.signal.aborted) return cancelledOutcome(node, 'interrupted');
      let id: string;
      try {
        id = await engine.submit(node, command, files);
      } catch (e) {
        return failedOutcome(
          node,
          `${engine.name}: submitting the job failed: ${(e as { stderr?: string }).stderr?.trim() || (e as Error).message}`,
          { code: 'EXP_EXECUTOR_UNAVAILABLE' },
        );
      }
      // Recorded before anything else: a driver killed from here on leaves a job the next run finds.
      submitted.add(id);
      await recordJob(o.invocation, node.key, {
        executor: engine.name,
        id,
        base: path.relative(root, files.base),
        submittedAt: Date.now(),
        driver: thisDriver,
      }).catch((e: Error) =>
        o.log?.(
          `${engine.name}: job ${id} not recorded in the invocation (${e.message}): a restarted exp run would submit it again`,
        ),
      );
      ctx.onStarted(1);
      return watch(node, id, files, ctx);
    },
    async close() {
      news.flush();
      if (submitted.size)
        await engine
          .cancel([...submitted])
          .catch((e: Error) =>
            o.log?.(`${engine.name}: cancelling jobs ${[...submitted].join(' ')} failed: ${e.message}`),
          );
    },
  };
}
