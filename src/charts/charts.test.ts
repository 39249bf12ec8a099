import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import {
  barChart,
  compileToVega,
  countSvgMarks,
  groupedBarChart,
  lineChart,
  readChart,
  renderSvg,
  scatterChart,
  writeChart,
} from './index.ts';
import { SERIES_COLOURS, SERIES_DASHES } from './palette.ts';

/** The domain Vega gives a scale of a chart once its data flowed (what the axis shows). */
async function domainOf(spec: Record<string, unknown>, scale: string): Promise<unknown[]> {
  const vega = await import('vega');
  const view = new vega.View(vega.parse(await compileToVega(spec)), { renderer: 'none' });
  await view.runAsync();
  const domain = (view.scale(scale) as unknown as { domain(): unknown[] }).domain();
  view.finalize();
  return domain;
}

const curve = (k: number) => Array.from({ length: 11 }, (_, i) => ({ x: i / 10, y: 1 - (i / 10) ** (1 + k / 4) }));

describe('charts', () => {
  it('keeps 20 series apart: every line has its own colour, neighbours differ in dash too', async () => {
    const series = Array.from({ length: 20 }, (_, k) => ({ name: `verb ${k}`, points: curve(k) }));
    const chart = lineChart({
      name: 'pr',
      title: 'PR',
      x: { title: 'recall', domain: [0, 1] },
      y: { title: 'precision', domain: [0, 1] },
      seriesTitle: 'verb',
      points: false,
      series,
    });
    const svg = await renderSvg(chart);
    expect(countSvgMarks(svg)).toEqual({ line: 20 });
    expect(chart.marks).toEqual({ line: 20 });
    const strokes = [...svg.matchAll(/<g class="mark-line role-mark[^>]*><path [^>]*stroke="(#[0-9a-f]{6})"/g)].map(
      (m) => m[1],
    );
    expect(new Set(strokes).size).toBe(20);
    expect(new Set(SERIES_COLOURS).size).toBe(20);
    for (let i = 1; i < 20; i++) expect(SERIES_DASHES[i % 5]).not.toEqual(SERIES_DASHES[(i - 1) % 5]);
    expect(svg).toContain('verb 19'); // the legend names the last series
    expect(() => lineChart({ ...chartArgs(), series: [...series, { name: 'one more', points: curve(1) }] })).toThrow(
      /21 series, more than the 20/,
    );
  });

  it('draws a class without positives as "n/a", not as a bar of 0, and names each class\'s positives', async () => {
    const chart = barChart({
      name: 'ap',
      title: 'AVA clip AP',
      value: { title: 'AP', domain: [0, 1] },
      category: 'AVA class',
      bars: [
        { label: 'answer phone', value: 0.5, positives: 12 },
        { label: 'dance', value: null, positives: 0 },
        { label: 'kiss', value: 0, positives: 3 },
      ],
    });
    const svg = await renderSvg(chart);
    // two bars (0.5 and a real 0), three value labels, one of them "n/a"
    expect(countSvgMarks(svg)).toEqual({ rect: 2, text: 3 });
    expect(chart.marks).toEqual({ rect: 2, text: 3 });
    expect(svg).toContain('>n/a<');
    expect(svg).toContain('>0.00<');
    for (const label of ['answer phone (12)', 'dance (0)', 'kiss (3)']) expect(svg).toContain(label);
    expect(await domainOf(chart.spec, 'y')).toEqual([0, 1]);
  });

  it('draws the same chart as the same bytes however many charts the process drew before', async () => {
    const chart = () =>
      barChart({
        name: 'yield',
        title: 'clips',
        value: { title: 'clips' },
        category: 'verb',
        bars: [{ label: 'run', value: 3 }],
      });
    const first = await renderSvg(chart());
    await renderSvg(
      lineChart({
        name: 'pr',
        title: 'PR',
        x: { title: 'recall' },
        y: { title: 'precision' },
        seriesTitle: 'verb',
        series: [{ name: 'a', points: curve(1) }],
      }),
    );
    const again = await renderSvg(chart());
    expect(again).toBe(first);
    // clip paths still resolve to their definitions
    for (const m of first.matchAll(/url\(#([^)]+)\)/g)) expect(first).toContain(`id="${m[1]}"`);
  });

  it('scales axes to cover the data when no domain is fixed', async () => {
    const chart = barChart({
      name: 'yield',
      title: 'clips mined per class',
      value: { title: 'clips' },
      category: 'verb',
      horizontal: true,
      sort: 'descending',
      bars: [
        { label: 'phone', value: 12 },
        { label: 'open', value: 137 },
        { label: 'kiss', value: 0 },
      ],
    });
    const [lo, hi] = (await domainOf(chart.spec, 'x')) as number[];
    expect(lo).toBe(0);
    expect(hi).toBeGreaterThanOrEqual(137);
    // largest first
    expect(await domainOf(chart.spec, 'y')).toEqual(['open', 'phone', 'kiss']);
    const line = lineChart({
      ...chartArgs(),
      y: { title: 'loss' },
      series: [
        {
          name: 'train',
          points: [
            { x: 1, y: 3.2 },
            { x: 2, y: 7.9 },
          ],
        },
      ],
    });
    const [ylo, yhi] = (await domainOf(line.spec, 'y')) as number[];
    expect(ylo).toBeLessThanOrEqual(3.2);
    expect(yhi).toBeGreaterThanOrEqual(7.9);
  });

  it('grouped bars: one bar per (category, series) with a value, n/a for the others', async () => {
    const chart = groupedBarChart({
      name: 'ap_bars',
      title: 'AP per verb',
      value: { title: 'AP', domain: [0, 1] },
      category: 'verb',
      categories: ['open', 'phone', 'kiss'],
      positives: [4, 9, 0],
      seriesTitle: 'method',
      series: [
        { name: 'S2A', values: [0.3, 0.5, null] },
        { name: 'keyword', values: [0.1, 0.6, null] },
      ],
    });
    const svg = await renderSvg(chart);
    expect(countSvgMarks(svg)).toEqual({ rect: 4, text: 2 });
    expect(chart.marks).toEqual({ rect: 4, text: 2 });
    expect(svg).toContain('phone (9)');
  });

  it('scatter with a y = x reference: points and labels counted, the reference line not', async () => {
    const chart = scatterChart({
      name: 's2a_vs_keyword',
      title: 'S2A vs keyword AP per verb',
      x: { title: 'keyword AP', domain: [0, 1] },
      y: { title: 'S2A AP', domain: [0, 1] },
      diagonal: true,
      labels: true,
      points: [
        { x: 0.1, y: 0.3, label: 'open' },
        { x: 0.6, y: 0.5, label: 'phone' },
        { x: Number.NaN, y: 0.5, label: 'kiss' },
      ],
    });
    const svg = await renderSvg(chart);
    expect(countSvgMarks(svg)).toEqual({ symbol: 2, text: 2 });
    expect(chart.marks).toEqual({ symbol: 2, text: 2 });
  });

  it('writes the spec, SVG and a PNG with text set in a real font; reads the chart back', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'exp-charts-'));
    const chart = lineChart(chartArgs());
    const files = await writeChart(dir, chart);
    expect(files).toEqual({ spec: 'pr.vl.json', svg: 'pr.svg', png: 'pr.png' });
    const svg = readFileSync(path.join(dir, files.svg), 'utf8');
    const width = Number(/<svg[^>]* width="(\d+)"/.exec(svg)![1]);
    const png = PNG.sync.read(readFileSync(path.join(dir, files.png)));
    expect(png.width).toBe(2 * width); // drawn at twice the SVG's size
    // the title "PR curves" is drawn: dark pixels in the top-left corner where it stands
    let dark = 0;
    for (let y = 0; y < 40; y++) for (let x = 0; x < 200; x++) if (png.data[(y * png.width + x) * 4]! < 100) dark++;
    expect(dark).toBeGreaterThan(100);
    const back = await readChart(path.join(dir, files.spec));
    expect(back).toMatchObject({ name: 'pr', title: 'PR curves', marks: chart.marks });
    expect(back.spec).toEqual(chart.spec);
  });

  it('refuses a chart name that is not a plain file stem', () => {
    expect(() => lineChart({ ...chartArgs(), name: '../evil' })).toThrow(/not a plain file stem/);
  });
});

function chartArgs() {
  return {
    name: 'pr',
    title: 'PR curves',
    x: { title: 'recall', domain: [0, 1] as [number, number] },
    y: { title: 'precision', domain: [0, 1] as [number, number] },
    seriesTitle: 'verb',
    series: [{ name: 'open', points: curve(1) }],
  };
}
