// A tiny RGB raster with a 3×5 pixel font, enough to label charts and contact sheets without a
// font library. PNG encoding through pngjs.
import { PNG } from 'pngjs';

export type RGB = readonly [number, number, number];

// 3×5 glyphs, five rows of three cells top to bottom, '#' = ink. Lower case is drawn as upper case.
const GLYPHS: Record<string, string> = {
  A: '.#. #.# ### #.# #.#',
  B: '##. #.# ##. #.# ##.',
  C: '.## #.. #.. #.. .##',
  D: '##. #.# #.# #.# ##.',
  E: '### #.. ##. #.. ###',
  F: '### #.. ##. #.. #..',
  G: '.## #.. #.# #.# .##',
  H: '#.# #.# ### #.# #.#',
  I: '### .#. .#. .#. ###',
  J: '..# ..# ..# #.# .#.',
  K: '#.# #.# ##. #.# #.#',
  L: '#.. #.. #.. #.. ###',
  M: '#.# ### ### #.# #.#',
  N: '##. #.# #.# #.# #.#',
  O: '.#. #.# #.# #.# .#.',
  P: '##. #.# ##. #.. #..',
  Q: '.#. #.# #.# ##. .##',
  R: '##. #.# ##. #.# #.#',
  S: '.## #.. .#. ..# ##.',
  T: '### .#. .#. .#. .#.',
  U: '#.# #.# #.# #.# ###',
  V: '#.# #.# #.# #.# .#.',
  W: '#.# #.# ### ### #.#',
  X: '#.# #.# .#. #.# #.#',
  Y: '#.# #.# .#. .#. .#.',
  Z: '### ..# .#. #.. ###',
  '0': '### #.# #.# #.# ###',
  '1': '.#. ##. .#. .#. ###',
  '2': '##. ..# .#. #.. ###',
  '3': '##. ..# .#. ..# ##.',
  '4': '#.# #.# ### ..# ..#',
  '5': '### #.. ##. ..# ##.',
  '6': '.## #.. ### #.# ###',
  '7': '### ..# .#. .#. .#.',
  '8': '### #.# ### #.# ###',
  '9': '### #.# ### ..# ##.',
  '.': '... ... ... ... .#.',
  ',': '... ... ... .#. #..',
  ':': '... .#. ... .#. ...',
  '-': '... ... ### ... ...',
  _: '... ... ... ... ###',
  '/': '..# ..# .#. #.. #..',
  '%': '#.# ..# .#. #.. #.#',
  '(': '.#. #.. #.. #.. .#.',
  ')': '.#. ..# ..# ..# .#.',
  '#': '#.# ### #.# ### #.#',
  "'": '.#. .#. ... ... ...',
  '?': '##. ..# .#. ... .#.',
  '!': '.#. .#. .#. ... .#.',
  '+': '... .#. ### .#. ...',
  '=': '... ### ... ### ...',
  '<': '..# .#. #.. .#. ..#',
  '>': '#.. .#. ..# .#. #..',
  '&': '.#. #.# .#. #.# .##',
  ' ': '... ... ... ... ...',
};

function glyphBits(ch: string): string {
  return (GLYPHS[ch.toUpperCase()] ?? GLYPHS['?']!).replace(/ /g, '');
}

export class Raster {
  readonly data: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
    background: RGB = [255, 255, 255],
  ) {
    this.data = new Uint8Array(width * height * 3);
    this.fillRect(0, 0, width, height, background);
  }

  fillRect(x: number, y: number, w: number, h: number, c: RGB): void {
    const x0 = Math.max(0, Math.floor(x));
    const y0 = Math.max(0, Math.floor(y));
    const x1 = Math.min(this.width, Math.floor(x + w));
    const y1 = Math.min(this.height, Math.floor(y + h));
    for (let yy = y0; yy < y1; yy++)
      for (let xx = x0; xx < x1; xx++) {
        const o = (yy * this.width + xx) * 3;
        this.data[o] = c[0];
        this.data[o + 1] = c[1];
        this.data[o + 2] = c[2];
      }
  }

  /** Copies an RGB image (w×h×3 bytes) with its top-left corner at (x, y). */
  blit(src: Uint8Array, w: number, h: number, x: number, y: number): void {
    for (let yy = 0; yy < h; yy++) {
      const ty = y + yy;
      if (ty < 0 || ty >= this.height) continue;
      for (let xx = 0; xx < w; xx++) {
        const tx = x + xx;
        if (tx < 0 || tx >= this.width) continue;
        const s = (yy * w + xx) * 3;
        const o = (ty * this.width + tx) * 3;
        this.data[o] = src[s]!;
        this.data[o + 1] = src[s + 1]!;
        this.data[o + 2] = src[s + 2]!;
      }
    }
  }

  /** Text in the 3×5 font at integer `scale`; returns the width drawn. */
  text(s: string, x: number, y: number, c: RGB, scale = 2): number {
    let cx = x;
    for (const ch of s) {
      const bits = glyphBits(ch);
      for (let r = 0; r < 5; r++)
        for (let k = 0; k < 3; k++)
          if (bits[r * 3 + k] === '#') this.fillRect(cx + k * scale, y + r * scale, scale, scale, c);
      cx += 4 * scale;
    }
    return cx - x;
  }

  static textWidth(s: string, scale = 2): number {
    return [...s].length * 4 * scale;
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
