// `exp compare <spec-file | experiment name> [--invocation ID] [--metric GLOB]... [--sort KEY] [--json]`
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { exitCodeFor } from '../../error-codes.ts';
import { ExpError, isExpError } from '../../errors.ts';
// The command's own modules load when it runs: `exp --help` and `exp <command> --help` read only
// the declaration below (see test/engine/startup-imports.test.ts).
import { type CommandSpec, helpText, list, parseCommand, str } from '../args.ts';

type Io = { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };

export const compareSpec: CommandSpec = {
  name: 'compare',
  usage:
    'compare <spec.yaml | experiment name> [--invocation ID] [--metric GLOB]... [--sort KEY | -KEY | KEY:desc] [--json]',
  summary: 'Compare the points of an invocation: varying params and chosen metrics (from the MLflow store).',
  options: [
    {
      name: 'invocation',
      type: 'string',
      value: 'ID',
      description: 'the invocation to compare (default: the latest of the experiment)',
    },
    {
      name: 'metric',
      type: 'string',
      multiple: true,
      value: 'GLOB',
      description: "metric columns to show, e.g. 'video.ap.*' (default: every metric)",
    },
    {
      name: 'sort',
      type: 'string',
      value: 'KEY',
      description: 'sort the rows by a column; -KEY or KEY:desc for descending',
    },
    { name: 'json', type: 'boolean', description: 'print the table as JSON, with the MLflow UI command' },
  ],
  examples: [
    'exp compare experiments/ava_fewshot.yaml',
    "exp compare ava-fewshot --metric 'video.ava_clip_ap.*' --sort -video.ava_clip_map",
    'exp compare hmdb51 --invocation 20250101-120000-ab12 --json',
  ],
  success: 'the table is printed',
  errors: ['EXP_NOT_FOUND', 'EXP_SPEC_INVALID'],
  without: ['plugin'],
};

/** The experiment name: a spec file's `name:`, or the argument itself. */
async function experimentName(target: string): Promise<string> {
  if (!/\.ya?ml$/i.test(target)) return target;
  let text: string;
  try {
    text = await readFile(target, 'utf8');
  } catch (e) {
    throw new ExpError(
      'EXP_NOT_FOUND',
      `spec file ${target} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'unreadable'})`,
      {
        hint: 'give a spec file path or an experiment name',
      },
    );
  }
  const { parse } = await import('yaml');
  const doc: unknown = parse(text);
  const name = typeof doc === 'object' && doc !== null ? (doc as { name?: unknown }).name : undefined;
  if (typeof name !== 'string' || name === '')
    throw new ExpError('EXP_SPEC_INVALID', `${target} has no \`name:\``, {
      hint: "the experiment is named by the spec's `name:`",
    });
  return name;
}

export async function compareCommand(argv: string[], io: Io, runsDir: string): Promise<number> {
  try {
    return await compare(argv, io, runsDir);
  } catch (e) {
    if (isExpError(e)) {
      io.stderr.write(`${e.format()}\n`);
      return exitCodeFor(e.code);
    }
    throw e;
  }
}

async function compare(argv: string[], io: Io, runsDir: string): Promise<number> {
  // `--sort -video.mean_ap` (descending): the value starts with '-', so glue it to its flag.
  const args = argv.flatMap((a, i) =>
    a === '--sort' && argv[i + 1]?.startsWith('-') && !argv[i + 1]!.startsWith('--')
      ? []
      : argv[i - 1] === '--sort' && a.startsWith('-') && !a.startsWith('--')
        ? [`--sort=${a}`]
        : [a],
  );
  const { values, positionals } = parseCommand(compareSpec, args);
  if (values.help) {
    io.stdout.write(helpText(compareSpec));
    return 0;
  }
  if (positionals.length !== 1) {
    throw new ExpError(
      'EXP_ARGS_INVALID',
      positionals.length === 0
        ? 'exp compare: which experiment?'
        : `exp compare: one experiment at a time (got ${positionals.join(', ')})`,
      { hint: `usage: exp ${compareSpec.usage}` },
    );
  }
  const root = resolve(join(runsDir, 'mlruns'));
  const { compareInvocation, formatCompareTable } = await import('../../track/compare.ts');
  try {
    const table = await compareInvocation(root, await experimentName(positionals[0]!), {
      invocation: str(values.invocation),
      metrics: values.metric === undefined ? undefined : list(values.metric),
      sort: str(values.sort),
    });
    const ui = `MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri ${root}`;
    if (values.json) {
      io.stdout.write(
        `${JSON.stringify(
          { ...table, ui: { command: ui, experimentPath: `#/experiments/${table.experimentId}` } },
          (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v),
          2,
        )}\n`,
      );
    } else {
      io.stdout.write(formatCompareTable(table));
      if (list(values.metric).length && table.metrics.length === 0)
        io.stdout.write(`(no metric matches ${list(values.metric).join(', ')})\n`);
      io.stdout.write(
        `\nOpen in the MLflow UI: ${ui}\n  (MLFLOW_ALLOW_FILE_STORE=true is needed from MLflow 3.13; then open http://127.0.0.1:5000/#/experiments/${table.experimentId})\n`,
      );
    }
    return 0;
  } catch (e) {
    if (isExpError(e)) {
      io.stderr.write(`${e.format()}\n`);
      return exitCodeFor(e.code);
    }
    throw e;
  }
}
