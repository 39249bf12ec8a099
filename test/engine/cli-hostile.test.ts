// Hostile command lines (issue 14): each is refused with a coded error naming the option or path,
// exit 2, no stack trace, and nothing under the runs folder touched.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRunsWritable } from '../../src/cli/workspace.ts';
import { isExpError } from '../../src/errors.ts';
import { runExp } from '../helpers/exp.ts';
import { repoRoot } from '../helpers/repo.ts';

const plugin = path.join(repoRoot, 'test/fixtures/plugins/test-kinds.ts');
const grid = path.join(repoRoot, 'test/fixtures/engine/grid.yaml');
const STACK = /\n\s+at .*[(:]\d+/;

function exp(args: string[], env: Record<string, string> = {}) {
  return runExp(args, { ...process.env, EXP_PLUGINS: plugin, ...env });
}

function tmp(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'exp-hostile-cli-'));
}

/** Every path under a folder with its size and mtime: equal snapshots mean nothing changed. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      const st = statSync(p);
      out.push(`${path.relative(dir, p)} ${st.size} ${st.mtimeMs}`);
      if (entry.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** A runs folder that already holds a finished run. */
async function usedRuns(): Promise<string> {
  const runs = tmp();
  const r = await exp([
    'run',
    grid,
    '--runs',
    runs,
    '--quiet',
    '--no-track',
    '--set',
    'top.value=[100]',
    '--set',
    'mid.value=[1]',
  ]);
  expect(r.code).toBe(0);
  return runs;
}

async function refused(args: string[], code: string, env: Record<string, string> = {}) {
  const r = await exp(args, env);
  expect(r.code).toBe(2);
  // A spec error lists its issues (no code line); every other error prints `✖ [CODE] ...`.
  expect(r.err).toContain(code === 'EXP_SPEC_INVALID' ? 'in the spec; nothing was run.' : `[${code}]`);
  expect(r.err).not.toMatch(STACK);
  return r;
}

describe('hostile command lines', () => {
  it("--runs '' is refused (it would write into the current folder)", async () => {
    const before = snapshot(process.cwd());
    const r = await refused(['run', grid, '--runs', '', '--quiet'], 'EXP_ARGS_INVALID');
    expect(r.err).toContain('--runs expects a folder, got an empty value');
    expect(snapshot(process.cwd())).toEqual(before);
    const env = await refused(['plan', grid], 'EXP_ARGS_INVALID', { EXP_RUNS: '' });
    expect(env.err).toContain('EXP_RUNS expects a folder');
  });

  it('--runs pointing at a file (or under one): a coded error naming it', async () => {
    const dir = tmp();
    const file = path.join(dir, 'notes.txt');
    writeFileSync(file, 'keep me\n');
    const before = snapshot(dir);
    for (const command of ['run', 'plan']) {
      const r = await refused([command, grid, '--runs', file], 'EXP_ARGS_INVALID');
      expect(r.err).toContain(`${file} is a file, not a folder`);
    }
    const under = await refused(['run', grid, '--runs', path.join(file, 'runs')], 'EXP_ARGS_INVALID');
    expect(under.err).toContain(`${file} is a file, so ${path.join(file, 'runs')} cannot be a folder`);
    expect((await refused(['ls', '--runs', file], 'EXP_ARGS_INVALID')).err).toContain('is a file');
    expect(snapshot(dir)).toEqual(before);
  });

  it.each([[''], ['cache'], ['cache/.tmp'], ['cache/test.add'], ['locks'], ['logs'], ['invocations']])(
    'a read-only part of a used runs folder (%s): checked up front, naming the path, nothing changed',
    async (part) => {
      const runs = await usedRuns();
      spawnSync('chmod', ['-R', 'a+rwX', runs]);
      const target = path.join(runs, part);
      const before = snapshot(runs);
      chmodSync(target, 0o555);
      try {
        if (process.getuid?.() === 0) {
          // root writes anywhere: run exp as an unprivileged user instead.
          const r = spawnSync(
            process.execPath,
            [path.join(repoRoot, 'bin/exp.js'), 'run', grid, '--runs', runs, '--quiet'],
            {
              cwd: os.tmpdir(),
              env: { ...process.env, EXP_PLUGINS: plugin, HOME: os.tmpdir() },
              uid: 65534,
              gid: 65534,
              encoding: 'utf8',
              timeout: 60_000,
            },
          );
          if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'EPERM') return; // no right to drop privileges here
          expect(r.stderr).toContain('[EXP_RUNS_UNWRITABLE]');
          expect(r.stderr).toContain(`${target} is not writable (EACCES)`);
          expect(r.stderr).not.toMatch(STACK);
          expect(r.status).toBe(2);
          const gc = spawnSync(process.execPath, [path.join(repoRoot, 'bin/exp.js'), 'gc', '--runs', runs], {
            cwd: os.tmpdir(),
            env: { ...process.env, HOME: os.tmpdir() },
            uid: 65534,
            gid: 65534,
            encoding: 'utf8',
            timeout: 60_000,
          });
          expect(gc.stderr).toContain(
            `[EXP_RUNS_UNWRITABLE] the runs folder cannot be written: ${target} is not writable (EACCES)`,
          );
          expect(gc.status).toBe(2);
        } else {
          const r = await refused(['run', grid, '--runs', runs, '--quiet'], 'EXP_RUNS_UNWRITABLE');
          expect(r.err).toContain(`${target} is not writable`);
          expect((await refused(['gc', '--runs', runs], 'EXP_RUNS_UNWRITABLE')).err).toContain(
            `${target} is not writable`,
          );
        }
      } finally {
        chmodSync(target, 0o777);
      }
      expect(snapshot(runs)).toEqual(before);
    },
    90_000,
  );

  it('checkRunsWritable names a read-only part (cache) and the folder a new runs folder would go in', () => {
    const runs = tmp();
    mkdirSync(path.join(runs, 'cache'));
    chmodSync(path.join(runs, 'cache'), 0o555);
    try {
      if (process.getuid?.() !== 0) {
        expect(() => checkRunsWritable(runs)).toThrow(`${path.join(runs, 'cache')} is not writable`);
      }
    } finally {
      chmodSync(path.join(runs, 'cache'), 0o755);
    }
    expect(() => checkRunsWritable(path.join(runs, 'new', 'deeper'))).not.toThrow();
    // /proc/1 (Linux) is read-only even for root: what exp run and exp gc would say there.
    if (existsSync('/proc/1')) {
      let error: unknown;
      try {
        checkRunsWritable('/proc/1/no-such-runs');
      } catch (e) {
        error = e;
      }
      expect(isExpError(error) && error.code).toBe('EXP_RUNS_UNWRITABLE');
      expect((error as Error).message).toContain('/proc/1 is not writable');
    }
  });

  it.each([['0'], ['-1'], ['1.5'], ['two'], ['99999999'], ['1e3']])(
    '--jobs %s: a coded error saying what it expects',
    async (value) => {
      const runs = await usedRuns();
      const before = snapshot(runs);
      const r = await refused(['run', grid, '--runs', runs, '--quiet', '--jobs', value], 'EXP_ARGS_INVALID');
      expect(r.err).toContain(`--jobs expects an integer from 1 to 1024, got "${value}"`);
      expect(r.err).not.toContain('ambiguous');
      expect(snapshot(runs)).toEqual(before);
    },
    60_000,
  );

  it('negative values for -j, --retry and --grace: the option says what it expects, not "ambiguous"', async () => {
    const runs = tmp();
    expect((await refused(['run', grid, '--runs', runs, '-j', '-2'], 'EXP_ARGS_INVALID')).err).toContain(
      '--jobs expects an integer from 1 to 1024, got "-2"',
    );
    expect((await refused(['run', grid, '--runs', runs, '--retry', '-1'], 'EXP_ARGS_INVALID')).err).toContain(
      '--retry expects an integer from 0 to 100, got "-1"',
    );
    expect((await refused(['run', grid, '--runs', runs, '--grace', '-5'], 'EXP_ARGS_INVALID')).err).toContain(
      '--grace expects an integer from 0 to 3600, got "-5"',
    );
    expect(readdirSync(runs)).toEqual([]);
  });

  it('an option value that starts with a dash (--runs -x): says what the option wants, not "ambiguous"', async () => {
    const r = await refused(['plan', grid, '--runs', '-x'], 'EXP_ARGS_INVALID');
    expect(r.err).toContain('--runs expects a value, but the next argument starts with a dash');
    expect(r.err).toContain('write --runs=VALUE');
    expect(r.err).not.toContain('ambiguous');
  });

  it('settings.jobs of a million in the spec: refused by the schema', async () => {
    const r = await refused(['validate', grid, '--set', 'settings.jobs=1000000'], 'EXP_SPEC_INVALID');
    expect(r.err).toContain('settings.jobs');
  });

  it('--rerun nosuchstage: an error with a did-you-mean, for run and plan', async () => {
    const runs = await usedRuns();
    const before = snapshot(runs);
    const r = await refused(['run', grid, '--runs', runs, '--quiet', '--rerun', 'mdi'], 'EXP_ARGS_INVALID');
    expect(r.err).toContain('--rerun mdi: "mdi" is not a stage of engine-grid');
    expect(r.err).toContain('did you mean --rerun mid?');
    const p = await refused(['plan', grid, '--runs', runs, '--rerun', 'nosuchstage'], 'EXP_ARGS_INVALID');
    expect(p.err).toContain('the stages are: base, mid, top');
    expect(snapshot(runs)).toEqual(before);
  }, 180_000);

  it('a directory, a binary file, and a matrix bomb given as the spec: exit 2, nothing written', async () => {
    const runs = await usedRuns();
    const before = snapshot(runs);
    const dir = tmp();
    writeFileSync(
      path.join(dir, 'clip.mp4'),
      Buffer.from([0, 0, 0, 0x20, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d, 0xff]),
    );
    const d = await refused(['run', dir, '--runs', runs], 'EXP_SPEC_INVALID');
    expect(d.err).toContain('is a directory, not a spec file');
    const b = await refused(['validate', path.join(dir, 'clip.mp4')], 'EXP_SPEC_INVALID');
    expect(b.err).toContain('is not a YAML text file');
    expect(b.err).not.toContain('\u0000');
    const axis = `[${Array.from({ length: 100 }, (_, i) => i).join(',')}]`;
    const m = await refused(
      [
        'run',
        grid,
        '--runs',
        runs,
        '--set',
        `mid.value=${axis}`,
        '--set',
        `top.value=${axis}`,
        '--set',
        'settings.max_points=5000',
      ],
      'EXP_SPEC_INVALID',
    );
    expect(m.err).toContain('the matrix would expand to 10,000 points');
    expect(snapshot(runs)).toEqual(before);
  }, 180_000);
});

describe('unexpected errors', () => {
  it('print one line and the --debug advice; --debug or EXP_DEBUG=1 print the stack', async () => {
    const dir = tmp();
    const pluginFile = path.join(dir, 'boom.mjs');
    writeFileSync(pluginFile, "export default function () { throw new TypeError('kaboom in a plugin'); }\n");
    const r = await runExp(['kinds'], { ...process.env, EXP_PLUGINS: pluginFile, EXP_DEBUG: '' });
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      '✖ exp kinds: unexpected error: TypeError: kaboom in a plugin\n  → rerun with --debug (or EXP_DEBUG=1) for the stack trace\n',
    );
    const debug = await runExp(['kinds', '--debug'], { ...process.env, EXP_PLUGINS: pluginFile });
    expect(debug.code).toBe(1);
    expect(debug.err).toMatch(STACK);
    const env = await runExp(['kinds'], { ...process.env, EXP_PLUGINS: pluginFile, EXP_DEBUG: '1' });
    expect(env.err).toMatch(STACK);
  });

  it('an error thrown after main returned (a stray timer in a plugin): one line, exit 1', () => {
    const dir = tmp();
    const pluginFile = path.join(dir, 'late.mjs');
    writeFileSync(
      pluginFile,
      "export default function () { setTimeout(() => { throw new RangeError('late boom'); }, 10); }\n",
    );
    const args = [path.join(repoRoot, 'bin/exp.js'), 'kinds'];
    const r = spawnSync(process.execPath, args, {
      env: { ...process.env, EXP_PLUGINS: pluginFile, EXP_DEBUG: '' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      '✖ exp: unexpected error: RangeError: late boom\n  → rerun with --debug (or EXP_DEBUG=1) for the stack trace\n',
    );
    const debug = spawnSync(process.execPath, [...args, '--debug'], {
      env: { ...process.env, EXP_PLUGINS: pluginFile },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(debug.status).toBe(1);
    expect(debug.stderr).toMatch(STACK);
  });
});
