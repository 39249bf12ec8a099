// The bullmq executor: `exp run --executor bullmq` keeps the planner, the cache decisions, the
// lifecycle and tracking, and enqueues each ready node on Redis; `exp worker` processes on any
// machine that mounts the same runs folder take the nodes they can host and run them through the
// same per-node code path as the local executor (node-run.ts), into the same store.
//
// Routing: one queue per GPU count (`<queue>-gpu0`, `-gpu1`, ...; `-gpuopt<N>` for nodes whose GPUs
// are optional), so a worker only ever receives nodes whose GPUs it has. A node's retries happen
// inside the node run (as locally); the job's own attempts cover the infrastructure (a worker shut
// down mid-node). A worker killed with SIGKILL stops renewing its job lock: after `lockMs` the job
// is stalled and another worker runs the node again (the dead worker's claim on the node is freed
// by its dead pid on the same host, or by its lease on another host).
//
// Capacity: each worker advertises what it offers (host, pid, CPUs, GPUs) in a Redis key with a
// TTL that it refreshes while alive. A node that waited `warnAfterMs` and that no live worker can
// host (more GPUs than any offers), or any waiting node when no worker is alive at all, gets one
// clear warning from the driver. The node keeps waiting: workers can join a fleet at any time.
//
// bullmq and ioredis are loaded when a driver or a worker starts, not when the registry is read.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Job, Queue, QueueEvents, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { ExpError } from '../errors.ts';
import type { PlanNode } from '../plan/dag.ts';
import type { StageRegistry } from '../plan/registry.ts';
import { ArtifactStore } from '../store/store.ts';
import type { NodeEvent } from './events-file.ts';
import type { Inventory } from './inventory.ts';
import type { NodeOutcome } from './lifecycle.ts';
import { resolveJob, runNodeInStore, type NodeJob } from './node-run.ts';
import type { ExecutorDefinition } from './registry.ts';
import {
  cancelledOutcome,
  DispatchBatch,
  eventForwarder,
  failedOutcome,
  localise,
  nodeJobOf,
  type RemoteNodeRunner,
} from './remote.ts';
import { ResourcePool, type Grant, type Request } from './resources.ts';
import { InlineRunner, PoolRunner, ProcessRunner } from './runners.ts';

export const DEFAULT_QUEUE = 'exp';
/** GPU counts a CPU-only worker still accepts when the GPUs are optional. */
const MAX_OPTIONAL_GPUS = 8;

/** What a worker sends the driver while it holds a job: live events, or why it refused the job. */
type JobProgress = { events: NodeEvent[]; refused?: Refusal };

/** A worker whose runs folder is not the driver's says so (and puts the job back). */
interface Refusal {
  host: string;
  pid: number;
  runsDir: string;
  runsId: string;
}

/** How long a worker's advertisement lives without a refresh (refreshed every third of it). */
const WORKER_TTL_MS = 15_000;

/** What a live worker offers, as it advertises it in Redis. */
export interface WorkerAd {
  host: string;
  pid: number;
  cpus: number;
  gpus: number;
  since: number;
}

const workersSet = (prefix: string): string => `exp-workers:${prefix}`;
const workerKey = (prefix: string, id: string): string => `exp-workers:${prefix}:${id}`;

/** The workers alive on a queue prefix (their advertisement has not expired). */
export async function liveWorkers(conn: Redis, prefix: string): Promise<WorkerAd[]> {
  const ids = await conn.smembers(workersSet(prefix));
  if (!ids.length) return [];
  const values = await conn.mget(ids.map((id) => workerKey(prefix, id)));
  const out: WorkerAd[] = [];
  const gone: string[] = [];
  ids.forEach((id, i) => {
    const v = values[i];
    if (v) out.push(JSON.parse(v) as WorkerAd);
    else gone.push(id);
  });
  if (gone.length) await conn.srem(workersSet(prefix), ...gone);
  return out;
}

/** Can a worker with `gpus` devices ever take a node with these resources? (The routing's answer.) */
export function canHost(prefix: string, workerGpus: number, r: Pick<Request, 'gpus' | 'gpuOptional'>): boolean {
  const q = queueFor(prefix, r);
  return queuesForWorker(prefix, workerGpus).some((x) => x.name === q);
}

function describeNeed(r: Request): string {
  const gpus = r.gpus > 0 ? `${r.gpus} GPU(s)${r.gpuOptional ? ' (optional)' : ''}` : 'no GPU';
  return `${gpus}, ${r.cpus} CPU(s)${r.memoryMb > 0 ? `, ${r.memoryMb} MB` : ''}`;
}

export function queueFor(prefix: string, r: Pick<Request, 'gpus' | 'gpuOptional'>): string {
  const n = Math.ceil(Math.max(0, r.gpus));
  if (n === 0) return `${prefix}-gpu0`;
  return r.gpuOptional ? `${prefix}-gpuopt${n}` : `${prefix}-gpu${n}`;
}

/** The queues a worker with `gpus` devices listens to. */
export function queuesForWorker(prefix: string, gpus: number): { name: string; gpus: number }[] {
  const out = [{ name: `${prefix}-gpu0`, gpus: 0 }];
  for (let n = 1; n <= gpus; n++) out.push({ name: `${prefix}-gpu${n}`, gpus: n });
  for (let n = 1; n <= (gpus || MAX_OPTIONAL_GPUS); n++) out.push({ name: `${prefix}-gpuopt${n}`, gpus: gpus ? n : 0 });
  return out;
}

/** host:port of a Redis URL, for messages (never its password). */
export function redisAddress(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || '127.0.0.1'}:${u.port || '6379'}`;
  } catch {
    return url;
  }
}

export async function redisConnection(url: string): Promise<Redis> {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!/^rediss?:\/\//.test(url) || !parsed) {
    throw new ExpError('EXP_ARGS_INVALID', `not a Redis URL: "${url}"`, {
      hint: 'e.g. --redis redis://127.0.0.1:6379',
    });
  }
  const { Redis } = await import('ioredis');
  // BullMQ's blocking commands need maxRetriesPerRequest: null. Reconnecting forever is right for
  // a worker (a daemon) and for the driver while it is within its redis_timeout (health below).
  return new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    lazyConnect: false,
    connectTimeout: 5000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
}

/** Errors that say at once that nothing (or not a Redis) answers there: no point waiting. */
function connectFailure(url: string, e: Error & { code?: string }): ExpError | undefined {
  const at = redisAddress(url);
  const hint = 'start redis-server there, or check --redis / settings.bullmq.redis / EXP_REDIS';
  if (e.code === 'ECONNREFUSED')
    return new ExpError(
      'EXP_EXECUTOR_UNAVAILABLE',
      `cannot reach Redis at ${at}: nothing listens there (connection refused)`,
      { hint },
    );
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN')
    return new ExpError('EXP_EXECUTOR_UNAVAILABLE', `cannot reach Redis at ${at}: host not found (${e.code})`, {
      hint,
    });
  if (e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH')
    return new ExpError('EXP_EXECUTOR_UNAVAILABLE', `cannot reach Redis at ${at}: ${e.code}`, { hint });
  if (/Protocol error|Unknown RESP type|unknown command|wrong number|ERR /i.test(e.message) || e.name === 'ParserError')
    return new ExpError(
      'EXP_EXECUTOR_UNAVAILABLE',
      `${at} answered, but not as a Redis server does (${e.message.split('\n')[0]!.replace(/\s*Please report this\.?/, '')})`,
      {
        hint: 'check the port of --redis / settings.bullmq.redis: something else listens there',
      },
    );
  if (/NOAUTH|WRONGPASS|invalid password|AUTH/i.test(e.message))
    return new ExpError('EXP_EXECUTOR_UNAVAILABLE', `Redis at ${at} refused exp: ${e.message.split('\n')[0]}`, {
      hint: 'put the password in the URL: redis://:PASSWORD@host:port',
    });
  return undefined;
}

/**
 * A connection to a Redis that answered PING, within 5 s; otherwise an EXP_EXECUTOR_UNAVAILABLE
 * naming host:port and what happened (refused, not found, not a Redis, no answer).
 */
export async function connectRedis(url: string): Promise<Redis> {
  const conn = await redisConnection(url);
  let last: Error | undefined;
  let fail: (e: Error) => void = () => undefined;
  const onError = (e: Error): void => {
    last = e;
    const clear = connectFailure(url, e);
    if (clear) fail(clear);
  };
  conn.on('error', onError);
  try {
    await new Promise<void>((resolve, reject) => {
      fail = reject;
      const timer = setTimeout(
        () =>
          reject(
            new ExpError(
              'EXP_EXECUTOR_UNAVAILABLE',
              `cannot reach Redis at ${redisAddress(url)}: no answer to PING within 5 s${last ? ` (${last.message.split('\n')[0]})` : ''}`,
              {
                hint: 'start redis-server there, or check --redis / settings.bullmq.redis / EXP_REDIS (and any firewall)',
              },
            ),
          ),
        5000,
      );
      timer.unref();
      conn.ping().then(
        (reply) => {
          clearTimeout(timer);
          if (reply === 'PONG') resolve();
          else reject(connectFailure(url, new Error(`Protocol error: PING answered ${JSON.stringify(reply)}`))!);
        },
        (e: Error) => {
          clearTimeout(timer);
          reject(
            connectFailure(url, e) ??
              new ExpError('EXP_EXECUTOR_UNAVAILABLE', `Redis at ${redisAddress(url)}: ${e.message}`),
          );
        },
      );
    });
  } catch (e) {
    // onError stays attached: the errors of a connection being dropped were reported just now.
    conn.disconnect();
    throw e;
  }
  conn.off('error', onError);
  return conn;
}

/**
 * Says what happens to the connections to one Redis, once per outage rather than once per failed
 * reconnect: the first error of an outage (what it means), then that it answers again.
 */
export class RedisWatch {
  private outageSince: number | undefined;
  private told = new Set<string>();

  constructor(
    private readonly url: string,
    private readonly who: string,
    private readonly log: (line: string) => void,
  ) {}

  /** Attaches to a connection (or a BullMQ object) that emits 'error' (and 'ready'). */
  watch(emitter: { on(event: 'error', f: (e: Error) => void): unknown }): void {
    emitter.on('error', (e: Error) => this.error(e));
  }

  error(e: Error & { code?: string }): void {
    this.outageSince ??= Date.now();
    const what = e.code ?? e.message.split('\n')[0]!.slice(0, 80);
    if (this.told.has(what)) return;
    this.told.add(what);
    this.log(`${this.who}: Redis at ${redisAddress(this.url)}: ${e.message.split('\n')[0]} (retrying; said once)`);
  }

  /** The connection works again (a command answered). */
  answered(): void {
    if (this.outageSince === undefined) return;
    this.log(
      `${this.who}: Redis at ${redisAddress(this.url)} answers again after ${((Date.now() - this.outageSince) / 1000).toFixed(1)} s`,
    );
    this.outageSince = undefined;
    this.told.clear();
  }

  get down(): boolean {
    return this.outageSince !== undefined;
  }
}

/** A promise that gives up after `ms` (Redis commands wait forever while it is away). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
    t.unref();
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

const runIdOf = (info: string): string => /run_id:(\w+)/.exec(info)?.[1] ?? '';

export interface BullmqDriverOptions {
  redis: string;
  queue?: string;
  registry: StageRegistry;
  store: ArtifactStore;
  /** Infrastructure attempts of a job (a worker shut down or lost mid-node); default 3. */
  jobAttempts?: number;
  /** Warn about a node no live worker can host after it waited this long (default 15 s). */
  warnAfterMs?: number;
  /** How long Redis may not answer before the nodes sent there fail (default 60 s). */
  redisTimeoutMs?: number;
  /** How often the driver looks at Redis's health (default 1 s). */
  healthMs?: number;
  /** Where the driver's warnings go. */
  log?: (line: string) => void;
}

/** How often a node lost by Redis is queued again before it fails. */
const MAX_REQUEUES = 3;

/**
 * The driver side: enqueue ready nodes, forward their events, resolve their outcomes. It watches
 * Redis: a Redis that restarted or was emptied (its run_id changed, or the key this driver wrote
 * is gone) lost the jobs it held, so the nodes not committed meanwhile are queued again (those a
 * worker committed are taken from the store); a Redis that does not answer for `redisTimeoutMs`
 * fails the nodes sent there, clearly, instead of waiting forever.
 */
export async function bullmqRunner(o: BullmqDriverOptions): Promise<RemoteNodeRunner> {
  const prefix = o.queue ?? DEFAULT_QUEUE;
  const log = o.log ?? (() => undefined);
  const at = redisAddress(o.redis);
  const { Queue, QueueEvents } = await import('bullmq');
  await o.store.init();
  const conn = await connectRedis(o.redis);
  const watch = new RedisWatch(o.redis, 'bullmq', log);
  watch.watch(conn);
  const driver = `${os.hostname()}:${process.pid}:${Date.now().toString(36)}`;
  // Written by this driver and read back at every health check: gone means Redis lost its data.
  const epochKey = `exp-driver:${prefix}:${driver}`;
  const epoch = randomBytes(8).toString('hex');
  let runId = runIdOf(await conn.info('server'));
  await conn.set(epochKey, epoch, 'EX', 24 * 3600);
  // Connections handed to BullMQ stay ours to close.
  const conns: Redis[] = [conn];
  const queues = new Map<string, { queue: Queue; events: QueueEvents }>();
  interface Pending {
    node: PlanNode;
    jobId: string;
    data: NodeJob;
    job?: Job;
    queue?: Queue;
    addedAt: number;
    started: boolean;
    requeues: number;
    /** An addBulk with it is in flight; failed ones so far. */
    adding: boolean;
    addFailures: number;
    rerunInPlace: boolean;
    resolve(o: NodeOutcome): void;
    forward(e: NodeEvent): void;
  }
  const pending = new Map<string, Pending>();
  /** Set when Redis stopped answering for too long: every node sent there from now on fails at once. */
  let broken: NodeOutcome['error'] | undefined;
  const refusals = new Set<string>();

  const settle = (jobId: string, outcome: NodeOutcome): void => {
    const p = pending.get(jobId);
    if (!p) return;
    pending.delete(jobId);
    p.resolve(outcome);
  };
  const fromResult = (p: Pending, value: unknown): NodeOutcome =>
    localise(o.store, p.node, (typeof value === 'string' ? JSON.parse(value) : value) as NodeOutcome);
  const workerFailed = (p: Pending, reason: string): NodeOutcome =>
    failedOutcome(p.node, `worker could not run the node: ${reason}`, { code: 'EXP_EXECUTOR_UNAVAILABLE' });

  // One QueueEvents per queue, even when several nodes ask for it at once (two would deliver
  // every event twice: doubled progress lines and live metrics).
  const opening = new Map<string, Promise<Queue>>();
  const queueOf = (name: string): Promise<Queue> => {
    let q = opening.get(name);
    if (!q) {
      q = openQueue(name);
      opening.set(name, q);
      // A queue that could not be opened is opened again by the next node that needs it.
      q.catch(() => opening.delete(name));
    }
    return q;
  };
  const openQueue = async (name: string): Promise<Queue> => {
    const eventsConn = conn.duplicate();
    watch.watch(eventsConn);
    conns.push(eventsConn);
    const events = new QueueEvents(name, { connection: eventsConn });
    watch.watch(events);
    events.on('progress', ({ jobId, data }) => {
      const p = pending.get(jobId);
      if (!p) return;
      const progress = data as JobProgress;
      if (progress.refused) noteRefusal(p, progress.refused);
      for (const e of progress.events ?? []) {
        p.started = true;
        p.forward(e);
      }
    });
    events.on('completed', ({ jobId, returnvalue }) => {
      const p = pending.get(jobId);
      if (p) settle(jobId, fromResult(p, returnvalue));
    });
    events.on('failed', ({ jobId, failedReason }) => {
      const p = pending.get(jobId);
      if (!p?.job) return;
      // Only a job out of attempts is final (a failed attempt goes back to waiting).
      void within(p.job.getState(), 5000, 'job state')
        .then((state) => {
          if (state === 'failed') settle(jobId, workerFailed(p, failedReason));
        })
        .catch((e: Error) => watch.error(e)); // the sweep below looks again
    });
    await within(events.waitUntilReady(), 10_000, `listening to queue ${name}`);
    const queue = new Queue(name, { connection: conn });
    watch.watch(queue);
    queues.set(name, { queue, events });
    return queue;
  };

  const noteRefusal = (p: Pending, r: Refusal): void => {
    const id = `${r.host}:${r.pid}`;
    if (refusals.has(id)) return;
    refusals.add(id);
    log(
      `bullmq: worker ${r.host} pid ${r.pid} serves runs folder ${r.runsDir} (id ${r.runsId}), not this run's ${o.store.root} (id ${o.store.identity}): ` +
        `it refused ${p.node.stage} ${p.node.key.slice(0, 10)}, which went back to the queue. ` +
        `Start exp worker with --runs ${o.store.root} (the same shared folder) on that machine.`,
    );
  };

  /**
   * Adds nodes' jobs, one addBulk per queue (the nodes dispatched together go in one round trip).
   * A failed add (Redis away) is tried again when Redis answers (health below), at most
   * MAX_REQUEUES times before the node fails with the error.
   */
  const addAll = (ps: Pending[]): void => {
    const byQueue = new Map<string, Pending[]>();
    for (const p of ps) {
      if (!pending.has(p.jobId)) continue; // settled meanwhile (Ctrl-C)
      p.adding = true;
      const name = queueFor(prefix, p.node.resources);
      (byQueue.get(name) ?? byQueue.set(name, []).get(name)!).push(p);
    }
    for (const [name, group] of byQueue) {
      void queueOf(name)
        .then(async (queue) => {
          const jobs = await queue.addBulk(
            group.map((p) => ({
              name: p.node.stage,
              data: p.data,
              opts: {
                jobId: p.jobId,
                attempts: o.jobAttempts ?? 3,
                backoff: { type: 'fixed', delay: 200 },
                removeOnComplete: { age: 24 * 3600 },
                removeOnFail: { age: 7 * 24 * 3600 },
              },
            })),
          );
          group.forEach((p, i) => {
            p.job = jobs[i];
            p.queue = queue;
            p.addedAt = Date.now();
          });
        })
        .catch((e: Error) => {
          // Redis away: said by the watch; the health check adds them again once it answers.
          watch.error(e);
          for (const p of group) {
            p.addFailures++;
            if (p.addFailures > MAX_REQUEUES)
              settle(
                p.jobId,
                failedOutcome(p.node, `bullmq: the node could not be added to Redis at ${at}: ${e.message}`, {
                  code: 'EXP_EXECUTOR_UNAVAILABLE',
                }),
              );
          }
        })
        .finally(() => {
          for (const p of group) p.adding = false;
        });
    }
  };
  const adds = new DispatchBatch<Pending>(addAll);

  /**
   * Jobs Redis no longer holds (restarted, emptied, or removed by hand): a node a worker committed
   * meanwhile is taken from the store; the others are queued again (a bounded number of times).
   */
  const recover = (lost: Pending[], why: string): void => {
    const requeue: Pending[] = [];
    let committed = 0;
    let again = 0;
    let given = 0;
    for (const p of lost) {
      const m = o.store.readManifest(p.node.kind, p.node.key);
      // A node rerun in place counts only when committed after its job was sent.
      if (m && (!p.rerunInPlace || m.finishedAt >= p.addedAt)) {
        committed++;
        settle(p.jobId, {
          key: p.node.key,
          status: 'done',
          manifest: m,
          dir: o.store.nodeDir(p.node.kind, p.node.key),
          attempts: m.attempts,
          durationMs: m.durationMs,
          logFile: o.store.logPath(p.node.key),
        });
      } else if (p.requeues >= MAX_REQUEUES) {
        given++;
        settle(
          p.jobId,
          failedOutcome(p.node, `Redis at ${at} lost this node's job ${p.requeues + 1} times (${why})`, {
            code: 'EXP_NODE_LOST',
          }),
        );
      } else {
        again++;
        p.requeues++;
        p.job = undefined;
        p.started = false;
        requeue.push(p);
      }
    }
    addAll(requeue);
    if (lost.length)
      log(
        `bullmq: Redis at ${at} ${why}: it lost ${lost.length} node(s) this run had sent it: ` +
          `${committed} already committed by their workers (used), ${again} queued again${given ? `, ${given} failed (lost too often)` : ''}`,
      );
  };

  /** Redis did not answer for too long: every node sent there fails, and so does every later one. */
  const giveUp = (cause: string): void => {
    broken = {
      message: `Redis at ${at} did not answer for ${Math.round(redisTimeoutMs / 1000)} s (${cause}): exp run stopped waiting for the nodes it sent there`,
      code: 'EXP_EXECUTOR_UNAVAILABLE',
      hint: `start Redis again (or check settings.bullmq.redis), then run the same command again: finished nodes are reused`,
    };
    log(`bullmq: ${broken.message}`);
    for (const p of [...pending.values()]) settle(p.jobId, { ...failedOutcome(p.node, broken.message), error: broken });
  };

  const redisTimeoutMs = o.redisTimeoutMs ?? 60_000;
  let downSince: number | undefined;
  let healthBusy = false;
  const health = async (): Promise<void> => {
    try {
      const [info, mark] = await within(
        Promise.all([conn.info('server'), conn.get(epochKey)]),
        Math.min(5000, redisTimeoutMs),
        `Redis at ${at}`,
      );
      downSince = undefined;
      watch.answered();
      // Nodes whose add failed while Redis was away: added now.
      addAll([...pending.values()].filter((p) => !p.job && !p.adding && p.addFailures > 0));
      const id = runIdOf(info);
      if (id !== runId || mark !== epoch) {
        const why =
          id !== runId ? 'was restarted (a new run_id)' : 'was emptied (FLUSHALL, a failover, or its keys evicted)';
        runId = id;
        await within(conn.set(epochKey, epoch, 'EX', 24 * 3600), 5000, `Redis at ${at}`);
        recover(
          [...pending.values()].filter((p) => p.job),
          why,
        );
      }
    } catch (e) {
      if (broken) return;
      const now = Date.now();
      if (downSince === undefined) {
        downSince = now;
        log(
          `bullmq: Redis at ${at} does not answer (${(e as Error).message.split('\n')[0]}): waiting up to ${Math.round(redisTimeoutMs / 1000)} s for it (settings.bullmq.redis_timeout)`,
        );
      } else if (now - downSince >= redisTimeoutMs) giveUp((e as Error).message.split('\n')[0]!);
    }
  };
  const healthTimer = setInterval(() => {
    if (healthBusy) return;
    healthBusy = true;
    void health().finally(() => (healthBusy = false));
  }, o.healthMs ?? 1000);
  // Not unref'd: while nodes are out, it keeps exp run alive even with no connection open (close() clears it).

  // A safety net under the event stream: look at unfinished jobs now and then. A job Redis says it
  // does not know (twice in a row, while it answers) is lost.
  const unknown = new Map<string, number>();
  let sweeping = false;
  const sweepOnce = async (): Promise<void> => {
    const lost: Pending[] = [];
    for (const [id, p] of [...pending]) {
      if (!p.job || !p.queue || downSince !== undefined) continue;
      const state = await within(p.job.getState(), 5000, 'job state');
      if (state === 'unknown') {
        const n = (unknown.get(id) ?? 0) + 1;
        unknown.set(id, n);
        if (n >= 2) {
          unknown.delete(id);
          lost.push(p);
        }
        continue;
      }
      unknown.delete(id);
      if (state !== 'completed' && state !== 'failed') continue;
      const job = await within(p.queue.getJob(id), 5000, 'job');
      if (state === 'completed' && job) settle(id, fromResult(p, job.returnvalue));
      else if (state === 'failed') settle(id, workerFailed(p, job?.failedReason ?? 'failed'));
    }
    recover(lost, 'no longer holds their jobs (removed from the queue)');
  };
  const sweep = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    void sweepOnce()
      .catch((e: Error) => watch.error(e))
      .finally(() => (sweeping = false));
  }, 2000);
  sweep.unref();

  // Nodes nobody can take: say so once per kind of need (and once when no worker is alive at all).
  const warnAfterMs = o.warnAfterMs ?? 15_000;
  const warnedQueues = new Set<string>();
  let warnedNoWorker = false;
  let checking = false;
  const checkHostable = async (): Promise<void> => {
    const now = Date.now();
    const waiting = [...pending.values()].filter((p) => p.job && !p.started && now - p.addedAt >= warnAfterMs);
    if (!waiting.length) return;
    const workers = await within(liveWorkers(conn, prefix), 5000, 'live workers');
    if (!workers.length) {
      if (!warnedNoWorker) {
        log(
          `bullmq: no exp worker is alive on queue "${prefix}" of ${o.redis}: ${waiting.length} node(s) wait in Redis. ` +
            `Start one on a machine that mounts the runs folder: exp worker --redis ${o.redis} --runs ${o.store.root}` +
            `${prefix === DEFAULT_QUEUE ? '' : ` --queue ${prefix}`} (the nodes wait until then; Ctrl-C stops waiting)`,
        );
      }
      warnedNoWorker = true;
      return;
    }
    warnedNoWorker = false;
    const byQueue = new Map<string, Pending[]>();
    for (const p of waiting) {
      if (workers.some((w) => canHost(prefix, w.gpus, p.node.resources))) continue;
      const q = queueFor(prefix, p.node.resources);
      if (!warnedQueues.has(q)) (byQueue.get(q) ?? byQueue.set(q, []).get(q)!).push(p);
    }
    for (const [q, ps] of byQueue) {
      warnedQueues.add(q);
      const nodes = ps.slice(0, 3).map((p) => `${p.node.stage} ${p.node.key.slice(0, 10)}`);
      const more = ps.length > 3 ? ` and ${ps.length - 3} more` : '';
      const offers = workers
        .slice(0, 5)
        .map((w) => `${w.host} pid ${w.pid}: ${w.gpus} GPU(s), ${w.cpus} CPU(s)`)
        .join('; ');
      const need = Math.ceil(ps[0]!.node.resources.gpus);
      log(
        `bullmq: no live worker can host ${nodes.join(', ')}${more}: ${ps.length === 1 ? 'it needs' : 'they need'} ` +
          `${describeNeed(ps[0]!.node.resources)}; the ${workers.length} live worker(s) offer ${offers}${workers.length > 5 ? '; …' : ''}. ` +
          `${ps.length === 1 ? 'It waits' : 'They wait'} in Redis (queue ${q}) until such a worker joins: start ` +
          `exp worker --gpus with at least ${need} id(s) on a machine that has them, or lower the stage's resources.gpus ` +
          '(Ctrl-C stops waiting).',
      );
    }
  };
  const hostableTimer = setInterval(
    () => {
      if (checking || downSince !== undefined) return;
      checking = true;
      void checkHostable()
        .catch((e: Error) => watch.error(e))
        .finally(() => (checking = false));
    },
    Math.max(250, Math.min(5000, warnAfterMs / 2)),
  );
  hostableTimer.unref();

  return {
    async run(node, inputs, ctx) {
      if (broken) return { ...failedOutcome(node, broken.message), error: broken };
      const jobId = `${node.key}.${driver.replace(/:/g, '-')}`;
      const data = nodeJobOf(node, inputs, ctx, o.registry, o.store, driver);
      return new Promise<NodeOutcome>((resolve) => {
        const p: Pending = {
          node,
          jobId,
          data,
          addedAt: Date.now(),
          started: false,
          requeues: 0,
          adding: false,
          addFailures: 0,
          rerunInPlace: ctx.rerunInPlace,
          resolve,
          // Every attempt's start comes from the worker (nothing is announced when the job is added).
          forward: eventForwarder(ctx, false),
        };
        pending.set(jobId, p);
        const onAbort = (): void => {
          // Not started yet: take it back. Running: it finishes on its worker and lands in the store.
          p.job?.remove().catch((e: Error) => {
            if (!/locked|not exist|could not be removed/i.test(e.message)) watch.error(e);
          });
          settle(jobId, cancelledOutcome(node, 'interrupted'));
        };
        if (ctx.signal.aborted) return onAbort();
        ctx.signal.addEventListener('abort', onAbort, { once: true });
        adds.enter();
        adds.leave(p);
      });
    },
    async close() {
      clearInterval(sweep);
      clearInterval(hostableTimer);
      clearInterval(healthTimer);
      // Bounded: with Redis away these would wait forever, and Ctrl-C must end exp run within its grace.
      const bounded = (p: Promise<unknown>, what: string): Promise<unknown> =>
        within(p, 3000, what).catch((e: Error) => {
          if (!watch.down && !broken) log(`bullmq: closing: ${e.message}`);
        });
      await bounded(conn.del(epochKey), 'removing the driver key');
      for (const [name, { queue, events }] of queues) {
        await bounded(events.close(), `closing queue events ${name}`);
        await bounded(queue.close(), `closing queue ${name}`);
      }
      for (const c of conns) c.disconnect();
    },
  };
}

export interface WorkerOptions {
  redis: string;
  runsDir: string;
  registry: StageRegistry;
  inventory: Inventory;
  queue?: string;
  /** Job lock duration; a SIGKILLed worker's node is rerun elsewhere after about this long (see stalledIntervalFor). */
  lockMs?: number;
  /** A line per node (exp worker --quiet drops them). */
  log?: (line: string) => void;
  /** What the operator must see even with --quiet: refused jobs, Redis lost and back. */
  warn?: (line: string) => void;
}

/** How long a job refused by a worker (another runs folder) waits before any worker may take it again. */
const REFUSED_DELAY_MS = 2000;

/**
 * How often a worker looks for jobs whose worker died (BullMQ's stalled check). A job is moved back
 * to the queue by the first check that finds its lock expired and that saw it stalled already at
 * the check before, so a dead worker's node waits its lock's remaining life (up to lockMs) plus up
 * to two of these intervals. A short interval costs one small Lua script per queue and interval
 * (all workers together), and cannot make a live worker's job look stalled: only an expired lock
 * does, and a live worker renews its lock every lockMs/2.
 */
export function stalledIntervalFor(lockMs: number): number {
  return Math.max(200, Math.min(1000, Math.floor(lockMs / 2)));
}

export interface RunningWorker {
  /** Stop taking nodes; `force` aborts running ones (they go back to the queue). */
  close(force?: boolean): Promise<void>;
  queues: string[];
}

/** The worker side (`exp worker`). */
export async function startWorker(o: WorkerOptions): Promise<RunningWorker> {
  const prefix = o.queue ?? DEFAULT_QUEUE;
  const log = o.log ?? (() => undefined);
  const warn = o.warn ?? log;
  const store = new ArtifactStore(o.runsDir);
  await store.init();
  const { Worker, DelayedError } = await import('bullmq');
  const conn = await connectRedis(o.redis);
  const watch = new RedisWatch(o.redis, 'exp worker', warn);
  watch.watch(conn);
  const pool = new ResourcePool(o.inventory);
  const runners = {
    inline: new InlineRunner(),
    pool: new PoolRunner(o.inventory.cpus),
    process: new ProcessRunner(5000),
  };
  const stopping = new AbortController();
  let waiters: (() => void)[] = [];
  const released = (): void => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  const lockMs = o.lockMs ?? 5000;

  const acquire = async (r: Request, signal: AbortSignal): Promise<Grant> => {
    for (;;) {
      const g = pool.tryAcquire(r);
      if (g) return g;
      if (signal.aborted) throw new Error('worker shutting down');
      await new Promise<void>((res) => waiters.push(res));
    }
  };

  const refusedFrom = new Set<string>();
  /** A job from a driver on another runs folder goes back to the queue, for a worker of that folder. */
  const refuse = async (job: Job<NodeJob>, token: string | undefined): Promise<never> => {
    const data = job.data;
    const theirs = data.runs!;
    if (!refusedFrom.has(theirs.id)) {
      refusedFrom.add(theirs.id);
      warn(
        `exp worker: refused ${data.node.stage} ${data.node.key.slice(0, 10)} from exp run ${data.driver}: it runs on runs folder ${theirs.dir} (id ${theirs.id}), ` +
          `this worker on ${store.root} (id ${store.identity}); the job went back to the queue for a worker of that folder ` +
          `(restart this one with --runs ${theirs.dir} if it should serve that run; said once per runs folder)`,
      );
    }
    const refused: Refusal = { host: os.hostname(), pid: process.pid, runsDir: store.root, runsId: store.identity };
    await job.updateProgress({ events: [], refused } satisfies JobProgress);
    await job.moveToDelayed(Date.now() + REFUSED_DELAY_MS, token);
    throw new DelayedError();
  };

  // Nodes this worker is computing. The same node can come twice (a Redis that lost its job while
  // this worker ran it, and a driver that queued it again): the second waits for the first and then
  // finds it in the store. (The store's claim would not stop it: the claim is this process's own.)
  const inFlight = new Map<string, Promise<unknown>>();

  const process_ = async (job: Job<NodeJob>, token?: string): Promise<NodeOutcome> => {
    const data = job.data;
    const node = data.node;
    // Never answer from this folder's cache for another folder's run.
    if (data.runs && data.runs.id !== store.identity) return refuse(job, token);
    // Settled either way: the first one's failure is reported by its own job.
    for (let running = inFlight.get(node.key); running; running = inFlight.get(node.key))
      await Promise.allSettled([running]);
    const mine = processNode(job, data);
    inFlight.set(node.key, mine);
    try {
      return await mine;
    } finally {
      if (inFlight.get(node.key) === mine) inFlight.delete(node.key);
    }
  };

  const processNode = async (job: Job<NodeJob>, data: NodeJob): Promise<NodeOutcome> => {
    const node = data.node;
    const { kind, inputs } = await resolveJob(data, store, o.registry);
    const grant = await acquire(node.resources, stopping.signal);
    let buffer: JobProgress['events'] = [];
    let flushing: Promise<void> = Promise.resolve();
    let progressLost = false;
    const flush = (): void => {
      if (!buffer.length) return;
      const events = buffer;
      buffer = [];
      flushing = flushing.then(() =>
        job.updateProgress({ events } satisfies JobProgress).catch((e: Error) => {
          // Live events only: the manifest still carries the node's metrics and its log is in the store.
          if (!progressLost)
            warn(
              `exp worker: live events of ${node.stage} ${node.key.slice(0, 10)} did not reach the driver (${e.message})`,
            );
          progressLost = true;
        }),
      );
    };
    const timer = setInterval(flush, 200);
    log(
      `▶ ${node.stage} ${node.key.slice(0, 10)} (${node.kind})${grant.gpus.length ? ` GPUs ${grant.gpus.map((g) => g.id).join(',')}` : ''}`,
    );
    try {
      const outcome = await runNodeInStore({
        node,
        kind,
        inputs,
        store,
        runners,
        gpus: grant.gpus.map((g) => g.id),
        signal: stopping.signal,
        retries: data.retries,
        rerunInPlace: data.rerunInPlace,
        onStarted: (attempt) => buffer.push({ type: 'started', attempt }),
        onEvent: (e) => {
          buffer.push(e);
          if (buffer.length >= 200) flush();
        },
      });
      clearInterval(timer);
      flush();
      await flushing;
      log(
        `${outcome.status === 'done' || outcome.status === 'cached' ? '✓' : '✖'} ${node.stage} ${node.key.slice(0, 10)} ${outcome.status} in ${outcome.durationMs} ms`,
      );
      // Interrupted here: the node goes back to the queue for another worker.
      if (outcome.status === 'cancelled') throw new Error(`worker ${os.hostname()} shut down mid-node`);
      return outcome;
    } finally {
      clearInterval(timer);
      pool.release(grant);
      released();
    }
  };

  const workers: Worker[] = [];
  const conns: Redis[] = [conn];
  for (const q of queuesForWorker(prefix, o.inventory.gpus.length)) {
    const concurrency =
      q.gpus === 0
        ? Math.max(1, Math.floor(o.inventory.cpus))
        : Math.max(1, Math.floor(o.inventory.gpus.length / q.gpus));
    const wconn = conn.duplicate();
    watch.watch(wconn);
    conns.push(wconn);
    const w = new Worker<NodeJob, NodeOutcome>(q.name, process_, {
      connection: wconn,
      concurrency,
      lockDuration: lockMs,
      stalledInterval: stalledIntervalFor(lockMs),
      maxStalledCount: 3,
    });
    watch.watch(w);
    workers.push(w);
  }
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  // Advertise what this worker offers, for as long as it is alive (the TTL outlives a missed refresh).
  const adId = `${os.hostname()}:${process.pid}:${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const ad: WorkerAd = {
    host: os.hostname(),
    pid: process.pid,
    cpus: o.inventory.cpus,
    gpus: o.inventory.gpus.length,
    since: Date.now(),
  };
  const advertise = async (): Promise<void> => {
    await conn.set(workerKey(prefix, adId), JSON.stringify(ad), 'PX', WORKER_TTL_MS);
    await conn.sadd(workersSet(prefix), adId);
    watch.answered();
  };
  await advertise();
  // Refreshed on a timer; a refresh that fails (Redis away) is reported by the watch, once per outage.
  const adTimer = setInterval(() => void advertise().catch((e: Error) => watch.error(e)), WORKER_TTL_MS / 3);
  adTimer.unref();
  return {
    queues: workers.map((w) => w.name),
    async close(force = false) {
      clearInterval(adTimer);
      // Without Redis the advertisement expires by itself (its TTL): do not wait for it.
      await within(
        Promise.all([conn.del(workerKey(prefix, adId)), conn.srem(workersSet(prefix), adId)]),
        3000,
        'withdrawing the advertisement',
      ).catch((e: Error) => watch.error(e));
      if (force) stopping.abort();
      await Promise.all(workers.map((w) => w.close(force)));
      stopping.abort();
      released();
      await Promise.all(Object.values(runners).map((r) => r.close()));
      for (const c of conns) c.disconnect();
    },
  };
}

export const bullmqExecutor: ExecutorDefinition = {
  name: 'bullmq',
  description: '`exp worker` processes on any machine take the ready nodes from a Redis queue (the runs folder shared)',
  settingsSchema: {
    type: 'object',
    additionalProperties: false,
    description: 'Options of the bullmq executor (--redis and --queue override).',
    properties: {
      redis: {
        type: 'string',
        pattern: '^rediss?://',
        description: 'Redis URL, e.g. redis://10.0.0.5:6379 (the workers must use the same one).',
      },
      queue: {
        type: 'string',
        pattern: '^[A-Za-z0-9_-]+$',
        default: DEFAULT_QUEUE,
        description: 'Queue name prefix shared by the driver and its workers (exp worker --queue).',
      },
      redis_timeout: {
        type: 'number',
        exclusiveMinimum: 0,
        default: 60,
        description:
          'Seconds exp run waits for a Redis that stopped answering before it fails the nodes it sent there (exit 1, with the command to continue). A Redis that comes back empty (restarted) is noticed and the lost nodes are queued again.',
      },
    },
  },
  options: [
    {
      key: 'redis',
      flag: 'redis',
      env: 'EXP_REDIS',
      value: 'URL',
      required: true,
      description: 'a Redis URL (the Redis of its workers), e.g. redis://10.0.0.5:6379',
    },
    {
      key: 'queue',
      flag: 'queue',
      value: 'NAME',
      description: `the queue prefix shared with the workers (default ${DEFAULT_QUEUE})`,
    },
  ],
  where: (s) => `the workers of ${String(s.redis)} (queue ${typeof s.queue === 'string' ? s.queue : DEFAULT_QUEUE})`,
  async open(ctx) {
    const warn = Number(ctx.env.EXP_UNHOSTABLE_WARN_MS);
    return bullmqRunner({
      redis: String(ctx.settings.redis),
      queue: typeof ctx.settings.queue === 'string' ? ctx.settings.queue : DEFAULT_QUEUE,
      registry: ctx.registry,
      store: ctx.store,
      log: ctx.log,
      ...(warn > 0 ? { warnAfterMs: warn } : {}),
      ...(typeof ctx.settings.redis_timeout === 'number' ? { redisTimeoutMs: ctx.settings.redis_timeout * 1000 } : {}),
    });
  },
};
