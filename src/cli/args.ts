// Command-line options as data: one table per command gives the parser and the help text.
import { parseArgs } from 'node:util';
import { ExpError } from '../errors.ts';
import { didYouMean } from '../spec/did-you-mean.ts';

export interface OptionSpec {
  name: string;
  short?: string;
  type: 'string' | 'boolean';
  multiple?: boolean;
  value?: string;
  description: string;
}

export interface CommandSpec {
  name: string;
  usage: string;
  summary: string;
  description?: string;
  options: OptionSpec[];
  examples?: string[];
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

export function parseCommand(spec: CommandSpec, argv: string[]): Parsed {
  const all = [...spec.options, ...commonOptions];
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
    return { values: values as Parsed['values'], positionals };
  } catch (e) {
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
  const rows = [...spec.options, ...commonOptions].map((o) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${o.name}${o.value ? ` ${o.value}` : ''}${o.multiple ? ' (repeatable)' : ''}`;
    return [flag, o.description] as const;
  });
  const width = Math.max(...rows.map((r) => r[0].length)) + 2;
  const lines = [`Usage: exp ${spec.usage}`, '', spec.summary];
  if (spec.description) lines.push('', spec.description);
  lines.push('', 'Options:', ...rows.map(([f, d]) => `  ${f.padEnd(width)}${d}`));
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  return `${lines.join('\n')}\n`;
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
