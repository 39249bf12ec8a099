// Runs a plan: ready nodes in parallel under resource limits, each claimed in the store so two
// `exp run` processes never compute one node at once, outputs committed atomically, failures
// confined to their dependents, retries, and a graceful stop on interrupt.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import type { Plan, PlanNode } from '../plan/dag.ts';
import { RERUN_IN_PLACE, type NodeDecision } from '../plan/diff.ts';
import { fingerprintParams } from '../plan/fingerprint.ts';
import type { StageRegistry } from '../plan/registry.ts';
import type { StageInput } from '../plan/stage-kind.ts';
import type { ArtifactStore, ManifestMetric, NodeManifest } from '../store/store.ts';
import type { Inventory } from './inventory.ts';
import type { ExecSummary, Lifecycle, NodeOutcome } from './lifecycle.ts';
import { NodeLog } from './node-log.ts';
import { ResourcePool, type Grant } from './resources.ts';
import { InlineRunner, PoolRunner, ProcessRunner } from './runners.ts';
import { serialiseError, type TaskEvent, type TaskRunner } from './task.ts';
import { VERSION } from '../version.ts';
import { defaultHint, type ErrorCode } from '../error-codes.ts';

/** Recorded in every manifest (package.json's version). */
export const ENGINE_VERSION = VERSION;

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
      await finish(d, { key: d.key, status: 'skipped', reason: `upstream ${failed.stage} failed`, attempts: 0, durationMs: 0 });
      stack.push(...(dependents.get(d.key) ?? []));
    }
  };

  // Cached nodes are finished before anything runs: their results reach reporters first.
  for (const node of plan.nodes) {
    if (decisions.get(node.key)?.status !== 'cached') continue;
    const manifest = store.readManifest(node.kind, node.key);
    if (manifest) {
      await finish(node, { key: node.key, status: 'cached', manifest, dir: store.nodeDir(node.kind, node.key), attempts: 0, durationMs: 0 });
    } else {
      decisions.set(node.key, { key: node.key, status: 'run', reason: 'output-missing', why: 'cached output disappeared' });
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
      const short = pool.feasible(node.resources);
      const impossible = short ?? (kind ? undefined : `stage kind "${node.kind}" is not registered`);
      if (impossible) {
        const code: ErrorCode = short ? 'EXP_RESOURCES_UNAVAILABLE' : 'EXP_KIND_UNREGISTERED';
        const promise = (async () => {
          await finish(node, { key: node.key, status: 'failed', error: { message: impossible, code, hint: defaultHint(code) }, attempts: 0, durationMs: 0 });
          await skipDependents(node);
          if (o.failFast) stopDispatch = true;
        })();
        ready.splice(i, 1);
        track(node, new AbortController(), promise);
        continue;
      }
      const grant = pool.tryAcquire(node.resources);
      if (!grant) {
        // No CPU left: nothing further down the list can start either (GPU-only waits can).
        if (pool.cpusExhausted()) break;
        i++;
        continue;
      }
      ready.splice(i, 1);
      const controller = new AbortController();
      const promise = runNode(node, grant, controller.signal)
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

  const runNode = async (node: PlanNode, grant: Grant, signal: AbortSignal): Promise<NodeOutcome> => {
    const t0 = Date.now();
    // Claim: wait while another live process computes the same node, then reuse its result.
    let claimed = false;
    for (;;) {
      if (signal.aborted) return { key: node.key, status: 'cancelled', attempts: 0, durationMs: 0 };
      const claim = await store.claim(node.key);
      if (claim.status === 'claimed') {
        claimed = true;
        break;
      }
      if (store.has(node.kind, node.key)) break;
      await sleep(o.pollMs ?? 250, signal);
    }
    try {
      const already = store.readManifest(node.kind, node.key);
      const reason = decisions.get(node.key)?.reason;
      if (already && !(reason && RERUN_IN_PLACE.has(reason))) {
        return { key: node.key, status: 'cached', manifest: already, dir: store.nodeDir(node.kind, node.key), attempts: 0, durationMs: Date.now() - t0 };
      }
      if (already) await store.removeNode(node.kind, node.key);
      const kind = registry.get(node.kind)!;
      // What the path params point at now: kept in the manifest to notice later changes.
      const data = fingerprintParams(kind.paramsSchema, node.runParams);
      const inputs: StageInput[] = node.needs.map((k, i) => {
        const up = outcomes.get(k)!;
        return { stage: node.needStages[i]!, kind: plan.byKey.get(k)!.kind, key: k, dir: up.dir!, outputs: (up.manifest?.outputs ?? {}) as StageInput['outputs'] };
      });
      const scratchDir = store.scratchDir(node.key);
      await fs.mkdir(scratchDir, { recursive: true });
      const logFile = store.logPath(node.key);
      const log = new NodeLog(logFile);
      const maxAttempts = 1 + (o.retries ?? node.retries);
      let lastError: ReturnType<typeof serialiseError> | undefined;
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        if (signal.aborted) break;
        lifecycle.nodeStarted?.(node, attempt);
        log.write(`── ${node.stage} (${node.kind}) attempt ${attempt}/${maxAttempts} on ${os.hostname()} pid ${process.pid}`);
        const tmp = await store.beginWrite(node.key);
        const metrics: ManifestMetric[] = [];
        const artifacts: string[] = [];
        const onEvent = (e: TaskEvent): void => {
          if (e.type === 'log') log.write(e.message);
          else if (e.type === 'metric') metrics.push({ key: e.key, value: e.value, step: e.step, timestamp: e.timestamp });
          else if (e.type === 'artifact') artifacts.push(e.path);
          lifecycle.nodeEvent?.(node, e);
        };
        const where = grant.gpus.length && kind.module ? 'process' : (kind.runIn ?? 'inline');
        const attemptStart = Date.now();
        try {
          const result = await runners[where].run(
            { kind: node.kind, module: kind.module, params: structuredClone(node.runParams), inputs, ports: portStages(node), outDir: tmp, scratchDir, sharedDir: store.sharedDir, seed: node.seed, gpus: grant.gpus.map((g) => g.id) },
            kind,
            onEvent,
            signal,
          );
          if (signal.aborted) throw new Error('interrupted');
          const finishedAt = Date.now();
          const { manifest } = await store.commit(tmp, {
            key: node.key,
            kind: node.kind,
            kindVersion: node.kindVersion,
            stage: node.stage,
            params: node.params,
            inputs: node.needs.map((k, i) => ({ stage: node.needStages[i]!, key: k })),
            outputs: (result?.outputs ?? {}) as Record<string, unknown>,
            ...(Object.keys(data).length ? { data } : {}),
            metrics,
            artifacts,
            startedAt: attemptStart,
            finishedAt,
            durationMs: finishedAt - attemptStart,
            attempts: attempt,
            host: os.hostname(),
            engineVersion: ENGINE_VERSION,
          });
          log.write(`── done in ${finishedAt - attemptStart} ms`);
          // Checkpoints are no longer needed once the node is committed.
          await fs.rmdir(scratchDir).catch(() => fs.rm(scratchDir, { recursive: true, force: true }));
          await log.close();
          return { key: node.key, status: 'done', manifest, dir: store.nodeDir(node.kind, node.key), attempts: attempt, durationMs: Date.now() - t0, logFile };
        } catch (e) {
          await store.abort(tmp);
          lastError = serialiseError(e);
          log.write(`── failed: ${lastError.stack ?? lastError.message}`);
          if (signal.aborted) break;
        }
      }
      await log.close();
      if (signal.aborted) {
        return { key: node.key, status: 'cancelled', attempts: 0, durationMs: Date.now() - t0, logFile };
      }
      const err = lastError ?? { message: 'unknown failure' };
      await store.recordFailure({
        key: node.key,
        kind: node.kind,
        stage: node.stage,
        error: err.message,
        code: err.code,
        at: Date.now(),
        attempts: maxAttempts,
        log: logFile,
      });
      return { key: node.key, status: 'failed', error: err, attempts: maxAttempts, durationMs: Date.now() - t0, logFile };
    } finally {
      if (claimed) await store.release(node.key, true);
    }
  };

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
    await Promise.all(Object.values(runners).map((r) => r.close()));
  }
  for (const node of plan.nodes) {
    if (!outcomes.has(node.key)) {
      await finish(node, { key: node.key, status: 'cancelled', attempts: 0, durationMs: 0, reason: interrupted ? 'interrupted' : 'not started (--fail-fast)' });
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

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}

export type { NodeManifest };

/** Port name → the upstream stages that feed it (ports fed by a path param are left out). */
function portStages(node: PlanNode): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [port, source] of Object.entries(node.ports)) if (source.from === 'stages') out[port] = [...source.stages];
  return out;
}
