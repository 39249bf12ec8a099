// The report of a small real run of the demo's grid (Tables 4 and 3, k = 0 and 2, a tiny world and
// network), opened in the machine's Chromium as a user would: from disk, and inside a sandboxed
// iframe from a Blob URL as the MLflow UI shows an HTML artifact. Nothing may log an error or ask
// the network for anything; every table and chart must show what the run records hold.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath, openChromium } from '../helpers/chromium.ts';
import { runExp } from '../helpers/exp.ts';
import { repoRoot } from '../helpers/repo.ts';

// The page's DOM, as far as the checks below use it (they run in the browser; the project compiles
// without the DOM library).
interface DomNode {
  id: string;
  style: Record<string, string>;
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  getAttribute(name: string): string | null;
  setAttribute(name: string, value: string): void;
  querySelectorAll(selector: string): Iterable<DomNode> & ArrayLike<DomNode>;
  append(child: DomNode): void;
  src: string;
}
declare const document: {
  body: DomNode;
  querySelector(selector: string): DomNode | null;
  querySelectorAll(selector: string): Iterable<DomNode> & ArrayLike<DomNode>;
  createElement(tag: string): DomNode;
};

const spec = path.join(repoRoot, 'test/fixtures/report/tiny-paper.yaml');
const AVA_CLASSES = 14;

interface RunPoint {
  id: string;
  name: string;
  params: Record<string, unknown>;
  metrics: Record<string, number>;
}
interface Invocation {
  id: string;
  mlflowRunId: string;
  points: { id: string; nodes: Record<string, string> }[];
}

let runs: string;
let report: string;
let points: RunPoint[];
let invocation: Invocation;
let context: Awaited<ReturnType<typeof openChromium>>;

/** Counts of data marks in each chart of a page or frame, as Vega draws them (reference lines aside). */
async function chartMarks(where: Page | Frame) {
  return where.evaluate(() =>
    [...document.querySelectorAll('figure.chart')].map((f) => {
      const counts: Record<string, number> = {};
      for (const g of f.querySelectorAll('svg g.role-mark')) {
        if (/reference/.test(g.getAttribute('class') ?? '')) continue;
        const type = /mark-(\w+)/.exec(g.getAttribute('class') ?? '')?.[1] ?? '?';
        const items = g.querySelectorAll(':scope > path, :scope > text').length;
        if (items > 0) counts[type] = (counts[type] ?? 0) + (type === 'line' ? 1 : items);
      }
      return {
        chart: f.dataset.chart ?? '',
        expected: JSON.parse(f.dataset.marks ?? '{}') as Record<string, number>,
        live: f.dataset.live === 'true',
        wantsLive: f.dataset.vega === 'true',
        counts,
      };
    }),
  );
}

function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  page.on('request', (r) => {
    if (!r.url().startsWith('file://') && !r.url().startsWith('blob:') && !r.url().startsWith('about:'))
      problems.push(`network request: ${r.url()}`);
  });
  return problems;
}

beforeAll(async () => {
  chromiumPath(); // no Chromium: fail at once, saying what to install, before the run
  runs = mkdtempSync(path.join(os.tmpdir(), 'exp-report-browser-'));
  // the report as `exp run` writes it by default (the test config turns that off for other tests)
  const r = await runExp(['run', spec, '--runs', runs, '--json', '--quiet'], { ...process.env, EXP_REPORT: '1' });
  expect(r.code, r.err).toBe(0);
  const result = r.json<{ points: RunPoint[]; report: string }>();
  points = result.points;
  report = result.report;
  const dir = path.join(runs, 'invocations');
  invocation = JSON.parse(readFileSync(path.join(dir, readdirSync(dir)[0]!), 'utf8')) as Invocation;
  context = await openChromium();
}, 600_000);

afterAll(async () => {
  await context?.close();
});

describe('the report in Chromium', () => {
  it('is written where the run says, and logged into the MLflow parent run', () => {
    expect(report).toBe(path.join(runs, 'reports', `tiny-paper-${invocation.id}.html`));
    const mlruns = path.join(runs, 'mlruns');
    const experiment = readdirSync(mlruns).find((d) => /^\d+$/.test(d) && d !== '0')!;
    const artifacts = path.join(mlruns, experiment, invocation.mlflowRunId, 'artifacts', 'report');
    expect(readdirSync(artifacts)).toEqual([path.basename(report)]);
  });

  it('opens from disk with no error and no request, and shows every table and chart as the records say', async () => {
    const page = await context.newPage();
    const problems = watch(page);
    await page.goto(`file://${report}`);
    await page.waitForFunction(() => document.body.dataset.charts === 'ready', null, { timeout: 60_000 });

    // ids are page-wide: two charts' clip paths must not share one
    const ids = await page.evaluate(() => [...document.querySelectorAll('[id]')].map((e) => e.id));
    expect(ids.length - new Set(ids).size).toBe(0);

    // Points: one row per point, named by its values
    const pointRows = await page.$$eval('table[data-table=points] tbody tr td:first-child', (tds) =>
      tds.map((td) => td.textContent),
    );
    expect(pointRows).toEqual(points.map((p) => p.name));

    // Table 4: one row per AVA evaluation; n/a exactly where a class has no AP
    const ava = points.filter((p) => 'video.ava_clip_map' in p.metrics);
    expect(ava).toHaveLength(5);
    const t4 = await page.$$eval('table[data-table=table4] tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
    );
    expect(t4).toHaveLength(ava.length);
    const head4 = await page.$$eval('table[data-table=table4] thead th', (ths) => ths.map((th) => th.textContent));
    expect(head4.slice(0, 2)).toEqual(['pre-training', 'k']);
    expect(head4).toHaveLength(2 + AVA_CLASSES + 2); // the classes, the mean, the point
    for (const row of t4) {
      const p = ava.find((x) => x.name === row.at(-1))!;
      expect(row.at(-2)).toBe(p.metrics['video.ava_clip_map']!.toFixed(3));
      const missing = head4.slice(2, 2 + AVA_CLASSES).filter((c) => !(`video.ava_clip_ap.${c}` in p.metrics)).length;
      expect(row.filter((c) => c === 'n/a')).toHaveLength(missing);
      expect(row[0]).toBe(
        p.params['finetune.init'] === 'scratch'
          ? 'none (scratch)'
          : p.params['mining.method'] === 's2a'
            ? 'S2A-mined'
            : 'keyword-mined',
      );
    }
    // Table 3: one row per HMDB51 evaluation (shared by the points of one pre-training)
    const hmdbNodes = new Set(invocation.points.map((p) => p.nodes.eval_hmdb));
    const t3 = await page.$$eval('table[data-table=table3] tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
    );
    expect(t3.map((r) => r[0])).toEqual(['none (scratch)', 'keyword-mined', 'S2A-mined']);
    expect(t3).toHaveLength(hmdbNodes.size);
    // pre-training, accuracy, test videos, the point(s)
    for (const row of t3) {
      const p = points.find((x) => x.name === row.at(-1)!.replace(/ and \d+ more points?$/, ''))!;
      expect(row[1]).toBe(p.metrics['video.hmdb51_accuracy']!.toFixed(3));
      expect(row[2]).toBe(String(p.metrics['video.hmdb51_test_videos']));
    }

    // Charts: every one drawn, live where it has a legend, with as many marks as its data has
    const charts = await chartMarks(page);
    expect(charts.length).toBeGreaterThan(10);
    for (const c of charts) {
      expect(c.counts, c.chart).toEqual(c.expected);
      expect(
        Object.values(c.counts).reduce((a, b) => a + b, 0),
        c.chart,
      ).toBeGreaterThan(0);
      if (c.wantsLive) expect(c.live, c.chart).toBe(true);
    }
    // the cross-point charts: mAP against k (one line per pre-training, one dot per AVA point) ...
    const apk = charts.find((c) => c.chart === 'ap-vs-k')!;
    expect(apk.counts).toEqual({ line: 3, symbol: ava.length });
    // ... S2A- vs keyword-mined AP per class at each k (a dot per class with AP after both) ...
    const paired = charts.find((c) => c.chart === 's2a-vs-keyword')!;
    const pairs = [0, 2].flatMap((k) => {
      const at = (m: string) => ava.find((p) => p.params['mining.method'] === m && p.params['finetune.k'] === k)!;
      return Object.keys(at('keyword').metrics).filter(
        (key) => key.startsWith('video.ava_clip_ap.') && key in at('s2a').metrics,
      );
    });
    expect(paired.counts.symbol).toBe(pairs.length);
    // ... and one AP bar chart per AVA evaluation: a bar per class with positives, n/a for the rest
    const apCharts = charts.filter((c) => c.chart === 'ap');
    expect(apCharts).toHaveLength(ava.length);
    const bars = ava.reduce(
      (n, p) => n + Object.keys(p.metrics).filter((k) => k.startsWith('video.ava_clip_ap.')).length,
      0,
    );
    expect(apCharts.reduce((n, c) => n + (c.counts.rect ?? 0), 0)).toBe(bars);
    expect(apCharts.every((c) => c.counts.text === AVA_CLASSES)).toBe(true);
    expect(charts.some((c) => c.chart.startsWith('loss-'))).toBe(true);

    // hovering a dot says what it is; clicking "S2A-mined" in the legend dims the other lines
    const apkFigure = 'figure[data-chart="ap-vs-k"]';
    await page.hover(`${apkFigure} g.mark-symbol.role-mark path >> nth=0`);
    await page.waitForFunction(
      (sel) => /pre-training: .+\nk: \d+\nclip mAP: \d/.test(document.querySelector(sel)?.getAttribute('title') ?? ''),
      `${apkFigure} .plot > div`,
    );
    const legend = page.locator(`${apkFigure} g.role-legend-label text`);
    expect(await legend.allTextContents()).toEqual(['none (scratch)', 'keyword-mined', 'S2A-mined']);
    await legend.nth(2).click();
    await page.waitForFunction(
      (sel) => [...document.querySelectorAll(sel)].map((p) => p.getAttribute('opacity')).join(' ') === '0.12 0.12 1',
      `${apkFigure} g.mark-line.role-mark path`,
    );

    mkdirSync(path.join(repoRoot, 'coverage'), { recursive: true });
    await page.screenshot({ path: path.join(repoRoot, 'coverage', 'report-browser.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  }, 120_000);

  it('works inside a sandboxed iframe from a Blob URL, as the MLflow UI shows it', async () => {
    const page = await context.newPage();
    const problems = watch(page);
    await page.setContent('<!doctype html><title>artifact viewer</title><body></body>');
    await page.evaluate(
      (html) => {
        const frame = document.createElement('iframe');
        frame.setAttribute('sandbox', 'allow-scripts');
        frame.style.width = '1300px';
        frame.style.height = '800px';
        frame.src = URL.createObjectURL(new Blob([html], { type: 'text/html' }));
        document.body.append(frame);
      },
      readFileSync(report, 'utf8'),
    );
    const frame = await (await page.waitForSelector('iframe')).contentFrame();
    await frame!.waitForFunction(() => document.body?.dataset.charts === 'ready', null, { timeout: 60_000 });
    const charts = await chartMarks(frame!);
    expect(charts.length).toBeGreaterThan(10);
    for (const c of charts) expect(c.counts, c.chart).toEqual(c.expected);
    expect(await frame!.$$eval('table[data-table=table4] tbody tr', (t) => t.length)).toBe(5);
    expect(problems).toEqual([]);
    await page.close();
  }, 120_000);
});
