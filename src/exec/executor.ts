// Runs a plan: ready nodes in parallel under resource limits, each claimed in the store so two
// `exp run` processes never compute one node at once, outputs committed atomically, failures
// confined to their dependents, retries, and a graceful stop on interrupt.
import type { Plan, PlanNode } from '../plan/dag.ts';
import { RERUN_IN_PLACE, type NodeDecision } from '../plan/diff.ts';
import type { StageRegistry } from '../plan/registry.ts';
import type { StageInput } from '../plan/stage-kind.ts';
import type { InvocationHandle } from '../store/invocations.ts';
import type { ArtifactStore, NodeManifest } from '../store/store.ts';
import type { Inventory } from './inventory.ts';
import type { ExecSummary, Lifecycle, NodeOutcome } from './lifecycle.ts';
import { ENGINE_VERSION, runNodeInStore, sleep } from './node-run.ts';
import type { RemoteNodeRunner } from './remote.ts';
import { ResourcePool, type Grant } from './resources.ts';
import { Schedule, type AddNodesOptions } from './schedule.ts';
import { nodeLabel } from '../plan/shards.ts';
import { InlineRunner, PoolRunner, ProcessRunner } from './runners.ts';
import type { TaskRunner } from './task.ts';
import { defaultHint, type ErrorCode } from '../error-codes.ts';

export { ENGINE_VERSION };

export type { RemoteNodeRunner };

/** Nodes a finished node decided (e.g. the shards of a stage whose items it made). */
export interface Expansion {
  nodes: PlanNode[];
  /** Waiting dependents of a node re-pointed onto added nodes (see Schedule.addNodes). */
  repoint?: AddNodesOptions['repoint'];
  /** Known nodes whose needs grew to include added nodes (see Schedule.addNodes). */
  relink?: AddNodesOptions['relink'];
  /** Decisions for the added nodes (default: cached when its output is in the store, else run). */
  decisions?: Map<string, NodeDecision>;
}

export interface ExecuteOptions {
  plan: Plan;
  decisions: Map<string, NodeDecision>;
  registry: StageRegistry;
  store: ArtifactStore;
  inventory: Inventory;
  lifecycle?: Lifecycle;
  failFast?: boolean;
  /** Overrides each node's retries when set. */
  retries?: number;
  signal?: AbortSignal;
  /** How long running tasks get after an interrupt before they are stopped. */
  graceMs?: number;
  /** How often to look again at a node another process is computing. */
  pollMs?: number;
  /** Run ready nodes there instead of on this machine (a remote executor: Slurm, BullMQ, ...). */
  remote?: RemoteNodeRunner;
  /** The invocation record of this run (remote executors record their job ids in it). */
  invocation?: InvocationHandle;
  /**
   * Called when a node finished with a usable result (done or cached), before its dependents are
   * released: the nodes it decides are added to the run.
   */
  expand?(node: PlanNode, outcome: NodeOutcome): Expansion | undefined | Promise<Expansion | undefined>;
}

interface Running {
  node: PlanNode;
  controller: AbortController;
  promise: Promise<void>;
}

export async function execute(o: ExecuteOptions): Promise<ExecSummary> {
  const started = Date.now();
  const { plan, decisions, store, registry, lifecycle = {} } = o;
  await store.init();
  const pool = new ResourcePool(o.inventory);
  const runners = {
    inline: new InlineRunner(),
    pool: new PoolRunner(o.inventory.cpus),
    process: new ProcessRunner(o.graceMs ?? 5000),
  } satisfies Record<string, TaskRunner>;
  const outcomes = new Map<string, NodeOutcome>();
  const schedule = new Schedule(plan.nodes);

  let interrupted = false;
  let stopDispatch = false;
  const running = new Map<string, Running>();
  const onExternalAbort = (): void => {
    interrupted = true;
    stopDispatch = true;
    for (const r of running.values()) r.controller.abort();
  };
  if (o.signal?.aborted) onExternalAbort();
  o.signal?.addEventListener('abort', onExternalAbort, { once: true });

  const finish = async (node: PlanNode, outcome: NodeOutcome): Promise<void> => {
    outcomes.set(node.key, outcome);
    await lifecycle.nodeFinished?.(node, outcome);
  };

  const skipDependents = async (failed: PlanNode): Promise<void> => {
    for (const d of schedule.waitingOn(failed.key)) {
      if (outcomes.has(d.key)) continue;
      schedule.finish(d.key, false);
      await finish(d, {
        key: d.key,
        status: 'skipped',
        reason: `upstream ${nodeLabel(failed)} failed`,
        attempts: 0,
        durationMs: 0,
      });
    }
  };

  /** A node ended: record it, add what it decided, release or skip what waits on it. */
  const settle = async (node: PlanNode, outcome: NodeOutcome): Promise<void> => {
    const ok = outcome.status === 'done' || outcome.status === 'cached';
    await finish(node, outcome);
    if (ok && o.expand) {
      const more = await o.expand(node, outcome);
      if (more?.nodes.length) await addNodes(more);
    }
    schedule.finish(node.key, ok);
    if (outcome.status === 'failed') await skipDependents(node);
  };

  const addNodes = async (more: Expansion): Promise<void> => {
    const known = new Set(more.nodes.filter((n) => schedule.has(n.key)).map((n) => n.key));
    schedule.addNodes(more.nodes, { repoint: more.repoint, relink: more.relink });
    const added = more.nodes.filter((n) => !known.has(n.key));
    for (const n of added) {
      plan.byKey.set(n.key, n);
      decisions.set(n.key, more.decisions?.get(n.key) ?? addedDecision(n));
    }
    lifecycle.nodesAdded?.(added, decisions);
    for (const n of added) if (decisions.get(n.key)!.status === 'cached') await finishCached(n);
  };

  const addedDecision = (n: PlanNode): NodeDecision =>
    store.has(n.kind, n.key)
      ? { key: n.key, status: 'cached', reason: 'cached', why: 'added during the run; its output is in the store' }
      : { key: n.key, status: 'run', reason: 'never-run', why: 'added during the run' };

  /** A node the plan found in the store: finished at once (or run after all when its output vanished). */
  const finishCached = async (node: PlanNode): Promise<void> => {
    const manifest = store.readManifest(node.kind, node.key);
    if (manifest) {
      await settle(node, {
        key: node.key,
        status: 'cached',
        manifest,
        dir: store.nodeDir(node.kind, node.key),
        attempts: 0,
        durationMs: 0,
      });
    } else {
      decisions.set(node.key, {
        key: node.key,
        status: 'run',
        reason: 'output-missing',
        why: 'cached output disappeared',
      });
    }
  };

  // Cached nodes are finished before anything runs: their results reach reporters first.
  for (const node of plan.nodes) if (decisions.get(node.key)?.status === 'cached') await finishCached(node);

  let wake: () => void = () => {};
  const dispatch = (): void => {
    if (stopDispatch) return;
    for (const node of schedule.ready()) {
      const kind = registry.get(node.kind);
      // A remote fleet decides itself what it can host; only an unknown kind fails here.
      const short = o.remote ? undefined : pool.feasible(node.resources);
      const impossible = short ?? (kind ? undefined : `stage kind "${node.kind}" is not registered`);
      if (impossible) {
        const code: ErrorCode = short ? 'EXP_RESOURCES_UNAVAILABLE' : 'EXP_KIND_UNREGISTERED';
        schedule.start(node.key);
        const promise = (async () => {
          await settle(node, {
            key: node.key,
            status: 'failed',
            error: { message: impossible, code, hint: defaultHint(code) },
            attempts: 0,
            durationMs: 0,
          });
          if (o.failFast) stopDispatch = true;
        })();
        track(node, new AbortController(), promise);
        continue;
      }
      const grant = o.remote ? { cpus: 0, memoryMb: 0, gpus: [] } : pool.tryAcquire(node.resources);
      if (!grant) {
        // No CPU left: nothing further down the list can start either (GPU-only waits can).
        if (pool.cpusExhausted()) break;
        continue;
      }
      schedule.start(node.key);
      const controller = new AbortController();
      const promise = (
        o.remote ? runRemote(node, o.remote, controller.signal) : runNode(node, grant, controller.signal)
      )
        // A runner that throws (a bug, a lost filesystem) fails its node, not the whole run.
        .catch((e: unknown) => crashedOutcome(node, e))
        // Cancelled without this run asking (scancel, a job lost by its queue): a failure, never a quiet success.
        .then((outcome) =>
          outcome.status === 'cancelled' && !controller.signal.aborted ? lostOutcome(node, outcome) : outcome,
        )
        .then(async (outcome) => {
          await settle(node, outcome);
          if (outcome.status === 'failed' && o.failFast) {
            stopDispatch = true;
            for (const r of running.values()) if (r.node !== node) r.controller.abort();
          }
        })
        .finally(() => pool.release(grant));
      track(node, controller, promise);
    }
  };
  const track = (node: PlanNode, controller: AbortController, promise: Promise<void>): void => {
    running.set(node.key, {
      node,
      controller,
      promise: promise.finally(() => {
        running.delete(node.key);
        wake();
      }),
    });
  };

  const inputsOf = (node: PlanNode): StageInput[] =>
    node.needs.map((k, i) => {
      const up = outcomes.get(k)!;
      return {
        stage: node.needStages[i]!,
        kind: schedule.get(k)!.kind,
        key: k,
        dir: up.dir!,
        outputs: (up.manifest?.outputs ?? {}) as StageInput['outputs'],
      };
    });
  const rerunInPlace = (node: PlanNode): boolean => {
    const reason = decisions.get(node.key)?.reason;
    return Boolean(reason && RERUN_IN_PLACE.has(reason));
  };

  const runNode = (node: PlanNode, grant: Grant, signal: AbortSignal): Promise<NodeOutcome> =>
    runNodeInStore({
      node,
      kind: registry.get(node.kind)!,
      inputs: inputsOf(node),
      store,
      runners,
      gpus: grant.gpus.map((g) => g.id),
      signal,
      retries: o.retries,
      rerunInPlace: rerunInPlace(node),
      pollMs: o.pollMs,
      onStarted: (attempt) => lifecycle.nodeStarted?.(node, attempt),
      onEvent: (e) => lifecycle.nodeEvent?.(node, e),
    });

  const runRemote = (node: PlanNode, remote: RemoteNodeRunner, signal: AbortSignal): Promise<NodeOutcome> =>
    remote.run(node, inputsOf(node), {
      signal,
      retries: o.retries,
      rerunInPlace: rerunInPlace(node),
      onStarted: (attempt) => lifecycle.nodeStarted?.(node, attempt),
      onEvent: (e) => lifecycle.nodeEvent?.(node, e),
    });

  try {
    for (;;) {
      dispatch();
      if (running.size === 0) break;
      const woke = new Promise<void>((r) => (wake = r));
      await woke;
      if (interrupted && running.size) {
        // Give running tasks their grace period, then stop waiting for them.
        await Promise.race([Promise.allSettled([...running.values()].map((r) => r.promise)), sleep(o.graceMs ?? 5000)]);
        break;
      }
    }
  } finally {
    o.signal?.removeEventListener('abort', onExternalAbort);
    await Promise.all([...Object.values(runners).map((r) => r.close()), o.remote?.close()]);
  }
  const failed = [...outcomes.values()].some((x) => x.status === 'failed');
  for (const node of schedule.unfinished()) {
    if (outcomes.has(node.key)) continue;
    await finish(node, {
      key: node.key,
      status: 'cancelled',
      attempts: 0,
      durationMs: 0,
      reason: interrupted
        ? 'interrupted'
        : o.failFast && failed
          ? 'not started (--fail-fast)'
          : `not started: ${schedule.failedNeeds(node.key).length ? 'an upstream node failed' : 'its upstream nodes did not finish'}`,
    });
  }
  const summary: ExecSummary = { outcomes, interrupted, wallMs: Date.now() - started };
  await lifecycle.finished?.(summary);
  return summary;
}

function lostOutcome(node: PlanNode, o: NodeOutcome): NodeOutcome {
  return {
    ...o,
    status: 'failed',
    error: {
      message: `${node.stage} did not finish: ${o.reason && o.reason !== 'interrupted' ? o.reason : 'cancelled without exp run asking'}`,
      code: 'EXP_NODE_LOST',
      hint: defaultHint('EXP_NODE_LOST'),
    },
  };
}

function crashedOutcome(node: PlanNode, e: unknown): NodeOutcome {
  const err = e instanceof Error ? e : new Error(String(e));
  const code = (err as { code?: unknown }).code;
  const hint = (err as { hint?: unknown }).hint;
  return {
    key: node.key,
    status: 'failed',
    error: {
      message: err.message,
      ...(typeof code === 'string' && code.startsWith('EXP_') ? { code } : {}),
      ...(typeof hint === 'string' ? { hint } : {}),
      ...(err.stack ? { stack: err.stack } : {}),
    },
    attempts: 0,
    durationMs: 0,
  };
}

export type { NodeManifest };
