// `exp report [SPEC | INVOCATION]`: the self-contained HTML report of an invocation (default the
// latest), or of every run of a spec (--all); logged into the invocation's MLflow parent run.
import { ExpError } from '../../errors.ts';
import type { StageRegistry } from '../../plan/registry.ts';
import type { Declaration, ReportResult, Selection } from '../../report/index.ts';
import type { InvocationRecord } from '../../store/invocations.ts';
// The report's modules (records, charts, vega) load when the command runs: `exp --help` and
// `exp report --help` read only the declaration below (see test/engine/startup-imports.test.ts).
import { type CommandSpec, list, parseCommand, str } from '../args.ts';
import { selectionOf as specSelection } from './compare.ts';
import type { Io } from './engine.ts';

export const reportSpec: CommandSpec = {
  name: 'report',
  usage: 'report [<spec.yaml | experiment name | invocation id>] [--all] [--out FILE] [--json] [--no-track]',
  summary:
    'Write the self-contained HTML report of an invocation (default the latest), or of every run of a spec (--all).',
  description:
    'The report holds the points and their headline metrics, the tables and charts the stage kinds declare\n' +
    "(the paper's Tables 3 and 4 for experiments/ava_fewshot.yaml), training curves, each point's values,\n" +
    'metrics, charts, logs and contact sheets, the inputs stages skipped, and the spec as run. Everything is\n' +
    'inline: it opens from disk or in the MLflow UI (it is logged into the MLflow parent run of its\n' +
    'invocation, under report/). Default file: <runs>/reports/<spec name>-<invocation>.html. `exp run`\n' +
    'writes it at the end of every run.',
  options: [
    { name: 'all', type: 'boolean', description: 'every invocation of the spec, each point at its latest run' },
    { name: 'out', type: 'string', value: 'FILE', description: 'write the HTML here instead' },
    { name: 'json', type: 'boolean', description: 'print {"file", "bytes", "charts", "live", "tables", "ms"}' },
    { name: 'no-track', type: 'boolean', description: 'do not add the report to the MLflow parent run' },
  ],
  examples: [
    'exp report',
    'exp report experiments/ava_fewshot.yaml --all',
    'exp report 20261207-061500-3f2a --out /tmp/ava.html',
  ],
  success: 'the report is written (its path is printed)',
  errors: ['EXP_NOT_FOUND', 'EXP_SPEC_INVALID', 'EXP_PLUGIN_INVALID'],
};

/** The kinds' report declarations, as plain data. */
export function declarationsOf(registry: StageRegistry): Declaration[] {
  return registry.all().flatMap((k) => (k.report ? [{ kind: k.name, report: k.report }] : []));
}

/** An invocation id (or its prefix), else a spec file or an experiment name. */
async function selectionOf(target: string | undefined, cwd: string): Promise<Selection> {
  if (target === undefined) return {};
  if (/^\d{8}-\d{6}/.test(target) && !/\.ya?ml$/i.test(target)) return { invocation: target };
  return { spec: await specSelection(target, cwd) };
}

export interface WrittenReport extends ReportResult {
  /** True when the report went into the MLflow parent run. */
  tracked: boolean;
}

/**
 * Builds the report of `invocations` (newest first): scope `all` when several, else the
 * invocation's id. `attach` puts the file into the MLflow parent run (false when it could not).
 */
export async function writeReport(
  runsDir: string,
  invocations: InvocationRecord[],
  registry: StageRegistry,
  o: { out?: string; attach?: (file: string, invocation: InvocationRecord) => Promise<boolean> } = {},
): Promise<WrittenReport> {
  const path = await import('node:path');
  const { buildReport, readRunSet } = await import('../../report/index.ts');
  const set = await readRunSet(runsDir, invocations);
  // Records from before headline metrics were kept: the kinds' declared ones.
  if (set.headline.length === 0) set.headline = [...new Set(registry.all().flatMap((k) => k.summaryMetrics ?? []))];
  const scope = invocations.length > 1 ? 'all' : invocations[0]!.id;
  const result = await buildReport(set, {
    declarations: declarationsOf(registry),
    scope,
    ...(o.out ? { file: path.resolve(o.out) } : {}),
  });
  const tracked = o.attach ? await o.attach(result.file, invocations[0]!) : false;
  return { ...result, tracked };
}

/** A path as the user would type it: relative to the current folder when under it, else absolute. */
export async function shownPath(file: string, cwd = process.cwd()): Promise<string> {
  const path = await import('node:path');
  const rel = path.relative(cwd, file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

export async function reportCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand(reportSpec, argv);
  if (positionals.length > 1)
    throw new ExpError(
      'EXP_ARGS_INVALID',
      `exp report: one spec or invocation at a time (got ${positionals.join(', ')})`,
      {
        hint: 'see exp report --help',
      },
    );
  const { makeRegistry, runsDirFrom } = await import('../workspace.ts');
  const { selectInvocations } = await import('../../report/index.ts');
  const runsDir = runsDirFrom(str(values.runs), io.env);
  const registry = await makeRegistry(list(values.plugin), io.env);
  const sel = await selectionOf(positionals[0], io.cwd ?? process.cwd());
  let invocations = await selectInvocations(runsDir, sel);
  if (!values.all) invocations = invocations.slice(0, 1);
  else if (!sel.spec)
    // --all without a spec: every invocation of the latest one's spec
    invocations = await selectInvocations(runsDir, {
      spec: { file: invocations[0]!.spec, name: invocations[0]!.name },
    });
  const written = await writeReport(runsDir, invocations, registry, {
    out: str(values.out),
    attach: values['no-track']
      ? undefined
      : async (file, inv) => {
          if (!inv.mlflowRunId) return false;
          const { attachArtifact } = await import('../../track/tracker.ts');
          try {
            return await attachArtifact({
              runsDir,
              experimentName: inv.name,
              runId: inv.mlflowRunId,
              localPath: file,
              artifactPath: 'report/',
            });
          } catch (e) {
            io.stderr.write(`tracking: the report was not added to MLflow: ${(e as Error).message.split('\n')[0]}\n`);
            return false;
          }
        },
  });
  if (values.json) {
    io.stdout.write(`${JSON.stringify(written)}\n`);
    return 0;
  }
  io.stdout.write(
    `report: ${await shownPath(written.file, io.cwd)} (${(written.bytes / 1024).toFixed(0)} KB, ${written.charts} charts, ${written.tables} tables, ${(written.ms / 1000).toFixed(1)} s)${written.tracked ? '; also in the MLflow parent run under report/' : ''}\n`,
  );
  return 0;
}
