// One place that builds chart specs (build.ts: Vega-Lite as plain data) and draws them
// (render.ts: SVG and PNG, vega and resvg loaded on first use). Imports nothing of ours.
export {
  barChart,
  groupedBarChart,
  lineChart,
  scatterChart,
  type Bar,
  type Chart,
  type ChartMarks,
  type LineSeries,
  type ScatterPoint,
  type VegaLiteSpec,
} from './build.ts';
export { MAX_SERIES, SERIES_COLOURS, SERIES_DASHES } from './palette.ts';
export {
  chartFile,
  compileToVega,
  countSvgMarks,
  readChart,
  renderPng,
  renderSvg,
  vegaBrowserRuntime,
  writeChart,
  type WrittenChart,
} from './render.ts';
