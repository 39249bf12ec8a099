// The application layer: one path from a spec file to results, used by the CLI, bench/ and tests.
//   planExperiment: load + validate the spec, build the DAG, diff it with the store (pure but for
//                   reading the store);
//   runExperiment:  record the invocation, run the plan on an executor (local by default; a
//                   distributed one is a parameter) with reporters plugged into one lifecycle,
//                   and return per-point status and metrics.
// Nothing here prints: reporters and the caller do.
import { randomBytes } from 'node:crypto';
import { execute, type ExecuteOptions } from '../exec/executor.ts';
import type { Inventory } from '../exec/inventory.ts';
import { CompositeLifecycle, type ExecSummary, type Lifecycle, type NodeOutcome } from '../exec/lifecycle.ts';
import { buildPlan, type Plan, type PlanNode } from '../plan/dag.ts';
import { diffPlan, type NodeDecision } from '../plan/diff.ts';
import { expandAfter, expandPlannedShards } from '../plan/shard-expand.ts';
import { nodeLabel } from '../plan/shards.ts';
import { fingerprintParams } from '../plan/fingerprint.ts';
import type { StageRegistry } from '../plan/registry.ts';
import { ExpError } from '../errors.ts';
import { didYouMean, loadSpec } from '../spec/index.ts';
import type { ExecutorLookup } from '../spec/types.ts';
import type { LoadedSpec } from '../spec/types.ts';
import { invocationHandle, saveInvocation, type InvocationPoint, type InvocationRecord } from '../store/invocations.ts';
import { ArtifactStore, type NodeManifest } from '../store/store.ts';

export interface PlanOptions {
  registry: StageRegistry;
  /** The registered executors, for `settings.executor` and `settings.<executor>` (default: the built-in ones). */
  executors?: ExecutorLookup;
  runsDir: string;
  /** `--set PATH=VALUE` overrides. */
  sets?: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Rerun every node (true) or the nodes of these stages. */
  force?: boolean | string[];
}

export interface PlannedExperiment {
  spec: LoadedSpec;
  plan: Plan;
  decisions: Map<string, NodeDecision>;
  store: ArtifactStore;
  registry: StageRegistry;
  /** `--force` / `--rerun`, for shards decided during the run. */
  force?: boolean | string[];
}

/** Spec file → validated grid → DAG → what is cached and what runs, and why. */
export async function planExperiment(file: string, o: PlanOptions): Promise<PlannedExperiment> {
  const spec = await loadSpec(file, {
    sets: o.sets ?? [],
    kinds: o.registry,
    executors: o.executors,
    cwd: o.cwd,
    env: o.env,
  });
  if (Array.isArray(o.force)) checkRerunStages(o.force, spec);
  const store = new ArtifactStore(o.runsDir);
  const plan = buildPlan(spec, o.registry);
  const view = storeView(store);
  const decisions = diffPlan(plan, view, {
    force: o.force ?? false,
    dataFingerprint: dataFingerprintOf(o.registry),
  });
  // Sharded stages whose items are known now (a path param, or a cached upstream) get their shards.
  await expandPlannedShards(plan, { registry: o.registry, store: view, decisions, force: o.force ?? false });
  return { spec, plan, decisions, store, registry: o.registry, force: o.force ?? false };
}

/** `--rerun STAGE` must name a stage of the spec (a typo would otherwise rerun nothing, silently). */
function checkRerunStages(stages: readonly string[], spec: LoadedSpec): void {
  const known = [...new Set(spec.points.flatMap((p) => Object.keys(p.stages)))];
  for (const stage of stages) {
    if (known.includes(stage)) continue;
    const guess = didYouMean(stage, known);
    throw new ExpError('EXP_ARGS_INVALID', `--rerun ${stage}: "${stage}" is not a stage of ${spec.name}`, {
      hint: guess
        ? `did you mean --rerun ${guess}? (stages: ${known.join(', ')})`
        : `the stages are: ${known.join(', ')}`,
    });
  }
}

/** A reporter on the run's lifecycle; `close` is called once with the invocation's status. */
export interface Reporter extends Lifecycle {
  close?(status: InvocationRecord['status']): Promise<void>;
}

/** Makes a reporter once the invocation exists (the MLflow reporter needs its id). */
export type ReporterFactory = (ctx: {
  planned: PlannedExperiment;
  invocationId: string;
}) => Reporter | Promise<Reporter>;

/** Runs a plan: the local executor, or another one with the same contract. */
export type Executor = (options: ExecuteOptions) => Promise<ExecSummary>;

export interface RunOptions {
  inventory: Inventory;
  reporters?: ReporterFactory[];
  executor?: Executor;
  /** The command line, recorded with the invocation. */
  command?: string[];
  failFast?: boolean;
  retries?: number;
  signal?: AbortSignal;
  graceMs?: number;
  /**
   * Called once the invocation's record is final and before the reporters close (the MLflow
   * parent run is still open): e.g. to build the report and log it as an artifact of that run.
   */
  beforeClose?: (invocation: InvocationRecord, reporters: Reporter[]) => Promise<void>;
}

export interface PointResult {
  id: string;
  /** The values that define the point (`method=s2a k=5`). */
  name: string;
  /** Matrix key path → value. */
  params: Record<string, unknown>;
  /** `--set` key path → value, for keys outside the matrix. */
  overrides: Record<string, unknown>;
  status: InvocationPoint['status'];
  metrics: Record<string, number>;
}

export interface FailedNode {
  point: string;
  stage: string;
  key: string;
  error: string;
  log?: string;
}

/** A node that passed over some of its input items (a corrupt movie, ...): StageResult.skipped. */
export interface SkippedInputs {
  stage: string;
  key: string;
  /** Names of the points that contain the node. */
  points: string[];
  items: { item: string; reason: string }[];
}

export interface ExperimentResult {
  invocation: InvocationRecord;
  points: PointResult[];
  /** One entry per failed node (a node shared by several points appears once). */
  failed: FailedNode[];
  /** One entry per node (done or cached) that skipped input items; empty when none did. */
  skipped: SkippedInputs[];
  interrupted: boolean;
  wallMs: number;
  /** Headline metrics for a summary table, as declared by the stage kinds of the plan. */
  summaryMetrics: string[];
  /** The reporters, for callers that want more from one (e.g. where the MLflow runs are). */
  reporters: Reporter[];
}

export async function runExperiment(planned: PlannedExperiment, o: RunOptions): Promise<ExperimentResult> {
  const { spec, plan, decisions, store, registry } = planned;
  await store.init();
  const invocation = newInvocation(spec, plan, o.command ?? []);
  await saveInvocation(store.root, invocation);
  const handle = invocationHandle(store.root, invocation);

  const reporters: Reporter[] = [];
  for (const make of o.reporters ?? []) reporters.push(await make({ planned, invocationId: invocation.id }));
  const lifecycle = new CompositeLifecycle(reporters);
  lifecycle.planned(plan, decisions);

  let summary: ExecSummary;
  try {
    summary = await (o.executor ?? execute)({
      plan,
      decisions,
      registry,
      store,
      inventory: o.inventory,
      lifecycle,
      failFast: o.failFast ?? false,
      retries: o.retries,
      signal: o.signal ?? new AbortController().signal,
      graceMs: o.graceMs ?? 10_000,
      invocation: handle,
      // Shards of stages whose items an upstream node makes: decided when that node has finished.
      expand: (node) =>
        expandAfter(plan, node, { registry, store: storeView(store), decisions, force: planned.force ?? false }),
    });
  } catch (e) {
    // The executor could not start (its cluster or Redis unusable): the invocation is not left
    // looking like a run that is still going, and the reporters close it as failed.
    await handle.update((rec) => {
      rec.finishedAt = Date.now();
      rec.status = 'failed';
    });
    for (const r of reporters) await r.close?.('failed');
    throw e;
  }

  const { points, failed, skipped } = collectResults(invocation, summary, plan);
  const anyFailed = points.some((p) => p.status === 'failed');
  const counts: Record<string, number> = {};
  for (const outcome of summary.outcomes.values()) counts[outcome.status] = (counts[outcome.status] ?? 0) + 1;
  // Through the handle: an executor's own writes (Slurm job ids) are never overtaken.
  await handle.update((rec) => {
    rec.finishedAt = Date.now();
    rec.status = summary.interrupted ? 'cancelled' : anyFailed ? 'failed' : 'done';
    rec.counts = counts;
    rec.mlflowRunId = reporters.map((r) => (r as { parentRunId?: string }).parentRunId).find(Boolean);
    rec.headlineMetrics = summaryMetrics(plan, registry, rec.points);
  });
  if (o.beforeClose) await o.beforeClose(invocation, reporters);
  for (const r of reporters) await r.close?.(invocation.status);
  return {
    invocation,
    points,
    failed,
    skipped,
    interrupted: summary.interrupted,
    wallMs: summary.wallMs,
    summaryMetrics: invocation.headlineMetrics ?? [],
    reporters,
  };
}

function newInvocation(spec: LoadedSpec, plan: Plan, command: string[]): InvocationRecord {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return {
    id: `${stamp}-${randomBytes(2).toString('hex')}`,
    spec: spec.file,
    name: spec.name,
    command,
    startedAt: Date.now(),
    finishedAt: null,
    status: 'running',
    resolvedYaml: spec.resolvedYaml,
    points: plan.points.map((p) => ({
      id: p.id,
      name: p.name,
      assignment: p.assignment,
      overrides: p.overrides,
      nodes: p.nodes,
      status: 'running',
      metrics: {},
    })),
  };
}

/** Per-point status and metrics (written into the invocation's points), and the failed nodes. */
function collectResults(
  invocation: InvocationRecord,
  summary: ExecSummary,
  plan: Plan,
): { points: PointResult[]; failed: FailedNode[]; skipped: SkippedInputs[] } {
  const points: PointResult[] = [];
  const failed: FailedNode[] = [];
  const skipped = new Map<string, SkippedInputs>();
  const seen = new Set<string>();
  for (const p of invocation.points) {
    const outcomes = Object.entries(p.nodes).map(([stage, key]) => ({
      stage,
      key,
      o: summary.outcomes.get(key) as NodeOutcome,
    }));
    const bad = outcomes.filter((x) => x.o.status === 'failed');
    const broken = outcomes.some((x) => x.o.status === 'failed' || x.o.status === 'skipped');
    const cancelled = outcomes.some((x) => x.o.status === 'cancelled');
    p.status = broken ? 'failed' : cancelled ? 'cancelled' : 'done';
    p.metrics = pointMetrics(outcomes.map((x) => x.o.manifest).filter((m): m is NodeManifest => Boolean(m)));
    if (bad.length) p.failed = bad.map((x) => ({ stage: x.stage, key: x.key, error: x.o.error?.message ?? '' }));
    points.push({
      id: p.id,
      name: p.name,
      params: p.assignment,
      overrides: p.overrides ?? {},
      status: p.status,
      metrics: p.metrics,
    });
    for (const x of outcomes) {
      const items = x.o.manifest?.skipped;
      if (!items?.length) continue;
      const entry = skipped.get(x.key) ?? { stage: x.stage, key: x.key, points: [], items };
      entry.points.push(p.name);
      skipped.set(x.key, entry);
    }
    for (const f of bad) {
      if (seen.has(f.key)) continue;
      seen.add(f.key);
      failed.push({ point: p.id, stage: f.stage, key: f.key, error: f.o.error?.message ?? '', log: f.o.logFile });
    }
  }
  // A failed shard is no stage of a point (its gather is skipped): listed with its own error.
  for (const [key, o] of summary.outcomes) {
    const node = plan.byKey.get(key);
    if (o.status !== 'failed' || node?.shard?.role !== 'map' || seen.has(key)) continue;
    seen.add(key);
    const point = node.points[0] ?? '';
    failed.push({ point, stage: nodeLabel(node), key, error: o.error?.message ?? '', log: o.logFile });
  }
  return { points, failed, skipped: [...skipped.values()] };
}

/** Latest value per metric key (max by step, then timestamp), over the nodes of a point. */
export function pointMetrics(manifests: NodeManifest[]): Record<string, number> {
  const best = new Map<string, { step: number; ts: number; value: number }>();
  for (const m of manifests) {
    for (const x of m.metrics) {
      const step = x.step ?? 0;
      const b = best.get(x.key);
      if (!b || step > b.step || (step === b.step && x.timestamp >= b.ts))
        best.set(x.key, { step, ts: x.timestamp, value: x.value });
    }
  }
  return Object.fromEntries([...best].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, v.value]));
}

/**
 * The metrics worth a column: those the plan's kinds declare as headline (`summaryMetrics`);
 * for plans of kinds that declare none, every metric but training curves. At most six.
 */
export function summaryMetrics(plan: Plan, registry: StageRegistry, points: InvocationPoint[]): string[] {
  const keys = [...new Set(points.flatMap((p) => Object.keys(p.metrics)))];
  const declared = new Set(plan.nodes.flatMap((n) => registry.get(n.kind)?.summaryMetrics ?? []));
  const headline = keys.filter((k) => declared.has(k)).sort();
  const chosen = headline.length ? headline : keys.filter((k) => !/(loss|accuracy|\.lr|seconds)$/.test(k));
  return chosen.slice(0, 6);
}

/** The store as the planner sees it: read-only, history listed only for nodes that will run. */
function storeView(store: ArtifactStore) {
  const cache = new Map<string, NodeManifest[]>();
  return {
    has: (kind: string, key: string) => store.has(kind, key),
    readFailure: (key: string) => store.readFailure(key),
    readManifest: (kind: string, key: string) => store.readManifest(kind, key),
    nodeDir: (kind: string, key: string) => store.nodeDir(kind, key),
    manifestsOf(kind: string): NodeManifest[] {
      if (!cache.has(kind)) cache.set(kind, store.listManifestsSync(kind));
      return cache.get(kind)!;
    },
  };
}

/** Fingerprints of a node's input data, to notice data that changed under the same path. */
function dataFingerprintOf(registry: StageRegistry): (node: PlanNode) => Record<string, string> {
  return (node) => {
    const kind = registry.get(node.kind);
    return kind ? fingerprintParams(kind.paramsSchema, node.runParams) : {};
  };
}
