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

type JobProgress = { events: NodeEvent[] };

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

export async function redisConnection(url: string): Promise<Redis> {
  if (!/^rediss?:\/\//.test(url)) {
    throw new ExpError('EXP_ARGS_INVALID', `not a Redis URL: "${url}"`, {
      hint: 'e.g. --redis redis://127.0.0.1:6379',
    });
  }
  const { Redis } = await import('ioredis');
  // BullMQ's blocking commands need maxRetriesPerRequest: null.
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false });
}

async function ping(conn: Redis, url: string): Promise<void> {
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(
      () =>
        reject(
          new ExpError('EXP_EXECUTOR_UNAVAILABLE', `cannot reach Redis at ${url}`, {
            hint: 'start redis-server there, or check --redis / settings.bullmq.redis',
          }),
        ),
      5000,
    ).unref(),
  );
  await Promise.race([conn.ping(), timeout]);
}

export interface BullmqDriverOptions {
  redis: string;
  queue?: string;
  registry: StageRegistry;
  store: ArtifactStore;
  /** Infrastructure attempts of a job (a worker shut down or lost mid-node); default 3. */
  jobAttempts?: number;
  /** Warn about a node no live worker can host after it waited this long (default 15 s). */
  warnAfterMs?: number;
  /** Where the driver's warnings go. */
  log?: (line: string) => void;
}

/** The driver side: enqueue ready nodes, forward their events, resolve their outcomes. */
export async function bullmqRunner(o: BullmqDriverOptions): Promise<RemoteNodeRunner> {
  const prefix = o.queue ?? DEFAULT_QUEUE;
  const { Queue, QueueEvents } = await import('bullmq');
  const conn = await redisConnection(o.redis);
  conn.on('error', () => {}); // reported by ping / the calls that fail
  await ping(conn, o.redis).catch(async (e) => {
    conn.disconnect();
    throw e;
  });
  const driver = `${os.hostname()}:${process.pid}:${Date.now().toString(36)}`;
  // Connections handed to BullMQ stay ours to close.
  const conns: Redis[] = [conn];
  const queues = new Map<string, { queue: Queue; events: QueueEvents }>();
  interface Pending {
    node: PlanNode;
    job?: Job;
    queue?: Queue;
    addedAt: number;
    started: boolean;
    resolve(o: NodeOutcome): void;
    forward(e: NodeEvent): void;
  }
  const pending = new Map<string, Pending>();

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
    }
    return q;
  };
  const openQueue = async (name: string): Promise<Queue> => {
    let q = queues.get(name);
    if (!q) {
      const eventsConn = conn.duplicate();
      eventsConn.on('error', () => {});
      conns.push(eventsConn);
      const events = new QueueEvents(name, { connection: eventsConn });
      events.on('error', () => {});
      events.on('progress', ({ jobId, data }) => {
        const p = pending.get(jobId);
        if (!p) return;
        for (const e of (data as JobProgress).events ?? []) {
          p.started = true;
          p.forward(e);
        }
      });
      events.on('completed', ({ jobId, returnvalue }) => {
        const p = pending.get(jobId);
        if (p) settle(jobId, fromResult(p, returnvalue));
      });
      events.on('failed', async ({ jobId, failedReason }) => {
        const p = pending.get(jobId);
        if (!p?.job) return;
        // Only a job out of attempts is final (a failed attempt goes back to waiting).
        if ((await p.job.getState().catch(() => 'failed')) === 'failed') settle(jobId, workerFailed(p, failedReason));
      });
      await events.waitUntilReady();
      const queue = new Queue(name, { connection: conn });
      queue.on('error', () => {});
      q = { queue, events };
      queues.set(name, q);
    }
    return q.queue;
  };

  // A safety net under the event stream: look at unfinished jobs now and then.
  const sweep = setInterval(() => {
    for (const [id, p] of pending) {
      if (!p.job || !p.queue) continue;
      const queue = p.queue;
      void p.job
        .getState()
        .then(async (state) => {
          if (state !== 'completed' && state !== 'failed') return;
          const job = await queue.getJob(id).catch(() => undefined);
          if (state === 'completed' && job) settle(id, fromResult(p, job.returnvalue));
          else if (state === 'failed') settle(id, workerFailed(p, job?.failedReason ?? 'failed'));
        })
        .catch(() => {});
    }
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
    const workers = await liveWorkers(conn, prefix);
    if (!workers.length) {
      if (!warnedNoWorker) {
        o.log?.(
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
      o.log?.(
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
      if (checking) return;
      checking = true;
      void checkHostable()
        .catch(() => {})
        .finally(() => (checking = false));
    },
    Math.max(250, Math.min(5000, warnAfterMs / 2)),
  );
  hostableTimer.unref();

  return {
    async run(node, inputs, ctx) {
      const name = queueFor(prefix, node.resources);
      const queue = await queueOf(name);
      const jobId = `${node.key}.${driver.replace(/:/g, '-')}`;
      const data = nodeJobOf(node, inputs, ctx, o.registry, driver);
      return new Promise<NodeOutcome>((resolve, reject) => {
        const p: Pending = {
          node,
          addedAt: Date.now(),
          started: false,
          resolve,
          // Every attempt's start comes from the worker (nothing is announced when the job is added).
          forward: eventForwarder(ctx, false),
        };
        pending.set(jobId, p);
        const onAbort = (): void => {
          // Not started yet: take it back. Running: it finishes on its worker and lands in the store.
          void p.job?.remove().catch(() => {});
          settle(jobId, cancelledOutcome(node, 'interrupted'));
        };
        if (ctx.signal.aborted) return onAbort();
        ctx.signal.addEventListener('abort', onAbort, { once: true });
        queue
          .add(node.stage, data, {
            jobId,
            attempts: o.jobAttempts ?? 3,
            backoff: { type: 'fixed', delay: 200 },
            removeOnComplete: { age: 24 * 3600 },
            removeOnFail: { age: 7 * 24 * 3600 },
          })
          .then((job) => {
            p.job = job;
            p.queue = queue;
          })
          .catch((e) => {
            pending.delete(jobId);
            reject(e);
          });
      });
    },
    async close() {
      clearInterval(sweep);
      clearInterval(hostableTimer);
      for (const { queue, events } of queues.values()) {
        await events.close().catch(() => {});
        await queue.close().catch(() => {});
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
  /** Job lock duration; a SIGKILLed worker's node is rerun elsewhere after about this long. */
  lockMs?: number;
  log?: (line: string) => void;
}

export interface RunningWorker {
  /** Stop taking nodes; `force` aborts running ones (they go back to the queue). */
  close(force?: boolean): Promise<void>;
  queues: string[];
}

/** The worker side (`exp worker`). */
export async function startWorker(o: WorkerOptions): Promise<RunningWorker> {
  const prefix = o.queue ?? DEFAULT_QUEUE;
  const log = o.log ?? (() => {});
  const store = new ArtifactStore(o.runsDir);
  await store.init();
  const { Worker } = await import('bullmq');
  const conn = await redisConnection(o.redis);
  conn.on('error', () => {});
  await ping(conn, o.redis).catch((e) => {
    conn.disconnect();
    throw e;
  });
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

  const process_ = async (job: Job<NodeJob>): Promise<NodeOutcome> => {
    const data = job.data;
    const node = data.node;
    const { kind, inputs } = await resolveJob(data, store, o.registry);
    const grant = await acquire(node.resources, stopping.signal);
    let buffer: JobProgress['events'] = [];
    let flushing: Promise<void> = Promise.resolve();
    const flush = (): void => {
      if (!buffer.length) return;
      const events = buffer;
      buffer = [];
      flushing = flushing.then(() => job.updateProgress({ events } satisfies JobProgress).catch(() => {}));
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
    wconn.on('error', () => {});
    conns.push(wconn);
    const w = new Worker<NodeJob, NodeOutcome>(q.name, process_, {
      connection: wconn,
      concurrency,
      lockDuration: lockMs,
      stalledInterval: lockMs,
      maxStalledCount: 3,
    });
    w.on('error', (e) => log(`worker error: ${e.message}`));
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
  };
  await advertise();
  const adTimer = setInterval(() => void advertise().catch(() => {}), WORKER_TTL_MS / 3);
  adTimer.unref();
  return {
    queues: workers.map((w) => w.name),
    async close(force = false) {
      clearInterval(adTimer);
      await conn.del(workerKey(prefix, adId)).catch(() => {});
      await conn.srem(workersSet(prefix), adId).catch(() => {});
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
    });
  },
};
