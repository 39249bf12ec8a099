#!/usr/bin/env node
// `npm run build` (run by `npm ci`/`npm install` through `prepare`, by `make`, and by vitest's global
// setup): compiles src/ to dist/ with tsc (incremental: seconds when little changed), then stamps
// dist/.built, the time bin/exp.js compares src/ against to refuse running older code.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
try {
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
} catch {
  process.stderr.write('✖ exp build: tsc reported the errors above; dist/ was not stamped\n');
  process.exit(1);
}
mkdirSync(path.join(root, 'dist'), { recursive: true });
writeFileSync(path.join(root, 'dist', '.built'), `${new Date().toISOString()}\n`);
