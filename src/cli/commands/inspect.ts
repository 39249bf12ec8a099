// `exp ls`, `exp show`, `exp kinds`, `exp gc`: looking into the runs folder and the registry.
import type { AnyStageKind } from '../../plan/stage-kind.ts';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { ExpError } from '../../errors.ts';
import { describeValues } from '../../report/records.ts';
import { listInvocations } from '../../store/invocations.ts';
import { ArtifactStore } from '../../store/store.ts';
import { list, parseCommand, str, type CommandSpec } from '../args.ts';
import { formatDuration } from '../progress.ts';
import { table } from '../table.ts';
import { checkRunsWritable, makeRegistry, runsDirFrom } from '../workspace.ts';
import type { Io } from './engine.ts';

export const lsSpec: CommandSpec = {
  name: 'ls',
  usage: 'ls [--nodes] [--json]',
  summary: 'List the invocations recorded in the runs folder (newest first), or the cached nodes.',
  options: [
    { name: 'nodes', type: 'boolean', description: 'list cached nodes (kind, key, stage, size, age) instead' },
    { name: 'json', type: 'boolean', description: 'print JSON' },
  ],
  examples: ['exp ls', 'exp ls --nodes --runs /shared/runs', 'exp ls --json'],
  success: 'listed (an empty runs folder lists nothing)',
  errors: [],
};

export const showSpec: CommandSpec = {
  name: 'show',
  usage: 'show <point-id | node-key | invocation-id> [--json]',
  summary:
    'Show a point (its nodes, status and metrics), a node (manifest, files, log) or an invocation. Prefixes work.',
  options: [{ name: 'json', type: 'boolean', description: 'print JSON' }],
  examples: ['exp show 3f9a2c (a point id, node key or invocation id, or a prefix of one)', 'exp show 3f9a2c --json'],
  success: 'shown',
  errors: ['EXP_NOT_FOUND'],
};

export const kindsSpec: CommandSpec = {
  name: 'kinds',
  usage: 'kinds [NAME] [--json]',
  summary: 'List registered stage kinds, or show one kind with its params schema.',
  options: [{ name: 'json', type: 'boolean', description: 'print JSON' }],
  examples: ['exp kinds', 'exp kinds verbs.mine', 'exp kinds --plugin ./my-kinds.ts --json'],
  success: 'listed',
  errors: ['EXP_NOT_FOUND', 'EXP_PLUGIN_INVALID'],
};

export const gcSpec: CommandSpec = {
  name: 'gc',
  usage: 'gc [--keep-last N] [--dry-run]',
  summary:
    'Remove leftovers of killed runs (temp folders, stale claims) and, with --keep-last, nodes no recent invocation uses.',
  options: [
    {
      name: 'keep-last',
      type: 'string',
      value: 'N',
      description: 'also delete cached nodes not used by the last N invocations',
    },
    { name: 'dry-run', type: 'boolean', description: 'say what would be removed' },
  ],
  examples: ['exp gc', 'exp gc --keep-last 5 --dry-run'],
  success: 'cleaned (or, with --dry-run, what would go is listed)',
  errors: ['EXP_RUNS_UNWRITABLE'],
};

export async function lsCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseCommand(lsSpec, argv);
  const runsDir = runsDirFrom(str(values.runs), io.env);
  if (values.nodes) {
    const store = new ArtifactStore(runsDir);
    const manifests = await store.listManifests();
    manifests.sort((a, b) => b.finishedAt - a.finishedAt);
    if (values.json) {
      io.stdout.write(
        `${JSON.stringify(
          manifests.map((m) => ({
            key: m.key,
            kind: m.kind,
            stage: m.stage,
            finishedAt: m.finishedAt,
            durationMs: m.durationMs,
          })),
        )}\n`,
      );
      return 0;
    }
    const rows = manifests.map((m) => {
      const bytes = Object.values(m.files).reduce((s, f) => s + f.bytes, 0);
      return [
        m.kind,
        m.key.slice(0, 10),
        m.stage,
        humanBytes(bytes),
        formatDuration(m.durationMs),
        new Date(m.finishedAt).toISOString().slice(0, 16),
      ];
    });
    io.stdout.write(`${table(['kind', 'key', 'stage', 'size', 'took', 'finished'], rows)}\n`);
    return 0;
  }
  const invocations = await listInvocations(runsDir);
  if (values.json) {
    io.stdout.write(`${JSON.stringify(invocations)}\n`);
    return 0;
  }
  if (!invocations.length) {
    io.stdout.write(`no runs in ${runsDir} yet (exp run <spec.yaml>)\n`);
    return 0;
  }
  const rows = invocations.map((inv) => {
    const by = (s: string) => inv.points.filter((p) => p.status === s).length;
    return [
      inv.id,
      inv.name,
      inv.status,
      `${by('done')}/${inv.points.length}`,
      String(by('failed')),
      inv.finishedAt ? formatDuration(inv.finishedAt - inv.startedAt) : 'running?',
      path.relative(process.cwd(), inv.spec) || inv.spec,
    ];
  });
  io.stdout.write(`${table(['invocation', 'spec name', 'status', 'points done', 'failed', 'took', 'spec'], rows)}\n`);
  return 0;
}

export async function showCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand(showSpec, argv);
  const id = positionals[0];
  if (!id)
    throw new ExpError('EXP_ARGS_INVALID', 'exp show needs a point id, node key or invocation id', {
      hint: 'exp ls lists invocations; exp ls --nodes lists nodes',
    });
  const runsDir = runsDirFrom(str(values.runs), io.env);
  const store = new ArtifactStore(runsDir);
  const invocations = await listInvocations(runsDir);

  const inv = invocations.find((i) => i.id.startsWith(id));
  if (inv) {
    if (values.json) io.stdout.write(`${JSON.stringify(inv)}\n`);
    else {
      io.stdout.write(`invocation ${inv.id} of ${inv.name} (${inv.spec}): ${inv.status}\n`);
      io.stdout.write(
        `${table(
          ['point', 'id', 'status'],
          inv.points.map((p) => [p.name, p.id, p.status]),
        )}\n`,
      );
      const { defaultReportFile } = await import('../../report/build.ts');
      const report = defaultReportFile(runsDir, inv.name, inv.id);
      io.stdout.write(
        existsSync(report) ? `report: ${report}\n` : `report: none yet (exp report ${inv.id} writes it)\n`,
      );
    }
    return 0;
  }
  // A point: its latest record.
  for (const i of invocations) {
    const p = i.points.find((x) => x.id.startsWith(id));
    if (!p) continue;
    if (values.json) {
      io.stdout.write(`${JSON.stringify({ ...p, invocation: i.id })}\n`);
      return 0;
    }
    io.stdout.write(`point ${p.id} "${p.name}" of ${i.name}: ${p.status} (invocation ${i.id})\n`);
    const described = (v: Record<string, unknown> | undefined) =>
      v && Object.keys(v).length ? describeValues(v) : '(none)';
    io.stdout.write(
      `matrix values:  ${described(p.assignment)}\n--set values:   ${described(p.overrides)}\n\nstages:\n`,
    );
    const kinds = new Map((await store.listManifests()).map((m) => [m.key, m]));
    const rows = Object.entries(p.nodes).map(([stage, key]) => {
      const failure = store.readFailure(key);
      const m = kinds.get(key);
      const state = failure ? `failed: ${failure.error.split('\n')[0]!.slice(0, 60)}` : m ? 'ok' : 'not run';
      return [stage, key.slice(0, 10), state];
    });
    io.stdout.write(`${table(['stage', 'node', 'state'], rows)}\n`);
    // Each stage's params as it ran (schema defaults included): what the point did, in full.
    const params = Object.entries(p.nodes).flatMap(([stage, key]) => {
      const m = kinds.get(key);
      return m ? [`  ${stage}: ${JSON.stringify(m.params)}`] : [];
    });
    if (params.length) io.stdout.write(`\nparams:\n${params.join('\n')}\n`);
    const metricRows = Object.entries(p.metrics).map(([k, v]) => [k, String(Number.isInteger(v) ? v : v.toFixed(4))]);
    if (metricRows.length) io.stdout.write(`\nmetrics:\n${table(['metric', 'value'], metricRows)}\n`);
    return 0;
  }
  // A node (finished or failed).
  const manifests = await store.listManifests();
  const m = manifests.find((x) => x.key.startsWith(id));
  if (m) {
    const dir = store.nodeDir(m.kind, m.key);
    if (values.json) {
      io.stdout.write(`${JSON.stringify({ ...m, dir, log: store.logPath(m.key) })}\n`);
      return 0;
    }
    io.stdout.write(
      `node ${m.key}: ${m.stage} (${m.kind} v${m.kindVersion}), finished ${new Date(m.finishedAt).toISOString()} in ${formatDuration(m.durationMs)}\n`,
    );
    io.stdout.write(`folder: ${dir}\nlog:    ${store.logPath(m.key)}\n`);
    io.stdout.write(
      `params: ${JSON.stringify(m.params)}\ninputs: ${m.inputs.map((x) => `${x.stage}=${x.key.slice(0, 10)}`).join(', ') || '-'}\n`,
    );
    io.stdout.write(`outputs: ${JSON.stringify(m.outputs).slice(0, 2000)}\n`);
    if (m.skipped?.length) {
      io.stdout.write(`\nskipped ${m.skipped.length} input(s):\n`);
      for (const x of m.skipped.slice(0, 50)) io.stdout.write(`  ${x.item}: ${x.reason}\n`);
      if (m.skipped.length > 50)
        io.stdout.write(`  … ${m.skipped.length - 50} more (exp show ${m.key.slice(0, 10)} --json)\n`);
    }
    const files = Object.entries(m.files).map(([f, x]) => [f, humanBytes(x.bytes), x.sha256.slice(0, 12)]);
    if (files.length)
      io.stdout.write(
        `\n${table(['file', 'size', 'sha256'], files.slice(0, 50))}\n${files.length > 50 ? `… ${files.length - 50} more\n` : ''}`,
      );
    if (m.metrics.length) {
      const rows = m.metrics.slice(0, 60).map((x) => [x.key, String(x.step ?? ''), String(x.value)]);
      io.stdout.write(`\n${table(['metric', 'step', 'value'], rows)}\n`);
    }
    return 0;
  }
  const failedDir = store.failedDir;
  const failedNames = await fs.readdir(failedDir).catch(() => [] as string[]);
  const f = failedNames.find((n) => n.startsWith(id));
  if (f) {
    const rec = store.readFailure(f.replace(/\.json$/, ''))!;
    if (values.json) io.stdout.write(`${JSON.stringify(rec)}\n`);
    else {
      io.stdout.write(
        `node ${rec.key}: ${rec.stage} (${rec.kind}) FAILED after ${rec.attempts} attempt(s): ${rec.error}\nlog: ${rec.log}\n`,
      );
      if (existsSync(rec.log)) {
        const text = await fs.readFile(rec.log, 'utf8');
        io.stdout.write(`\n${text.split('\n').slice(-30).join('\n')}\n`);
      }
    }
    return 0;
  }
  throw new ExpError('EXP_NOT_FOUND', `nothing in ${runsDir} matches "${id}"`, {
    hint: 'exp ls lists invocations and points; exp ls --nodes lists nodes',
  });
}

export async function kindsCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand(kindsSpec, argv);
  const registry = await makeRegistry(list(values.plugin), io.env);
  const name = positionals[0];
  if (name) {
    const kind = registry.get(name);
    if (!kind)
      throw new ExpError('EXP_NOT_FOUND', `no stage kind "${name}"`, {
        hint: `registered: ${registry.names().join(', ')}`,
      });
    const info = {
      name: kind.name,
      version: kind.version,
      description: kind.description,
      runIn: kind.runIn ?? 'inline',
      paramsSchema: kind.paramsSchema,
    };
    io.stdout.write(
      (values.json
        ? JSON.stringify(info)
        : `${kind.name} v${kind.version}: ${kind.description}\nruns: ${info.runIn}\n${describePorts(kind)}params:\n${describeSchema(kind.paramsSchema)}`) +
        '\n',
    );
    return 0;
  }
  const kinds = registry.all();
  if (values.json)
    io.stdout.write(
      `${JSON.stringify(kinds.map((k) => ({ name: k.name, version: k.version, description: k.description })))}\n`,
    );
  else
    io.stdout.write(
      `${table(
        ['kind', 'version', 'description'],
        kinds.map((k) => [k.name, k.version, k.description]),
      )}\n`,
    );
  return 0;
}

/** Ports and what the kind produces, for `exp kinds NAME` (empty for kinds without ports). */
function describePorts(kind: AnyStageKind): string {
  let out = '';
  if (kind.inputs) {
    out += 'inputs (fed by `needs:`):\n';
    for (const [name, port] of Object.entries(kind.inputs)) {
      const notes = [
        port.param ? `or with.${port.param}` : '',
        port.when ? `when ${port.when.param} is ${port.when.in.join('|')}` : '',
        port.optional ? 'optional' : '',
      ].filter(Boolean);
      out += `  ${name}: ${port.accepts.join(' | ')}${notes.length ? ` (${notes.join('; ')})` : ''}  ${port.description ?? ''}\n`;
    }
  }
  if (kind.produces) out += `produces: ${kind.produces.join(', ')}\n`;
  return out;
}

function describeSchema(schema: Record<string, unknown>): string {
  const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  return Object.entries(props)
    .map(([k, p]) => {
      const type = p.enum ? (p.enum as unknown[]).map((x) => JSON.stringify(x)).join('|') : String(p.type ?? 'any');
      const def = p.default === undefined ? '' : ` (default ${JSON.stringify(p.default)})`;
      return `  ${k}: ${type}${def}  ${String(p.description ?? '')}`;
    })
    .join('\n');
}

export async function gcCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseCommand(gcSpec, argv);
  const runsDir = runsDirFrom(str(values.runs), io.env);
  checkRunsWritable(runsDir);
  const store = new ArtifactStore(runsDir);
  await store.init();
  const dry = Boolean(values['dry-run']);
  const removed = dry ? { tmp: 0, locks: 0 } : await store.gc();
  io.stdout.write(
    `${dry ? 'would remove' : 'removed'} ${removed.tmp} temp folder(s), ${removed.locks} stale claim(s)\n`,
  );
  const keep = str(values['keep-last']);
  if (keep !== undefined) {
    const n = Number(keep);
    if (!Number.isInteger(n) || n < 1)
      throw new ExpError('EXP_ARGS_INVALID', `--keep-last expects a positive integer, got "${keep}"`);
    const used = new Set(
      (await listInvocations(runsDir)).slice(0, n).flatMap((i) => i.points.flatMap((p) => Object.values(p.nodes))),
    );
    const manifests = await store.listManifests();
    // The shards of a kept sharded stage are kept too (its next incremental run reuses them).
    const byKey = new Map(manifests.map((m) => [m.key, m]));
    for (const key of [...used])
      for (const input of byKey.get(key)?.inputs ?? []) if (byKey.get(input.key)?.shard) used.add(input.key);
    const stale = manifests.filter((m) => !used.has(m.key));
    for (const m of stale) if (!dry) await store.removeNode(m.kind, m.key);
    io.stdout.write(
      `${dry ? 'would delete' : 'deleted'} ${stale.length} node(s) not used by the last ${n} invocation(s)\n`,
    );
  }
  return 0;
}

function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}
