// The report's generic machinery on real runs of the engine's test grid (test.add nodes): tables
// and charts a kind declares, the page's parts, and `exp report` / `exp run` around them.
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runExp } from '../../test/helpers/exp.ts';
import { repoRoot } from '../../test/helpers/repo.ts';
import type { KindReport } from '../plan/stage-kind.ts';
import { buildReport } from './build.ts';
import { buildCharts, buildTable, type Declaration } from './declared.ts';
import { readRunSet, selectInvocations } from './records.ts';

const plugin = path.join(repoRoot, 'test/fixtures/plugins/test-kinds.ts');
const grid = path.join(repoRoot, 'test/fixtures/engine/grid.yaml');
const exp = (args: string[], env: Record<string, string> = {}) =>
  runExp(args, { ...process.env, EXP_PLUGINS: plugin, ...env });

/** What a plugin would declare for test.add: its points by the `value` of the test.add upstream. */
const declared: Declaration = {
  kind: 'test.add',
  report: {
    axes: { upstream: { title: 'upstream value', kind: 'test.add', param: 'value' } },
    tables: [
      {
        id: 'totals',
        title: 'Totals by upstream value',
        when: { note: '' },
        rows: ['upstream'],
        columns: [{ metric: 'total', title: 'total' }],
        best: 'max',
      },
    ],
    charts: [
      { type: 'bars', id: 'totals-bars', title: 'total', metrics: 't*', series: 'upstream', valueTitle: 'total' },
    ],
  } satisfies KindReport,
};

let runs: string;
beforeAll(async () => {
  runs = mkdtempSync(path.join(os.tmpdir(), 'exp-report-'));
  const r = await exp(['run', grid, '--runs', runs, '--quiet', '--no-track']);
  expect(r.code, r.err).toBe(0);
}, 120_000);

describe('report', () => {
  it('lays out what a kind declares, one row per distinct node, axes from its nearest upstream node', async () => {
    const set = await readRunSet(runs, await selectInvocations(runs, {}));
    expect(set.points).toHaveLength(6);
    const table = buildTable(declared, declared.report.tables![0]!, set.points)!;
    // nodes of test.add: 1 base + 2 mid + 6 top; each row reads `value` from its nearest upstream
    // test.add node: base has none (row left out), mid → base (10), top → its mid (1 or 2)
    expect(table.rows.map((r) => r.cells[0]!.text)).toEqual(['1', '1', '1', '2', '2', '2', '10', '10']);
    const totals = table.rows.map((r) => r.cells[1]!.text);
    expect(totals).toEqual(['111', '211', '311', '112', '212', '312', '11', '12']);
    expect(table.rows.filter((r) => r.cells[1]!.best).map((r) => r.cells[1]!.text)).toEqual(['312']);
    // the mid node with value 1 is shared by three points: one row, named after them
    expect(table.rows[6]!.cells.at(-1)!.text).toMatch(/^mid\.value=1 top\.value=100 and 2 more points$/);
    const charts = buildCharts(declared, set.points);
    expect(charts.map((c) => c.id)).toEqual(['totals-bars']);
    expect(charts[0]!.chart.marks).toEqual({ rect: 3 }); // values 1, 2, 10: one bar each
  });

  it('writes one page with ids unique page-wide, the tables, the charts and the spec as run', async () => {
    const invocations = await selectInvocations(runs, {});
    const set = await readRunSet(runs, invocations);
    const file = path.join(runs, 'out', 'r.html');
    const r = await buildReport(set, { declarations: [declared], scope: invocations[0]!.id, file });
    expect(r).toMatchObject({ file, tables: 1 });
    const html = readFileSync(file, 'utf8');
    expect(r.bytes).toBe(Buffer.byteLength(html));
    // one chart per declared chart, one per loss curve (none here), one per headline metric that varies
    expect(r.charts).toBe(2);
    expect(html).toContain('data-table="totals" data-rows="8"');
    expect(html).toContain('data-table="points" data-rows="6"');
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(ids.length - new Set(ids).size).toBe(0);
    expect(html).toMatch(/<pre>[^<]*uses: test.add[^<]*mid.value:/); // the spec as run
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)="https?:/); // nothing fetched
    // every point has its section, with its values and its nodes' logs
    for (const p of set.points) expect(html).toContain(`id="point-${p.id}"`);
    expect(html).toContain(`href="../logs/${set.points[0]!.nodes[0]!.key}.log"`);
  });

  it('exp report: the latest invocation by default; --all over every run of the spec; --json', async () => {
    const again = await exp(['run', grid, '--runs', runs, '--quiet', '--no-track', '--set', 'base.value=20']);
    expect(again.code, again.err).toBe(0);
    const one = await exp(['report', '--runs', runs, '--json']);
    expect(one.code, one.err).toBe(0);
    const j = JSON.parse(one.out) as { file: string; tracked: boolean };
    expect(path.basename(j.file)).toMatch(/^engine-grid-\d{8}-\d{6}-[0-9a-f]{4}\.html$/);
    expect(j.tracked).toBe(false); // --no-track runs have no MLflow parent run
    expect(readFileSync(j.file, 'utf8')).toContain('data-table="points" data-rows="6"');
    const all = await exp(['report', grid, '--all', '--runs', runs, '--out', path.join(runs, 'all.html')]);
    expect(all.code, all.err).toBe(0);
    expect(all.out).toMatch(/^report: .*all\.html \(\d+ KB, \d+ charts, 0 tables, [\d.]+ s\)\n$/);
    expect(readFileSync(path.join(runs, 'all.html'), 'utf8')).toContain('data-table="points" data-rows="12"');
    const bad = await exp(['report', 'no-such-spec', '--runs', runs]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('invocations there are of: engine-grid');
  });

  it('exp run writes the report at the end, logs it into the MLflow parent run and prints its path last', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'exp-report-run-'));
    const r = await exp(['run', grid, '--runs', dir, '--set', 'matrix.top.value=[5]'], { EXP_REPORT: '1' });
    expect(r.code, r.err).toBe(0);
    const last = r.out.trimEnd().split('\n').at(-1)!;
    expect(last).toMatch(/^report: .*engine-grid-.*\.html \(\d+ charts?, \d+ KB; also in the MLflow parent run/);
    const file = path.join(dir, 'reports', readdirSync(path.join(dir, 'reports'))[0]!);
    expect(existsSync(file)).toBe(true);
    const mlruns = path.join(dir, 'mlruns');
    const reports = readdirSync(mlruns).flatMap((e) =>
      /^\d+$/.test(e) && e !== '0'
        ? readdirSync(path.join(mlruns, e)).flatMap((run) => {
            const d = path.join(mlruns, e, run, 'artifacts', 'report');
            return existsSync(d) ? readdirSync(d) : [];
          })
        : [],
    );
    expect(reports).toEqual([path.basename(file)]);
  }, 120_000);
});
