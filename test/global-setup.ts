// Once per `vitest run`, before any test: build dist/ from the current sources (incremental, seconds
// when little changed), so that every test that starts `bin/exp.js` (a child process, a Slurm job, a
// BullMQ worker) runs the code under test, never an older build.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './helpers/repo.ts';

export default function buildDist(): void {
  execFileSync(process.execPath, [path.join(repoRoot, 'scripts/build.mjs')], { cwd: repoRoot, stdio: 'inherit' });
}
