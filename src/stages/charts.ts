// How a stage publishes a chart it declares (a Vega-Lite spec built with src/charts): the spec,
// its SVG and a PNG are written beside the stage's other outputs and declared as artifacts, so
// MLflow previews them and `exp report` finds them (by their `.vl.json`).
import { type Chart, writeChart } from '../charts/index.ts';
import type { StageContext } from '../plan/stage-kind.ts';

/** Writes `<name>.vl.json`, `<name>.svg` and `<name>.png` into the node's folder; returns the SVG's name. */
export async function publishChart(ctx: Pick<StageContext, 'outDir' | 'artifact'>, chart: Chart): Promise<string> {
  const files = await writeChart(ctx.outDir, chart);
  for (const f of [files.spec, files.svg, files.png]) ctx.artifact(f);
  return files.svg;
}
