// `exp validate`, `exp plan`, `exp run`: spec → points → DAG → (diff with store) → execution.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ExpError } from '../../errors.ts';
import { execute } from '../../exec/executor.ts';
import { detectInventory } from '../../exec/inventory.ts';
import { CompositeLifecycle, type Lifecycle, type NodeOutcome } from '../../exec/lifecycle.ts';
import { buildPlan, type Plan, type PlanNode } from '../../plan/dag.ts';
import { fingerprintParams } from '../../plan/fingerprint.ts';
import { diffPlan, type NodeDecision } from '../../plan/diff.ts';
import type { StageRegistry } from '../../plan/registry.ts';
import type { JsonValue } from '../../plan/stage-kind.ts';
import { loadSpec } from '../../spec/index.ts';
import type { LoadedSpec } from '../../spec/types.ts';
import { saveInvocation, type InvocationPoint, type InvocationRecord } from '../../store/invocations.ts';
import { ArtifactStore, type NodeManifest } from '../../store/store.ts';
import { int, list, parseCommand, str, type CommandSpec } from '../args.ts';
import { ProgressReporter, formatDuration } from '../progress.ts';
import { table } from '../table.ts';
import { makeRegistry, runsDirFrom } from '../workspace.ts';
import { TrackingReporter } from '../tracking-reporter.ts';

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** For tests: an abort signal standing in for SIGINT. */
  signal?: AbortSignal;
}

const specOptions = [
  { name: 'set', type: 'string', multiple: true, value: 'PATH=VALUE', description: 'override a key (value parsed as YAML), e.g. --set finetune.k=20' },
] as const;

export const validateSpec: CommandSpec = {
  name: 'validate',
  usage: 'validate <spec.yaml> [--set PATH=VALUE]...',
  summary: 'Check a spec (schema, stage params, needs, files) and report every problem at once.',
  options: [...specOptions, { name: 'json', type: 'boolean', description: 'print {"ok", "points", "issues"} as JSON' }],
  examples: ['exp validate experiments/ava_fewshot.yaml', "exp validate experiments/s2a_text.yaml --set 'data.screenplays=/data/imsdb'"],
};

export const planSpec: CommandSpec = {
  name: 'plan',
  usage: 'plan <spec.yaml> [--why] [--json] [--set PATH=VALUE]...',
  summary: 'Show the DAG of a spec and, for each node, whether it is cached or will run, and why.',
  options: [
    ...specOptions,
    { name: 'why', type: 'boolean', description: 'say why each node will run (new params, upstream changed, version changed, --force)' },
    { name: 'json', type: 'boolean', description: 'print {"points":[...],"nodes":[...]} as one JSON object' },
    { name: 'force', type: 'boolean', description: 'plan as if every node were forced to rerun' },
    { name: 'rerun', type: 'string', multiple: true, value: 'STAGE', description: 'plan as if this stage were forced to rerun' },
  ],
};

export const runSpec: CommandSpec = {
  name: 'run',
  usage: 'run <spec.yaml> [--set PATH=VALUE]... [--gpus IDS] [--jobs N] [--runs DIR] [--force] [--json]',
  summary: 'Run every point of a spec: shared stages once, cached nodes reused, each point tracked in MLflow.',
  description:
    'Exit codes: 0 all points done, 1 some node failed, 2 invalid spec or arguments, 130 interrupted.\n' +
    'Interrupting (Ctrl-C, SIGTERM) stops dispatching, gives running tasks a grace period, and keeps every\n' +
    'finished node: running the same command again continues where it stopped.',
  options: [
    ...specOptions,
    { name: 'gpus', type: 'string', value: 'IDS', description: 'GPU ids to use, e.g. 0,1 or none (default: EXP_GPUS, else nvidia-smi)' },
    { name: 'jobs', short: 'j', type: 'string', value: 'N', description: 'CPU slots for parallel tasks (default: settings.jobs, else the number of cores)' },
    { name: 'force', type: 'boolean', description: 'rerun every node even when cached' },
    { name: 'rerun', type: 'string', multiple: true, value: 'STAGE', description: 'rerun the nodes of this stage even when cached' },
    { name: 'retry', type: 'string', value: 'N', description: 'retry each failed node up to N times (overrides the spec)' },
    { name: 'fail-fast', type: 'boolean', description: 'stop at the first failed node (default: only its dependents stop)' },
    { name: 'grace', type: 'string', value: 'SECONDS', description: 'grace period for running tasks on interrupt (default 10)' },
    { name: 'json', type: 'boolean', description: 'print the result as one JSON object on the last line' },
    { name: 'quiet', short: 'q', type: 'boolean', description: 'no progress output' },
    { name: 'no-track', type: 'boolean', description: 'do not log to MLflow (file store or server)' },
  ],
  examples: [
    'exp run experiments/quickstart.yaml',
    "exp run experiments/ava_fewshot.yaml --set 'finetune.k=[20]' --gpus 0,1",
    'EXP_GPUS=0 exp run experiments/hmdb51.yaml --jobs 4 --json',
  ],
};

async function load(file: string | undefined, sets: string[], registry: StageRegistry, io: Io): Promise<LoadedSpec> {
  if (!file) throw new ExpError('EXP_ARGS_INVALID', 'no spec file given', { hint: 'e.g. exp run experiments/quickstart.yaml' });
  return loadSpec(file, { sets, kinds: registry, cwd: io.cwd, env: io.env });
}

function storeView(store: ArtifactStore) {
  const cache = new Map<string, NodeManifest[]>();
  return {
    has: (kind: string, key: string) => store.has(kind, key),
    readFailure: (key: string) => store.readFailure(key),
    readManifest: (kind: string, key: string) => store.readManifest(kind, key),
    manifestsOf(kind: string): NodeManifest[] {
      if (!cache.has(kind)) {
        // Synchronous on purpose: the planner is pure; only nodes that will run ask for history.
        cache.set(kind, store.listManifestsSync(kind));
      }
      return cache.get(kind)!;
    },
  };
}

/** Fingerprints of a node's input data, for `exp plan/run` to notice data changed under a path. */
function dataFingerprintOf(registry: StageRegistry): (node: PlanNode) => Record<string, string> {
  return (node) => {
    const kind = registry.get(node.kind);
    return kind ? fingerprintParams(kind.paramsSchema, node.runParams) : {};
  };
}

export async function validateCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand(validateSpec, argv);
  const registry = await makeRegistry(list(values.plugin), io.env);
  const spec = await load(positionals[0], list(values.set), registry, io);
  if (values.json) {
    io.stdout.write(JSON.stringify({ ok: true, points: spec.points.length, issues: [] }) + '\n');
  } else {
    const stages = new Set(spec.points.flatMap((p) => Object.keys(p.stages)));
    io.stdout.write(`✓ ${path.relative(io.cwd ?? process.cwd(), spec.file) || spec.file} is valid: ${spec.points.length} point(s), ${stages.size} stage(s)\n`);
  }
  return 0;
}

export interface PlanJson {
  points: { id: string; name: string; params: Record<string, unknown> }[];
  nodes: { key: string; stage: string; kind: string; needs: string[]; points: string[]; status: 'cached' | 'run'; why: string; note?: string }[];
}

/** The kinds' plan notes by node key (thresholds resolved from cached upstream outputs, or their formula). */
export function planNotes(plan: Plan, registry: StageRegistry, store: Pick<ArtifactStore, 'readManifest'>): Map<string, string> {
  const byKey = new Map(plan.nodes.map((n) => [n.key, n]));
  const notes = new Map<string, string>();
  for (const n of plan.nodes) {
    const kind = registry.get(n.kind);
    if (!kind?.planNote) continue;
    const upstream = n.needs.flatMap((key) => {
      const up = byKey.get(key);
      const m = up ? store.readManifest(up.kind, key) : undefined;
      return m ? [{ kind: m.kind, outputs: m.outputs as Record<string, JsonValue> }] : [];
    });
    const note = kind.planNote(n.params, upstream);
    if (note) notes.set(n.key, note);
  }
  return notes;
}

export function planToJson(plan: Plan, decisions: Map<string, NodeDecision>, notes: Map<string, string> = new Map()): PlanJson {
  return {
    points: plan.points.map((p) => ({ id: p.id, name: p.name, params: p.assignment })),
    nodes: plan.nodes.map((n) => ({
      key: n.key,
      stage: n.stage,
      kind: n.kind,
      needs: n.needs,
      points: n.points,
      status: decisions.get(n.key)!.status,
      why: decisions.get(n.key)!.why,
      ...(notes.has(n.key) ? { note: notes.get(n.key)! } : {}),
    })),
  };
}

function forceOption(values: Record<string, unknown>): boolean | string[] {
  if (values.force) return true;
  const stages = list(values.rerun as string[] | undefined);
  return stages.length ? stages : false;
}

export async function planCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand(planSpec, argv);
  const registry = await makeRegistry(list(values.plugin), io.env);
  const spec = await load(positionals[0], list(values.set), registry, io);
  const store = new ArtifactStore(runsDirFrom(str(values.runs), io.env));
  const plan = buildPlan(spec, registry);
  const decisions = diffPlan(plan, storeView(store), { force: forceOption(values), dataFingerprint: dataFingerprintOf(registry) });
  const notes = planNotes(plan, registry, store);
  if (values.json) {
    io.stdout.write(JSON.stringify(planToJson(plan, decisions, notes)) + '\n');
    return 0;
  }
  const runCount = [...decisions.values()].filter((d) => d.status === 'run').length;
  io.stdout.write(`${spec.name}: ${plan.points.length} point(s) → ${plan.nodes.length} node(s), ${plan.nodes.length - runCount} cached, ${runCount} to run\n\n`);
  const rows = plan.nodes.map((n) => {
    const d = decisions.get(n.key)!;
    const needs = n.needStages.join(',');
    return [d.status === 'cached' ? '✓ cached' : '● run', n.stage, n.kind, n.key.slice(0, 10), needs || '-', String(n.points.length), ...(values.why ? [d.why] : [])];
  });
  io.stdout.write(table(['status', 'stage', 'kind', 'key', 'needs', 'points', ...(values.why ? ['why'] : [])], rows) + '\n');
  if (notes.size) {
    io.stdout.write('\n');
    for (const n of plan.nodes) if (notes.has(n.key)) io.stdout.write(`${n.stage} (${n.key.slice(0, 10)}): ${notes.get(n.key)}\n`);
  }
  return 0;
}

export interface RunJson {
  points: { id: string; name: string; params: Record<string, unknown>; status: string; metrics: Record<string, number> }[];
  failed: { point: string; stage: string; key: string; error: string; log?: string }[];
}

function newInvocationId(): string {
  const d = new Date();
  const stamp = d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

/** Latest value per metric key (max by step, then timestamp), over the nodes of a point. */
export function pointMetrics(manifests: NodeManifest[]): Record<string, number> {
  const best = new Map<string, { step: number; ts: number; value: number }>();
  for (const m of manifests) {
    for (const x of m.metrics) {
      const step = x.step ?? 0;
      const b = best.get(x.key);
      if (!b || step > b.step || (step === b.step && x.timestamp >= b.ts)) best.set(x.key, { step, ts: x.timestamp, value: x.value });
    }
  }
  return Object.fromEntries([...best].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, v.value]));
}

export async function runCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand(runSpec, argv);
  const registry = await makeRegistry(list(values.plugin), io.env);
  const spec = await load(positionals[0], list(values.set), registry, io);
  const runsDir = runsDirFrom(str(values.runs), io.env);
  const jobs = int(values.jobs, 'jobs') ?? spec.settings.jobs;
  const retries = int(values.retry, 'retry');
  const graceMs = (int(values.grace, 'grace') ?? 10) * 1000;
  const inventory = detectInventory({ gpus: str(values.gpus), jobs, env: io.env });
  const store = new ArtifactStore(runsDir);
  await store.init();
  const plan = buildPlan(spec, registry);
  const decisions = diffPlan(plan, storeView(store), { force: forceOption(values), dataFingerprint: dataFingerprintOf(registry) });
  const tty = Boolean(io.stderr.isTTY) && !values.json;
  const progress = new ProgressReporter(io.stderr, { tty, quiet: Boolean(values.quiet), jobs: inventory.cpus });
  if (!values.quiet) {
    io.stderr.write(
      `exp run ${spec.name} · runs ${runsDir} · ${inventory.cpus} CPU slot(s) · GPUs ${inventory.gpus.length ? inventory.gpus.map((g) => g.id).join(',') : 'none'} (${inventory.gpuSource})\n`,
    );
  }

  const invocation: InvocationRecord = {
    id: newInvocationId(),
    spec: spec.file,
    name: spec.name,
    command: ['run', ...argv],
    startedAt: Date.now(),
    finishedAt: null,
    status: 'running',
    points: plan.points.map((p) => ({ id: p.id, name: p.name, assignment: p.assignment, nodes: p.nodes, status: 'running', metrics: {} })),
  };
  await saveInvocation(runsDir, invocation);

  const parts: Lifecycle[] = [progress];
  let tracking: TrackingReporter | undefined;
  if (!values['no-track']) {
    tracking = await TrackingReporter.open({ runsDir, spec, plan, invocationId: invocation.id, env: io.env ?? process.env, log: (m) => io.stderr.write(`${m}\n`) });
    parts.push(tracking);
  }
  const lifecycle = new CompositeLifecycle(parts);
  lifecycle.planned(plan, decisions);

  // Ctrl-C / SIGTERM: stop dispatching and let running tasks finish within the grace period;
  // a second Ctrl-C leaves at once (finished nodes are already safe in the store).
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) process.exit(130);
    io.stderr.write(`\n${sig}: stopping (running tasks get ${graceMs / 1000}s; press Ctrl-C again to leave now)\n`);
    controller.abort();
  };
  io.signal?.addEventListener('abort', () => controller.abort(), { once: true });
  const listen = !io.signal;
  if (listen) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  let summary;
  try {
    summary = await execute({
      plan,
      decisions,
      registry,
      store,
      inventory,
      lifecycle,
      failFast: Boolean(values['fail-fast']),
      retries,
      signal: controller.signal,
      graceMs,
    });
  } finally {
    if (listen) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }

  // Per-point status and metrics.
  const result: RunJson = { points: [], failed: [] };
  for (const p of invocation.points) {
    const outcomes = Object.entries(p.nodes).map(([stage, key]) => ({ stage, key, o: summary.outcomes.get(key) as NodeOutcome }));
    const failed = outcomes.filter((x) => x.o.status === 'failed');
    const bad = outcomes.some((x) => x.o.status === 'failed' || x.o.status === 'skipped');
    const cancelled = outcomes.some((x) => x.o.status === 'cancelled');
    p.status = bad ? 'failed' : cancelled ? 'cancelled' : 'done';
    p.metrics = pointMetrics(outcomes.map((x) => x.o.manifest).filter((m): m is NodeManifest => Boolean(m)));
    if (failed.length) p.failed = failed.map((x) => ({ stage: x.stage, key: x.key, error: x.o.error?.message ?? '' }));
    result.points.push({ id: p.id, name: p.name, params: p.assignment, status: p.status, metrics: p.metrics });
    for (const f of failed) {
      result.failed.push({ point: p.id, stage: f.stage, key: f.key, error: f.o.error?.message ?? '', log: f.o.logFile });
    }
  }
  invocation.finishedAt = Date.now();
  const anyFailed = result.points.some((p) => p.status === 'failed');
  invocation.status = summary.interrupted ? 'cancelled' : anyFailed ? 'failed' : 'done';
  const counts: Record<string, number> = {};
  for (const o of summary.outcomes.values()) counts[o.status] = (counts[o.status] ?? 0) + 1;
  invocation.counts = counts;
  invocation.mlflowRunId = tracking?.parentRunId;
  await saveInvocation(runsDir, invocation);
  await tracking?.close(invocation.status);

  if (!values.quiet && !values.json) printSummary(io, spec, invocation.points, summary.wallMs, runsDir, tracking);
  if (values.json) io.stdout.write(JSON.stringify(dedupeFailed(result)) + '\n');
  if (summary.interrupted) return 130;
  return anyFailed ? 1 : 0;
}

function dedupeFailed(r: RunJson): RunJson {
  const seen = new Set<string>();
  return { ...r, failed: r.failed.filter((f) => (seen.has(f.key) ? false : (seen.add(f.key), true))) };
}

function printSummary(io: Io, spec: LoadedSpec, points: InvocationPoint[], wallMs: number, runsDir: string, tracking?: TrackingReporter): void {
  const metricKeys = chooseSummaryMetrics(points);
  const axes = [...new Set(points.flatMap((p) => Object.keys(p.assignment)))];
  const rows = points.map((p) => [
    p.name,
    p.id,
    p.status,
    ...metricKeys.map((k) => (p.metrics[k] === undefined ? '' : formatMetric(p.metrics[k]!))),
  ]);
  io.stdout.write(`\n${spec.name}: ${points.length} point(s) in ${formatDuration(wallMs)}${axes.length ? ` (varying ${axes.join(', ')})` : ''}\n`);
  io.stdout.write(table(['point', 'id', 'status', ...metricKeys], rows) + '\n');
  const failures = new Map<string, { stage: string; error: string; points: string[] }>();
  for (const p of points) {
    for (const f of p.failed ?? []) {
      const entry = failures.get(f.key) ?? failures.set(f.key, { stage: f.stage, error: f.error, points: [] }).get(f.key)!;
      entry.points.push(p.name);
    }
  }
  for (const [key, f] of failures) {
    const where = f.points.length === 1 ? f.points[0] : `${f.points.length} points`;
    io.stdout.write(`✖ ${f.stage} failed (${where}): ${f.error.split('\n')[0]}  → exp show ${key.slice(0, 10)}\n`);
  }
  if (tracking) io.stdout.write(`\n${tracking.howToOpen()}\n`);
  void runsDir;
}

/** The summary table shows means and headline metrics, not every per-class value. */
function chooseSummaryMetrics(points: InvocationPoint[]): string[] {
  const keys = [...new Set(points.flatMap((p) => Object.keys(p.metrics)))];
  // Headline metrics: means over classes and benchmark accuracies, not training curves.
  const headline = keys.filter((k) => /(mean_ap|_map|\.map|mean_accuracy)$/.test(k) || /^video\.[a-z0-9]+_accuracy$/.test(k));
  const chosen = headline.length ? headline : keys.filter((k) => !/(loss|accuracy|\.lr|seconds)$/.test(k));
  return chosen.slice(0, 6);
}

function formatMetric(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(4);
}

