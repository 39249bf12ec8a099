// Hostile spec input (issue 14): each case is refused with a coded issue naming the file and key,
// before anything is expanded or run.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isExpError } from '../errors.ts';
import { kindLookup } from '../../test/fixtures/spec/kinds.ts';
import { loadSpec, type SpecError, type SpecIssue } from './index.ts';

const root = resolve(import.meta.dirname, '../..');
const base = join(root, 'test/fixtures/spec/base/pipeline.yaml');
const kinds = kindLookup();

function dir(): string {
  return mkdtempSync(join(tmpdir(), 'exp-hostile-'));
}

async function issuesOf(file: string, cwd: string, sets?: string[]): Promise<SpecIssue[]> {
  try {
    await loadSpec(file, { kinds, cwd, sets, env: {} });
  } catch (e) {
    expect(isExpError(e)).toBe(true);
    expect((e as SpecError).code).toBe('EXP_SPEC_INVALID');
    return (e as SpecError).issues;
  }
  throw new Error(`expected ${file} to be rejected`);
}

function spec(cwd: string, body: string, name = 'spec.yaml'): string {
  writeFileSync(join(cwd, name), `name: hostile\nextends: ${base}\n${body}`);
  return name;
}

describe('hostile specs', () => {
  it('a matrix of 10 million points: refused before expanding, naming the axes and the limit', async () => {
    const cwd = dir();
    const values = (n: number) => `[${Array.from({ length: n }, (_, i) => i).join(', ')}]`;
    const file = spec(
      cwd,
      `matrix:\n  finetune.k: ${values(100)}\n  verbs.min_count: ${values(100)}\n  vars.a: ${values(100)}\n  vars.b: ${values(10)}\n`,
    );
    const started = Date.now();
    const issues = await issuesOf(file, cwd);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ code: 'too_many_points', path: 'matrix', file: 'spec.yaml', line: 3 });
    expect(issues[0]!.message).toContain('10,000,000 points');
    expect(issues[0]!.message).toContain('limit of 100,000');
    expect(issues[0]!.hint).toContain('settings.max_points');
  });

  it('settings.max_points lowers (or raises) the limit', async () => {
    const cwd = dir();
    const file = spec(cwd, 'settings:\n  max_points: 3\nmatrix:\n  finetune.k: [1, 2]\n  vars.k: [1, 2]\n');
    const issues = await issuesOf(file, cwd);
    expect(issues[0]).toMatchObject({ code: 'too_many_points' });
    expect(issues[0]!.message).toContain('limit of 3');
    const ok = await loadSpec(file, { kinds, cwd, env: {}, sets: ['settings.max_points=4'] });
    expect(ok.points).toHaveLength(4);
    const zero = await issuesOf(file, cwd, ['settings.max_points=0']);
    expect(zero.some((i) => i.path === 'settings.max_points')).toBe(true);
  });

  it('a YAML alias bomb (billion laughs): a bounded, clear error instead of a hang', async () => {
    const cwd = dir();
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(', ')}]`);
    }
    writeFileSync(join(cwd, 'bomb.yaml'), `name: bomb\nvars:\n${levels.map((l) => `  ${l}`).join('\n')}\nstages: {}\n`);
    const started = Date.now();
    const issues = await issuesOf('bomb.yaml', cwd);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ code: 'yaml_alias_limit', file: 'bomb.yaml' });
    expect(issues[0]!.line).toBeGreaterThan(0);
    expect(issues[0]!.message).toContain('alias bomb');
  });

  it.each([
    ['1e400', 'Infinity'],
    ['-1e309', '-Infinity'],
    ['.inf', 'Infinity'],
    ['.nan', 'NaN'],
  ])('a non-finite number (%s) where an integer is expected: rejected, naming the key', async (written, shown) => {
    const cwd = dir();
    const file = spec(cwd, `stages:\n  verbs:\n    with:\n      min_count: ${written}\n`);
    const issues = await issuesOf(file, cwd);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({
      code: 'non_finite_number',
      path: 'stages.verbs.with.min_count',
      file: 'spec.yaml',
      line: 6,
      col: 18,
    });
    expect(issues[0]!.message).toContain(`${shown} is not a finite number`);
  });

  it('non-finite numbers in a matrix list and in --set are rejected too', async () => {
    const cwd = dir();
    const file = spec(cwd, 'matrix:\n  finetune.k: [1, 1e400, 1e309]\n');
    const issues = await issuesOf(file, cwd);
    expect(issues.map((i) => [i.code, i.path, i.line])).toEqual([
      ['non_finite_number', 'matrix.`finetune.k`[1]', 4],
      ['non_finite_number', 'matrix.`finetune.k`[2]', 4],
    ]);
    const set = await issuesOf(spec(cwd, '', 'plain.yaml'), cwd, ['finetune.k=1e400']);
    expect(set[0]).toMatchObject({ code: 'non_finite_number', path: 'finetune.k', file: '--set finetune.k=1e400' });
  });

  it('an integer beyond 2^53 (silently rounded by a double) is rejected with its place, in a file and in --set', async () => {
    const cwd = dir();
    const file = spec(
      cwd,
      `stages:\n  verbs:\n    with:\n      min_count: 99999999999999999999999\nvars: { big: -9007199254740993, edge: 9007199254740991, n: 0x10 }\n`,
    );
    const issues = await issuesOf(file, cwd);
    expect(issues.map((i) => [i.code, i.path, i.file, i.line, i.col])).toEqual([
      ['unsafe_integer', 'stages.verbs.with.min_count', 'spec.yaml', 6, 18],
      ['unsafe_integer', 'vars.big', 'spec.yaml', 7, 14],
    ]);
    expect(issues[0]!.message).toContain('the integer 99999999999999999999999 is beyond ±2^53');
    expect(issues[0]!.message).toContain('read as 1e+23');
    expect(issues[0]!.hint).toContain('quote it');
    const set = await issuesOf(spec(cwd, '', 'plain.yaml'), cwd, ['finetune.k=[1, 18446744073709551616]']);
    expect(set.map((i) => [i.code, i.path, i.file])).toEqual([
      ['unsafe_integer', 'finetune.k', '--set finetune.k=[1, 18446744073709551616]'],
    ]);
    // the largest safe integer and a hex integer are numbers as before
    const ok = await loadSpec(spec(cwd, 'vars: { edge: 9007199254740991, n: 0x10 }\n', 'ok.yaml'), {
      kinds,
      cwd,
      env: {},
    });
    expect(ok.points[0]!.config.vars).toMatchObject({ edge: 9007199254740991, n: 16 });
  });

  it('a spec path that is a directory', async () => {
    const cwd = dir();
    mkdirSync(join(cwd, 'experiments'));
    const issues = await issuesOf('experiments', cwd);
    expect(issues).toEqual([
      expect.objectContaining({
        code: 'not_a_file',
        file: 'experiments',
        message: 'experiments is a directory, not a spec file',
      }),
    ]);
  });

  it('a binary file given as a spec (NUL bytes, invalid UTF-8): "not a YAML text file", no bytes dumped', async () => {
    const cwd = dir();
    writeFileSync(
      join(cwd, 'movie.mp4'),
      Buffer.from([0x00, 0x00, 0x00, 0x18, 0x66, 0x74, 0x79, 0x70, 0xff, 0xfe, 0x01]),
    );
    writeFileSync(join(cwd, 'latin1.yaml'), Buffer.from('name: caf\xe9\n', 'latin1'));
    for (const file of ['movie.mp4', 'latin1.yaml']) {
      const issues = await issuesOf(file, cwd);
      expect(issues).toHaveLength(1);
      expect(issues[0]).toMatchObject({
        code: 'not_text',
        file,
        message: `${file} is not a YAML text file (it holds binary data)`,
      });
    }
  });

  it('a device or pipe given as a spec (/dev/zero): refused without reading it', async () => {
    const started = Date.now();
    const issues = await issuesOf('/dev/zero', dir());
    expect(Date.now() - started).toBeLessThan(2000);
    expect(issues).toEqual([
      expect.objectContaining({
        code: 'not_a_file',
        message: '/dev/zero is not a regular file (a device, pipe or socket)',
      }),
    ]);
    const cwd = dir();
    writeFileSync(join(cwd, 'spec.yaml'), 'name: x\nextends: /dev/zero\nstages: {}\n');
    const base = await issuesOf('spec.yaml', cwd);
    expect(base[0]).toMatchObject({
      code: 'not_a_file',
      path: 'extends',
      message: 'extends: /dev/zero is not a regular file, not a spec file (/dev/zero)',
    });
  });

  it('a 9 MiB file given as a spec: too large, not read whole', async () => {
    const cwd = dir();
    writeFileSync(join(cwd, 'huge.yaml'), Buffer.alloc(9 * 2 ** 20, 0x20));
    const issues = await issuesOf('huge.yaml', cwd);
    expect(issues).toEqual([
      expect.objectContaining({
        code: 'file_too_large',
        file: 'huge.yaml',
        message: 'huge.yaml is 9.0 MiB; a spec file may be at most 8 MiB',
      }),
    ]);
  });

  it('an alias bomb in an extends base and in a --set value', async () => {
    const cwd = dir();
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 7; i++)
      levels.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(', ')}]`,
      );
    writeFileSync(join(cwd, 'base.yaml'), `vars:\n${levels.map((l) => `  ${l}`).join('\n')}\n`);
    writeFileSync(join(cwd, 'spec.yaml'), 'name: x\nextends: base.yaml\nstages: {}\n');
    const issues = await issuesOf('spec.yaml', cwd);
    expect(issues[0]).toMatchObject({ code: 'yaml_alias_limit', file: 'base.yaml' });
    const set = await issuesOf(spec(cwd, '', 'plain.yaml'), cwd, [
      `vars.k=[&a [1,1,1,1,1,1,1,1,1,1], &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a], &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b], [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]]`,
    ]);
    expect(set[0]).toMatchObject({ code: 'invalid_set', path: 'vars.k' });
    expect(set[0]!.message).toContain('--set vars.k:');
  });

  it('extends: /etc (a directory) says it is a directory, not "not found"', async () => {
    const cwd = dir();
    writeFileSync(join(cwd, 'spec.yaml'), 'name: x\nextends: /etc\nstages: {}\n');
    const issues = await issuesOf('spec.yaml', cwd);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ code: 'not_a_file', path: 'extends', file: 'spec.yaml', line: 2, col: 10 });
    expect(issues[0]!.message).toBe('extends: /etc is a directory, not a spec file (/etc)');
  });
});
