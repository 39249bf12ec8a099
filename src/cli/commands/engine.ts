// `exp validate`, `exp plan`, `exp run`: spec → points → DAG → (diff with store) → execution.
import path from 'node:path';
import { ExpError } from '../../errors.ts';
import { detectInventory } from '../../exec/inventory.ts';
import type { Plan } from '../../plan/dag.ts';
import type { NodeDecision } from '../../plan/diff.ts';
import type { StageRegistry } from '../../plan/registry.ts';
import { type JsonValue, withCheckedParams } from '../../plan/stage-kind.ts';
// The spec loader (yaml, ajv), the planner, the executors and the tracker load when a command runs:
// `exp --help` and `exp <command> --help` read only the declarations in this file.
import type {
  Executor,
  PlannedExperiment,
  ExperimentResult,
  FailedNode,
  SkippedInputs,
  PointResult,
  Reporter,
  ReporterFactory,
} from '../../run/experiment.ts';
import type { InvocationRecord } from '../../store/invocations.ts';
import type { TrackingReporter } from '../../run/tracking-reporter.ts';
import type { ArtifactStore } from '../../store/store.ts';
import type { LoadedSpec } from '../../spec/types.ts';
import { builtinExecutors, DEFAULT_EXECUTOR } from '../../exec/builtin.ts';
import { resolveExecutorSettings, type ExecutorRegistry } from '../../exec/registry.ts';
import { didYouMean } from '../../spec/did-you-mean.ts';
import { checkChoice, int, list, parseCommand, str, type CommandSpec } from '../args.ts';
import { ProgressReporter, formatDuration } from '../progress.ts';
import { shardJson, shardLines } from '../shards-view.ts';
import { table } from '../table.ts';
import { checkRunsWritable, makeRegistries, runsDirFrom } from '../workspace.ts';

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** For tests: an abort signal standing in for SIGINT. */
  signal?: AbortSignal;
}

const specOptions = [
  {
    name: 'set',
    type: 'string',
    multiple: true,
    value: 'PATH=VALUE',
    description: 'override a key (value parsed as YAML), e.g. --set finetune.k=20',
  },
] as const;

export const validateSpec: CommandSpec = {
  name: 'validate',
  usage: 'validate <spec.yaml> [--set PATH=VALUE]...',
  summary: 'Check a spec (schema, stage params, needs, files) and report every problem at once.',
  description:
    "Checks the schema, every stage's params, needs and ports, and looks inside the data folders the spec\n" +
    'names (listing, headers, a sample: never a full decode), so a wrong folder stops here, not minutes into a run.',
  options: [...specOptions, { name: 'json', type: 'boolean', description: 'print {"ok", "points", "issues"} as JSON' }],
  examples: [
    'exp validate experiments/ava_fewshot.yaml',
    "exp validate experiments/s2a_text.yaml --set 'data.screenplays=/data/imsdb'",
  ],
  success: 'the spec is valid',
  errors: ['EXP_SPEC_INVALID', 'EXP_PLUGIN_INVALID'],
};

export const planSpec: CommandSpec = {
  name: 'plan',
  usage: 'plan <spec.yaml> [--why] [--json] [--set PATH=VALUE]...',
  summary: 'Show the DAG of a spec and, for each node, whether it is cached or will run, and why.',
  options: [
    ...specOptions,
    {
      name: 'why',
      type: 'boolean',
      description: 'say why each node will run (new params, upstream changed, version changed, --force)',
    },
    { name: 'json', type: 'boolean', description: 'print {"points":[...],"nodes":[...]} as one JSON object' },
    { name: 'force', type: 'boolean', description: 'plan as if every node were forced to rerun' },
    {
      name: 'rerun',
      type: 'string',
      multiple: true,
      value: 'STAGE',
      description: 'plan as if this stage were forced to rerun',
    },
  ],
  examples: [
    'exp plan experiments/ava_fewshot.yaml',
    'exp plan experiments/s2a_text.yaml --why --set verbs.min_count=50',
    'exp plan experiments/hmdb51.yaml --json --rerun finetune',
  ],
  success: 'the plan is printed',
  errors: ['EXP_SPEC_INVALID', 'EXP_PLUGIN_INVALID'],
};

export const runSpec: CommandSpec = {
  name: 'run',
  usage: 'run <spec.yaml> [--set PATH=VALUE]... [--gpus IDS] [--jobs N] [--runs DIR] [--force] [--json]',
  summary: 'Run every point of a spec: shared stages once, cached nodes reused, each point tracked in MLflow.',
  description:
    'Interrupting (Ctrl-C, SIGTERM) stops dispatching, gives running tasks a grace period, and keeps every\n' +
    'finished node: running the same command again continues where it stopped.',
  options: [
    ...specOptions,
    {
      name: 'gpus',
      type: 'string',
      value: 'IDS',
      description: 'GPU ids to use, e.g. 0,1 or none (default: EXP_GPUS, else nvidia-smi)',
    },
    {
      name: 'jobs',
      short: 'j',
      type: 'string',
      value: 'N',
      description: 'CPU slots for parallel tasks (default: settings.jobs, else the number of cores)',
    },
    { name: 'force', type: 'boolean', description: 'rerun every node even when cached' },
    {
      name: 'rerun',
      type: 'string',
      multiple: true,
      value: 'STAGE',
      description: 'rerun the nodes of this stage even when cached',
    },
    {
      name: 'retry',
      type: 'string',
      value: 'N',
      description: 'retry each failed node up to N times (overrides the spec)',
    },
    {
      name: 'fail-fast',
      type: 'boolean',
      description: 'stop at the first failed node (default: only its dependents stop)',
    },
    {
      name: 'grace',
      type: 'string',
      value: 'SECONDS',
      description: 'grace period for running tasks on interrupt (default 10)',
    },
    {
      name: 'executor',
      type: 'string',
      value: 'NAME',
      description: `where nodes run: ${builtinExecutors.map((e) => (e.name === DEFAULT_EXECUTOR ? `${e.name} (default)` : e.name)).join(', ')}, or a plugin's (settings.executor)`,
    },
    // The built-in executors' own flags (a plugin executor takes settings.<name> and its environment variables).
    ...builtinExecutors.flatMap((e) =>
      (e.options ?? []).flatMap((opt) =>
        opt.flag
          ? [
              {
                name: opt.flag,
                type: 'string' as const,
                value: opt.value,
                description: `${e.name} executor: ${opt.description} (settings.${e.name}.${opt.key}${opt.env ? `, ${opt.env}` : ''})`,
              },
            ]
          : [],
      ),
    ),
    { name: 'json', type: 'boolean', description: 'print the result as one JSON object on the last line' },
    { name: 'quiet', short: 'q', type: 'boolean', description: 'no progress output' },
    { name: 'no-track', type: 'boolean', description: 'do not log to MLflow (file store or server)' },
    {
      name: 'no-report',
      type: 'boolean',
      description: 'do not write the HTML report at the end (also EXP_REPORT=0; exp report writes it later)',
    },
  ],
  examples: [
    'exp run experiments/quickstart.yaml',
    "exp run experiments/ava_fewshot.yaml --set 'finetune.k=[20]' --gpus 0,1",
    'EXP_GPUS=0 exp run experiments/hmdb51.yaml --jobs 4 --json',
    'exp run experiments/quickstart.yaml --executor bullmq --redis redis://10.0.0.5:6379 --runs /shared/runs',
  ],
  success: 'every point done',
  otherExits: [
    [
      1,
      'some point not done: a node failed, or was cancelled outside exp or lost (the others went on; the command to continue is printed)',
    ],
    [130, 'interrupted (Ctrl-C, SIGTERM); run it again to go on'],
  ],
  errors: ['EXP_SPEC_INVALID', 'EXP_PLUGIN_INVALID', 'EXP_RUNS_UNWRITABLE', 'EXP_EXECUTOR_UNAVAILABLE'],
};

function specFile(file: string | undefined): string {
  if (!file)
    throw new ExpError('EXP_ARGS_INVALID', 'no spec file given', { hint: 'e.g. exp run experiments/quickstart.yaml' });
  return file;
}

export async function validateCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand(validateSpec, argv);
  const { loadSpec } = await import('../../spec/index.ts');
  const { kinds: registry, executors } = await makeRegistries(list(values.plugin), io.env);
  const spec = await loadSpec(specFile(positionals[0]), {
    sets: list(values.set),
    kinds: registry,
    executors,
    cwd: io.cwd,
    env: io.env,
  });
  if (values.json) {
    io.stdout.write(`${JSON.stringify({ ok: true, points: spec.points.length, issues: [] })}\n`);
  } else {
    const stages = new Set(spec.points.flatMap((p) => Object.keys(p.stages)));
    io.stdout.write(
      `✓ ${path.relative(io.cwd ?? process.cwd(), spec.file) || spec.file} is valid: ${spec.points.length} point(s), ${stages.size} stage(s)\n`,
    );
  }
  return 0;
}

export interface PlanJson {
  points: { id: string; name: string; params: Record<string, unknown>; overrides: Record<string, unknown> }[];
  nodes: {
    key: string;
    stage: string;
    kind: string;
    needs: string[];
    points: string[];
    status: 'cached' | 'run';
    why: string;
    note?: string;
    /** A shard node: its gather's key, place and item count. */
    shard?: { gather: string; index: number; count: number; items: number };
    /** A sharded stage's gather: its setting and, once decided, its shard count. */
    shards?: Record<string, unknown>;
  }[];
}

/** The kinds' plan notes by node key (thresholds resolved from cached upstream outputs, or their formula). */
export function planNotes(
  plan: Plan,
  registry: StageRegistry,
  store: Pick<ArtifactStore, 'readManifest'>,
): Map<string, string> {
  const byKey = new Map(plan.nodes.map((n) => [n.key, n]));
  const notes = new Map<string, string>();
  for (const n of plan.nodes) {
    const kind = registry.get(n.kind);
    if (!kind?.planNote || n.shard?.role === 'map') continue;
    const upstream = n.needs.flatMap((key) => {
      const up = byKey.get(key);
      const m = up ? store.readManifest(up.kind, key) : undefined;
      return m ? [{ kind: m.kind, outputs: m.outputs as Record<string, JsonValue> }] : [];
    });
    const note = withCheckedParams(kind).planNote?.(n.params, upstream);
    if (note) notes.set(n.key, note);
  }
  return notes;
}

export function planToJson(
  plan: Plan,
  decisions: Map<string, NodeDecision>,
  notes: Map<string, string> = new Map(),
): PlanJson {
  return {
    points: plan.points.map((p) => ({ id: p.id, name: p.name, params: p.assignment, overrides: p.overrides })),
    nodes: plan.nodes.map((n) => ({
      key: n.key,
      stage: n.stage,
      kind: n.kind,
      needs: n.needs,
      points: n.points,
      status: decisions.get(n.key)!.status,
      why: decisions.get(n.key)!.why,
      ...(notes.has(n.key) ? { note: notes.get(n.key)! } : {}),
      ...shardJson(n),
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
  const { kinds: registry, executors } = await makeRegistries(list(values.plugin), io.env);
  const runsDir = runsDirFrom(str(values.runs), io.env);
  const { planExperiment } = await import('../../run/experiment.ts');
  const { spec, plan, decisions, store } = await planExperiment(specFile(positionals[0]), {
    registry,
    executors,
    runsDir,
    sets: list(values.set),
    cwd: io.cwd,
    env: io.env,
    force: forceOption(values),
  });
  const notes = planNotes(plan, registry, store);
  if (values.json) {
    io.stdout.write(`${JSON.stringify(planToJson(plan, decisions, notes))}\n`);
    return 0;
  }
  // Shard nodes are summed up under the table (one line per sharded stage), not one row each.
  const stageNodes = plan.nodes.filter((n) => n.shard?.role !== 'map');
  const shardCount = plan.nodes.length - stageNodes.length;
  const runCount = stageNodes.filter((n) => decisions.get(n.key)?.status === 'run').length;
  io.stdout.write(
    `${spec.name}: ${plan.points.length} point(s) → ${stageNodes.length} node(s), ${stageNodes.length - runCount} cached, ${runCount} to run${shardCount ? ` (+ ${shardCount} shard node(s))` : ''}\n\n`,
  );
  const rows = stageNodes.map((n) => {
    const d = decisions.get(n.key)!;
    const own = n.shard?.role === 'gather' ? n.needStages.slice(0, n.shard.upstream) : n.needStages;
    const shards = n.shard?.role === 'gather' && n.shard.decided ? [`${n.shard.shards.length} shards`] : [];
    const needs = [...own, ...shards].join(',');
    return [
      d.status === 'cached' ? '✓ cached' : '● run',
      n.stage,
      n.kind,
      n.key.slice(0, 10),
      needs || '-',
      String(n.points.length),
      ...(values.why ? [d.why] : []),
    ];
  });
  io.stdout.write(
    `${table(['status', 'stage', 'kind', 'key', 'needs', 'points', ...(values.why ? ['why'] : [])], rows)}\n`,
  );
  const sharded = shardLines(plan, decisions, Boolean(values.why));
  if (sharded.length) io.stdout.write(`\nsharded stages:\n${sharded.join('\n')}\n`);
  if (notes.size) {
    io.stdout.write('\n');
    for (const n of plan.nodes)
      if (notes.has(n.key)) io.stdout.write(`${n.stage} (${n.key.slice(0, 10)}): ${notes.get(n.key)}\n`);
  }
  if (values.why) io.stdout.write(`\nwhere each stage's inputs come from:\n${inputSources(plan, registry)}`);
  return 0;
}

/** One line per distinct (stage, wiring): port ← upstream stage or the user's path; what producers make. */
function inputSources(plan: Plan, registry: StageRegistry): string {
  const lines = new Set<string>();
  for (const n of plan.nodes) {
    const parts: string[] = [];
    for (const [port, source] of Object.entries(n.ports)) {
      if (source.from === 'param') parts.push(`${port} ← ${source.path} (with.${source.param})`);
      else
        parts.push(
          `${port} ← ${source.stages.map((s) => `${s}${plan.byKey.get(n.needs[n.needStages.indexOf(s)]!)?.kind === 'demo.world' ? ' (demo world)' : ''}`).join(', ')}`,
        );
    }
    const kind = registry.get(n.kind);
    if (kind?.partsParam && Array.isArray(n.params[kind.partsParam]))
      parts.push(`makes ${(n.params[kind.partsParam] as string[]).join(', ') || 'nothing'}`);
    if (parts.length > 0) lines.add(`  ${n.stage.padEnd(10)} ${parts.join('; ')}`);
  }
  return [...lines].map((l) => `${l}\n`).join('');
}

export interface RunJson {
  points: PointResult[];
  failed: FailedNode[];
  /** The HTML report written at the end (absent with --no-report, or when it could not be written). */
  report?: string;
  /** Only when some node skipped input items (corrupt movies, ...). */
  skipped?: SkippedInputs[];
  /** Only when some point is not done: the command that continues where this run stopped. */
  resume?: string;
}

/** A word as a POSIX shell reads it back unchanged. */
function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export async function runCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand(runSpec, argv);
  const { planExperiment, runExperiment } = await import('../../run/experiment.ts');
  const { TrackingReporter } = await import('../../run/tracking-reporter.ts');
  const { kinds: registry, executors } = await makeRegistries(list(values.plugin), io.env);
  // An executor name the registry (built-ins and plugins) does not know: said before any planning.
  checkChoice(runSpec, 'executor', str(values.executor), executors.names());
  const runsDir = runsDirFrom(str(values.runs), io.env);
  checkRunsWritable(runsDir);
  const planned = await planExperiment(specFile(positionals[0]), {
    registry,
    executors,
    runsDir,
    sets: list(values.set),
    cwd: io.cwd,
    env: io.env,
    force: forceOption(values),
  });
  const { spec } = planned;
  const jobs = int(values.jobs, 'jobs', { min: 1, max: 1024 }) ?? spec.settings.jobs;
  const retries = int(values.retry, 'retry', { max: 100 });
  const graceMs = (int(values.grace, 'grace', { max: 3600 }) ?? 10) * 1000;
  const inventory = detectInventory({ gpus: str(values.gpus), jobs, env: io.env });
  const tty = Boolean(io.stderr.isTTY) && !values.json;
  const progress = new ProgressReporter(io.stderr, { tty, quiet: Boolean(values.quiet), jobs: inventory.cpus });
  if (!values.quiet) {
    io.stderr.write(
      `exp run ${spec.name} · runs ${runsDir} · ${inventory.cpus} CPU slot(s) · GPUs ${inventory.gpus.length ? inventory.gpus.map((g) => g.id).join(',') : 'none'} (${inventory.gpuSource})\n`,
    );
  }
  const reporters: ReporterFactory[] = [() => progress];
  if (!values['no-track']) {
    reporters.push(({ invocationId }) =>
      TrackingReporter.open({
        runsDir,
        spec,
        plan: planned.plan,
        invocationId,
        env: io.env ?? process.env,
        log: (m) => io.stderr.write(`${m}\n`),
      }),
    );
  }

  // What the executor has to say (re-attached Slurm jobs, nodes no worker can host): even with --quiet.
  const executor = executorFrom(executors, values, planned, io.env ?? process.env, (line) =>
    io.stderr.write(`${line}\n`),
  );
  if (executor.name !== DEFAULT_EXECUTOR && !values.quiet)
    io.stderr.write(`executor ${executor.name} · nodes go to ${executor.where}\n`);

  const interrupt = interruptOnSignals(io, graceMs);
  let result: ExperimentResult;
  let report: { file: string; line: string } | undefined;
  try {
    result = await runExperiment(planned, {
      inventory,
      reporters,
      executor: executor.run,
      command: ['run', ...argv],
      failFast: Boolean(values['fail-fast']),
      retries,
      signal: interrupt.signal,
      graceMs,
      // The report, written while the MLflow parent run is still open so it is logged there.
      beforeClose:
        values['no-report'] || (io.env ?? process.env).EXP_REPORT === '0'
          ? undefined
          : async (invocation, reps) => {
              report = await reportAtEnd(runsDir, invocation, registry, reps, io);
            },
    });
  } finally {
    interrupt.dispose();
  }
  const tracking = result.reporters.find((r): r is TrackingReporter => r instanceof TrackingReporter);
  // exit 0 only when every targeted point is done: a cancelled, lost or unknown node is never a success.
  const notDone = result.points.filter((p) => p.status !== 'done');
  const resume = notDone.length ? `exp ${['run', ...argv].map(shellQuote).join(' ')}` : undefined;
  if (!values.quiet && !values.json) printSummary(io, spec, result, tracking, report?.line);
  if (resume && !values.json)
    io.stdout.write(
      `\n${notDone.length} of ${result.points.length} point(s) not done; finished nodes are kept. To continue: ${resume}\n`,
    );
  if (values.json)
    io.stdout.write(
      `${JSON.stringify({ points: result.points, failed: result.failed, ...(result.skipped.length ? { skipped: result.skipped } : {}), ...(report ? { report: report.file } : {}), ...(resume ? { resume } : {}) } satisfies RunJson)}\n`,
    );
  if (result.interrupted) return 130;
  return notDone.length ? 1 : 0;
}

/**
 * The invocation's HTML report, logged into its MLflow parent run. A report that cannot be
 * written costs a warning, never the run's result.
 */
async function reportAtEnd(
  runsDir: string,
  invocation: InvocationRecord,
  registry: StageRegistry,
  reporters: Reporter[],
  io: Io,
): Promise<{ file: string; line: string } | undefined> {
  try {
    const { shownPath, writeReport } = await import('./report.ts');
    const { TrackingReporter } = await import('../../run/tracking-reporter.ts');
    const tracking = reporters.find((r): r is TrackingReporter => r instanceof TrackingReporter);
    const written = await writeReport(runsDir, [invocation], registry, {
      attach: tracking ? (file) => tracking.logParentArtifact(file, 'report/') : undefined,
    });
    const shown = await shownPath(written.file, io.cwd);
    return {
      file: written.file,
      line: `report: ${shown} (${written.charts} charts, ${(written.bytes / 1024).toFixed(0)} KB${written.tracked ? '; also in the MLflow parent run under report/' : ''})`,
    };
  } catch (e) {
    io.stderr.write(
      `report: not written (${(e as Error).message.split('\n')[0]}); the results are in the runs folder: exp report writes it again\n`,
    );
    return undefined;
  }
}

/** `--executor` / settings.executor, looked up in the registry, with its settings resolved (flag > spec > env). */
function executorFrom(
  executors: ExecutorRegistry,
  values: Record<string, unknown>,
  planned: PlannedExperiment,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): { name: string; run: Executor; where: string } {
  const { spec } = planned;
  const name = str(values.executor as string | undefined) ?? spec.settings.executor ?? DEFAULT_EXECUTOR;
  const def = executors.get(name);
  if (!def) {
    const known = executors.names();
    const guess = didYouMean(name, known);
    throw new ExpError('EXP_ARGS_INVALID', `unknown executor "${name}"`, {
      hint: `${guess ? `did you mean --executor ${guess}? ` : ''}registered executors: ${known.join(', ')} (a plugin can add one)`,
    });
  }
  const settings = resolveExecutorSettings(def, spec.settings.executorSettings?.[name], values, env);
  const plugins = list(values.plugin as string[] | undefined).map((p) => path.resolve(p));
  return {
    name,
    where: def.where(settings, env),
    run: async (options) => {
      const remote = await def.open({
        settings,
        store: planned.store,
        registry: planned.registry,
        plugins,
        env,
        invocation: options.invocation,
        log,
        signal: options.signal,
      });
      const { execute } = await import('../../exec/executor.ts');
      return execute({ ...options, remote });
    },
  };
}

/** Seconds beyond the grace period that closing (cancelling jobs, closing connections) may take. */
const STOP_MARGIN_S = 2;

/**
 * Ctrl-C / SIGTERM: stop dispatching and let running tasks finish within the grace period; a
 * second Ctrl-C leaves at once (finished nodes are already safe in the store). In-process callers
 * (tests) pass io.signal instead.
 */
function interruptOnSignals(io: Io, graceMs: number): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  if (io.signal?.aborted) controller.abort();
  io.signal?.addEventListener('abort', () => controller.abort(), { once: true });
  if (io.signal) return { signal: controller.signal, dispose: () => {} };
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) process.exit(130);
    io.stderr.write(`\n${sig}: stopping (running tasks get ${graceMs / 1000}s; press Ctrl-C again to leave now)\n`);
    controller.abort();
    // Whatever state the executor's engine is in (a controller or a Redis that hangs), exp leaves
    // once the grace period and a moment to close are over: finished nodes are already safe.
    setTimeout(
      () => {
        io.stderr.write(`exp: still stopping ${graceMs / 1000 + STOP_MARGIN_S} s after ${sig}: leaving now\n`);
        process.exit(130);
      },
      graceMs + STOP_MARGIN_S * 1000,
    ).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

function printSummary(
  io: Io,
  spec: LoadedSpec,
  result: ExperimentResult,
  tracking?: TrackingReporter,
  report?: string,
): void {
  const points = result.invocation.points;
  const metricKeys = result.summaryMetrics;
  const axes = [...new Set(points.flatMap((p) => Object.keys(p.assignment)))];
  const rows = points.map((p) => [
    p.name,
    p.id,
    p.status,
    ...metricKeys.map((k) => (p.metrics[k] === undefined ? '' : formatMetric(p.metrics[k]!))),
  ]);
  io.stdout.write(
    `\n${spec.name}: ${points.length} point(s) in ${formatDuration(result.wallMs)}${axes.length ? ` (varying ${axes.join(', ')})` : ''}\n`,
  );
  io.stdout.write(`${table(['point', 'id', 'status', ...metricKeys], rows)}\n`);
  const failures = new Map<string, { stage: string; error: string; points: string[] }>();
  for (const p of points) {
    for (const f of p.failed ?? []) {
      const entry =
        failures.get(f.key) ?? failures.set(f.key, { stage: f.stage, error: f.error, points: [] }).get(f.key)!;
      entry.points.push(p.name);
    }
  }
  for (const [key, f] of failures) {
    const where = f.points.length === 1 ? f.points[0] : `${f.points.length} points`;
    io.stdout.write(`✖ ${f.stage} failed (${where}): ${f.error.split('\n')[0]}  → exp show ${key.slice(0, 10)}\n`);
  }
  for (const s of result.skipped) {
    const where = s.points.length === 1 ? s.points[0] : `${s.points.length} points`;
    const shown = s.items
      .slice(0, 3)
      .map((x) => `${x.item} (${x.reason.replace(`${x.item} `, '').split('\n')[0]!.slice(0, 120)})`);
    const more = s.items.length > 3 ? `; and ${s.items.length - 3} more` : '';
    io.stdout.write(
      `! ${s.stage} skipped ${s.items.length} input(s) (${where}): ${shown.join('; ')}${more}  → exp show ${s.key.slice(0, 10)}\n`,
    );
  }
  if (tracking) io.stdout.write(`\n${tracking.howToOpen()}\n`);
  // Last, so that it is the line a user sees when the run ends.
  if (report) io.stdout.write(`\n${report}\n`);
}

function formatMetric(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(4);
}
