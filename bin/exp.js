#!/usr/bin/env node
// Entry point: runs the compiled JavaScript in dist/ (`npm run build`, which `npm ci` and `make` run;
// no TypeScript loader at run time). In a checkout whose src/ changed after the last build, it
// refuses to run the old code and says what to run (EXP_ALLOW_STALE=1 runs it all the same).
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
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

const stamp = path.join(root, 'dist', '.built');
/** The newest compiled source or folder under dir (a folder's time changes when a file is added or removed). */
function newest(dir) {
  let best = { file: dir, ms: statSync(dir).mtimeMs };
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (!e.isDirectory() && (!e.name.endsWith('.ts') || e.name.endsWith('.test.ts'))) continue;
    const n = e.isDirectory() ? newest(full) : { file: full, ms: statSync(full).mtimeMs };
    if (n.ms > best.ms) best = n;
  }
  return best;
}
const refuse = (message) => {
  process.stderr.write(`✖ [EXP_BUILD_STALE] ${message}\n  → run \`npm run build\` in ${root} (or \`make\`), then rerun\n`);
  process.exit(2);
};
if (!existsSync(stamp)) refuse(`exp is not built: ${path.join(root, 'dist')} is missing`);
// Only a checkout has src/ (the npm package ships dist/ alone): there, old code never runs silently.
if (existsSync(path.join(root, 'src')) && !['1', 'true'].includes(process.env.EXP_ALLOW_STALE ?? '')) {
  const changed = newest(path.join(root, 'src'));
  if (changed.ms > statSync(stamp).mtimeMs)
    refuse(`src/ changed after the last build (${path.relative(root, changed.file)}): dist/ holds older code`);
}
const { main } = await import('../dist/cli/main.js');
const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
process.exitCode = code;
