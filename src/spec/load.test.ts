import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kindLookup } from '../../test/fixtures/spec/kinds.ts';
import { loadSpec, SpecError, type SpecIssue } from './index.ts';

const root = resolve(import.meta.dirname, '../..');
const fixtures = join(root, 'test/fixtures/spec');
const kinds = kindLookup();
const tmp = mkdtempSync(join(tmpdir(), 'exp-spec-load-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let counter = 0;
function writeSpec(text: string, name = `spec-${++counter}.yaml`): string {
  const file = join(tmp, name);
  writeFileSync(file, text);
  return file;
}

async function issuesOf(promise: Promise<unknown>): Promise<SpecIssue[]> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof SpecError) return e.issues;
    throw e;
  }
  throw new Error('expected a SpecError');
}

describe('loadSpec on a valid grid', () => {
  it('expands the matrix, applies include/exclude and names the points', async () => {
    const spec = await loadSpec(join(fixtures, 'valid.yaml'), { kinds, cwd: root });
    expect(spec.name).toBe('toy-grid');
    expect(spec.description).toBe('a small grid');
    expect(spec.points.map((p) => p.name)).toEqual([
      'method=keyword k=20',
      'method=s2a k=0',
      'method=s2a k=20',
      'method=none k=100',
    ]);
    expect(spec.points[1]!.assignment).toEqual({ 'finetune.method': 's2a', 'finetune.k': 0 });
    expect(spec.settings).toEqual({ seed: 3, jobs: undefined, retries: 0, targets: ['eval'] });
    expect(spec.files).toEqual([join(fixtures, 'valid.yaml'), join(fixtures, 'base/pipeline.yaml')]);
  });

  it('merges extends (maps key by key) and fills in schema defaults', async () => {
    const spec = await loadSpec(join(fixtures, 'valid.yaml'), { kinds, cwd: root });
    const point = spec.points[0]!;
    expect(point.stages.verbs!.with).toEqual({ min_count: 5, drop_top: 2 });
    expect(point.stages.finetune!.with).toEqual({ k: 20, method: 'keyword', lr: 0.01, tag: 'k=5 method=keyword' });
    expect(point.stages.finetune!.needs).toEqual(['verbs']);
    expect(point.stages.eval!.with).toEqual({ benchmark: 'ava' });
    expect(point.config.stages).toHaveProperty('finetune.with.k', 20);
    expect(spec.resolvedYaml).toContain('drop_top: 2');
    expect(spec.resolvedYaml).toContain('uses: toy.parse');
  });

  it('keeps a path param as written for hashing and absolute (from the defining file) for running', async () => {
    const spec = await loadSpec(join(fixtures, 'valid.yaml'), { kinds, cwd: root });
    const parse = spec.points[0]!.stages.parse!;
    expect(parse.with.corpus).toBe('../corpus');
    expect(parse.runWith.corpus).toBe(join(fixtures, 'corpus'));
  });

  it('gives ids that are 12 hex chars, distinct per point and the same from another folder', async () => {
    const a = await loadSpec(join(fixtures, 'valid.yaml'), { kinds, cwd: root });
    const b = await loadSpec('valid.yaml', { kinds, cwd: fixtures });
    const ids = a.points.map((p) => p.id);
    expect(ids.every((id) => /^[0-9a-f]{12}$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(b.points.map((p) => p.id)).toEqual(ids);
  });

  it('changes the id when a param changes but not when jobs change', async () => {
    const base = await loadSpec(join(fixtures, 'single.yaml'), { kinds, cwd: root });
    const jobs = await loadSpec(join(fixtures, 'single.yaml'), { kinds, cwd: root, sets: ['settings.jobs=8'] });
    const param = await loadSpec(join(fixtures, 'single.yaml'), { kinds, cwd: root, sets: ['verbs.min_count=6'] });
    expect(base.points).toHaveLength(1);
    expect(base.points[0]!.name).toBe('default');
    expect(jobs.points[0]!.id).toBe(base.points[0]!.id);
    expect(jobs.settings.jobs).toBe(8);
    expect(param.points[0]!.id).not.toBe(base.points[0]!.id);
  });

  it('applies --set values parsed as YAML, including params left at their default', async () => {
    const spec = await loadSpec(join(fixtures, 'single.yaml'), {
      kinds,
      cwd: root,
      sets: ['finetune.lr=0.5', 'vars.k=7', 'stages.eval.with.benchmark=hmdb51'],
    });
    const stages = spec.points[0]!.stages;
    expect(stages.finetune!.with.lr).toBe(0.5);
    expect(stages.finetune!.with.k).toBe(7);
    expect(stages.eval!.with.benchmark).toBe('hmdb51');
  });

  it('replaces the values of a matrix axis with --set', async () => {
    const list = await loadSpec(join(fixtures, 'valid.yaml'), { kinds, cwd: root, sets: ['finetune.k=[20,50]'] });
    expect(list.points.map((p) => p.name)).toEqual([
      'method=keyword k=20',
      'method=keyword k=50',
      'method=s2a k=20',
      'method=s2a k=50',
      'method=none k=100',
    ]);
    const one = await loadSpec(join(fixtures, 'valid.yaml'), {
      kinds,
      cwd: root,
      sets: ['stages.finetune.with.method=s2a'],
    });
    expect(one.points.map((p) => p.name)).toEqual(['method=s2a k=0', 'method=s2a k=20', 'method=none k=100']);
  });

  it('names a point by its --set values too, and keeps them as its overrides', async () => {
    const spec = await loadSpec(join(fixtures, 'single.yaml'), {
      kinds,
      cwd: root,
      sets: [
        'finetune.lr=0.5',
        'settings.jobs=8',
        'stages.eval.with.benchmark=hmdb51',
        // how a stage runs, not what it computes: no part of the name
        'stages.eval.retries=2',
        'stages.eval.resources.memory_mb=1024',
      ],
    });
    expect(spec.points[0]!.name).toBe('lr=0.5 benchmark=hmdb51');
    expect(spec.points[0]!.overrides).toEqual({ 'finetune.lr': 0.5, 'stages.eval.with.benchmark': 'hmdb51' });
    expect(spec.points[0]!.assignment).toEqual({});
    // on a grid: the matrix values first, then the overrides
    const grid = await loadSpec(join(fixtures, 'valid.yaml'), { kinds, cwd: root, sets: ['finetune.lr=0.5'] });
    expect(grid.points.map((p) => p.name)).toContain('method=s2a k=20 lr=0.5');
  });

  it('sweeps a key from the command line with --set matrix.PATH=[...], checked like the file', async () => {
    const spec = await loadSpec(join(fixtures, 'single.yaml'), {
      kinds,
      cwd: root,
      sets: ['matrix.finetune.lr=[0.1, 0.5]'],
    });
    expect(spec.points.map((p) => p.name)).toEqual(['lr=0.1', 'lr=0.5']);
    expect(spec.points.map((p) => p.stages.finetune!.with.lr)).toEqual([0.1, 0.5]);
    expect(spec.points[1]!.assignment).toEqual({ 'finetune.lr': 0.5 });
    // an axis the file has: replaced
    const grid = await loadSpec(join(fixtures, 'valid.yaml'), { kinds, cwd: root, sets: ['matrix.finetune.k=[5]'] });
    expect(grid.points.map((p) => p.name)).toContain('method=s2a k=5');
    const problems = async (sets: string[]) =>
      loadSpec(join(fixtures, 'single.yaml'), { kinds, cwd: root, sets }).then(
        () => [],
        (e: SpecError) => e.issues,
      );
    const typo = await problems(['matrix.finetune.lrr=[0.1]']);
    expect(typo).toHaveLength(1);
    expect(typo[0]).toMatchObject({ code: 'unknown_path', file: '--set matrix.finetune.lrr=[0.1]' });
    expect(typo[0]!.hint).toContain('finetune.lr');
    const scalar = await problems(['matrix.finetune.lr=0.1']);
    expect(scalar[0]).toMatchObject({ code: 'invalid_set', path: 'matrix.finetune.lr' });
    expect(scalar[0]!.hint).toContain("--set 'matrix.finetune.lr=[0.1]'");
    const wrongType = await problems(['matrix.finetune.lr=["fast"]']);
    expect(wrongType[0]).toMatchObject({ path: 'stages.finetune.with.lr', file: '--set matrix.finetune.lr=["fast"]' });
  });

  it('resolves a --set path relative to the current folder', async () => {
    const spec = await loadSpec(join(fixtures, 'single.yaml'), { kinds, cwd: fixtures, sets: ['data.corpus=corpus'] });
    expect(spec.points[0]!.stages.parse!.runWith.corpus).toBe(join(fixtures, 'corpus'));
    expect(spec.points[0]!.stages.parse!.with.corpus).toBe('corpus');
  });

  it('prunes the stages to the targets and their ancestors', async () => {
    const spec = await loadSpec(join(fixtures, 'single.yaml'), {
      kinds,
      cwd: root,
      sets: ['settings.targets=[verbs]'],
    });
    expect(Object.keys(spec.points[0]!.stages)).toEqual(['parse', 'verbs']);
    expect(spec.settings.targets).toEqual(['verbs']);
  });
});

describe('interpolation', () => {
  it('keeps the type of a whole reference and stringifies embedded ones', async () => {
    const file = writeSpec(`name: interp
vars: { n: 20, method: keyword, label: "m=\${vars.method}" }
stages:
  train:
    uses: toy.train
    with: { k: "\${vars.n}", method: "\${vars.method}", tag: "k=\${train.k} \${vars.label} $\${literal}" }
`);
    const spec = await loadSpec(file, { kinds, cwd: tmp, env: {} });
    expect(spec.points[0]!.stages.train!.with).toEqual({
      k: 20,
      method: 'keyword',
      lr: 0.01,
      tag: 'k=20 m=keyword ${literal}',
    });
  });

  it('sees the matrix value of each point and params left at their default', async () => {
    const file = writeSpec(`name: interp-matrix
stages:
  train: { uses: toy.train, with: { tag: "k=\${train.k} lr=\${train.lr}" } }
matrix:
  train.k: [1, 2]
`);
    const spec = await loadSpec(file, { kinds, cwd: tmp, env: {} });
    expect(spec.points.map((p) => p.stages.train!.with.tag)).toEqual(['k=1 lr=0.01', 'k=2 lr=0.01']);
  });

  it('resolves a whole reference where a list belongs (needs) in each point', async () => {
    const file = writeSpec(`name: needs-ref
vars: { up: [verbs] }
stages:
  verbs: { uses: toy.mine }
  train: { uses: toy.train, needs: "\${vars.up}" }
`);
    const spec = await loadSpec(file, { kinds, cwd: tmp, env: {} });
    expect(spec.points[0]!.stages.train!.needs).toEqual(['verbs']);
    const bad = writeSpec(`name: needs-ref-bad
vars: { up: verbs }
stages:
  verbs: { uses: toy.mine }
  train: { uses: toy.train, needs: "\${vars.up}" }
`);
    const issues = await issuesOf(loadSpec(bad, { kinds, cwd: tmp, env: {} }));
    expect(issues.map((i) => [i.message, i.path, i.line])).toEqual([
      ['expected list, got string "verbs"', 'stages.train.needs', 5],
    ]);
  });

  it('reads the environment, with a default', async () => {
    const file = writeSpec(`name: env
stages:
  train: { uses: toy.train, with: { tag: "\${env:EXP_TAG}-\${env:EXP_OTHER,none}" } }
`);
    const spec = await loadSpec(file, { kinds, cwd: tmp, env: { EXP_TAG: 'night' } });
    expect(spec.points[0]!.stages.train!.with.tag).toBe('night-none');
    const issues = await issuesOf(loadSpec(file, { kinds, cwd: tmp, env: {} }));
    expect(issues[0]!.message).toContain('environment variable EXP_TAG is not set');
  });

  it('reports an unknown reference at the string holding it, with a did-you-mean', async () => {
    const file = writeSpec(`name: unknown-ref
vars: { method: s2a }
stages:
  train:
    uses: toy.train
    with: { method: "\${vars.metod}" }
`);
    const issues = await issuesOf(loadSpec(file, { kinds, cwd: tmp, env: {} }));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({
      code: 'unknown_reference',
      path: 'stages.train.with.method',
      line: 6,
      col: 21,
      hint: 'did you mean "${vars.method}"?',
    });
    expect(issues[0]!.message).toBe(
      'unknown reference ${vars.metod} in stages.train.with.method: vars.metod does not exist',
    );
  });

  it('reports a reference cycle with its chain', async () => {
    const file = writeSpec(`name: ref-cycle
vars: { a: "\${vars.b}", b: "x\${vars.a}" }
stages:
  train: { uses: toy.train, with: { tag: "\${vars.a}" } }
`);
    const issues = await issuesOf(loadSpec(file, { kinds, cwd: tmp, env: {} }));
    expect(issues.some((i) => i.code === 'reference_cycle' && /vars\.a → vars\.b → vars\.a/.test(i.message))).toBe(
      true,
    );
  });
});

describe('matrix', () => {
  it('accepts any key path and lists as values (needs as an axis)', async () => {
    const file = writeSpec(`name: needs-axis
stages:
  verbs: { uses: toy.mine }
  train: { uses: toy.train, needs: [verbs] }
settings: { targets: [train] }
matrix:
  stages.train.needs: [[verbs], []]
`);
    const spec = await loadSpec(file, { kinds, cwd: tmp, env: {} });
    expect(spec.points.map((p) => Object.keys(p.stages))).toEqual([['verbs', 'train'], ['train']]);
    expect(spec.points.map((p) => p.name)).toEqual(['needs=["verbs"]', 'needs=[]']);
  });

  it('drops an include point equal to a grid point and reports a grid emptied by exclude', async () => {
    const file = writeSpec(`name: dedupe
stages:
  train: { uses: toy.train }
matrix:
  train.k: [1]
  include: [{ train.k: 1 }]
`);
    expect((await loadSpec(file, { kinds, cwd: tmp, env: {} })).points).toHaveLength(1);
    const empty = writeSpec(`name: empty-grid
stages:
  train: { uses: toy.train }
matrix:
  train.k: [1]
  exclude: [{ train.k: 1 }]
`);
    const issues = await issuesOf(loadSpec(empty, { kinds, cwd: tmp, env: {} }));
    expect(issues[0]!.message).toContain('exclude removes every combination');
  });

  it('excludes on a param left at its default', async () => {
    const file = writeSpec(`name: exclude-default
stages:
  train: { uses: toy.train }
matrix:
  train.k: [1, 2]
  exclude: [{ train.k: 2, train.method: s2a }]
`);
    expect((await loadSpec(file, { kinds, cwd: tmp, env: {} })).points.map((p) => p.name)).toEqual(['k=1']);
  });

  it('expands a 10x10x10 grid into 1,000 points with distinct ids', async () => {
    const values = `[${Array.from({ length: 10 }, (_, i) => i).join(', ')}]`;
    const file = writeSpec(`name: big
stages:
  verbs: { uses: toy.mine }
  train: { uses: toy.train, needs: [verbs] }
matrix:
  verbs.min_count: ${values.replace('[0, ', '[10, ')}
  verbs.drop_top: ${values}
  train.k: ${values}
`);
    const spec = await loadSpec(file, { kinds, cwd: tmp, env: {} });
    expect(spec.points).toHaveLength(1000);
    expect(new Set(spec.points.map((p) => p.id)).size).toBe(1000);
    expect(spec.points[999]!.stages.train!.with.k).toBe(9);
  });
});

describe('file positions', () => {
  it('points an error in an inherited key into the base file', async () => {
    mkdirSync(join(tmp, 'base'), { recursive: true });
    writeFileSync(join(tmp, 'base/b.yaml'), 'stages:\n  verbs:\n    uses: toy.mine\n    with:\n      min_count: 0\n');
    const file = writeSpec('name: child\nextends: base/b.yaml\n');
    const issues = await issuesOf(loadSpec(file, { kinds, cwd: tmp, env: {} }));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({
      code: 'too_small',
      path: 'stages.verbs.with.min_count',
      file: 'base/b.yaml',
      line: 5,
      col: 18,
    });
    expect(issues[0]!.message).toBe('expected a number >= 1, got integer 0');
  });

  it('points an error in a matrix value at the value in the matrix', async () => {
    const file = writeSpec(`name: matrix-type
stages:
  train: { uses: toy.train }
matrix:
  train.k: [1, "two"]
`);
    const issues = await issuesOf(loadSpec(file, { kinds, cwd: tmp, env: {} }));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: 'stages.train.with.k', line: 5, col: 16 });
    expect(issues[0]!.message).toBe('expected integer, got string "two"');
  });
});
