// `exp` the npm way, used as a new user would: in a folder outside the clone. `exp init` writes a
// starter project there that validates and plans; the tarball `npm pack` makes installs into an
// empty prefix from npm's cache (--prefer-offline: what `npm ci` left there) and gives a working
// `exp` on that prefix's PATH. The build itself is vitest's global setup (test/global-setup.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/repo.ts';

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});
function scratch(name: string): string {
  const d = mkdtempSync(path.join(tmpdir(), `exp-${name}-`));
  made.push(d);
  return d;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('exp init', () => {
  it('writes a starter project in a folder outside the clone that validates and plans as is', () => {
    const home = scratch('init');
    const exp = (...args: string[]) => run(process.execPath, [path.join(repoRoot, 'bin/exp.js'), ...args], home);
    const r = exp('init', 'study');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('cd study && exp run experiments/quickstart.yaml');
    const dir = path.join(home, 'study');
    for (const f of ['experiments/quickstart.yaml', 'experiments/base/speech2action.yaml', 'README.md', '.gitignore'])
      expect(existsSync(path.join(dir, f)), f).toBe(true);
    // the BERT spec points at the project's own copy of the tiny BERT
    expect(readFileSync(path.join(dir, 'experiments/s2a_bert.yaml'), 'utf8')).toContain(
      'bert_path: ../models/tiny-bert',
    );
    expect(existsSync(path.join(dir, 'models/tiny-bert/config.json'))).toBe(true);

    const inStudy = (...args: string[]) => run(process.execPath, [path.join(repoRoot, 'bin/exp.js'), ...args], dir);
    expect(inStudy('validate', 'experiments/quickstart.yaml')).toMatchObject({ code: 0 });
    expect(inStudy('validate', 'experiments/s2a_bert.yaml')).toMatchObject({ code: 0 });
    const plan = inStudy('plan', 'experiments/quickstart.yaml', '--json');
    expect(plan.code).toBe(0);
    expect(JSON.parse(plan.out.trim().split('\n').at(-1)!).points).toHaveLength(1);

    // a second init would overwrite the files: refused (exit 2, nothing changed) unless --force
    const again = exp('init', 'study');
    expect(again.code).toBe(2);
    expect(again.err).toContain('--force');
    expect(exp('init', 'study', '--force').code).toBe(0);
  });
});

describe('npm pack and install', () => {
  it('installs the packed tarball into an empty prefix and runs exp from any folder', () => {
    const work = scratch('pack');
    // dist/ is built already (global setup): pack without running the prepare script again
    const pack = run('npm', ['pack', '--ignore-scripts', '--pack-destination', work, '--json'], repoRoot);
    expect(pack.code, pack.err).toBe(0);
    const tarball = path.join(work, (JSON.parse(pack.out) as { filename: string }[])[0]!.filename);
    const prefix = path.join(work, 'prefix');
    // onnxruntime-node's install script would download CUDA providers: skipped, as .npmrc does in the clone
    const env = {
      ...process.env,
      ONNXRUNTIME_NODE_INSTALL: 'skip',
      npm_config_audit: 'false',
      npm_config_fund: 'false',
    };
    const install = run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', tarball], work, env);
    expect(install.code, install.err.slice(-2000)).toBe(0);

    const elsewhere = scratch('user');
    const userEnv = { ...process.env, PATH: `${path.join(prefix, 'bin')}${path.delimiter}${process.env.PATH}` };
    const version = run('exp', ['--version'], elsewhere, userEnv);
    expect(version.out).toMatch(/^exp \d+\.\d+\.\d+/);
    expect(run('exp', ['init'], elsewhere, userEnv).code).toBe(0);
    const validate = run('exp', ['validate', 'experiments/ava_fewshot.yaml'], elsewhere, userEnv);
    expect(validate.err).toBe('');
    expect(validate.out).toContain('is valid');
  });
});
