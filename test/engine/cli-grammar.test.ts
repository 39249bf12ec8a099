// One command-line grammar: every subcommand's help comes from its one declaration (same layout:
// usage, options, examples, exit codes), enumerated values get a did-you-mean, and exit statuses
// follow src/error-codes.ts (docs/ERRORS.md) everywhere.
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { helpText, optionsOf } from '../../src/cli/args.ts';
import { commandSpecs } from '../../src/cli/main.ts';
import { exitCodeFor } from '../../src/error-codes.ts';
import { runExp } from '../helpers/exp.ts';
import { repoRoot } from '../helpers/repo.ts';

const plugin = path.join(repoRoot, 'test/fixtures/plugins/test-kinds.ts');
const grid = path.join(repoRoot, 'test/fixtures/engine/grid.yaml');

describe('one CLI grammar', () => {
  it('every subcommand prints the help of its declaration, in one layout', async () => {
    const names = Object.keys(commandSpecs);
    expect(names).toEqual(expect.arrayContaining(['compare', 'sync', 'screenplay', 'captions', 'run', 'show']));
    for (const name of names) {
      const spec = commandSpecs[name]!;
      const r = await runExp([name, '--help']);
      expect(r.code, name).toBe(0);
      expect(r.out, name).toBe(helpText(spec));
      const sections = ['Usage: exp ', 'Options:', 'Examples:', 'Exit codes:'].map((s) => r.out.indexOf(s));
      expect(sections[0], name).toBe(0);
      expect(
        [...sections].sort((a, b) => a - b),
        name,
      ).toEqual(sections);
      expect(r.out, name).toContain(`Usage: exp ${name}`);
      for (const o of optionsOf(spec)) expect(r.out, `${name} --${o.name}`).toContain(`--${o.name}`);
      expect(spec.examples.length, name).toBeGreaterThan(0);
      for (const e of spec.examples) expect(e.startsWith(`exp ${name}`) || /^\w+=\S+ exp /.test(e), e).toBe(true);
      // exit codes: 0 first, then each declared error code on the line of its status in error-codes.ts
      const exits = r.out.slice(r.out.indexOf('Exit codes:')).split('\n').slice(1);
      expect(exits[0], name).toMatch(/^ {2}0 {4}\S/);
      for (const code of ['EXP_ARGS_INVALID', ...spec.errors]) {
        const line = exits.find((l) => l.includes(code));
        expect(line, `${name} ${code}`).toMatch(new RegExp(`^ {2}${exitCodeFor(code)} `));
      }
      // `-h` and `exp <command> help` say the same
      expect((await runExp([name, '-h'])).out).toBe(r.out);
    }
  });

  it('an unknown flag of any subcommand exits 2 with a did-you-mean', async () => {
    for (const name of Object.keys(commandSpecs)) {
      const spec = commandSpecs[name]!;
      const first = optionsOf(spec)[0]!.name;
      const typo = `--${first.slice(0, -1)}${first.at(-1) === 'x' ? 'y' : 'x'}`;
      const r = await runExp([name, typo]);
      expect(r.code, `${name} ${typo}`).toBe(2);
      expect(r.err, `${name} ${typo}`).toMatch(/EXP_ARGS_INVALID/);
      expect(r.err, `${name} ${typo}`).toContain(`did you mean --${first}?`);
    }
  });

  it('an unknown value of an enumerated option gets a did-you-mean, before anything is planned', async () => {
    const runs = mkdtempSync(path.join(os.tmpdir(), 'exp-grammar-'));
    const r = await runExp(['run', grid, '--executor', 'slrum', '--runs', runs, '--plugin', plugin]);
    expect(r.code).toBe(2);
    // the executors come from their registry (built-ins and plugins), checked before any planning
    expect(r.err).toMatch(/EXP_ARGS_INVALID.*--executor "slrum" is not one of .*\bslurm\b/);
    expect(r.err).toContain('did you mean --executor slurm?');
    expect(existsSync(path.join(runs, 'cache'))).toBe(false);
    expect(existsSync(path.join(runs, 'invocations'))).toBe(false);
    const far = await runExp(['run', grid, '--executor', 'kubernetes', '--runs', runs, '--plugin', plugin]);
    expect(far.code).toBe(2);
    expect(far.err).toMatch(/use one of .*\blocal\b/);
  });

  it('exit statuses follow docs/ERRORS.md: not found is 2 in every command, a missing input file 1', async () => {
    const runs = mkdtempSync(path.join(os.tmpdir(), 'exp-grammar-'));
    const env = { ...process.env, EXP_RUNS: runs };
    const compare = await runExp(['compare', 'nosuch'], env);
    expect(compare.code).toBe(2);
    expect(compare.err).toContain('EXP_NOT_FOUND');
    const show = await runExp(['show', 'zzz'], env);
    expect(show.code).toBe(2);
    expect(show.err).toContain('EXP_NOT_FOUND');
    const kinds = await runExp(['kinds', 'no.such'], env);
    expect(kinds.code).toBe(2);
    expect(kinds.err).toContain('EXP_NOT_FOUND');
    const validate = await runExp(['validate', path.join(runs, 'nosuch.yaml')], env);
    expect(validate.code).toBe(2);
    const parse = await runExp(['screenplay', 'parse', path.join(runs, 'nosuch.txt')], env);
    expect(parse.code).toBe(exitCodeFor('EXP_INPUT_MISSING'));
    expect(parse.err).toContain('EXP_INPUT_MISSING');
    const captions = await runExp(['captions', 'parse', path.join(runs, 'nosuch.srt')], env);
    expect(captions.code).toBe(exitCodeFor('EXP_INPUT_MISSING'));
    const sub = await runExp(['captions', 'prase', 'x.srt'], env);
    expect(sub.code).toBe(2);
    expect(sub.err).toContain('did you mean "exp captions parse"?');
    const sync = await runExp(['sync', '--to', 'ftp://x'], env);
    expect(sync.code).toBe(2);
    expect(sync.err).toMatch(/EXP_ARGS_INVALID.*not an http\(s\) tracking server/);
  });
});

describe('--set like Hydra, on the paper specs', () => {
  const spec = path.join(repoRoot, 'experiments/s2a_text.yaml');
  const verbsNote = async (sets: string[]): Promise<{ code: number; note?: string; err: string }> => {
    const runs = mkdtempSync(path.join(os.tmpdir(), 'exp-grammar-'));
    const r = await runExp(['plan', spec, '--json', '--runs', runs, ...sets.flatMap((s) => ['--set', s])]);
    if (r.code !== 0) return { code: r.code, err: r.err };
    const plan = r.json<{ nodes: { stage: string; note?: string }[] }>();
    return { code: 0, note: plan.nodes.find((n) => n.stage === 'verbs')!.note, err: r.err };
  };

  it('the absolute verb threshold from the command line replaces the per-1,000 form of the base spec', async () => {
    const r = await verbsNote(['verbs.min_count=50']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.note).toMatch(/^min_count 50, drop_top 62\.5 per 1000 scripts/);
  });

  it('--set verbs.min_count_per_1000_scripts=null unsets it (the absolute default applies)', async () => {
    const r = await verbsNote(['verbs.min_count_per_1000_scripts=null']);
    expect(r.code).toBe(0);
    expect(r.note).toMatch(/^min_count 50, drop_top 62\.5 per 1000 scripts/);
  });
});
