// Each bad input named in the issue: the message a user reads, and where it points (file:line:col).
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isExpError } from '../errors.ts';
import { kindLookup } from '../../test/fixtures/spec/kinds.ts';
import { formatSpecIssues, loadSpec, SpecError, type SpecIssue } from './index.ts';

const root = resolve(import.meta.dirname, '../..');
const kinds = kindLookup();
const bad = (name: string) => `test/fixtures/spec/bad/${name}`;

async function issuesOf(file: string, sets?: string[]): Promise<SpecIssue[]> {
  try {
    await loadSpec(file, { kinds, cwd: root, sets, env: {} });
  } catch (e) {
    expect(isExpError(e)).toBe(true);
    expect((e as SpecError).code).toBe('EXP_SPEC_INVALID');
    return (e as SpecError).issues;
  }
  throw new Error(`expected ${file} to be rejected`);
}

describe('bad specs', () => {
  it('malformed YAML: the parser message at its line:col', async () => {
    const issues = await issuesOf(bad('malformed.yaml'));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ code: 'yaml_syntax', file: bad('malformed.yaml'), line: 6, col: 3 });
    expect(issues[0]!.message).toMatch(/^YAML syntax error: Flow sequence .* end with a \]/);
  });

  it('a duplicate key', async () => {
    const issues = await issuesOf(bad('duplicate-key.yaml'));
    expect(issues[0]).toMatchObject({ code: 'duplicate_key', line: 5, col: 3 });
    expect(issues[0]!.message).toContain('Map keys must be unique');
  });

  it('unknown keys, at the top level and in params, each with a did-you-mean', async () => {
    const issues = await issuesOf(bad('unknown-keys.yaml'));
    expect(issues.map((i) => [i.message, i.path, i.line, i.col, i.hint])).toEqual([
      ['unknown key "setings" in the top level', 'setings', 2, 1, 'did you mean "settings"?'],
      ['unknown key "min_cout" in stages.verbs.with', 'stages.verbs.with.min_cout', 8, 7, 'did you mean "min_count"?'],
    ]);
  });

  it('wrong types, a value below the minimum and a value not in the enum, all at once', async () => {
    const issues = await issuesOf(bad('wrong-types.yaml'));
    expect(issues.map((i) => [i.message, i.path, i.line, i.col])).toEqual([
      ['expected integer, got string "7"', 'settings.seed', 3, 9],
      ['expected integer, got string "20"', 'stages.verbs.with.min_count', 8, 18],
      ['expected a number >= 0, got integer -1', 'stages.verbs.with.drop_top', 9, 17],
      ['expected one of "keyword", "s2a", "none", got string "kyword"', 'stages.finetune.with.method', 14, 15],
    ]);
    expect(issues[3]!.hint).toBe('did you mean "keyword"?');
  });

  it('an empty matrix list', async () => {
    const issues = await issuesOf(bad('empty-matrix.yaml'));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({
      code: 'empty_matrix',
      message: 'matrix list "finetune.k" is empty',
      line: 6,
      col: 15,
    });
  });

  it('cyclic needs: the cycle is shown', async () => {
    const issues = await issuesOf(bad('cyclic-needs.yaml'));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({
      code: 'cycle',
      message: 'cycle in needs: a → c → b → a',
      path: 'stages.a.needs[0]',
      line: 5,
      col: 13,
    });
  });

  it('unknown needs, with a did-you-mean', async () => {
    const issues = await issuesOf(bad('unknown-needs.yaml'));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({
      code: 'unknown_stage',
      message: 'stage "finetune" needs "vidoe", which is not a stage of this spec',
      line: 7,
      col: 13,
      hint: 'did you mean "video"?',
    });
  });

  it('an unknown stage kind, with a did-you-mean among registered kinds', async () => {
    const issues = await issuesOf(bad('unknown-kind.yaml'));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({
      code: 'unknown_kind',
      message: 'unknown stage kind "toy.prase" in stage "parse"',
      line: 4,
      col: 11,
      hint: 'did you mean "toy.parse"?',
    });
    const other = await loadSpec(bad('unknown-kind.yaml'), { kinds: kindLookup([]), cwd: root }).catch(
      (e: SpecError) => e.issues,
    );
    expect(Array.isArray(other) && other[0]!.hint).toBe('no stage kinds are registered');
  });

  it('an extends cycle: the chain of files, at the extends that closes it', async () => {
    const issues = await issuesOf(bad('extends-cycle-a.yaml'));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ code: 'extends_cycle', file: bad('extends-cycle-b.yaml'), line: 1, col: 11 });
    expect(issues[0]!.message).toBe(
      `extends cycle: ${bad('extends-cycle-a.yaml')} → ${bad('extends-cycle-b.yaml')} → ${bad('extends-cycle-a.yaml')}`,
    );
  });

  it('a missing extends file, with a did-you-mean among its neighbours', async () => {
    const issues = await issuesOf(bad('missing-base.yaml'));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ code: 'file_missing', line: 2, col: 10, hint: 'did you mean "pipeline.yaml"?' });
    expect(issues[0]!.message).toMatch(/^extends: file not found: \.\.\/base\/pipelin\.yaml/);
  });

  it('missing files referenced by path params, resolved from the file that defines them', async () => {
    const issues = await issuesOf(bad('missing-file.yaml'));
    expect(issues.map((i) => [i.path, i.file, i.line, i.col])).toEqual([
      ['stages.parse.with.corpus', bad('missing-file.yaml'), 4, 11],
      ['stages.eval.with.labels', bad('missing-file.yaml'), 8, 15],
    ]);
    expect(issues[0]!.message).toBe(
      `folder not found: ../no-such-corpus (from data.corpus), looked for ${join(root, 'test/fixtures/spec/no-such-corpus')}`,
    );
    expect(issues[1]!.message).toBe(`file not found: labels.csv, looked for ${join(root, bad('labels.csv'))}`);
  });

  it('a missing spec file', async () => {
    const issues = await issuesOf('test/fixtures/spec/vald.yaml');
    expect(issues[0]).toMatchObject({
      code: 'file_missing',
      message: 'spec file not found: test/fixtures/spec/vald.yaml',
      hint: 'did you mean "valid.yaml"?',
    });
  });

  it('--set on a key that does not exist, with a did-you-mean; a known param left at its default is fine', async () => {
    const issues = await issuesOf('test/fixtures/spec/single.yaml', [
      'finetun.lr=0.1',
      'settings.sed=1',
      'stages.verbs.with.min_cout=3',
      'verbs.min_count=abc',
      'nope',
    ]);
    expect(issues.map((i) => [i.code, i.message, i.file, i.hint])).toEqual([
      [
        'unknown_path',
        'key path "finetun.lr" does not exist in the spec (stages.finetun.with.lr): no stages.finetun',
        '--set finetun.lr=0.1',
        'did you mean "finetune.lr"?',
      ],
      [
        'unknown_path',
        'key path "settings.sed" does not exist in the spec: no settings.sed',
        '--set settings.sed=1',
        'did you mean "settings.seed"?',
      ],
      [
        'unknown_path',
        'key path "stages.verbs.with.min_cout" does not exist in the spec: no stages.verbs.with.min_cout',
        '--set stages.verbs.with.min_cout=3',
        'did you mean "stages.verbs.with.min_count"?',
      ],
      [
        'invalid_set',
        '--set expects PATH=VALUE, got "nope"',
        '--set nope',
        "e.g. --set finetune.k=20 or --set 'finetune.k=[20,50]'",
      ],
      ['invalid_type', 'expected integer, got string "abc"', '--set verbs.min_count=abc', undefined],
    ]);
    expect(issues.every((i) => i.line === 0)).toBe(true);
  });

  it('a matrix key path that resolves to nothing', async () => {
    const issues = await issuesOf(bad('many.yaml'));
    const matrix = issues.find((i) => i.code === 'unknown_path');
    expect(matrix).toMatchObject({ path: 'matrix.finetune.kk', line: 13, col: 3, hint: 'did you mean "finetune.k"?' });
  });

  it('an unknown target, an unknown include path and a bad stage name', async () => {
    const targets = await issuesOf('test/fixtures/spec/single.yaml', ['settings.targets=[evl]']);
    expect(targets[0]).toMatchObject({
      code: 'unknown_stage',
      message: 'target "evl" is not a stage of this spec',
      path: 'settings.targets[0]',
      hint: 'did you mean "eval"?',
    });
    const include = await issuesOf(bad('bad-include.yaml'));
    expect(include.map((i) => [i.code, i.path, i.line, i.col, i.hint])).toEqual([
      ['invalid_key', 'stages.data', 3, 3, expect.stringContaining('stage names use letters')],
      ['unknown_path', 'matrix.include[0].train.rate', 7, 21, undefined],
    ]);
  });

  it('a kind whose params schema does not compile is reported as a plugin bug', async () => {
    const broken = kindLookup([
      {
        name: 'toy.parse',
        description: 'broken',
        paramsSchema: { type: 'object', properties: { x: { type: 'integr' } } },
      },
    ]);
    const error = await loadSpec(bad('unknown-kind.yaml'), {
      kinds: broken,
      cwd: root,
      sets: ['stages.parse.uses=toy.parse'],
    }).catch((e: SpecError) => e);
    expect(error).toBeInstanceOf(SpecError);
    expect((error as SpecError).issues[0]).toMatchObject({ code: 'invalid_kind_schema', path: 'stages.parse.uses' });
    expect((error as SpecError).issues[0]!.message).toContain(
      'the params schema of stage kind "toy.parse" does not compile',
    );
  });

  it('lists every problem of a spec at once', async () => {
    const issues = await issuesOf(bad('many.yaml'));
    expect(issues.map((i) => i.code).sort()).toEqual([
      'invalid_format',
      'invalid_value',
      'unknown_path',
      'unknown_reference',
      'unknown_stage',
    ]);
  });
});

describe('formatSpecIssues', () => {
  it('prints ✖ message, → at path (file:line:col) and the hint', async () => {
    const issues = await issuesOf(bad('unknown-keys.yaml'));
    expect(formatSpecIssues(issues)).toBe(
      [
        '✖ unknown key "setings" in the top level',
        `  → at setings (${bad('unknown-keys.yaml')}:2:1)`,
        '  did you mean "settings"?',
        '✖ unknown key "min_cout" in stages.verbs.with',
        `  → at stages.verbs.with.min_cout (${bad('unknown-keys.yaml')}:8:7)`,
        '  did you mean "min_count"?',
        '2 problems in the spec; nothing was run.',
      ].join('\n'),
    );
  });

  it('names the --set argument instead of a file position', () => {
    const text = formatSpecIssues([
      {
        code: 'invalid_type',
        path: 'stages.a.with.k',
        message: 'expected integer, got string "x"',
        file: '--set a.k=x',
        line: 0,
        col: 0,
      },
    ]);
    expect(text).toContain('→ at stages.a.with.k (--set a.k=x)');
  });
});
