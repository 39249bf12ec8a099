// The `exp` command: dispatch to a command, print user errors as `✖ [CODE] message → hint`,
// and map outcomes to exit codes (0 ok, 1 a node failed, 2 invalid spec/arguments, 130 interrupted);
// the exit code of an error comes from its code's entry in src/error-codes.ts.
import { EXIT_FAILED, exitCodeFor } from '../error-codes.ts';
import { isExpError } from '../errors.ts';
import { didYouMean } from '../spec/did-you-mean.ts';
import { planCommand, runCommand, validateCommand, type Io } from './commands/engine.ts';
import { gcCommand, kindsCommand, lsCommand, showCommand } from './commands/inspect.ts';
import { helpText, type CommandSpec } from './args.ts';
import { gcSpec, kindsSpec, lsSpec, showSpec } from './commands/inspect.ts';
import { planSpec, runSpec, validateSpec } from './commands/engine.ts';
import { workerSpec } from './commands/worker.ts';
import { nodeRunSpec } from './commands/node-run.ts';
import { initSpec } from './commands/init.ts';
import { doctorSpec } from './commands/doctor.ts';
import { compareSpec } from './commands/compare.ts';
import { syncSpec } from './commands/sync.ts';
import { screenplaySpec } from './commands/screenplay.ts';
import { captionsSpec } from './commands/captions.ts';
import { VERSION } from '../version.ts';

type Handler = (argv: string[], io: Io) => Promise<number>;

interface Entry {
  spec: CommandSpec;
  run: Handler;
}

const lazy =
  (load: () => Promise<Handler>): Handler =>
  async (argv, io) =>
    (await load())(argv, io);

// Every command's options, help and exit codes come from its CommandSpec (args.ts).
const commands: Record<string, Entry> = {
  init: { spec: initSpec, run: lazy(async () => (await import('./commands/init.ts')).initCommand) },
  doctor: { spec: doctorSpec, run: lazy(async () => (await import('./commands/doctor.ts')).doctorCommand) },
  validate: { spec: validateSpec, run: validateCommand },
  plan: { spec: planSpec, run: planCommand },
  run: { spec: runSpec, run: runCommand },
  worker: { spec: workerSpec, run: lazy(async () => (await import('./commands/worker.ts')).workerCommand) },
  'node-run': { spec: nodeRunSpec, run: lazy(async () => (await import('./commands/node-run.ts')).nodeRunCommand) },
  ls: { spec: lsSpec, run: lsCommand },
  show: { spec: showSpec, run: showCommand },
  kinds: { spec: kindsSpec, run: kindsCommand },
  gc: { spec: gcSpec, run: gcCommand },
  compare: {
    spec: compareSpec,
    run: lazy(async () => {
      const m = await import('./commands/compare.ts');
      const { runsDirFrom } = await import('./workspace.ts');
      return (argv, io) => m.compareCommand(stripRuns(argv), io, runsDirFrom(runsFlag(argv), io.env));
    }),
  },
  sync: {
    spec: syncSpec,
    run: lazy(async () => {
      const m = await import('./commands/sync.ts');
      const { runsDirFrom } = await import('./workspace.ts');
      return (argv, io) => m.syncCommand(stripRuns(argv), io, runsDirFrom(runsFlag(argv), io.env));
    }),
  },
  screenplay: {
    spec: screenplaySpec,
    run: lazy(async () => (await import('./commands/screenplay.ts')).screenplayCommand),
  },
  captions: {
    spec: captionsSpec,
    run: lazy(async () => (await import('./commands/captions.ts')).captionsCommand),
  },
};

/** The declaration of every command, by name (for tests and docs). */
export const commandSpecs: Readonly<Record<string, CommandSpec>> = Object.fromEntries(
  Object.entries(commands).map(([name, e]) => [name, e.spec]),
);

function runsFlag(argv: string[]): string | undefined {
  const i = argv.findIndex((a) => a === '--runs' || a.startsWith('--runs='));
  if (i < 0) return undefined;
  return argv[i]!.includes('=') ? argv[i]!.slice(7) : argv[i + 1];
}

function stripRuns(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs') i++;
    else if (!argv[i]!.startsWith('--runs=')) out.push(argv[i]!);
  }
  return out;
}

function mainHelp(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length)) + 2;
  return [
    'exp: declarative, cached, resumable experiment grids (Speech2Action, CVPR 2020)',
    '',
    'Usage: exp <command> [options]',
    '',
    'Commands:',
    ...Object.entries(commands).map(([n, e]) => `  ${n.padEnd(width)}${e.spec.summary}`),
    '',
    'Run `exp <command> --help` for the options of a command.',
    'Run with --debug (or EXP_DEBUG=1) to see the stack trace of an unexpected error.',
    'Environment: EXP_RUNS (runs folder), EXP_GPUS (GPU ids), EXP_PLUGINS (stage kind modules),',
    '             EXP_TF_BACKEND (node-gpu|node|wasm|cpu; node needs `make native`), EXP_TF_THREADS (native TF threads),',
    '             MLFLOW_TRACKING_URI (also push to a server),',
    "             EXP_REDIS (the bullmq executor's Redis), EXP_CLAIM_LEASE_MS (claim lease across machines, default 30000),",
    '             EXP_UNHOSTABLE_WARN_MS (bullmq: warn about a node no live worker can host after it waited, default 15000).',
    '',
  ].join('\n');
}

export async function main(argv: string[], io: Io): Promise<number> {
  // --debug (anywhere before a `--`) or EXP_DEBUG=1: unexpected errors print their stack trace.
  const end = argv.indexOf('--');
  const debugAt = argv.indexOf('--debug');
  const debug =
    (debugAt >= 0 && (end < 0 || debugAt < end)) || ['1', 'true'].includes((io.env ?? process.env).EXP_DEBUG ?? '');
  if (debugAt >= 0 && (end < 0 || debugAt < end)) argv = argv.filter((_, i) => i !== debugAt);
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(mainHelp());
    return name ? 0 : 2;
  }
  if (name === '--version') {
    io.stdout.write(`exp ${VERSION}\n`);
    return 0;
  }
  const entry = commands[name];
  if (!entry) {
    const guess = didYouMean(name, Object.keys(commands));
    io.stderr.write(
      `✖ [EXP_ARGS_INVALID] unknown command "${name}"${guess ? `\n  → did you mean "exp ${guess}"?` : ''}\n  → exp --help lists the commands\n`,
    );
    return exitCodeFor('EXP_ARGS_INVALID');
  }
  if (asksForHelp(rest)) {
    io.stdout.write(helpText(entry.spec));
    return 0;
  }
  try {
    return await entry.run(rest, io);
  } catch (e) {
    // A SpecError is an ExpError (EXP_SPEC_INVALID) whose format() lists every issue.
    if (isExpError(e)) {
      io.stderr.write(`${e.format()}\n`);
      if (debug && e.stack) io.stderr.write(`${e.stack}\n`);
      return exitCodeFor(e.code);
    }
    // A bug or an unforeseen failure: one line, and the stack trace only when asked for.
    if (debug) {
      io.stderr.write(`✖ exp ${name}: unexpected error\n${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    } else {
      io.stderr.write(
        `✖ exp ${name}: unexpected error: ${oneLine(e)}\n  → rerun with --debug (or EXP_DEBUG=1) for the stack trace\n`,
      );
    }
    return EXIT_FAILED;
  }
}

/** `--help` / `-h` before any `--`, or `exp <command> help`. */
function asksForHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  const options = end < 0 ? args : args.slice(0, end);
  return options.includes('--help') || options.includes('-h') || args[0] === 'help';
}

function oneLine(e: unknown): string {
  const text = e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e);
  return text.split('\n')[0]!.slice(0, 300);
}
