// `exp report`: one self-contained HTML page for an invocation (or every run of a spec) from the
// run records alone: the points and their headline metrics, the tables and charts the stage kinds
// declare (a paper's tables), training curves, each point's values, metrics, charts, logs and
// artifacts, the inputs stages skipped, and the spec as run.
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../atomic.ts';
import { type Chart, compileToVega, renderSvg, vegaBrowserRuntime } from '../charts/index.ts';
import { buildCharts, buildTable, type Declaration, formatMetric, type TableModel, wholeColumn } from './declared.ts';
import { commonValues, distinctNodes, headlineCharts, lossCharts, nodeCharts, readSvg } from './generic.ts';
import { anchor, esc, STYLE, scriptJson, scriptSource, UPGRADE_SCRIPT } from './html.ts';
import { describeValues, type NodeRecord, type RunSet } from './records.ts';

export interface ReportOptions {
  /** Where the HTML goes (default `<runs>/reports/<name>-<invocation>.html`). */
  file?: string;
  /** Declarations of the registered kinds (`StageKind.report`). */
  declarations: Declaration[];
  /** What the report is of, for its title: an invocation id or `all runs`. */
  scope: string;
}

export interface ReportResult {
  file: string;
  bytes: number;
  /** Charts in the page (each an SVG; `live` of them also interactive). */
  charts: number;
  live: number;
  tables: number;
  ms: number;
}

interface Figure {
  id: string;
  chart: Chart;
  svg: string;
  /** A Vega spec for a live view (charts with series: tooltips and a legend that filters). */
  vega?: Record<string, unknown>;
  links: { label: string; href: string }[];
  note?: string;
}

/** `runs/reports/<spec name>-<invocation>.html` */
export function defaultReportFile(runsDir: string, name: string, scope: string): string {
  return path.join(
    runsDir,
    'reports',
    `${name.replace(/[^A-Za-z0-9_.-]+/g, '_')}-${scope.replace(/[^A-Za-z0-9_.-]+/g, '_')}.html`,
  );
}

/** Charts with a legend to filter or tooltips worth hovering get a live view; plain bars stay SVG. */
function wantsLive(chart: Chart): boolean {
  const spec = chart.spec as { params?: unknown[]; layer?: { params?: unknown[] }[] };
  return Boolean(spec.params?.length || spec.layer?.some((l) => l.params?.length));
}

class FigureSet {
  readonly figures: Figure[] = [];
  private n = 0;

  async add(chart: Chart, links: Figure['links'] = [], svg?: string, note?: string): Promise<Figure> {
    const id = `fig-${++this.n}-${chart.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    const fig: Figure = {
      id,
      chart,
      svg: inlineSvg(svg ?? (await renderSvg(chart)), id),
      links,
      ...(note ? { note } : {}),
    };
    if (wantsLive(chart)) fig.vega = await compileToVega(chart.spec);
    this.figures.push(fig);
    return fig;
  }
}

/**
 * An SVG made to stand alone, ready to sit inline among others: no XML prolog, and its ids (Vega's
 * `clip1`, ...) prefixed with the figure's, since ids are shared by the whole page: two charts'
 * `clip1` would clip the second chart with the first one's rectangle.
 */
export function inlineSvg(svg: string, prefix: string): string {
  const ids = new Set([...svg.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]!));
  let out = svg.replace(/^<\?xml[^>]*>\s*/, '');
  if (ids.size === 0) return out;
  out = out.replace(/(\sid=")([^"]+)"/g, (_m, a: string, id: string) => `${a}${prefix}-${id}"`);
  out = out.replace(/url\(#([^)]+)\)/g, (m, id: string) => (ids.has(id) ? `url(#${prefix}-${id})` : m));
  out = out.replace(/(href=")#([^"]+)"/g, (m, a: string, id: string) => (ids.has(id) ? `${a}#${prefix}-${id}"` : m));
  return out;
}

function figureHtml(f: Figure): string {
  const links = f.links.map((l) => `<a href="${esc(l.href)}">${esc(l.label)}</a>`).join(' · ');
  return `<figure class="chart" id="${f.id}" data-chart="${esc(f.chart.name)}" data-marks="${esc(JSON.stringify(f.chart.marks))}"${f.vega ? ' data-vega="true"' : ''}>
<div class="plot" role="img" aria-label="${esc(f.chart.description)}">${f.svg}</div>
<figcaption>${esc(f.chart.description)}${f.note ? ` (${esc(f.note)})` : ''}${links ? ` · ${links}` : ''}</figcaption></figure>`;
}

function tableHtml(t: TableModel, pointAnchor: (id: string) => string): string {
  const head = t.head
    .map((h, i) => `<th${i >= t.axisColumns && i < t.head.length - 1 ? ' class="num"' : ''}>${esc(h)}</th>`)
    .join('');
  const rows = t.rows
    .map((r) => {
      const cells = r.cells.map((c, i) => {
        if (i === r.cells.length - 1) return `<td><a href="#${pointAnchor(r.pointId)}">${esc(c.text)}</a></td>`;
        if (i < t.axisColumns) return `<td>${esc(c.text)}</td>`;
        const cls = ['num', c.value === null ? 'na' : '', c.best ? 'best' : ''].filter(Boolean).join(' ');
        return `<td class="${cls}">${esc(c.text)}</td>`;
      });
      return `<tr data-point="${esc(r.pointId)}">${cells.join('')}</tr>`;
    })
    .join('\n');
  const caption = [
    t.caption,
    t.rows.some((r) => r.cells.some((c) => c.best)) ? 'Bold: the best value of a column.' : '',
  ]
    .filter(Boolean)
    .join(' ');
  return `<h3 id="${esc(t.id)}">${esc(t.title)}</h3>
<div class="scroll"><table class="report-table" data-table="${esc(t.id)}" data-rows="${t.rows.length}">
${caption ? `<caption>${esc(caption)}</caption>` : ''}<thead><tr>${head}</tr></thead>
<tbody>
${rows}
</tbody></table></div>`;
}

function simpleTable(id: string, head: string[], rows: string[][], numeric: boolean[] = []): string {
  return `<div class="scroll"><table data-table="${esc(id)}" data-rows="${rows.length}"><thead><tr>${head
    .map((h, i) => `<th${numeric[i] ? ' class="num"' : ''}>${esc(h)}</th>`)
    .join('')}</tr></thead><tbody>
${rows.map((r) => `<tr>${r.map((c, i) => `<td${numeric[i] ? ` class="num${c === 'n/a' ? ' na' : ''}"` : ''}>${c}</td>`).join('')}</tr>`).join('\n')}
</tbody></table></div>`;
}

const when = (ms: number): string => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

function relLink(from: string, to: string): string {
  return path.relative(from, to).split(path.sep).map(encodeURIComponent).join('/');
}

function nodeState(n: NodeRecord): string {
  if (n.manifest) return 'done';
  if (n.failure) return 'failed';
  return 'not run';
}

export async function buildReport(set: RunSet, o: ReportOptions): Promise<ReportResult> {
  const t0 = performance.now();
  const newest = set.invocations[0]!;
  const file = o.file ?? defaultReportFile(set.runsDir, set.name, o.scope);
  const dir = path.dirname(file);
  const figures = new FigureSet();
  const pointAnchor = (id: string) => anchor('point', id);
  const headline = set.headline.filter((k) => set.points.some((p) => k in p.metrics));
  const wholeHeadline = new Map(headline.map((k) => [k, wholeColumn(set.points.map((p) => p.metrics[k]))]));
  const sections: string[] = [];
  const toc: [string, string][] = [];

  // Points
  toc.push(['points', 'Points']);
  sections.push(`<section id="points"><h2>Points</h2>
<p class="muted">Each point is named by the values that define it (matrix values, then <code>--set</code> overrides).</p>
${simpleTable(
  'points',
  ['point', 'id', 'status', ...headline, 'invocation'],
  set.points.map((p) => [
    `<a href="#${pointAnchor(p.id)}">${esc(p.name)}</a>`,
    `<code>${esc(p.id)}</code>`,
    `<span class="status-${esc(p.status)}">${esc(p.status)}</span>`,
    ...headline.map((k) => esc(formatMetric(p.metrics[k], wholeHeadline.get(k)))),
    `<code>${esc(p.invocation)}</code>`,
  ]),
  [false, false, false, ...headline.map(() => true), false],
)}</section>`);

  // Declared tables
  const tables: TableModel[] = [];
  for (const d of o.declarations)
    for (const t of d.report.tables ?? []) {
      const model = buildTable(d, t, set.points);
      if (model) tables.push(model);
    }
  if (tables.length) {
    toc.push(['tables', 'Tables']);
    sections.push(
      `<section id="tables"><h2>Tables</h2>\n${tables.map((t) => tableHtml(t, pointAnchor)).join('\n')}</section>`,
    );
  }

  // Charts across points: declared, training curves, headline metrics per point
  const across: Figure[] = [];
  for (const d of o.declarations) for (const c of buildCharts(d, set.points)) across.push(await figures.add(c.chart));
  for (const c of lossCharts(set.points)) across.push(await figures.add(c.chart, [], undefined, c.note));
  for (const c of headlineCharts(set.points, headline)) across.push(await figures.add(c.chart));
  if (across.length) {
    toc.push(['across', 'Charts across points']);
    sections.push(`<section id="across"><h2>Charts across points</h2>\n${across.map(figureHtml).join('\n')}</section>`);
  }

  // Nodes: each node's published charts once (nodes shared by several points in their own section)
  const nodes = distinctNodes(set.points);
  const nodeFigures = new Map<string, Figure[]>();
  for (const { node } of nodes) {
    const list: Figure[] = [];
    for (const nc of await nodeCharts(node)) {
      const links = [
        { label: 'SVG', href: relLink(dir, nc.svgFile ?? nc.specFile) },
        { label: 'Vega-Lite spec', href: relLink(dir, nc.specFile) },
      ];
      const png = nc.specFile.replace(/\.vl\.json$/, '.png');
      if (node.manifest?.artifacts.some((a) => path.join(node.dir!, a) === png))
        links.push({ label: 'PNG', href: relLink(dir, png) });
      list.push(await figures.add(nc.chart, links, nc.svgFile ? await readSvg(nc.svgFile) : undefined));
    }
    if (list.length) nodeFigures.set(node.key, list);
  }

  // Per point
  toc.push(['per-point', 'Each point']);
  const perPoint: string[] = [];
  for (const p of set.points) {
    const values = { ...p.assignment, ...p.overrides };
    const stageRows = p.nodes.map((n) => {
      const links: string[] = [`<a href="${esc(relLink(dir, n.log))}">log</a>`];
      for (const a of n.manifest?.artifacts ?? [])
        if (a.endsWith('.html') && n.dir)
          links.push(
            `<a href="${esc(relLink(dir, path.join(n.dir, a)))}">${esc(a.includes('contact') ? 'contact sheets' : a)}</a>`,
          );
      const shared = nodes.find((x) => x.node.key === n.key)!.points.length;
      return [
        esc(n.stage),
        esc(n.kind ?? '?'),
        `<code>${esc(n.key.slice(0, 10))}</code>`,
        esc(nodeState(n)),
        n.manifest ? `${(n.manifest.durationMs / 1000).toFixed(1)} s` : '',
        shared > 1 ? `${shared} points` : 'this point',
        links.join(' · '),
      ];
    });
    const own = p.nodes.filter((n) => nodes.find((x) => x.node.key === n.key)!.points.length === 1);
    const ownFigures = own.flatMap((n) => nodeFigures.get(n.key) ?? []);
    const sharedWithCharts = p.nodes.filter(
      (n) => nodes.find((x) => x.node.key === n.key)!.points.length > 1 && nodeFigures.has(n.key),
    );
    const metricRows = Object.entries(p.metrics).map(([k, v]) => [esc(k), esc(formatMetric(v, Number.isInteger(v)))]);
    perPoint.push(`<section id="${pointAnchor(p.id)}" class="point"><h3>${esc(p.name)} <small class="muted">${esc(p.id)} · <span class="status-${esc(p.status)}">${esc(p.status)}</span> · invocation ${esc(p.invocation)}${p.invocations.length > 1 ? ` (run in ${p.invocations.length} invocations)` : ''}</small></h3>
<p>Defined by: ${Object.keys(values).length ? `<code>${esc(describeValues(values))}</code>` : 'the spec as written (no matrix value, no --set)'}</p>
${
  headline.length
    ? simpleTable(
        `headline-${p.id}`,
        headline,
        [headline.map((k) => esc(formatMetric(p.metrics[k], wholeHeadline.get(k))))],
        headline.map(() => true),
      )
    : ''
}
${simpleTable(`stages-${p.id}`, ['stage', 'kind', 'node', 'state', 'took', 'used by', 'files'], stageRows)}
${metricRows.length ? `<details><summary>all ${metricRows.length} metrics (latest values)</summary>${simpleTable(`metrics-${p.id}`, ['metric', 'value'], metricRows, [false, true])}</details>` : ''}
${ownFigures.map(figureHtml).join('\n')}
${sharedWithCharts.length ? `<p class="muted">Charts of the stages it shares with other points: ${sharedWithCharts.map((n) => `<a href="#${anchor('node', n.key)}">${esc(n.stage)}</a>`).join(', ')}.</p>` : ''}
</section>`);
  }
  sections.push(`<section id="per-point"><h2>Each point</h2>\n${perPoint.join('\n')}</section>`);

  // Shared nodes
  const sharedNodes = nodes.filter((x) => x.points.length > 1 && nodeFigures.has(x.node.key));
  if (sharedNodes.length) {
    toc.push(['shared', 'Shared stages']);
    sections.push(`<section id="shared"><h2>Stages shared by several points</h2>
${sharedNodes
  .map(
    (
      x,
    ) => `<div id="${anchor('node', x.node.key)}"><h3>${esc(x.node.stage)} <small class="muted">${esc(x.node.kind ?? '')} · node ${esc(x.node.key.slice(0, 10))} · ${x.points.length === set.points.length ? 'every point' : `${esc(commonValues(x.points) || `${x.points.length} points`)}`}</small></h3>
${(nodeFigures.get(x.node.key) ?? []).map(figureHtml).join('\n')}</div>`,
  )
  .join('\n')}</section>`);
  }

  // Skipped inputs
  const skipped = nodes.flatMap((x) =>
    (x.node.manifest?.skipped ?? []).map((s) => [
      esc(x.node.stage),
      `<code>${esc(x.node.key.slice(0, 10))}</code>`,
      esc(s.item),
      esc(s.reason),
    ]),
  );
  toc.push(['skipped', 'Skipped inputs']);
  sections.push(`<section id="skipped"><h2>Skipped inputs</h2>
${skipped.length ? simpleTable('skipped', ['stage', 'node', 'input', 'why'], skipped.slice(0, 500)) + (skipped.length > 500 ? `<p>… and ${skipped.length - 500} more (exp show NODE lists them all).</p>` : '') : '<p>No stage passed over any input.</p>'}</section>`);

  // Spec as run
  toc.push(['spec', 'Spec as run']);
  sections.push(`<section id="spec"><h2>Spec as run</h2>
<p class="muted">${esc(newest.spec)}, with <code>extends</code> and <code>--set</code> applied (invocation ${esc(newest.id)}: <code>exp ${esc(newest.command.join(' '))}</code>).</p>
<pre>${esc(newest.resolvedYaml ?? '(not recorded by the exp version that ran it)')}</pre></section>`);

  const live = figures.figures.filter((f) => f.vega);
  const runtime = live.length ? await vegaBrowserRuntime() : '';
  const first = set.invocations.at(-1)!;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(set.name)}: ${esc(o.scope)}</title>
<style>${STYLE}</style></head>
<body data-charts="${live.length ? 'pending' : 'static'}">
<header><h1>${esc(set.name)} <small class="muted">${esc(o.scope)}</small></h1>
<p>${set.points.length} point${set.points.length === 1 ? '' : 's'} · ${set.invocations.length === 1 ? `invocation ${esc(newest.id)} (${esc(newest.status)}), started ${when(newest.startedAt)}` : `${set.invocations.length} invocations, ${when(first.startedAt)} … ${when(newest.startedAt)}`} · spec <code>${esc(newest.spec)}</code></p>
<p>${figures.figures.length} charts (${live.length} interactive: hover for values; click a legend entry to show that series alone, shift-click to add one, double-click to show all) · made by <code>exp report</code> ${when(Date.now())}</p></header>
<nav>${toc.map(([id, label]) => `<a href="#${id}">${esc(label)}</a>`).join('')}</nav>
<main>
${sections.join('\n')}
</main>
${live.length ? `<script type="application/json" id="vega-specs">${scriptJson(Object.fromEntries(live.map((f) => [f.id, f.vega])))}</script>\n<script>${scriptSource(runtime)}</script>\n<script>${UPGRADE_SCRIPT}</script>` : ''}
</body></html>
`;
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(file, html);
  const bytes = (await stat(file)).size;
  return {
    file,
    bytes,
    charts: figures.figures.length,
    live: live.length,
    tables: tables.length,
    ms: Math.round(performance.now() - t0),
  };
}
