// `--set` and `extends:` as in Hydra: the most specific layer wins, setting one form of a setting
// drops the other form a less specific layer set (the pairs come from the kind's schema), and
// `=null` unsets a key.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fakeKinds, kindLookup } from '../../test/fixtures/spec/kinds.ts';
import { exclusivePairs } from './exclusive.ts';
import { loadSpec, SpecError, type KindInfo, type SpecIssue } from './index.ts';

const thresholds: KindInfo = {
  name: 'toy.verbs',
  description: 'two forms of each threshold',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      min_count: { type: 'integer', minimum: 1 },
      min_count_per_1000: { type: 'number', exclusiveMinimum: 0 },
      drop_top: { type: 'integer', minimum: 0 },
      drop_top_per_1000: { type: 'number', minimum: 0 },
    },
    allOf: [
      { not: { required: ['min_count', 'min_count_per_1000'] } },
      { not: { required: ['drop_top', 'drop_top_per_1000'] } },
    ],
  },
};
const kinds = kindLookup([...fakeKinds, thresholds]);
const tmp = mkdtempSync(join(tmpdir(), 'exp-spec-overrides-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = join(tmp, name);
  writeFileSync(file, text);
  return file;
}

const base = write(
  'base.yaml',
  `name: base
stages:
  verbs: { uses: toy.verbs, with: { min_count_per_1000: 125, drop_top_per_1000: 62.5 } }
  train: { uses: toy.train, needs: [verbs], with: { k: 5, lr: 0.1 } }
`,
);

async function load(file: string, sets: string[] = []) {
  return loadSpec(file, { kinds, cwd: tmp, sets, env: {} });
}

async function issuesOf(promise: Promise<unknown>): Promise<SpecIssue[]> {
  const e = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (e instanceof SpecError) return e.issues;
  throw new Error(`expected a SpecError, got ${String(e)}`);
}

describe('exclusive forms of a setting', () => {
  it('are read from the schema (not: {required: [a, b]}, at the top or in allOf)', () => {
    expect(exclusivePairs(thresholds.paramsSchema)).toEqual([
      ['min_count', 'min_count_per_1000'],
      ['drop_top', 'drop_top_per_1000'],
    ]);
    expect(exclusivePairs({ not: { required: ['a', 'b'] } })).toEqual([['a', 'b']]);
    expect(exclusivePairs({ type: 'object' })).toEqual([]);
  });

  it('a --set of one form replaces the other form a base file set', async () => {
    const spec = await load(write('child.yaml', `extends: base.yaml\nname: child\n`), ['verbs.min_count=50']);
    expect(spec.points[0]!.stages.verbs!.with).toEqual({ min_count: 50, drop_top_per_1000: 62.5 });
  });

  it('a file replaces the form set by the file it extends', async () => {
    const child = write(
      'child-file.yaml',
      'extends: base.yaml\nname: child\nstages:\n  verbs: { with: { drop_top: 100 } }\n',
    );
    const spec = await load(child);
    expect(spec.points[0]!.stages.verbs!.with).toEqual({ min_count_per_1000: 125, drop_top: 100 });
    // ... and a --set of the first form wins over that file in turn
    const again = await load(child, ['verbs.drop_top_per_1000=10']);
    expect(again.points[0]!.stages.verbs!.with).toEqual({ min_count_per_1000: 125, drop_top_per_1000: 10 });
  });

  it('a matrix axis on one form replaces the other form a base file set, in every point', async () => {
    const child = write('child-matrix.yaml', 'extends: base.yaml\nname: child\nmatrix:\n  verbs.min_count: [10, 20]\n');
    const spec = await load(child);
    expect(spec.points.map((p) => p.stages.verbs!.with)).toEqual([
      { min_count: 10, drop_top_per_1000: 62.5 },
      { min_count: 20, drop_top_per_1000: 62.5 },
    ]);
  });

  it('both forms set in one layer stay a conflict, named with its place', async () => {
    const both = write(
      'both.yaml',
      'name: both\nstages:\n  verbs: { uses: toy.verbs, with: { min_count: 5, min_count_per_1000: 2 } }\n',
    );
    expect((await issuesOf(load(both))).map((i) => [i.code, i.path, i.line])).toEqual([
      ['conflicting_keys', 'stages.verbs.with.min_count_per_1000', 3],
    ]);
    const sets = await issuesOf(load(base, ['verbs.min_count=5', 'verbs.min_count_per_1000=2']));
    expect(sets.map((i) => [i.code, i.file])).toEqual([['conflicting_keys', '--set verbs.min_count_per_1000=2']]);
  });
});

describe('--set PATH=null', () => {
  it('unsets a key, as `key: null` does in a file that extends another', async () => {
    const spec = await load(base, ['verbs.min_count_per_1000=null', 'train.lr=~']);
    expect(spec.points[0]!.stages.verbs!.with).toEqual({ drop_top_per_1000: 62.5 });
    // lr is back at its schema default
    expect(spec.points[0]!.stages.train!.with).toEqual({ k: 5, lr: 0.01, method: 's2a', tag: '' });
    const viaExtends = await load(
      write(
        'null-child.yaml',
        'extends: base.yaml\nname: x\nstages:\n  verbs: { with: { min_count_per_1000: null } }\n',
      ),
    );
    expect(viaExtends.points[0]!.stages.verbs!.with).toEqual(spec.points[0]!.stages.verbs!.with);
  });

  it('on a matrix axis removes the axis; on a path that does not exist it says so', async () => {
    const child = write('axis.yaml', 'extends: base.yaml\nname: axis\nmatrix:\n  train.k: [1, 2, 3]\n');
    expect((await load(child)).points).toHaveLength(3);
    const one = await load(child, ['train.k=null']);
    expect(one.points.map((p) => p.stages.train!.with.k)).toEqual([5]);
    const issues = await issuesOf(load(base, ['trian.k=null']));
    expect(issues.map((i) => [i.code, i.hint])).toEqual([['unknown_path', 'did you mean "train.k"?']]);
  });

  it('a value that only looks empty is not an unset', async () => {
    const spec = await load(base, ['train.tag=null-model', "train.tag='null'"]);
    expect(spec.points[0]!.stages.train!.with.tag).toBe('null');
  });
});
