// `exp compare <spec-file | experiment name> [--invocation ID] [--metric GLOB]... [--sort KEY] [--json]`
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { exitCodeFor } from '../../error-codes.ts';
import { ExpError, isExpError } from '../../errors.ts';
import { compareInvocation, formatCompareTable } from '../../track/compare.ts';

type Io = { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };

const USAGE =
  "usage: exp compare <spec.yaml | experiment name> [--invocation ID] [--metric 'video.ap.*']... [--sort KEY | -KEY | KEY:desc] [--json]";

/** The experiment name: a spec file's `name:`, or the argument itself. */
async function experimentName(target: string): Promise<string> {
  if (!/\.ya?ml$/i.test(target)) return target;
  const text = await readFile(target, 'utf8').catch(() => {
    throw new ExpError('EXP_INPUT_MISSING', `spec file ${target} cannot be read`, {
      hint: 'give a spec file path or an experiment name',
    });
  });
  const doc: unknown = parse(text);
  const name = typeof doc === 'object' && doc !== null ? (doc as { name?: unknown }).name : undefined;
  if (typeof name !== 'string' || name === '')
    throw new ExpError('EXP_DATA_INVALID', `${target} has no \`name:\``, {
      hint: "the experiment is named by the spec's `name:`",
    });
  return name;
}

export async function compareCommand(argv: string[], io: Io, runsDir: string): Promise<number> {
  let parsed: {
    values: { invocation?: string; metric?: string[]; sort?: string; json?: boolean; help?: boolean };
    positionals: string[];
  };
  // `--sort -video.mean_ap` (descending): the value starts with '-', so glue it to its flag.
  const args = argv.flatMap((a, i) =>
    a === '--sort' && argv[i + 1]?.startsWith('-') && !argv[i + 1]!.startsWith('--')
      ? []
      : argv[i - 1] === '--sort' && a.startsWith('-') && !a.startsWith('--')
        ? [`--sort=${a}`]
        : [a],
  );
  try {
    parsed = parseArgs({
      args,
      options: {
        invocation: { type: 'string' },
        metric: { type: 'string', multiple: true },
        sort: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (e) {
    io.stderr.write(`✖ ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) {
    io.stderr.write(
      `✖ ${positionals.length === 0 ? 'which experiment?' : `one experiment at a time (got ${positionals.join(', ')})`}\n${USAGE}\n`,
    );
    return 2;
  }
  const root = resolve(join(runsDir, 'mlruns'));
  try {
    const table = await compareInvocation(root, await experimentName(positionals[0]!), {
      invocation: values.invocation,
      metrics: values.metric,
      sort: values.sort,
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
      if (values.metric?.length && table.metrics.length === 0)
        io.stdout.write(`(no metric matches ${values.metric.join(', ')})\n`);
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
