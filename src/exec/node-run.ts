// One node, run into the store: claim it (waiting while another process computes it), reuse a
// result that appeared meanwhile, run the stage with its retries, commit its outputs atomically or
// record the failure. The local executor and `exp worker` both call this, so a node runs the same
// way wherever it runs.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import type { PlanNode } from '../plan/dag.ts';
import { fingerprintParams } from '../plan/fingerprint.ts';
import type { StageInput, AnyStageKind } from '../plan/stage-kind.ts';
import type { ArtifactStore, ManifestMetric } from '../store/store.ts';
import { VERSION } from '../version.ts';
import type { NodeOutcome } from './lifecycle.ts';
import { NodeLog } from './node-log.ts';
import type { InlineRunner, PoolRunner, ProcessRunner } from './runners.ts';
import { importKind, serialiseError, type TaskEvent, type TaskSpec } from './task.ts';
import { ExpError } from '../errors.ts';
import type { StageRegistry } from '../plan/registry.ts';

/** Recorded in every manifest (package.json's version). */
export const ENGINE_VERSION = VERSION;

/** What a node run needs to know about the node: plain data (it crosses to remote workers). */
export type NodeSpec = Pick<
  PlanNode,
  | 'key'
  | 'stage'
  | 'kind'
  | 'kindVersion'
  | 'params'
  | 'runParams'
  | 'needs'
  | 'needStages'
  | 'ports'
  | 'resources'
  | 'retries'
  | 'seed'
  | 'shard'
>;

export function nodeSpecOf(n: PlanNode): NodeSpec {
  const { key, stage, kind, kindVersion, params, runParams, needs, needStages, ports, resources, retries, seed } = n;
  return {
    key,
    stage,
    kind,
    kindVersion,
    params,
    runParams,
    needs,
    needStages,
    ports,
    resources,
    retries,
    seed,
    ...(n.shard ? { shard: n.shard } : {}),
  };
}

/** What a task of a shard or gather node is told about it (TaskSpec.shard). */
function shardTask(node: NodeSpec): TaskSpec['shard'] {
  const s = node.shard;
  if (!s) return undefined;
  if (s.role === 'map')
    return { role: 'map', index: s.index, count: s.count, items: s.items, ...(s.error ? { error: s.error } : {}) };
  return { role: 'gather', shards: [...s.shards] };
}

/** A node as it is handed to another process or machine (a bullmq job, a Slurm job file). */
export interface NodeJob {
  node: NodeSpec;
  /** Finished upstream nodes; their folders are resolved in the runner's own runs folder. */
  inputs: Omit<StageInput, 'dir'>[];
  rerunInPlace: boolean;
  retries?: number;
  /** The stage kind's module, for runners started without the driver's plugins. */
  kindModule?: string;
  driver: string;
  /** The driver's runs folder: its identity (.exp-runs-id) and its path there. */
  runs?: { id: string; dir: string };
}

/**
 * Refuses a node handed over by a driver whose runs folder is not this one (another identity):
 * answering from this folder's cache would be a silent wrong result.
 */
export function checkSameRuns(data: NodeJob, store: ArtifactStore): void {
  if (!data.runs || data.runs.id === store.identity) return;
  throw new ExpError(
    'EXP_RUNS_MISMATCH',
    `node ${data.node.stage} (${data.node.key.slice(0, 10)}) comes from an exp run on runs folder ${data.runs.dir} (id ${data.runs.id}), but this runs folder is ${store.root} on ${os.hostname()} (id ${store.identity}): refused`,
    {
      hint: `use the driver's runs folder here (--runs ${data.runs.dir}, on a filesystem shared with the driver)`,
    },
  );
}

/** The stage kind and input folders of a handed-over node, in this process's registry and store. */
export async function resolveJob(
  data: NodeJob,
  store: ArtifactStore,
  registry: StageRegistry,
): Promise<{ kind: AnyStageKind; inputs: StageInput[] }> {
  checkSameRuns(data, store);
  let kind = registry.get(data.node.kind);
  if (!kind && data.kindModule) kind = await importKind(data.kindModule, data.node.kind);
  if (!kind) {
    throw new ExpError(
      'EXP_KIND_UNREGISTERED',
      `stage kind "${data.node.kind}" is not registered on ${os.hostname()}`,
      {
        hint: 'start exp worker with the same --plugin / EXP_PLUGINS as exp run',
      },
    );
  }
  const inputs = data.inputs.map((i) => ({ ...i, dir: store.nodeDir(i.kind, i.key) }) as StageInput);
  for (const i of inputs) {
    if (!store.has(i.kind, i.key)) {
      throw new ExpError(
        'EXP_EXECUTOR_UNAVAILABLE',
        `input ${i.stage} (${i.key.slice(0, 10)}) is not in ${store.root}`,
        {
          hint: "the runs folder must be the driver's (a shared filesystem): check --runs",
        },
      );
    }
  }
  return { kind, inputs };
}

export interface Runners {
  inline: InlineRunner;
  pool: PoolRunner;
  process: ProcessRunner;
}

export interface NodeRunOptions {
  node: NodeSpec;
  kind: AnyStageKind;
  /** Finished upstream nodes, in `needs` order. */
  inputs: StageInput[];
  store: ArtifactStore;
  runners: Runners;
  /** GPU ids granted to this node. */
  gpus: number[];
  signal: AbortSignal;
  /** Overrides the node's retries when set. */
  retries?: number;
  /** The planner decided to rerun a finished node in place (--force, changed data, ...). */
  rerunInPlace?: boolean;
  pollMs?: number;
  onStarted?(attempt: number): void;
  onEvent?(e: TaskEvent): void;
}

export async function runNodeInStore(o: NodeRunOptions): Promise<NodeOutcome> {
  const { node, kind, store, signal } = o;
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
  // A claim is a lease: kept fresh while held, so other machines can tell a dead holder.
  let renewFailed = false;
  const heartbeat = claimed
    ? setInterval(
        () =>
          void store.renewClaim(node.key).catch((e: Error) => {
            // Said once: the claim ages, and after its lease another machine may take the node over.
            if (!renewFailed)
              process.stderr.write(
                `exp: could not renew the claim on ${node.stage} ${node.key.slice(0, 10)} (${e.message}); another machine may take it over after ${store.leaseMs / 1000} s\n`,
              );
            renewFailed = true;
          }),
        store.leaseMs / 3,
      )
    : undefined;
  heartbeat?.unref();
  try {
    const already = store.readManifest(node.kind, node.key);
    if (already && !o.rerunInPlace) {
      return {
        key: node.key,
        status: 'cached',
        manifest: already,
        dir: store.nodeDir(node.kind, node.key),
        attempts: 0,
        durationMs: Date.now() - t0,
      };
    }
    if (already) await store.removeNode(node.kind, node.key);
    // What the path params point at now: kept in the manifest to notice later changes (a shard's
    // data is in its key: its items' digests).
    const data = node.shard?.role === 'map' ? {} : fingerprintParams(kind.paramsSchema, node.runParams);
    const scratchDir = store.scratchDir(node.key);
    await fs.mkdir(scratchDir, { recursive: true });
    const logFile = store.logPath(node.key);
    const log = new NodeLog(logFile);
    const maxAttempts = 1 + (o.retries ?? node.retries);
    let lastError: ReturnType<typeof serialiseError> | undefined;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (signal.aborted) break;
      o.onStarted?.(attempt);
      log.write(
        `── ${node.stage} (${node.kind}) attempt ${attempt}/${maxAttempts} on ${os.hostname()} pid ${process.pid}`,
      );
      const tmp = await store.beginWrite(node.key);
      const metrics: ManifestMetric[] = [];
      const artifacts: string[] = [];
      const onEvent = (e: TaskEvent): void => {
        if (e.type === 'log') log.write(e.message);
        else if (e.type === 'metric')
          metrics.push({ key: e.key, value: e.value, step: e.step, timestamp: e.timestamp });
        else if (e.type === 'artifact') artifacts.push(e.path);
        o.onEvent?.(e);
      };
      const where =
        o.gpus.length && kind.module
          ? 'process'
          : ((node.shard?.role === 'map' ? kind.shard?.runIn : undefined) ?? kind.runIn ?? 'inline');
      const attemptStart = Date.now();
      try {
        const result = await o.runners[where].run(
          {
            kind: node.kind,
            module: kind.module,
            params: structuredClone(node.runParams),
            inputs: o.inputs,
            ports: portStages(node),
            outDir: tmp,
            scratchDir,
            sharedDir: store.sharedDir,
            seed: node.seed,
            gpus: o.gpus,
            ...(node.shard ? { shard: shardTask(node) } : {}),
          },
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
          ...(result?.skipped?.length ? { skipped: result.skipped } : {}),
          ...(Object.keys(data).length ? { data } : {}),
          ...(node.shard?.role === 'map'
            ? {
                shard: {
                  index: node.shard.index,
                  count: node.shard.count,
                  items: node.shard.items.map((it): [string, string] => [it.id, it.digest]),
                },
              }
            : {}),
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
        return {
          key: node.key,
          status: 'done',
          manifest,
          dir: store.nodeDir(node.kind, node.key),
          attempts: attempt,
          durationMs: Date.now() - t0,
          logFile,
        };
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
    if (heartbeat) clearInterval(heartbeat);
    if (claimed) await store.release(node.key, true);
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Port name → the upstream stages that feed it (ports fed by a path param are left out). */
function portStages(node: NodeSpec): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [port, source] of Object.entries(node.ports)) if (source.from === 'stages') out[port] = [...source.stages];
  return out;
}
