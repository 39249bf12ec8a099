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
  store: ArtifactStore,
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
    runs: { id: store.identity, dir: store.root },
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
  /** `outFile`: where the engine captures the job's output, when not beside the others (a job array's task). */
  constructor(
    readonly base: string,
    private readonly outFile?: string,
  ) {}
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
    return this.outFile ?? `${this.base}.out`;
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

/** A job's state as its engine reports it. */
export interface JobState {
  /** The engine's word for it (Slurm: PENDING, RUNNING, COMPLETING, CANCELLED, ...). */
  state: string;
  /** Why it is in that state, when the engine says (Slurm: the pending reason). */
  reason?: string;
}

/** What an engine finds about jobs that wait to start. */
export interface PendingDiagnosis {
  /** Nothing will start them as things stand (their nodes are drained or down, their partition is down). */
  stuck: boolean;
  /** One line for the operator: the jobs, what holds them, what to do. */
  message: string;
}

/** An engine that runs one command per job on machines that mount the runs folder. */
export interface BatchEngine {
  /** The executor's name: in the invocation's job records and the messages. */
  name: string;
  /** Submits a job running `command` (argv) with the node's resources; returns the engine's job id. */
  submit(node: PlanNode, command: string[], files: JobFiles): Promise<string>;
  /**
   * The states of these jobs; a job missing from the map is unknown to the engine (ended long ago,
   * or never existed). Throws when the engine cannot be asked (its controller does not answer).
   */
  states(ids: string[]): Promise<Map<string, JobState>>;
  /** Whether a job in this state may still write its result (queued, running, completing). */
  active(state: string): boolean;
  /** Whether a job in this state waits to start. */
  waiting(state: string): boolean;
  /** Looks at jobs that have waited to start for a while: what holds them, and whether anything will start them. */
  diagnose?(ids: string[]): Promise<PendingDiagnosis | undefined>;
  cancel(ids: string[]): Promise<void>;
  /**
   * Submits several jobs of one stage with the same resources as one (a job array): task i runs
   * `command` with i in the environment variable `taskEnv`, and its output goes to
   * `${groupBase}-${i}.out`. Returns the tasks' job ids, in order. Absent: one submit per job.
   */
  submitGroup?(nodes: PlanNode[], command: string[], groupBase: string): Promise<string[]>;
  /** How many jobs one submitGroup may carry (Slurm: MaxArraySize); larger groups are split. */
  maxGroup?: number;
  /** The environment variable that holds a group task's index (Slurm: SLURM_ARRAY_TASK_ID). */
  taskEnv?: string;
}

/** A job group's tasks, in order: what `exp node-run --index FILE` reads. */
export interface JobGroupIndex {
  tasks: { job: string; result: string; events: string }[];
}

/**
 * Gathers the submissions of the nodes dispatched together: every run() enters as it starts (in
 * the executor's dispatch pass, synchronously) and leaves with its submission once its job file is
 * written; when no run is still preparing, the gathered submissions are flushed at once.
 */
export class DispatchBatch<T> {
  private preparing = 0;
  private items: T[] = [];
  private scheduled = false;

  constructor(private readonly flush: (items: T[]) => void) {}

  enter(): void {
    this.preparing++;
  }

  /** Exactly once per enter(); `item` when there is something to submit. */
  leave(item?: T): void {
    this.preparing--;
    if (item) this.items.push(item);
    if (this.preparing > 0 || this.scheduled || !this.items.length) return;
    this.scheduled = true;
    // After the current turn: runs dispatched in it that are still synchronous join this batch.
    setImmediate(() => {
      this.scheduled = false;
      if (this.preparing > 0) return; // the last to leave flushes
      const items = this.items;
      this.items = [];
      this.flush(items);
    });
  }
}

/** Chunks of at most `size`. */
export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += Math.max(1, size)) out.push(items.slice(i, i + Math.max(1, size)));
  return out;
}

export interface BatchRunnerOptions {
  engine: BatchEngine;
  store: ArtifactStore;
  registry: StageRegistry;
  invocation?: InvocationHandle;
  log?: (line: string) => void;
  /** How often result and events files are read (default 250 ms; job states every 4th time). */
  pollMs?: number;
  /**
   * How long jobs may wait while nothing will start them (diagnose says stuck), or the engine not
   * answer, before their nodes fail (default 10 minutes; Slurm: settings.slurm.pending_timeout).
   */
  stuckTimeoutMs?: number;
  /** The setting that sets stuckTimeoutMs, named in messages. */
  stuckTimeoutSetting?: string;
}

/** Jobs that wait this long for busy nodes are mentioned (once); stuck ones are said at once. */
const WAIT_NOTICE_MS = 60_000;

interface Watched {
  node: PlanNode;
  id: string;
  files: JobFiles;
  ctx: RemoteContext;
  tail: EventsFileTail;
  forward: (e: NodeEvent) => void;
  t0: number;
  /** Consecutive state checks that found the job neither queued nor running. */
  gone: number;
  lastState: string;
  /** Since when the job has been waiting to start, as far as the checks saw. */
  waitingSince?: number;
  resolve(o: NodeOutcome): void;
}

/**
 * A RemoteNodeRunner on a batch engine: a job file per node, the job runs `exp node-run` and writes
 * a result file and an events file that are watched here. Jobs are recorded in the invocation as
 * soon as they are submitted; a killed `exp run` started again re-attaches to its jobs still
 * queued or running, takes the results of those that finished meanwhile, and submits again
 * (saying so) those that vanished without one. On abort (Ctrl-C) a job is cancelled.
 *
 * Nothing waits in silence: one watcher asks the engine about every job at once; an engine that
 * does not answer is said once (the jobs keep running meanwhile) and fails the nodes after
 * stuckTimeoutMs; jobs that wait to start are diagnosed (what holds them is said once), and fail
 * after stuckTimeoutMs when nothing will start them. A job that ends without a result, or whose
 * node was cancelled from outside (scancel), fails its node as EXP_NODE_LOST: never a quiet success.
 */
export async function batchRunner(o: BatchRunnerOptions): Promise<RemoteNodeRunner> {
  const { engine, store } = o;
  const log = o.log ?? (() => undefined);
  const root = store.root;
  await store.init();
  const dir = path.join(root, engine.name, `${Date.now().toString(36)}-${process.pid}`);
  await fs.mkdir(dir, { recursive: true });
  const driver = `${thisDriver.host}:${thisDriver.pid}`;
  const submitted = new Set<string>();
  const earlier = await earlierJobs(root, engine.name, o.invocation?.id);
  const pollMs = o.pollMs ?? 250;
  const stuckTimeoutMs = o.stuckTimeoutMs ?? 600_000;
  const setting = o.stuckTimeoutSetting ? ` (${o.stuckTimeoutSetting})` : '';
  const news = new Announcer(
    engine.name,
    {
      adopted: 'of an earlier exp run still queued or running: re-attached, not submitted again',
      finished: 'of an earlier exp run finished while no exp run watched: their results are used',
      vanished: 'of an earlier exp run ended without a result (cancelled or lost): submitted again, once',
    },
    log,
  );
  const cancels: Promise<void>[] = [];
  const cancel = (ids: string[]): void => {
    if (!ids.length) return;
    cancels.push(
      engine
        .cancel(ids)
        .catch((e: Error) => log(`${engine.name}: cancelling job(s) ${ids.join(' ')} failed: ${e.message}`)),
    );
  };

  /** The engine's state of a job; '' when it no longer knows it or cannot be asked. */
  const stateOf = async (id: string): Promise<string> => {
    try {
      return (await engine.states([id])).get(id)?.state ?? '';
    } catch (e) {
      log(`${engine.name}: could not ask about job ${id}: ${(e as Error).message}`);
      return '';
    }
  };

  // ── one watcher for every job ───────────────────────────────────────────────────────────
  const watched = new Map<string, Watched>();
  let unansweredSince: number | undefined;
  let stuckSince: number | undefined;
  let toldWaiting = false;
  const told = new Set<string>();
  const say = (line: string): void => {
    if (told.has(line)) return;
    told.add(line);
    log(line);
  };
  let lastDiagnosis = 0;
  const diagnoseEveryMs = Math.max(pollMs * 4, Math.min(5000, stuckTimeoutMs / 4));

  const resolve = (w: Watched, outcome: NodeOutcome): void => {
    if (!watched.delete(w.id)) return;
    submitted.delete(w.id);
    w.resolve(outcome);
  };
  const lost = (w: Watched, what: string): NodeOutcome => {
    const tailText = w.files.outTail();
    return failedOutcome(w.node, `${engine.name} job ${w.id} ${what}${tailText ? `: ${tailText}` : ''}`, {
      code: 'EXP_NODE_LOST',
      hint: `run the same command again: finished nodes are reused (the job's output: ${w.files.out})`,
      attempts: 1,
      durationMs: Date.now() - w.t0,
      logFile: w.files.out,
    });
  };

  /** Results and events: read every poll, cheap (files in the runs folder). */
  const readFiles = (): void => {
    for (const w of [...watched.values()]) {
      const out = w.files.readResult();
      // The job wrote all its events before its result.
      try {
        for (const e of w.tail.read()) w.forward(e);
      } catch (e) {
        say(
          `${engine.name}: live events of job ${w.id} cannot be read (${(e as Error).message}); its result still comes`,
        );
      }
      if (!out) continue;
      if (out.status === 'cancelled')
        resolve(w, lost(w, `was cancelled before ${w.node.stage} finished (scancel, a time limit or the cluster)`));
      else resolve(w, localise(store, w.node, out));
    }
  };

  /** States: one question for every job watched. */
  const checkStates = async (): Promise<void> => {
    const ws = [...watched.values()];
    if (!ws.length) return;
    let states: Map<string, JobState>;
    try {
      states = await engine.states(ws.map((w) => w.id));
    } catch (e) {
      const now = Date.now();
      if (unansweredSince === undefined) {
        unansweredSince = now;
        log(
          `${engine.name}: the cluster does not answer (${(e as Error).message}); ${ws.length} job(s) keep running meanwhile; exp run waits up to ${Math.round(stuckTimeoutMs / 1000)} s${setting}`,
        );
      } else if (now - unansweredSince >= stuckTimeoutMs) {
        for (const w of ws)
          resolve(
            w,
            failedOutcome(
              w.node,
              `${engine.name} did not answer for ${Math.round((now - unansweredSince) / 1000)} s (${(e as Error).message}): exp run stopped waiting for job ${w.id}`,
              { code: 'EXP_EXECUTOR_UNAVAILABLE', durationMs: now - w.t0 },
            ),
          );
      }
      return;
    }
    if (unansweredSince !== undefined) {
      log(`${engine.name}: the cluster answers again after ${Math.round((Date.now() - unansweredSince) / 1000)} s`);
      unansweredSince = undefined;
      told.clear();
    }
    readFiles(); // a job that ended since the last read has its result by now
    const now = Date.now();
    for (const w of [...watched.values()]) {
      const st = states.get(w.id);
      w.lastState = st?.state ?? '';
      if (st && engine.active(st.state)) {
        w.gone = 0;
        w.waitingSince = engine.waiting(st.state) ? (w.waitingSince ?? now) : undefined;
        continue;
      }
      w.waitingSince = undefined;
      // Asked twice before giving up on it: a job that just ended may write its result a moment later.
      if (++w.gone >= 2 && !existsSync(w.files.result))
        resolve(w, lost(w, `ended without a result${w.lastState ? ` (${w.lastState})` : ''}`));
    }
    await checkWaiting(now);
  };

  /** Jobs waiting to start for a while: what holds them (said once), and a bounded wait when nothing will start them. */
  const checkWaiting = async (now: number): Promise<void> => {
    if (!engine.diagnose || now - lastDiagnosis < diagnoseEveryMs) return;
    const waiting = [...watched.values()].filter(
      (w) => w.waitingSince !== undefined && now - w.waitingSince >= diagnoseEveryMs,
    );
    if (!waiting.length) {
      stuckSince = undefined;
      toldWaiting = false;
      return;
    }
    lastDiagnosis = now;
    let d: PendingDiagnosis | undefined;
    try {
      d = await engine.diagnose(waiting.map((w) => w.id));
    } catch (e) {
      say(`${engine.name}: could not find out why ${waiting.length} job(s) wait: ${(e as Error).message}`);
      return;
    }
    if (!d?.stuck) {
      stuckSince = undefined;
      // Jobs waiting for busy nodes are normal: said once, and only when they have waited a while.
      const longest = now - Math.min(...waiting.map((w) => w.waitingSince!));
      if (d && !toldWaiting && longest >= WAIT_NOTICE_MS) {
        log(`${engine.name}: ${d.message} (waiting ${Math.round(longest / 1000)} s so far)`);
        toldWaiting = true;
      }
      return;
    }
    if (stuckSince === undefined) {
      stuckSince = Math.min(...waiting.map((w) => w.waitingSince!));
      log(
        `${engine.name}: ${d.message}. exp run waits up to ${Math.round(stuckTimeoutMs / 1000)} s${setting} for them, then fails them`,
      );
    }
    if (now - stuckSince < stuckTimeoutMs) return;
    cancel(waiting.map((w) => w.id));
    for (const w of waiting)
      resolve(
        w,
        failedOutcome(
          w.node,
          `${engine.name} job ${w.id} waited ${Math.round((now - w.waitingSince!) / 1000)} s to start, and nothing will start it: ${d.message}`,
          {
            code: 'EXP_EXECUTOR_UNAVAILABLE',
            hint: `bring the cluster's nodes back (or raise ${o.stuckTimeoutSetting ?? 'the timeout'}), then run the same command again`,
            durationMs: now - w.t0,
          },
        ),
      );
  };

  let tick = 0;
  let busy = false;
  const timer = setInterval(() => {
    if (busy || !watched.size) return;
    busy = true;
    const t = tick++;
    const step = async (): Promise<void> => {
      readFiles();
      if (t % 4 === 3) await checkStates();
    };
    void step()
      .catch((e: Error) => log(`${engine.name}: watching jobs: ${e.message}`))
      .finally(() => (busy = false));
  }, pollMs);
  // Not unref'd: while jobs are watched, this timer is what keeps exp run alive (close() clears it).

  /** Waits for a job's result file, forwarding its live events; cancels it on abort. */
  const watch = (node: PlanNode, id: string, files: JobFiles, ctx: RemoteContext): Promise<NodeOutcome> =>
    new Promise<NodeOutcome>((done) => {
      submitted.add(id);
      const w: Watched = {
        node,
        id,
        files,
        ctx,
        tail: new EventsFileTail(files.events),
        forward: eventForwarder(ctx, true),
        t0: Date.now(),
        gone: 0,
        lastState: '',
        resolve: done,
      };
      watched.set(id, w);
      const onAbort = (): void => {
        cancel([id]);
        resolve(w, cancelledOutcome(node, 'interrupted', Date.now() - w.t0));
      };
      if (ctx.signal.aborted) onAbort();
      else ctx.signal.addEventListener('abort', onAbort, { once: true });
    });

  /**
   * A job an earlier run submitted for this node: watch it if it is still queued or running, use
   * its result if it finished meanwhile; undefined when it must be submitted again.
   */
  const reattach = async (node: PlanNode, job: NodeJob, e: EarlierJob, ctx: RemoteContext) => {
    const files = new JobFiles(path.join(root, e.job.base), e.job.out ? path.join(root, e.job.out) : undefined);
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

  // ── submitting: the nodes dispatched together go out together ─────────────────────────
  interface Submission {
    node: PlanNode;
    files: JobFiles;
    signal: AbortSignal;
    done(r: { id: string; out: string } | Error): void;
  }
  let groupN = 0;
  const submitOne = async (s: Submission): Promise<void> => {
    const command = [
      ...expCommand,
      'node-run',
      s.files.job,
      '--runs',
      root,
      '--result',
      s.files.result,
      '--events',
      s.files.events,
    ];
    try {
      s.done({ id: await engine.submit(s.node, command, s.files), out: s.files.out });
    } catch (e) {
      s.done(e as Error);
    }
  };
  /** Nodes of one stage with the same resources: one job group (array) per chunk the engine takes. */
  const submitGroup = async (group: Submission[]): Promise<void> => {
    const groupBase = path.join(dir, `group-${++groupN}`);
    const index: JobGroupIndex = {
      tasks: group.map((s) => ({ job: s.files.job, result: s.files.result, events: s.files.events })),
    };
    const indexFile = `${groupBase}.index.json`;
    try {
      await writeFileAtomic(indexFile, JSON.stringify(index));
      const command = [
        ...expCommand,
        'node-run',
        '--index',
        indexFile,
        '--runs',
        root,
        ...(engine.taskEnv ? ['--task-env', engine.taskEnv] : []),
      ];
      const ids = await engine.submitGroup!(
        group.map((s) => s.node),
        command,
        groupBase,
      );
      if (ids.length !== group.length) throw new Error(`${ids.length} job ids for ${group.length} tasks`);
      group.forEach((s, i) => s.done({ id: ids[i]!, out: `${groupBase}-${i}.out` }));
    } catch (e) {
      for (const s of group) s.done(e as Error);
    }
  };
  const batch = new DispatchBatch<Submission>((items) => {
    const live = items.filter((s) => {
      if (s.signal.aborted) s.done(new Error('interrupted'));
      return !s.signal.aborted;
    });
    const groups = new Map<string, Submission[]>();
    for (const s of live) {
      const r = s.node.resources;
      const key = engine.submitGroup
        ? `${s.node.stage}|${s.node.kind}|${r.cpus}|${r.gpus}|${r.memoryMb}|${r.gpuOptional ?? false}`
        : s.node.key;
      (groups.get(key) ?? groups.set(key, []).get(key)!).push(s);
    }
    for (const group of groups.values()) {
      if (group.length === 1 || !engine.submitGroup) for (const s of group) void submitOne(s);
      else
        for (const chunk of chunks(group, engine.maxGroup ?? 1000))
          void (chunk.length === 1 ? submitOne(chunk[0]!) : submitGroup(chunk));
    }
  });

  return {
    async run(node, inputs, ctx) {
      batch.enter();
      let left = false;
      const leave = (s?: Submission): void => {
        if (left) return;
        left = true;
        batch.leave(s);
      };
      let sent: { id: string; out: string } | Error;
      let files: JobFiles;
      try {
        const job = nodeJobOf(node, inputs, ctx, o.registry, store, driver);
        const before = earlier.get(node.key);
        if (before) {
          earlier.delete(node.key);
          const outcome = await reattach(node, job, before, ctx);
          if (outcome) return outcome;
        }
        if (ctx.signal.aborted) return cancelledOutcome(node, 'interrupted');
        files = new JobFiles(path.join(dir, node.key));
        await writeFileAtomic(files.job, JSON.stringify(job));
        const planned = files;
        sent = await new Promise<{ id: string; out: string } | Error>((done) =>
          leave({ node, files: planned, signal: ctx.signal, done }),
        );
      } finally {
        leave();
      }
      if (sent instanceof Error) {
        if (ctx.signal.aborted) return cancelledOutcome(node, 'interrupted');
        return failedOutcome(
          node,
          `${engine.name}: submitting the job failed: ${(sent as { stderr?: string }).stderr?.trim() || sent.message}`,
          { code: 'EXP_EXECUTOR_UNAVAILABLE' },
        );
      }
      const { id, out } = sent;
      files = new JobFiles(files.base, out);
      // Recorded before anything else: a driver killed from here on leaves a job the next run finds.
      submitted.add(id);
      await recordJob(o.invocation, node.key, {
        executor: engine.name,
        id,
        base: path.relative(root, files.base),
        submittedAt: Date.now(),
        driver: thisDriver,
        ...(out !== `${files.base}.out` ? { out: path.relative(root, out) } : {}),
      }).catch((e: Error) =>
        log(
          `${engine.name}: job ${id} not recorded in the invocation (${e.message}): a restarted exp run would submit it again`,
        ),
      );
      // Aborted while it was being submitted: it goes, then is cancelled by watch().
      ctx.onStarted(1);
      return watch(node, id, files, ctx);
    },
    async close() {
      clearInterval(timer);
      news.flush();
      cancel([...submitted]);
      submitted.clear();
      await Promise.all(cancels);
    },
  };
}
