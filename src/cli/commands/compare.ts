// `exp compare <spec.yaml | experiment name>`: every point the spec has had in the runs folder
// (any invocation, run or cached), one row per point, as text, JSON or CSV.
import { ExpError } from '../../errors.ts';
// The command's own modules (yaml, the run records, the table) load when it runs: `exp --help` and
// `exp compare --help` read only the declaration below (see test/engine/startup-imports.test.ts).
import { type CommandSpec, int, list, parseCommand, str } from '../args.ts';
import type { Io } from './engine.ts';

export const compareSpec: CommandSpec = {
  name: 'compare',
  usage: 'compare <spec.yaml | experiment name> [--metric GLOB]... [--invocation ID] [--sort KEY] [--json | --csv]',
  summary:
    'Compare every point of a spec in the runs folder (any invocation, run or cached): one row per point, named by its values.',
  description:
    "Columns: the stage kinds' headline metrics (e.g. video.ava_clip_map), or those --metric picks. A point is\n" +
    'named by the values that define it (matrix values, then --set overrides: `method=s2a k=5`) and shows its\n' +
    'latest result; `runs` counts the invocations that had it. The text fits the terminal (100 columns when\n' +
    'not a terminal); metric columns that do not fit go to further blocks.',
  options: [
    {
      name: 'metric',
      type: 'string',
      multiple: true,
      value: 'GLOB',
      description: "metric columns whose key matches the glob (* any characters, ? one), e.g. 'video.ava_clip_ap.*'",
    },
    {
      name: 'invocation',
      type: 'string',
      value: 'ID',
      description: 'only the points of this invocation (an id or its prefix; exp ls lists them)',
    },
    {
      name: 'sort',
      type: 'string',
      value: 'KEY',
      description: 'sort by a column: name, status, point, a param or a metric; -KEY or KEY:desc descending',
    },
    { name: 'json', type: 'boolean', description: 'print the table as one JSON object' },
    { name: 'csv', type: 'boolean', description: 'print the table as CSV (one header line)' },
    { name: 'width', type: 'string', value: 'N', description: 'fit the text table to N columns' },
  ],
  examples: [
    'exp compare experiments/ava_fewshot.yaml',
    "exp compare experiments/ava_fewshot.yaml --metric 'video.ava_clip_ap.*' --sort -video.ava_clip_ap.drive",
    'exp compare ava-fewshot --csv > ava.csv',
  ],
  success: 'the table is printed',
  errors: ['EXP_NOT_FOUND', 'EXP_SPEC_INVALID'],
  without: ['plugin'],
};

/** A spec file → its path and `name:`; anything else is an experiment name. */
export async function selectionOf(target: string, cwd: string): Promise<{ file?: string; name: string }> {
  if (!/\.ya?ml$/i.test(target)) return { name: target };
  const { readFile } = await import('node:fs/promises');
  const path = await import('node:path');
  const { parse } = await import('yaml');
  const file = path.resolve(cwd, target);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ExpError(
      'EXP_NOT_FOUND',
      `spec file ${target} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'unreadable'})`,
      { hint: 'give a spec file path or an experiment name (the spec’s `name:`)' },
    );
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new ExpError('EXP_SPEC_INVALID', `${target} is not valid YAML: ${(e as Error).message.split('\n')[0]}`, {
      hint: `exp validate ${target} shows every problem`,
    });
  }
  const name = typeof doc === 'object' && doc !== null ? (doc as { name?: unknown }).name : undefined;
  // A name inherited through `extends:` is not read here: the runs of that file are matched by path.
  return { file, name: typeof name === 'string' && name !== '' ? name : `\u0000${file}` };
}

/** `--sort -video.map` (descending): the value starts with a dash, so glue it to its flag. */
function joinSortValue(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1];
    if (argv[i] === '--sort' && next?.startsWith('-') && !next.startsWith('--')) {
      out.push(`--sort=${next}`);
      i++;
    } else out.push(argv[i]!);
  }
  return out;
}

export async function compareCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand(compareSpec, joinSortValue(argv));
  if (positionals.length !== 1)
    throw new ExpError(
      'EXP_ARGS_INVALID',
      positionals.length === 0
        ? 'exp compare: which spec or experiment?'
        : `exp compare: one spec at a time (got ${positionals.join(', ')})`,
      { hint: 'e.g. exp compare experiments/ava_fewshot.yaml (see exp compare --help)' },
    );
  if (values.json && values.csv)
    throw new ExpError('EXP_ARGS_INVALID', 'exp compare: --json and --csv exclude each other', {
      hint: 'pick one output format',
    });
  const { runsDirFrom } = await import('../workspace.ts');
  const { readRunSet, selectInvocations } = await import('../../report/records.ts');
  const { compareTable, formatCompareCsv, formatCompareText } = await import('../../report/compare.ts');
  const runsDir = runsDirFrom(str(values.runs), io.env);
  const spec = await selectionOf(positionals[0]!, io.cwd ?? process.cwd());
  const invocations = await selectInvocations(runsDir, { spec, invocation: str(values.invocation) });
  const set = await readRunSet(runsDir, invocations);
  const metrics = list(values.metric);
  const table = compareTable(set, { metrics, sort: str(values.sort) });
  if (values.json) {
    io.stdout.write(
      `${JSON.stringify(table, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2)}\n`,
    );
    return 0;
  }
  if (values.csv) {
    io.stdout.write(formatCompareCsv(table));
    return 0;
  }
  const width =
    int(values.width, 'width', { min: 40, max: 1000 }) ??
    (io.stdout.isTTY && io.stdout.columns ? Math.max(40, io.stdout.columns) : 100);
  io.stdout.write(formatCompareText(table, width));
  if (metrics.length && table.metrics.length === 0)
    io.stdout.write(`(no metric matches ${metrics.join(', ')}; exp show <point> lists a point's metrics)\n`);
  return 0;
}
