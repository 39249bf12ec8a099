// A tiny RGB24 raster: just what the visual signatures need (rectangles, discs, ellipses, thick
// lines), clipped to the frame, written straight into the Uint8Array the encoder takes.

export type Rgb = readonly [number, number, number];

export class Canvas {
  readonly data: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    data?: Uint8Array,
  ) {
    this.data = data ?? new Uint8Array(width * height * 3);
  }

  private put(x: number, y: number, c: Rgb): void {
    const i = (y * this.width + x) * 3;
    this.data[i] = c[0];
    this.data[i + 1] = c[1];
    this.data[i + 2] = c[2];
  }

  rect(x0: number, y0: number, w: number, h: number, c: Rgb): void {
    const xa = Math.max(0, Math.round(x0));
    const ya = Math.max(0, Math.round(y0));
    const xb = Math.min(this.width, Math.round(x0 + w));
    const yb = Math.min(this.height, Math.round(y0 + h));
    for (let y = ya; y < yb; y++) for (let x = xa; x < xb; x++) this.put(x, y, c);
  }

  /** Axis-aligned ellipse centred on (cx, cy). */
  ellipse(cx: number, cy: number, rx: number, ry: number, c: Rgb): void {
    if (rx <= 0 || ry <= 0) return;
    const ya = Math.max(0, Math.floor(cy - ry));
    const yb = Math.min(this.height - 1, Math.ceil(cy + ry));
    for (let y = ya; y <= yb; y++) {
      const dy = (y - cy) / ry;
      const span = dy * dy <= 1 ? rx * Math.sqrt(1 - dy * dy) : -1;
      if (span < 0) continue;
      const xa = Math.max(0, Math.ceil(cx - span));
      const xb = Math.min(this.width - 1, Math.floor(cx + span));
      for (let x = xa; x <= xb; x++) this.put(x, y, c);
    }
  }

  disc(cx: number, cy: number, r: number, c: Rgb): void {
    this.ellipse(cx, cy, r, r, c);
  }

  /** A line of the given thickness, drawn as a run of small discs. */
  line(x0: number, y0: number, x1: number, y1: number, thickness: number, c: Rgb): void {
    const steps = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0)));
    const r = Math.max(0.6, thickness / 2);
    for (let i = 0; i <= steps; i++) this.disc(x0 + ((x1 - x0) * i) / steps, y0 + ((y1 - y0) * i) / steps, r, c);
  }

  /** Brightens every pixel towards `c` by `amount` in [0, 1] (a muzzle flash). */
  flash(amount: number, c: Rgb): void {
    const d = this.data;
    for (let i = 0; i < d.length; i += 3) {
      d[i] = d[i]! + (c[0] - d[i]!) * amount;
      d[i + 1] = d[i + 1]! + (c[1] - d[i + 1]!) * amount;
      d[i + 2] = d[i + 2]! + (c[2] - d[i + 2]!) * amount;
    }
  }
}
