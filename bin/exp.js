#!/usr/bin/env node
// Entry point: TypeScript sources run through tsx's loader (no build step to forget).
import { register } from 'tsx/esm/api';

register();
// Errors that escape main() (a timer or a promise nobody awaited): one line, not a stack trace,
// unless --debug or EXP_DEBUG=1.
const debug = process.argv.includes('--debug') || ['1', 'true'].includes(process.env.EXP_DEBUG ?? '');
const crash = (e) => {
  const line = String(e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : e).split('\n')[0];
  process.stderr.write(debug ? `${e instanceof Error ? e.stack : String(e)}\n` : `✖ exp: unexpected error: ${line}\n  → rerun with --debug (or EXP_DEBUG=1) for the stack trace\n`);
  process.exit(1);
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);
const { main } = await import('../src/cli/main.ts');
const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
process.exitCode = code;
