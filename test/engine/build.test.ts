// bin/exp.js runs the compiled dist/, never older code than the sources beside it: in a checkout
// whose src/ changed after the last build it refuses (exit 2) and names the command to run; an
// installed package (no src/) runs as it is. Checked on a copy of bin/exp.js in a scratch folder
// with a stand-in dist/cli/main.js, so the real build is never touched.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/repo.ts';

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A folder laid out like a checkout: bin/exp.js, dist/ stamped at `builtAt`, and src/ if asked. */
function checkout(opts: { builtAt: Date; srcAt?: Date; built?: boolean }): string {
  const root = mkdtempSync(path.join(tmpdir(), 'exp-build-'));
  made.push(root);
  mkdirSync(path.join(root, 'bin'));
  copyFileSync(path.join(repoRoot, 'bin/exp.js'), path.join(root, 'bin/exp.js'));
  mkdirSync(path.join(root, 'dist/cli'), { recursive: true });
  writeFileSync(
    path.join(root, 'dist/cli/main.js'),
    "export async function main(argv, io) { io.stdout.write(`compiled main ${argv.join(' ')}\\n`); return 0; }\n",
  );
  if (opts.built !== false) {
    writeFileSync(path.join(root, 'dist/.built'), 'stamp\n');
    utimesSync(path.join(root, 'dist/.built'), opts.builtAt, opts.builtAt);
  }
  if (opts.srcAt) {
    mkdirSync(path.join(root, 'src/cli'), { recursive: true });
    for (const [file, at] of [
      ['src/cli/main.ts', opts.srcAt],
      ['src/cli', opts.builtAt],
      ['src', opts.builtAt],
    ] as const) {
      if (file.endsWith('.ts')) writeFileSync(path.join(root, file), '// source\n');
      utimesSync(path.join(root, file), at, at);
    }
  }
  return root;
}

function exp(root: string, ...args: string[]) {
  const env = { ...process.env };
  delete env.EXP_ALLOW_STALE;
  return spawnSync(process.execPath, [path.join(root, 'bin/exp.js'), ...args], { encoding: 'utf8', env });
}

const hourAgo = new Date(Date.now() - 3600_000);
const now = new Date();

describe('bin/exp.js and the build', () => {
  it('runs the compiled code when dist/ is newer than every source', () => {
    const r = exp(checkout({ builtAt: now, srcAt: hourAgo }), '--version');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('compiled main --version\n');
    expect(r.status).toBe(0);
  });

  it('refuses, naming the changed file and the command to run, when a source changed after the build', () => {
    const root = checkout({ builtAt: hourAgo, srcAt: now });
    const r = exp(root, '--version');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('EXP_BUILD_STALE');
    expect(r.stderr).toContain(path.join('src', 'cli', 'main.ts'));
    expect(r.stderr).toContain('npm run build');
  });

  it('ignores test files: editing a *.test.ts needs no build', () => {
    const root = checkout({ builtAt: now, srcAt: hourAgo });
    writeFileSync(path.join(root, 'src/cli/main.test.ts'), '// a test\n');
    const later = new Date(Date.now() + 60_000);
    utimesSync(path.join(root, 'src/cli/main.test.ts'), later, later);
    utimesSync(path.join(root, 'src/cli'), hourAgo, hourAgo);
    expect(exp(root, 'ls').stdout).toBe('compiled main ls\n');
  });

  it('says that exp is not built when dist/ has no stamp', () => {
    const r = exp(checkout({ builtAt: now, built: false }), '--help');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('exp is not built');
  });

  it('runs an installed package (no src/ beside dist/) without looking for sources', () => {
    expect(exp(checkout({ builtAt: hourAgo }), 'plan', 'x.yaml').stdout).toBe('compiled main plan x.yaml\n');
  });
});
