// Command-line options as data: one declaration per command gives the parser, the checks of
// enumerated values and the help text (usage, options, examples, exit codes), so that every
// subcommand reads and answers alike.
import { parseArgs } from 'node:util';
import { type ErrorCode, exitCodeFor } from '../error-codes.ts';
import { ExpError } from '../errors.ts';
import { didYouMean } from '../spec/did-you-mean.ts';

export interface OptionSpec {
  name: string;
  short?: string;
  type: 'string' | 'boolean';
  multiple?: boolean;
  value?: string;
  description: string;
  /**
   * The values an enumerated option takes; any other gets a did-you-mean. Plain data, so that a
   * registry (executors, ...) can supply the list.
   */
  choices?: readonly string[];
}

export interface CommandSpec {
  name: string;
  usage: string;
  summary: string;
  description?: string;
  options: OptionSpec[];
  /** Command lines a user would type (at least one). */
  examples: string[];
  /** What exit status 0 means for this command. */
  success: string;
  /**
   * The error codes the command can stop on; their exit statuses come from src/error-codes.ts
   * (docs/ERRORS.md). EXP_ARGS_INVALID is implied.
   */
  errors: ErrorCode[];
  /** Exit statuses that are no error code: e.g. [1, 'some node failed'], [130, 'interrupted']. */
  otherExits?: [number, string][];
  /** Common options the command has no use for (e.g. a file parser needs no runs folder). */
  without?: ('runs' | 'plugin')[];
}

export const commonOptions: OptionSpec[] = [
  {
    name: 'runs',
    type: 'string',
    value: 'DIR',
    description: 'output folder (cache, logs, mlruns); default ./runs or EXP_RUNS',
  },
  {
    name: 'plugin',
    type: 'string',
    multiple: true,
    value: 'MODULE',
    description: 'load extra stage kinds from a module (also EXP_PLUGINS=a,b)',
  },
  { name: 'help', short: 'h', type: 'boolean', description: 'show this help' },
];

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** The command's own options and the common ones it takes. */
export function optionsOf(spec: CommandSpec): OptionSpec[] {
  const without = new Set<string>(spec.without ?? []);
  return [...spec.options, ...commonOptions.filter((o) => !without.has(o.name))];
}

export function parseCommand(spec: CommandSpec, argv: string[]): Parsed {
  const all = optionsOf(spec);
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const o of all)
    options[o.name] = {
      type: o.type,
      ...(o.short ? { short: o.short } : {}),
      ...(o.multiple ? { multiple: true } : {}),
    };
  try {
    const { values, positionals } = parseArgs({
      args: joinNegativeValues(argv, all),
      options,
      allowPositionals: true,
      strict: true,
    });
    checkChoices(spec, all, values as Parsed['values']);
    return { values: values as Parsed['values'], positionals };
  } catch (e) {
    if (e instanceof ExpError) throw e;
    const msg = (e as Error).message;
    // `--runs -x`: node's parser says "ambiguous"; say what the option wants instead.
    const ambiguous = /argument is ambiguous[\s\S]*use '--([\w-]+)=-XYZ'/.exec(msg)?.[1];
    if (ambiguous) {
      throw new ExpError(
        'EXP_ARGS_INVALID',
        `exp ${spec.name}: --${ambiguous} expects a value, but the next argument starts with a dash`,
        {
          hint: `write --${ambiguous}=VALUE for a value that starts with a dash (see exp ${spec.name} --help)`,
        },
      );
    }
    const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(msg)?.[1];
    const suggestion = unknown
      ? didYouMean(
          unknown.replace(/^-+/, ''),
          all.map((o) => o.name),
        )
      : undefined;
    throw new ExpError('EXP_ARGS_INVALID', `exp ${spec.name}: ${msg.split('. ')[0]}`, {
      hint: suggestion ? `did you mean --${suggestion}? (exp ${spec.name} --help)` : `see exp ${spec.name} --help`,
    });
  }
}

/** An enumerated option given a value outside its choices: name them, with a did-you-mean. */
function checkChoices(spec: CommandSpec, all: OptionSpec[], values: Parsed['values']): void {
  for (const o of all) {
    if (!o.choices) continue;
    const given = values[o.name];
    for (const v of Array.isArray(given) ? given : typeof given === 'string' ? [given] : [])
      checkChoice(spec, o.name, v, o.choices);
  }
}

/**
 * `--<option> value` must be one of `choices` (declared on the option, or supplied by a registry
 * once it is loaded, e.g. the executors of plugins); else EXP_ARGS_INVALID with a did-you-mean.
 */
export function checkChoice(
  spec: CommandSpec,
  option: string,
  value: string | undefined,
  choices: readonly string[],
): void {
  if (value === undefined || choices.includes(value)) return;
  const guess = didYouMean(value, choices);
  throw new ExpError(
    'EXP_ARGS_INVALID',
    `exp ${spec.name}: --${option} ${JSON.stringify(value)} is not one of ${choices.join(', ')}`,
    {
      hint: guess ? `did you mean --${option} ${guess}?` : `use one of ${choices.join(', ')} (exp ${spec.name} --help)`,
    },
  );
}

/**
 * `--jobs -1` / `-j -1`: node's parser takes `-1` for an option and says "ambiguous"; a value
 * that is a negative number is joined to its option (`--jobs=-1`) so the option's own check
 * explains what it expects.
 */
function joinNegativeValues(argv: string[], all: OptionSpec[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const option = arg.startsWith('--')
      ? all.find((o) => `--${o.name}` === arg)
      : all.find((o) => o.short && `-${o.short}` === arg);
    const next = argv[i + 1];
    if (option?.type === 'string' && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      out.push(`--${option.name}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

export function helpText(spec: CommandSpec): string {
  const rows = optionsOf(spec).map((o) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${o.name}${o.value ? ` ${o.value}` : ''}${o.multiple ? ' (repeatable)' : ''}`;
    const choices = o.choices ? ` [${o.choices.join(' | ')}]` : '';
    return [flag, `${o.description}${choices}`] as const;
  });
  const width = Math.max(...rows.map((r) => r[0].length)) + 2;
  const lines = [`Usage: exp ${spec.usage}`, '', spec.summary];
  if (spec.description) lines.push('', spec.description);
  lines.push('', 'Options:', ...rows.map(([f, d]) => `  ${f.padEnd(width)}${d}`));
  lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  lines.push('', 'Exit codes:', ...exitRows(spec).map(([status, what]) => `  ${String(status).padEnd(5)}${what}`));
  lines.push('  (each EXP_ code is explained in docs/ERRORS.md)');
  return `${lines.join('\n')}\n`;
}

/** Exit status → what it means for this command: 0, the error codes grouped by status, the others. */
export function exitRows(spec: CommandSpec): [number, string][] {
  const byStatus = new Map<number, string[]>([[0, [spec.success]]]);
  const add = (status: number, what: string): void => {
    const list = byStatus.get(status) ?? byStatus.set(status, []).get(status)!;
    if (!list.includes(what)) list.push(what);
  };
  for (const [status, what] of spec.otherExits ?? []) add(status, what);
  for (const code of new Set<ErrorCode>(['EXP_ARGS_INVALID', ...spec.errors])) add(exitCodeFor(code), code);
  return [...byStatus.entries()].sort((a, b) => a[0] - b[0]).map(([status, list]) => [status, list.join('; ')]);
}

/**
 * The sub-command word of a command that has them (`exp screenplay parse FILE`): the first
 * positional, one of `words` (a did-you-mean otherwise), and the positionals after it.
 */
export function subcommand(
  spec: CommandSpec,
  positionals: string[],
  words: readonly string[],
): { word: string; rest: string[] } {
  const [word, ...rest] = positionals;
  if (word !== undefined && words.includes(word)) return { word, rest };
  const guess = word === undefined ? undefined : didYouMean(word, words);
  throw new ExpError(
    'EXP_ARGS_INVALID',
    word === undefined
      ? `exp ${spec.name}: which sub-command? (${words.join(', ')})`
      : `exp ${spec.name}: unknown sub-command ${JSON.stringify(word)} (${words.join(', ')})`,
    { hint: guess ? `did you mean "exp ${spec.name} ${guess}"?` : `usage: exp ${spec.usage}` },
  );
}

export function str(v: Parsed['values'][string]): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function list(v: Parsed['values'][string]): string[] {
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

/** A whole-number option; `min`/`max` bound it (default: 0 up to the largest safe integer). */
export function int(
  v: Parsed['values'][string],
  flag: string,
  bounds: { min?: number; max?: number } = {},
): number | undefined {
  if (v === undefined) return undefined;
  const { min = 0, max = Number.MAX_SAFE_INTEGER } = bounds;
  const n = Number(v);
  const range =
    max === Number.MAX_SAFE_INTEGER
      ? min === 0
        ? 'a non-negative integer'
        : `an integer >= ${min}`
      : `an integer from ${min} to ${max}`;
  if (typeof v !== 'string' || !/^-?\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new ExpError('EXP_ARGS_INVALID', `--${flag} expects ${range}, got "${String(v)}"`, {
      hint: `e.g. --${flag} ${Math.max(min, Math.min(max, 4))}`,
    });
  }
  return n;
}
