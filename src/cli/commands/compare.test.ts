// `exp compare` over real runs of the engine's test grid: every invocation of the spec counts,
// points are named by their values (matrix and --set), the text fits its width.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runExp } from '../../../test/helpers/exp.ts';
import { repoRoot } from '../../../test/helpers/repo.ts';

const plugin = path.join(repoRoot, 'test/fixtures/plugins/test-kinds.ts');
const grid = path.join(repoRoot, 'test/fixtures/engine/grid.yaml');
const exp = (args: string[]) => runExp(args, { ...process.env, EXP_PLUGINS: plugin });

interface Table {
  experiment: string;
  params: string[];
  metrics: string[];
  rows: { id: string; name: string; status: string; values: Record<string, unknown>; runs: number }[];
  invocations: { id: string }[];
}

let runs: string;
beforeAll(async () => {
  runs = mkdtempSync(path.join(os.tmpdir(), 'exp-compare-'));
  // three invocations: the 2×3 grid; one point of it again (cached); a sweep made on the command line
  for (const extra of [
    [],
    ['--set', 'mid.value=1', '--set', 'top.value=300'],
    ['--set', 'matrix.top.value=[7]', '--set', 'base.value=5'],
  ]) {
    const r = await exp(['run', grid, '--runs', runs, '--no-track', '--quiet', ...extra]);
    expect(r.code, r.err).toBe(0);
  }
}, 120_000);

describe('exp compare', () => {
  it('lists every point of every invocation once, named by the values that define it', async () => {
    const r = await exp(['compare', grid, '--runs', runs, '--json']);
    expect(r.code, r.err).toBe(0);
    const t = JSON.parse(r.out) as Table;
    expect(t.experiment).toBe('engine-grid');
    expect(t.invocations).toHaveLength(3);
    const names = t.rows.map((x) => x.name);
    expect(names).toEqual([
      'mid.value=1 top.value=7 base.value=5',
      'mid.value=2 top.value=7 base.value=5',
      'mid.value=1 top.value=300',
      'mid.value=1 top.value=100',
      'mid.value=1 top.value=200',
      'mid.value=2 top.value=100',
      'mid.value=2 top.value=200',
      'mid.value=2 top.value=300',
    ]);
    expect(names).not.toContain('default');
    // the point run twice counts both runs; the sweep's override is a column like the matrix's
    expect(t.rows.find((x) => x.name === 'mid.value=1 top.value=300')!.runs).toBe(2);
    expect(t.params).toEqual(['mid.value', 'top.value', 'base.value']);
    expect(t.rows[0]!.values).toEqual({ 'mid.value': 1, 'top.value': 7, 'base.value': 5 });
    // no kind declares headline metrics here: every metric but curves and timings
    expect(t.metrics).toEqual(['total']);
  });

  it('prints a table no wider than the terminal; a glob picks the metric columns', async () => {
    const r = await exp(['compare', grid, '--runs', runs]);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^engine-grid: 8 points from 3 invocations/);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(100);
    expect(r.out).toMatch(/mid\.value=1 top\.value=7 base\.value=5\s+13\s+1\s+\d\d-\d\d \d\d:\d\d/);
    const narrow = await exp(['compare', grid, '--runs', runs, '--metric', 't?t*', '--width', '40']);
    expect(narrow.code, narrow.err).toBe(0);
    for (const line of narrow.out.trimEnd().split('\n')) expect(line.length).toBeLessThanOrEqual(40);
    const none = await exp(['compare', grid, '--runs', runs, '--metric', 'video.*']);
    expect(none.out).toContain('(no metric matches video.*');
  });

  it('--csv, --invocation and --sort', async () => {
    const csv = await exp(['compare', grid, '--runs', runs, '--csv', '--sort', '-total']);
    expect(csv.code, csv.err).toBe(0);
    const lines = csv.out.trimEnd().split('\n');
    expect(lines[0]).toBe('point,id,status,mid.value,top.value,base.value,total,runs,last_invocation');
    expect(lines).toHaveLength(9);
    expect(lines[1]).toMatch(/^mid\.value=2 top\.value=300,[0-9a-f]{12},done,2,300,,312,1,/);
    const all = JSON.parse((await exp(['compare', 'engine-grid', '--runs', runs, '--json'])).out) as Table;
    const first = all.invocations.at(-1)!.id;
    const one = JSON.parse(
      (await exp(['compare', grid, '--runs', runs, '--json', '--invocation', first])).out,
    ) as Table;
    expect(one.rows).toHaveLength(6);
  });

  it('exp plan --json and exp show: a point by its matrix and --set values; an invocation by its report', async () => {
    const plan = await exp([
      'plan',
      grid,
      '--runs',
      runs,
      '--json',
      '--set',
      'matrix.top.value=[7]',
      '--set',
      'base.value=5',
    ]);
    expect(plan.code, plan.err).toBe(0);
    const planned = JSON.parse(plan.out) as {
      points: { id: string; name: string; params: unknown; overrides: unknown }[];
    };
    expect(planned.points.map((p) => [p.name, p.params, p.overrides])).toEqual([
      ['mid.value=1 top.value=7 base.value=5', { 'mid.value': 1, 'top.value': 7 }, { 'base.value': 5 }],
      ['mid.value=2 top.value=7 base.value=5', { 'mid.value': 2, 'top.value': 7 }, { 'base.value': 5 }],
    ]);
    const point = await exp(['show', planned.points[0]!.id, '--runs', runs]);
    expect(point.code, point.err).toBe(0);
    expect(point.out).toContain('matrix values:  mid.value=1 top.value=7\n--set values:   base.value=5\n');
    expect(point.out).toMatch(/\nparams:\n {2}base: \{[^\n]*"value":5/);
    const invocation = (JSON.parse((await exp(['compare', grid, '--runs', runs, '--json'])).out) as Table)
      .invocations[0]!.id;
    const before = await exp(['show', invocation, '--runs', runs]);
    expect(before.out).toContain(`report: none yet (exp report ${invocation} writes it)`);
    expect((await exp(['report', invocation, '--runs', runs, '--no-track'])).code).toBe(0);
    const after = await exp(['show', invocation, '--runs', runs]);
    expect(after.out).toContain(`report: ${path.join(runs, 'reports', `engine-grid-${invocation}.html`)}\n`);
  });

  it('refuses bad arguments with a hint, and says which experiments exist', async () => {
    let r = await exp(['compare', '--runs', runs]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('which spec or experiment?');
    r = await exp(['compare', grid, '--runs', runs, '--frobnicate']);
    expect(r.code).toBe(2);
    r = await exp(['compare', grid, '--runs', runs, '--sort', 'nope']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('cannot sort by "nope"');
    r = await exp(['compare', grid, '--runs', runs, '--json', '--csv']);
    expect(r.code).toBe(2);
    r = await exp(['compare', 'nothing-here', '--runs', runs]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('EXP_NOT_FOUND');
    expect(r.err).toContain('invocations there are of: engine-grid');
    const bad = path.join(runs, 'bad.yaml');
    writeFileSync(bad, 'name: [unclosed\n');
    r = await exp(['compare', bad, '--runs', runs]);
    expect(r.code).toBe(2);
  });
});
