// Chart builders: plain data in, a Vega-Lite spec (plain JSON, data inline) out. Nothing here
// renders or imports vega: a stage or the report declares its charts with these, and render.ts
// draws them (SVG, PNG) or the report hands them to the browser.
//
// What every chart keeps to (a reviewer's list): up to 20 series told apart by colour and dash
// (palette.ts); a value that does not exist (AP of a class without positives) is drawn as "n/a",
// never as 0; AP bars carry the number of positives of their class; axes cover the data (fixed
// [0, 1] for scores, the data's extent otherwise); labels are full words in a real font.
import { BAR_COLOUR, MAX_SERIES, MISSING_COLOUR, SERIES_COLOURS, SERIES_DASHES } from './palette.ts';

export type VegaLiteSpec = { [key: string]: unknown };

/** How many data marks a chart draws, by Vega mark type: what a test counts in the SVG. */
export interface ChartMarks {
  /** One path per series. */
  line?: number;
  /** Points on lines, or scatter points. */
  symbol?: number;
  /** Bars. */
  rect?: number;
  /** Value labels ("0.31", "n/a"). */
  text?: number;
}

export interface Chart {
  /** File stem, e.g. `pr_curves` (→ pr_curves.vl.json / .svg / .png). */
  name: string;
  title: string;
  /** One sentence on what is shown, for alt text and the report. */
  description: string;
  spec: VegaLiteSpec;
  marks: ChartMarks;
}

export interface AxisOptions {
  title: string;
  /** Fixed domain; default the data's extent (zero included for bars). */
  domain?: [number, number];
  /** d3 number format of ticks and labels, e.g. `.2f` (default: Vega's). */
  format?: string;
  /** `log` for counts over decades; default linear. */
  scale?: 'linear' | 'log';
  /** Whole numbers only (steps, epochs): ticks at integers. */
  integer?: boolean;
}

export interface LineSeries {
  name: string;
  points: { x: number; y: number | null }[];
  /** Palette slot (colour i, dash i mod 5); default the series' index. Keeps one value one colour across charts. */
  style?: number;
}

export interface LineChartOptions {
  name: string;
  title: string;
  description?: string;
  x: AxisOptions & { /** Category labels for discrete x values (e.g. k), kept in data order. */ ordinal?: boolean };
  y: AxisOptions;
  series: LineSeries[];
  /** Title of the legend (what a series is: "verb", "pre-training"). */
  seriesTitle: string;
  /** Draw a symbol at each point (default: when no series has more than 30 points). */
  points?: boolean;
  width?: number;
  height?: number;
}

export interface Bar {
  label: string;
  /** null: the value does not exist (drawn as "n/a"). */
  value: number | null;
  /** Positive examples behind the value (AP bars): shown beside the label. */
  positives?: number;
}

export interface BarChartOptions {
  name: string;
  title: string;
  description?: string;
  value: AxisOptions;
  /** What the bars are (axis title): "AVA class", "verb". */
  category: string;
  bars: Bar[];
  /** Horizontal bars (long label lists); default vertical. */
  horizontal?: boolean;
  /** Keep the given order (default) or sort by value, largest first. */
  sort?: 'given' | 'descending';
  /** Text of the value labels (d3 format; default `.2f`, `d` for integers). */
  labelFormat?: string;
  /** What "n/a" means here (a subtitle when some bar has no value); default "n/a: no value". */
  missing?: string;
  width?: number;
  height?: number;
}

export interface GroupedBarChartOptions {
  name: string;
  title: string;
  description?: string;
  value: AxisOptions;
  category: string;
  categories: string[];
  seriesTitle: string;
  /** One value per category in each series; null = "n/a". `style`: palette slot (default the index). */
  series: { name: string; values: (number | null)[]; style?: number }[];
  /** Positives per category (AP bars): shown beside the category label. */
  positives?: (number | undefined)[];
  /** What "n/a" means here (a subtitle when some bar has no value); default "n/a: no value". */
  missing?: string;
  width?: number;
  height?: number;
}

export interface ScatterPoint {
  x: number;
  y: number;
  label: string;
  series?: string;
}

export interface ScatterChartOptions {
  name: string;
  title: string;
  description?: string;
  x: AxisOptions;
  y: AxisOptions;
  points: ScatterPoint[];
  seriesTitle?: string;
  /** Draw y = x (comparing two methods on the same items). */
  diagonal?: boolean;
  /** Write each point's label beside it. */
  labels?: boolean;
  width?: number;
  height?: number;
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
/** Values in tooltips: up to 4 decimals, trailing zeros trimmed. */
const TOOLTIP_FORMAT = '.4~f';
const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';

/** Shared look: readable sizes, a real sans font, no chart border. */
function config(): VegaLiteSpec {
  return {
    font: FONT,
    view: { stroke: null },
    title: { fontSize: 15, anchor: 'start', subtitleFontSize: 12, subtitleColor: '#444' },
    axis: { labelFontSize: 12, titleFontSize: 13, labelLimit: 220, gridColor: '#e4e4e4' },
    legend: { labelFontSize: 12, titleFontSize: 12, labelLimit: 220, symbolStrokeWidth: 2.5 },
  };
}

const NAME = /^[a-z0-9][a-z0-9_.-]*$/i;

function checkName(name: string): void {
  if (!NAME.test(name) || name.includes('..')) throw new Error(`chart name "${name}" is not a plain file stem`);
}

function checkSeries(kind: string, n: number): void {
  if (n > MAX_SERIES)
    throw new Error(`${kind}: ${n} series, more than the ${MAX_SERIES} a chart keeps apart; choose which to draw`);
}

function finite(v: number | null | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** Scale properties for an axis: a fixed domain, or one that covers the data (zero for bars). */
function scaleOf(axis: AxisOptions, zero: boolean): VegaLiteSpec {
  const s: VegaLiteSpec = { zero };
  if (axis.domain) {
    s.domain = axis.domain;
    s.nice = false;
  }
  if (axis.scale === 'log') {
    s.type = 'log';
    s.zero = false;
  }
  return s;
}

function axisOf(axis: AxisOptions): VegaLiteSpec {
  return {
    title: axis.title,
    ...(axis.format ? { format: axis.format } : axis.integer ? { format: 'd' } : {}),
    ...(axis.integer ? { tickMinStep: 1 } : {}),
  };
}

/** colour + dash by series, in the order given (not sorted by name), each series distinct. */
function seriesEncoding(names: string[], styles: number[], title: string, interactive: boolean): VegaLiteSpec {
  const domain = names;
  const legend = { title, symbolType: 'stroke', symbolSize: 300 };
  return {
    color: {
      field: 'series',
      type: 'nominal',
      title,
      sort: domain,
      scale: { domain, range: styles.map((i) => SERIES_COLOURS[i % SERIES_COLOURS.length]) },
      legend,
    },
    strokeDash: {
      field: 'series',
      type: 'nominal',
      sort: domain,
      scale: { domain, range: styles.map((i) => SERIES_DASHES[i % SERIES_DASHES.length]) },
      legend,
    },
    ...(interactive ? { opacity: { condition: { param: 'pick', value: 1 }, value: 0.12 } } : {}),
  };
}

/** Clicking a legend entry shows that series only (shift-click adds one); a second click on it, all. */
const LEGEND_FILTER = { name: 'pick', select: { type: 'point', fields: ['series'] }, bind: 'legend' };

export function lineChart(o: LineChartOptions): Chart {
  checkName(o.name);
  checkSeries(o.name, o.series.length);
  const names = o.series.map((s) => s.name);
  if (new Set(names).size !== names.length) throw new Error(`${o.name}: two series share a name`);
  const values = o.series.flatMap((s) =>
    s.points.filter((p) => finite(p.x) && finite(p.y)).map((p) => ({ series: s.name, x: p.x, y: p.y })),
  );
  const points = o.points ?? o.series.every((s) => s.points.length <= 30);
  const xField = o.x.ordinal
    ? {
        field: 'x',
        type: 'ordinal',
        title: o.x.title,
        sort: [...new Set(values.map((v) => v.x))].sort((a, b) => a - b),
        axis: { labelAngle: 0 },
      }
    : {
        field: 'x',
        type: 'quantitative',
        title: o.x.title,
        // a few pixels of room, so that a point on the domain's edge is drawn whole
        scale: { ...scaleOf(o.x, false), padding: 6 },
        axis: axisOf(o.x),
      };
  const tooltip = [
    { field: 'series', type: 'nominal', title: o.seriesTitle },
    o.x.ordinal
      ? { field: 'x', type: 'ordinal', title: o.x.title }
      : { field: 'x', type: 'quantitative', title: o.x.title, format: o.x.format ?? TOOLTIP_FORMAT },
    { field: 'y', type: 'quantitative', title: o.y.title, format: o.y.format ?? TOOLTIP_FORMAT },
  ];
  const drawn = new Set(values.map((v) => v.series));
  return {
    name: o.name,
    title: o.title,
    description: o.description ?? `${o.y.title} against ${o.x.title}, one line per ${o.seriesTitle}`,
    marks: { line: drawn.size, ...(points ? { symbol: values.length } : {}) },
    spec: {
      $schema: SCHEMA,
      title: o.title,
      description: o.description ?? o.title,
      width: o.width ?? 560,
      height: o.height ?? 340,
      config: config(),
      data: { values },
      params: [LEGEND_FILTER],
      mark: { type: 'line', strokeWidth: 2, ...(points ? { point: { filled: true, size: 45 } } : {}) },
      encoding: {
        x: xField,
        y: {
          field: 'y',
          type: 'quantitative',
          title: o.y.title,
          scale: { ...scaleOf(o.y, false), padding: 6 },
          axis: axisOf(o.y),
        },
        ...seriesEncoding(
          names,
          o.series.map((s, i) => s.style ?? i),
          o.seriesTitle,
          true,
        ),
        tooltip,
      },
    },
  };
}

function barLabel(b: Bar): string {
  return b.positives === undefined ? b.label : `${b.label} (${b.positives})`;
}

export function barChart(o: BarChartOptions): Chart {
  checkName(o.name);
  const labels = o.bars.map(barLabel);
  if (new Set(labels).size !== labels.length) throw new Error(`${o.name}: two bars share a label`);
  const bars =
    o.sort === 'descending'
      ? [...o.bars].sort((a, b) => (b.value ?? Number.NEGATIVE_INFINITY) - (a.value ?? Number.NEGATIVE_INFINITY))
      : o.bars;
  const integers = bars.every((b) => b.value === null || Number.isInteger(b.value));
  const labelFormat = o.labelFormat ?? (integers ? 'd' : '.2f');
  const values = bars.map((b) => ({
    category: barLabel(b),
    value: finite(b.value) ? b.value : null,
    ...(b.positives !== undefined ? { positives: b.positives } : {}),
  }));
  const order = values.map((v) => v.category);
  const withPositives = o.bars.some((b) => b.positives !== undefined);
  const valueAxis = o.horizontal ? 'x' : 'y';
  const categoryAxis = o.horizontal ? 'y' : 'x';
  const category = {
    field: 'category',
    type: 'nominal',
    title: withPositives ? `${o.category} (positives)` : o.category,
    sort: order,
    axis: o.horizontal ? { labelLimit: 260 } : { labelAngle: -40, labelAlign: 'right', labelLimit: 160 },
  };
  const value = {
    field: 'value',
    type: 'quantitative',
    title: o.value.title,
    scale: scaleOf(o.value, true),
    axis: axisOf(o.value),
  };
  const tooltip = [
    { field: 'category', type: 'nominal', title: o.category },
    { field: 'label', type: 'nominal', title: o.value.title },
    ...(withPositives ? [{ field: 'positives', type: 'quantitative', title: 'positives' }] : []),
  ];
  const present = values.filter((v) => v.value !== null).length;
  const n = Math.max(1, values.length);
  return {
    name: o.name,
    title: o.title,
    description:
      o.description ??
      `${o.value.title} per ${o.category}${values.length > present ? '; n/a where the value does not exist' : ''}`,
    marks: { rect: present, text: values.length },
    spec: {
      $schema: SCHEMA,
      title: {
        text: o.title,
        ...(withPositives || values.length > present
          ? {
              subtitle: [
                withPositives ? '(n) after a label: positive examples of the class in the evaluation set' : '',
                values.length > present ? (o.missing ?? 'n/a: no value') : '',
              ].filter(Boolean),
            }
          : {}),
      },
      description: o.description ?? o.title,
      width: o.horizontal ? (o.width ?? 440) : (o.width ?? Math.max(320, Math.min(900, n * 34))),
      height: o.horizontal ? (o.height ?? Math.max(120, n * 20)) : (o.height ?? 300),
      config: config(),
      data: { values },
      transform: [
        {
          calculate: `datum.value === null ? 'n/a' : format(datum.value, '${labelFormat}')`,
          as: 'label',
        },
        { calculate: 'datum.value === null ? 0 : datum.value', as: 'at' },
      ],
      layer: [
        {
          transform: [{ filter: 'datum.value !== null' }],
          mark: { type: 'bar', color: BAR_COLOUR, clip: true },
          encoding: { [categoryAxis]: category, [valueAxis]: value, tooltip },
        },
        {
          mark: {
            type: 'text',
            fontSize: 11,
            ...(o.horizontal ? { align: 'left', dx: 4 } : { baseline: 'bottom', dy: -3 }),
          },
          encoding: {
            [categoryAxis]: category,
            [valueAxis]: { field: 'at', type: 'quantitative', scale: scaleOf(o.value, true), title: o.value.title },
            text: { field: 'label', type: 'nominal' },
            color: { condition: { test: 'datum.value === null', value: MISSING_COLOUR }, value: '#222' },
            tooltip,
          },
        },
      ],
    },
  };
}

export function groupedBarChart(o: GroupedBarChartOptions): Chart {
  checkName(o.name);
  checkSeries(o.name, o.series.length);
  const label = (i: number): string =>
    o.positives?.[i] === undefined ? o.categories[i]! : `${o.categories[i]} (${o.positives[i]})`;
  const values = o.series.flatMap((s) =>
    o.categories.map((_, i) => {
      const v = s.values[i];
      return { category: label(i), series: s.name, value: finite(v) ? v : null };
    }),
  );
  const order = o.categories.map((_, i) => label(i));
  const names = o.series.map((s) => s.name);
  const withPositives = Boolean(o.positives?.some((p) => p !== undefined));
  const category = {
    field: 'category',
    type: 'nominal',
    title: withPositives ? `${o.category} (positives)` : o.category,
    sort: order,
    axis: { labelAngle: -40, labelAlign: 'right', labelLimit: 160 },
  };
  const colour = {
    field: 'series',
    type: 'nominal',
    title: o.seriesTitle,
    sort: names,
    scale: { domain: names, range: o.series.map((s, i) => SERIES_COLOURS[(s.style ?? i) % SERIES_COLOURS.length]) },
  };
  const present = values.filter((v) => v.value !== null).length;
  const tooltip = [
    { field: 'category', type: 'nominal', title: o.category },
    { field: 'series', type: 'nominal', title: o.seriesTitle },
    { field: 'label', type: 'nominal', title: o.value.title },
  ];
  return {
    name: o.name,
    title: o.title,
    description: o.description ?? `${o.value.title} per ${o.category}, one bar per ${o.seriesTitle}`,
    marks: { rect: present, ...(values.length > present ? { text: values.length - present } : {}) },
    spec: {
      $schema: SCHEMA,
      title: {
        text: o.title,
        ...(withPositives || values.length > present
          ? {
              subtitle: [
                withPositives ? '(n) after a label: positive examples of the class in the evaluation set' : '',
                values.length > present ? (o.missing ?? 'n/a: no value') : '',
              ].filter(Boolean),
            }
          : {}),
      },
      description: o.description ?? o.title,
      width: o.width ?? Math.max(360, Math.min(1000, o.categories.length * (14 * names.length + 14))),
      height: o.height ?? 300,
      config: config(),
      data: { values },
      transform: [
        { calculate: "datum.value === null ? 'n/a' : format(datum.value, '.3f')", as: 'label' },
        { calculate: 'datum.value === null ? 0 : datum.value', as: 'at' },
      ],
      encoding: {
        x: category,
        xOffset: { field: 'series', type: 'nominal', sort: names },
      },
      layer: [
        {
          transform: [{ filter: 'datum.value !== null' }],
          params: [LEGEND_FILTER],
          mark: { type: 'bar', clip: true },
          encoding: {
            y: { field: 'value', type: 'quantitative', title: o.value.title, scale: scaleOf(o.value, true) },
            color: colour,
            opacity: { condition: { param: 'pick', value: 1 }, value: 0.15 },
            tooltip,
          },
        },
        {
          transform: [{ filter: 'datum.value === null' }],
          mark: { type: 'text', fontSize: 9, angle: 270, align: 'left', dx: 3, color: MISSING_COLOUR },
          encoding: {
            y: { field: 'at', type: 'quantitative', scale: scaleOf(o.value, true), title: o.value.title },
            text: { field: 'label', type: 'nominal' },
            tooltip,
          },
        },
      ],
    },
  };
}

export function scatterChart(o: ScatterChartOptions): Chart {
  checkName(o.name);
  const values = o.points
    .filter((p) => finite(p.x) && finite(p.y))
    .map((p) => ({ x: p.x, y: p.y, label: p.label, series: p.series ?? '' }));
  const names = [...new Set(values.map((v) => v.series))];
  checkSeries(o.name, names.length);
  const lo = Math.min(o.x.domain?.[0] ?? Number.POSITIVE_INFINITY, o.y.domain?.[0] ?? Number.POSITIVE_INFINITY);
  const hi = Math.max(o.x.domain?.[1] ?? Number.NEGATIVE_INFINITY, o.y.domain?.[1] ?? Number.NEGATIVE_INFINITY);
  const tooltip = [
    { field: 'label', type: 'nominal', title: 'item' },
    ...(o.seriesTitle ? [{ field: 'series', type: 'nominal', title: o.seriesTitle }] : []),
    { field: 'x', type: 'quantitative', title: o.x.title, format: o.x.format ?? TOOLTIP_FORMAT },
    { field: 'y', type: 'quantitative', title: o.y.title, format: o.y.format ?? TOOLTIP_FORMAT },
  ];
  const x = { field: 'x', type: 'quantitative', title: o.x.title, scale: scaleOf(o.x, false), axis: axisOf(o.x) };
  const y = { field: 'y', type: 'quantitative', title: o.y.title, scale: scaleOf(o.y, false), axis: axisOf(o.y) };
  const coloured = names.length > 1 || Boolean(o.seriesTitle);
  const layers: VegaLiteSpec[] = [];
  if (o.diagonal && Number.isFinite(lo) && Number.isFinite(hi))
    layers.push({
      data: {
        values: [
          { x: lo, y: lo },
          { x: hi, y: hi },
        ],
      },
      // Named so that counting the chart's data marks leaves the reference line out.
      name: 'reference',
      mark: { type: 'line', color: '#999', strokeDash: [4, 4], strokeWidth: 1 },
      encoding: { x, y },
    });
  layers.push({
    params: coloured ? [LEGEND_FILTER] : [],
    mark: { type: 'point', filled: true, size: 70 },
    encoding: {
      x,
      y,
      ...(coloured
        ? {
            color: {
              field: 'series',
              type: 'nominal',
              title: o.seriesTitle ?? '',
              sort: names,
              scale: { domain: names, range: names.map((_, i) => SERIES_COLOURS[i % SERIES_COLOURS.length]) },
            },
            shape: { field: 'series', type: 'nominal', sort: names, title: o.seriesTitle ?? '' },
            opacity: { condition: { param: 'pick', value: 1 }, value: 0.15 },
          }
        : { color: { value: BAR_COLOUR } }),
      tooltip,
    },
  });
  if (o.labels)
    layers.push({
      mark: { type: 'text', align: 'left', dx: 6, dy: -4, fontSize: 10, color: '#333' },
      encoding: { x, y, text: { field: 'label', type: 'nominal' } },
    });
  return {
    name: o.name,
    title: o.title,
    description: o.description ?? `${o.y.title} against ${o.x.title}, one point per item`,
    marks: { symbol: values.length, ...(o.labels ? { text: values.length } : {}) },
    spec: {
      $schema: SCHEMA,
      title: o.title,
      description: o.description ?? o.title,
      width: o.width ?? 380,
      height: o.height ?? 380,
      config: config(),
      data: { values },
      layer: layers,
    },
  };
}
