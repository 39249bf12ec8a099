// The paper's Fig. 3: clips mined per class, as a bar chart PNG (horizontal bars, largest first,
// count at the end of each bar), drawn with the tiny raster font so no plotting library is needed.
import { Raster } from './raster.ts';

export interface Bar {
  label: string;
  value: number;
}

export interface BarChartOptions {
  title?: string;
  /** Pixel width of the longest bar (default 480). */
  barWidth?: number;
  /** At most this many bars, largest first (default 60). */
  maxBars?: number;
}

const INK = [40, 40, 40] as const;
const BAR = [66, 133, 244] as const;
const GRID = [225, 225, 225] as const;

export function renderBarChart(bars: readonly Bar[], opts: BarChartOptions = {}): Buffer {
  const scale = 2;
  const rowH = 16;
  const barWidth = opts.barWidth ?? 480;
  const sorted = [...bars]
    .sort((a, b) => b.value - a.value || (a.label < b.label ? -1 : 1))
    .slice(0, opts.maxBars ?? 60);
  const labelW = Math.min(200, Math.max(40, ...sorted.map((b) => Raster.textWidth(b.label, scale)))) + 12;
  const max = Math.max(1, ...sorted.map((b) => b.value));
  const top = opts.title ? 30 : 10;
  const valueW = Raster.textWidth(String(max), scale) + 12;
  const width = labelW + barWidth + valueW + 10;
  const height = top + Math.max(1, sorted.length) * rowH + 12;
  const r = new Raster(width, height);
  if (opts.title) r.text(opts.title, 10, 8, INK, scale);
  // Vertical grid at quarters of the maximum.
  for (let q = 1; q <= 4; q++)
    r.fillRect(labelW + Math.round((barWidth * q) / 4), top - 4, 1, sorted.length * rowH + 4, GRID);
  sorted.forEach((b, i) => {
    const y = top + i * rowH;
    const label =
      Raster.textWidth(b.label, scale) > labelW - 12
        ? `${b.label.slice(0, Math.floor((labelW - 12) / (4 * scale)) - 1)}.`
        : b.label;
    r.text(label, labelW - 8 - Raster.textWidth(label, scale), y + 3, INK, scale);
    const w = Math.round((barWidth * Math.max(0, b.value)) / max);
    r.fillRect(labelW, y + 2, Math.max(b.value > 0 ? 1 : 0, w), rowH - 4, BAR);
    r.text(String(b.value), labelW + w + 6, y + 3, INK, scale);
  });
  if (sorted.length === 0) r.text('no clips mined', labelW, top + 3, INK, scale);
  return r.toPng();
}
