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
import { ResourcePool, type Grant } from './resources.ts';
import { InlineRunner, PoolRunner, ProcessRunner } from './runners.ts';
import type { TaskEvent, TaskRunner } from './task.ts';
import { defaultHint, type ErrorCode } from '../error-codes.ts';

export { ENGINE_VERSION };

/** Runs nodes somewhere else (a worker fleet); outcomes carry dirs in this process's store. */
export interface RemoteNodeRunner {
  run(
    node: PlanNode,
    inputs: StageInput[],
    ctx: {
      signal: AbortSignal;
      retries?: number;
      rerunInPlace: boolean;
      onStarted(attempt: number): void;
      onEvent(e: TaskEvent): void;
    },
  ): Promise<NodeOutcome>;
  close(): Promise<void>;
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
  /** Run ready nodes there instead of on this machine (the bullmq executor). */
  remote?: RemoteNodeRunner;
  /** The invocation record of this run (the slurm executor records its job ids in it). */
  invocation?: InvocationHandle;
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
  const dependents = new Map<string, PlanNode[]>();
  for (const n of plan.nodes) for (const k of n.needs) (dependents.get(k) ?? dependents.set(k, []).get(k)!).push(n);
  const weight = transitiveDependentCounts(plan, dependents);

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
    const stack = [...(dependents.get(failed.key) ?? [])];
    while (stack.length) {
      const d = stack.pop()!;
      if (outcomes.has(d.key)) continue;
      await finish(d, {
        key: d.key,
        status: 'skipped',
        reason: `upstream ${failed.stage} failed`,
        attempts: 0,
        durationMs: 0,
      });
      stack.push(...(dependents.get(d.key) ?? []));
    }
  };

  // Cached nodes are finished before anything runs: their results reach reporters first.
  for (const node of plan.nodes) {
    if (decisions.get(node.key)?.status !== 'cached') continue;
    const manifest = store.readManifest(node.kind, node.key);
    if (manifest) {
      await finish(node, {
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
  }

  // Nodes whose needs are all finished wait in `ready`; `unmet` counts what each still waits for.
  const unmet = new Map<string, number>();
  const ready: PlanNode[] = [];
  let readyDirty = true;
  for (const n of plan.nodes) {
    if (outcomes.has(n.key)) continue;
    const count = n.needs.filter((k) => !['done', 'cached'].includes(outcomes.get(k)?.status ?? '')).length;
    unmet.set(n.key, count);
    if (count === 0) ready.push(n);
  }
  const release = (finished: PlanNode): void => {
    for (const d of dependents.get(finished.key) ?? []) {
      const left = (unmet.get(d.key) ?? 0) - 1;
      unmet.set(d.key, left);
      if (left === 0 && !outcomes.has(d.key)) {
        ready.push(d);
        readyDirty = true;
      }
    }
  };

  let wake: () => void = () => {};
  const dispatch = (): void => {
    if (stopDispatch) return;
    if (readyDirty) ready.sort((a, b) => (weight.get(b.key) ?? 0) - (weight.get(a.key) ?? 0));
    readyDirty = false;
    for (let i = 0; i < ready.length; ) {
      const node = ready[i]!;
      const kind = registry.get(node.kind);
      // A remote fleet decides itself what it can host; only an unknown kind fails here.
      const short = o.remote ? undefined : pool.feasible(node.resources);
      const impossible = short ?? (kind ? undefined : `stage kind "${node.kind}" is not registered`);
      if (impossible) {
        const code: ErrorCode = short ? 'EXP_RESOURCES_UNAVAILABLE' : 'EXP_KIND_UNREGISTERED';
        const promise = (async () => {
          await finish(node, {
            key: node.key,
            status: 'failed',
            error: { message: impossible, code, hint: defaultHint(code) },
            attempts: 0,
            durationMs: 0,
          });
          await skipDependents(node);
          if (o.failFast) stopDispatch = true;
        })();
        ready.splice(i, 1);
        track(node, new AbortController(), promise);
        continue;
      }
      const grant = o.remote ? { cpus: 0, memoryMb: 0, gpus: [] } : pool.tryAcquire(node.resources);
      if (!grant) {
        // No CPU left: nothing further down the list can start either (GPU-only waits can).
        if (pool.cpusExhausted()) break;
        i++;
        continue;
      }
      ready.splice(i, 1);
      const controller = new AbortController();
      const promise = (
        o.remote ? runRemote(node, o.remote, controller.signal) : runNode(node, grant, controller.signal)
      )
        .then(async (outcome) => {
          await finish(node, outcome);
          if (outcome.status === 'done' || outcome.status === 'cached') release(node);
          if (outcome.status === 'failed') {
            await skipDependents(node);
            if (o.failFast) {
              stopDispatch = true;
              for (const r of running.values()) if (r.node !== node) r.controller.abort();
            }
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
        kind: plan.byKey.get(k)!.kind,
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
  for (const node of plan.nodes) {
    if (!outcomes.has(node.key)) {
      await finish(node, {
        key: node.key,
        status: 'cancelled',
        attempts: 0,
        durationMs: 0,
        reason: interrupted ? 'interrupted' : 'not started (--fail-fast)',
      });
    }
  }
  const summary: ExecSummary = { outcomes, interrupted, wallMs: Date.now() - started };
  await lifecycle.finished?.(summary);
  return summary;
}

function transitiveDependentCounts(plan: Plan, dependents: Map<string, PlanNode[]>): Map<string, number> {
  const memo = new Map<string, Set<string>>();
  for (const n of [...plan.nodes].reverse()) {
    const s = new Set<string>();
    for (const d of dependents.get(n.key) ?? []) {
      s.add(d.key);
      for (const x of memo.get(d.key) ?? []) s.add(x);
    }
    memo.set(n.key, s);
  }
  return new Map([...memo].map(([k, s]) => [k, s.size]));
}

export type { NodeManifest };
