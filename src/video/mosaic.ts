// A mosaic of real video frames (RGB24) on a plain background, encoded as PNG: what a contact
// sheet is made of. It draws no text and no shapes; labels belong in the HTML beside it.
import { PNG } from 'pngjs';

export type RGB = readonly [number, number, number];

export class FrameMosaic {
  readonly data: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
    background: RGB = [255, 255, 255],
  ) {
    this.data = new Uint8Array(width * height * 3);
    for (let o = 0; o < this.data.length; o += 3) {
      this.data[o] = background[0];
      this.data[o + 1] = background[1];
      this.data[o + 2] = background[2];
    }
  }

  /** Copies an RGB frame (w×h×3 bytes) with its top-left corner at (x, y); parts outside are cut. */
  place(frame: Uint8Array, w: number, h: number, x: number, y: number): void {
    for (let yy = 0; yy < h; yy++) {
      const ty = y + yy;
      if (ty < 0 || ty >= this.height) continue;
      for (let xx = 0; xx < w; xx++) {
        const tx = x + xx;
        if (tx < 0 || tx >= this.width) continue;
        const s = (yy * w + xx) * 3;
        const o = (ty * this.width + tx) * 3;
        this.data[o] = frame[s]!;
        this.data[o + 1] = frame[s + 1]!;
        this.data[o + 2] = frame[s + 2]!;
      }
    }
  }

  toPng(): Buffer {
    const png = new PNG({ width: this.width, height: this.height });
    for (let i = 0, j = 0; i < this.data.length; i += 3, j += 4) {
      png.data[j] = this.data[i]!;
      png.data[j + 1] = this.data[i + 1]!;
      png.data[j + 2] = this.data[i + 2]!;
      png.data[j + 3] = 255;
    }
    return PNG.sync.write(png);
  }
}
