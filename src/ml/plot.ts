// Small PNG charts (pngjs): line charts (PR curves, training curves) and grouped bar charts
// (per-class AP), with axes, ticks, a legend and text from a built-in 5×7 bitmap font.
// Specs are plain data so any room can draw without a browser or a canvas package.
import { PNG } from 'pngjs';
import { GLYPH_H, GLYPH_W, glyph } from './font5x7.ts';

export type Rgb = [number, number, number];

export interface LineSeries {
  name: string;
  x: number[];
  y: number[];
  color?: Rgb;
}

export interface LineChartSpec {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  /** Axis ranges; default: the data's extent (rounded to ticks). */
  xRange?: [number, number];
  yRange?: [number, number];
  series: LineSeries[];
}

export interface BarSeries {
  name: string;
  values: number[];
  color?: Rgb;
}

export interface BarChartSpec {
  title?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  /** One group of bars per category (e.g. a verb); one bar per series in each group. */
  categories: string[];
  series: BarSeries[];
  yRange?: [number, number];
}

/** tab10, the palette most plotting libraries default to. */
export const PALETTE: Rgb[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
];

const BLACK: Rgb = [0, 0, 0];
const GREY: Rgb = [200, 200, 200];
const TEXT_SCALE = 2;
const CHAR_W = (GLYPH_W + 1) * TEXT_SCALE;
const CHAR_H = GLYPH_H * TEXT_SCALE;

class Canvas {
  readonly png: PNG;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.png = new PNG({ width, height });
    this.png.data.fill(255);
  }
  set(x: number, y: number, c: Rgb): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const o = (y * this.width + x) * 4;
    this.png.data[o] = c[0];
    this.png.data[o + 1] = c[1];
    this.png.data[o + 2] = c[2];
    this.png.data[o + 3] = 255;
  }
  rect(x0: number, y0: number, x1: number, y1: number, c: Rgb): void {
    for (let y = Math.round(Math.min(y0, y1)); y <= Math.round(Math.max(y0, y1)); y++)
      for (let x = Math.round(Math.min(x0, x1)); x <= Math.round(Math.max(x0, x1)); x++) this.set(x, y, c);
  }
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, thick = 1): void {
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    const r = (thick - 1) / 2;
    for (let i = 0; i <= steps; i++) {
      const x = x0 + ((x1 - x0) * i) / steps;
      const y = y0 + ((y1 - y0) * i) / steps;
      if (thick <= 1) this.set(x, y, c);
      else this.rect(x - r, y - r, x + r, y + r, c);
    }
  }
  /** Text with its top-left at (x, y); `vertical` reads bottom-to-top with (x, y) its bottom-left. */
  text(s: string, x: number, y: number, c: Rgb = BLACK, vertical = false): void {
    [...s].forEach((ch, i) => {
      const g = glyph(ch);
      for (let gy = 0; gy < GLYPH_H; gy++)
        for (let gx = 0; gx < GLYPH_W; gx++) {
          if (!g[gy]![gx]) continue;
          for (let sy = 0; sy < TEXT_SCALE; sy++)
            for (let sx = 0; sx < TEXT_SCALE; sx++) {
              const px = i * CHAR_W + gx * TEXT_SCALE + sx;
              const py = gy * TEXT_SCALE + sy;
              if (vertical) this.set(x + py, y - px, c);
              else this.set(x + px, y + py, c);
            }
        }
    });
  }
  encode(): Buffer {
    return PNG.sync.write(this.png);
  }
}

export function textWidth(s: string): number {
  return s.length * CHAR_W;
}

/** "Nice" tick values (1, 2, 5 × 10^k) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, target = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step)
    out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(3)));
}

function extent(values: number[], fallback: [number, number]): [number, number] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return fallback;
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  return [lo, hi];
}

interface Frame {
  canvas: Canvas;
  left: number;
  right: number;
  top: number;
  bottom: number;
  xToPx(v: number): number;
  yToPx(v: number): number;
}

function frame(
  width: number,
  height: number,
  title: string | undefined,
  xLabel: string | undefined,
  yLabel: string | undefined,
  yRange: [number, number],
  legendNames: string[],
  bottomExtra: number,
): Frame & { yTicks: number[] } {
  const canvas = new Canvas(width, height);
  const yTicks = niceTicks(yRange[0], yRange[1]);
  const tickW = Math.max(...yTicks.map((t) => textWidth(fmt(t))));
  const legendW = legendNames.length
    ? Math.min(Math.max(...legendNames.map(textWidth)) + 34, Math.floor(width * 0.35))
    : 0;
  const left = 10 + (yLabel ? CHAR_H + 8 : 0) + tickW + 8;
  const right = width - 15 - legendW;
  const top = 10 + (title ? CHAR_H + 12 : 0);
  const bottom = height - 10 - CHAR_H - 8 - (xLabel ? CHAR_H + 8 : 0) - bottomExtra;
  const [y0, y1] = yRange;
  const f = {
    canvas,
    left,
    right,
    top,
    bottom,
    yTicks,
    xToPx: (v: number) => v,
    yToPx: (v: number) => bottom - ((v - y0) / (y1 - y0)) * (bottom - top),
  };
  if (title) canvas.text(title, Math.max(5, (width - textWidth(title)) / 2), 8);
  if (yLabel) canvas.text(yLabel, 8, (top + bottom) / 2 + textWidth(yLabel) / 2, BLACK, true);
  if (xLabel) canvas.text(xLabel, (left + right) / 2 - textWidth(xLabel) / 2, height - 8 - CHAR_H);
  for (const t of yTicks) {
    const py = f.yToPx(t);
    canvas.line(left, py, right, py, GREY);
    canvas.line(left - 5, py, left, py, BLACK);
    const s = fmt(t);
    canvas.text(s, left - 8 - textWidth(s), py - CHAR_H / 2);
  }
  return f;
}

function axes(f: Frame): void {
  f.canvas.line(f.left, f.top, f.left, f.bottom, BLACK, 2);
  f.canvas.line(f.left, f.bottom, f.right, f.bottom, BLACK, 2);
}

function legend(f: Frame, entries: { name: string; color: Rgb }[], width: number): void {
  if (!entries.length) return;
  const x = f.right + 15;
  const rowH = CHAR_H + 6;
  const maxRows = Math.max(1, Math.floor((f.bottom - f.top) / rowH));
  const maxChars = Math.max(3, Math.floor((width - x - 30) / CHAR_W));
  const shown = entries.length > maxRows ? entries.slice(0, maxRows - 1) : entries;
  shown.forEach((e, i) => {
    const y = f.top + i * rowH;
    f.canvas.rect(x, y + 2, x + 18, y + CHAR_H - 2, e.color);
    f.canvas.text(e.name.length > maxChars ? `${e.name.slice(0, maxChars - 1)}.` : e.name, x + 24, y);
  });
  if (shown.length < entries.length)
    f.canvas.text(`+${entries.length - shown.length} more`, x, f.top + shown.length * rowH);
}

export function renderLineChart(spec: LineChartSpec): Buffer {
  const width = spec.width ?? 800;
  const height = spec.height ?? 500;
  const xr =
    spec.xRange ??
    extent(
      spec.series.flatMap((s) => s.x),
      [0, 1],
    );
  const yr =
    spec.yRange ??
    extent(
      spec.series.flatMap((s) => s.y),
      [0, 1],
    );
  const entries = spec.series.map((s, i) => ({ name: s.name, color: s.color ?? PALETTE[i % PALETTE.length]! }));
  const f = frame(
    width,
    height,
    spec.title,
    spec.xLabel,
    spec.yLabel,
    yr,
    entries.map((e) => e.name),
    0,
  );
  f.xToPx = (v) => f.left + ((v - xr[0]) / (xr[1] - xr[0])) * (f.right - f.left);
  for (const t of niceTicks(xr[0], xr[1])) {
    const px = f.xToPx(t);
    f.canvas.line(px, f.top, px, f.bottom, GREY);
    f.canvas.line(px, f.bottom, px, f.bottom + 5, BLACK);
    const s = fmt(t);
    f.canvas.text(s, px - textWidth(s) / 2, f.bottom + 8);
  }
  axes(f);
  const clampX = (v: number) => Math.min(f.right, Math.max(f.left, f.xToPx(v)));
  const clampY = (v: number) => Math.min(f.bottom, Math.max(f.top, f.yToPx(v)));
  spec.series.forEach((s, i) => {
    const c = entries[i]!.color;
    const n = Math.min(s.x.length, s.y.length);
    let prev: [number, number] | undefined;
    for (let j = 0; j < n; j++) {
      if (!Number.isFinite(s.x[j]!) || !Number.isFinite(s.y[j]!)) {
        prev = undefined;
        continue;
      }
      const p: [number, number] = [clampX(s.x[j]!), clampY(s.y[j]!)];
      if (prev) f.canvas.line(prev[0], prev[1], p[0], p[1], c, 2);
      else if (n === 1) f.canvas.rect(p[0] - 2, p[1] - 2, p[0] + 2, p[1] + 2, c);
      prev = p;
    }
  });
  legend(f, entries, width);
  return f.canvas.encode();
}

export function renderBarChart(spec: BarChartSpec): Buffer {
  const width =
    spec.width ?? Math.max(500, 60 + spec.categories.length * (14 * Math.max(1, spec.series.length) + 16) + 200);
  const height = spec.height ?? 500;
  const values = spec.series.flatMap((s) => s.values);
  const yr = spec.yRange ?? [
    Math.min(0, ...values.filter(Number.isFinite)),
    Math.max(1e-9, ...values.filter(Number.isFinite)),
  ];
  const entries = spec.series.map((s, i) => ({ name: s.name, color: s.color ?? PALETTE[i % PALETTE.length]! }));
  const labelH = Math.min(Math.max(0, ...spec.categories.map(textWidth)), Math.floor(height * 0.35));
  const f = frame(
    width,
    height,
    spec.title,
    undefined,
    spec.yLabel,
    yr,
    entries.map((e) => e.name),
    labelH - CHAR_H,
  );
  const groups = Math.max(1, spec.categories.length);
  const groupW = (f.right - f.left) / groups;
  const barW = Math.max(1, (groupW * 0.8) / Math.max(1, spec.series.length));
  const zero = f.yToPx(Math.max(yr[0], Math.min(yr[1], 0)));
  spec.categories.forEach((cat, g) => {
    const gx = f.left + g * groupW + groupW * 0.1;
    spec.series.forEach((s, i) => {
      const v = s.values[g];
      if (v === undefined || !Number.isFinite(v)) return;
      const y = Math.min(f.bottom, Math.max(f.top, f.yToPx(v)));
      f.canvas.rect(gx + i * barW, y, gx + (i + 1) * barW - 1, zero, entries[i]!.color);
    });
    const maxChars = Math.max(1, Math.floor(labelH / CHAR_W));
    const label = cat.length > maxChars ? `${cat.slice(0, maxChars - 1)}.` : cat;
    f.canvas.text(label, f.left + g * groupW + groupW / 2 - CHAR_H / 2, f.bottom + 8 + textWidth(label), BLACK, true);
  });
  axes(f);
  legend(f, entries, width);
  return f.canvas.encode();
}
