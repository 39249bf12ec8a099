// Runs the `exp` command in-process, as a user would type it, and captures what it prints.
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main.ts';

export interface ExpResult {
  code: number;
  out: string;
  err: string;
  /** The JSON object `--json` prints on the last line of stdout. */
  json<T>(): T;
}

export async function runExp(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ExpResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (b) => (out += b));
  stderr.on('data', (b) => (err += b));
  const code = await main(args, { stdout, stderr, env, signal: new AbortController().signal });
  return { code, out, err, json: <T>() => JSON.parse(out.trim().split('\n').at(-1)!) as T };
}
