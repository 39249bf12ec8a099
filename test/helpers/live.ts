// For tests that watch something while it runs: wait for a condition, and `exp` in this process
// with its stderr readable before it exits.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main.ts';

/** Waits for a condition (checked every 100 ms), failing with `what` after `ms`. */
export async function until<T>(
  what: string | (() => string),
  ms: number,
  check: () => T | undefined | false | Promise<T | undefined | false>,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `exp ARGS` in this process; `err()`/`out()`: what it printed so far; `stop()` is a Ctrl-C. */
export function startExp(
  args: string[],
  env: NodeJS.ProcessEnv,
): {
  err: () => string;
  out: () => string;
  done: Promise<number>;
  /** The exit code, failing with what the run printed if it has not ended within `ms`: a hang says where. */
  exited: (ms: number) => Promise<number>;
  stop: () => void;
} {
  const interrupt = new AbortController();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let err = '';
  let out = '';
  stdout.on('data', (b) => (out += b));
  stderr.on('data', (b) => (err += b));
  const done = main(args, { stdout, stderr, env, signal: interrupt.signal });
  let code: number | undefined;
  let failure: unknown;
  done.then(
    (c) => (code = c),
    (e: unknown) => (failure = e ?? new Error('exp failed')),
  );
  const exited = async (ms: number): Promise<number> => {
    await until(
      () => `exp ${args.join(' ')} to end; it said: ${err}`,
      ms,
      () => code !== undefined || failure !== undefined,
    );
    if (failure !== undefined) throw failure;
    return code!;
  };
  return { err: () => err, out: () => out, done, exited, stop: () => interrupt.abort() };
}

/** The lines of metric `key` in every MLflow run under a runs folder (one list per run that has it). */
export function mlflowMetric(runs: string, key: string): string[][] {
  const root = path.join(runs, 'mlruns');
  const out: string[][] = [];
  if (!existsSync(root)) return out;
  for (const exp of readdirSync(root, { withFileTypes: true })) {
    if (!exp.isDirectory()) continue;
    for (const run of readdirSync(path.join(root, exp.name), { withFileTypes: true })) {
      const f = path.join(root, exp.name, run.name, 'metrics', key);
      if (run.isDirectory() && existsSync(f)) out.push(readFileSync(f, 'utf8').split('\n').filter(Boolean));
    }
  }
  return out;
}

/** "<timestamp> <value> <step>" lines → "<value> <step>", runs sorted by length (for comparing executors). */
export function valuesAndSteps(runs: string[][]): string[][] {
  return runs.map((lines) => lines.map((l) => l.split(' ').slice(1).join(' '))).sort((a, b) => a.length - b.length);
}

/** What test/fixtures/engine/ticker.yaml logs: one MLflow run per point, ticks 3 and 4. */
export const TICKER_METRICS = [
  ['10 0', '20 1', '30 2'],
  ['10 0', '20 1', '30 2', '40 3'],
];
