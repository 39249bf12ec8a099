import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { niceTicks, PALETTE, renderBarChart, renderLineChart } from './plot.ts';

function decode(buf: Buffer): PNG {
  return PNG.sync.read(buf);
}

function countColor(png: PNG, [r, g, b]: [number, number, number]): number {
  let n = 0;
  for (let i = 0; i < png.data.length; i += 4)
    if (png.data[i] === r && png.data[i + 1] === g && png.data[i + 2] === b) n++;
  return n;
}

describe('renderLineChart', () => {
  it('draws each series in its palette colour at the requested size', () => {
    const png = decode(
      renderLineChart({
        title: 'PR',
        xLabel: 'recall',
        yLabel: 'precision',
        width: 400,
        height: 300,
        xRange: [0, 1],
        yRange: [0, 1],
        series: [
          { name: 'phone', x: [0, 1], y: [1, 0] },
          { name: 'run', x: [0, 1], y: [0.2, 0.2] },
        ],
      }),
    );
    expect([png.width, png.height]).toEqual([400, 300]);
    expect(countColor(png, PALETTE[0]!)).toBeGreaterThan(200);
    expect(countColor(png, PALETTE[1]!)).toBeGreaterThan(200);
    expect(countColor(png, [0, 0, 0])).toBeGreaterThan(500); // axes and text
  });

  it('puts higher y values higher in the image', () => {
    const png = decode(
      renderLineChart({
        width: 300,
        height: 200,
        yRange: [0, 1],
        xRange: [0, 1],
        series: [{ name: 'a', x: [0, 1], y: [0.9, 0.9] }],
      }),
    );
    let minRow = Infinity;
    for (let y = 0; y < png.height; y++)
      for (let x = 0; x < png.width; x++) {
        const o = (y * png.width + x) * 4;
        if (
          png.data[o] === PALETTE[0]![0] &&
          png.data[o + 1] === PALETTE[0]![1] &&
          png.data[o + 2] === PALETTE[0]![2] &&
          x < 200
        )
          minRow = Math.min(minRow, y);
      }
    expect(minRow).toBeLessThan(png.height / 3);
  });

  it('survives empty series, NaN points and a flat range', () => {
    expect(() => decode(renderLineChart({ series: [] }))).not.toThrow();
    expect(() =>
      decode(renderLineChart({ series: [{ name: 'n', x: [0, 1, 2], y: [Number.NaN, 1, 1] }] })),
    ).not.toThrow();
  });
});

describe('renderBarChart', () => {
  it('draws one bar per category and series', () => {
    const png = decode(
      renderBarChart({
        title: 'AP',
        categories: ['phone', 'run', 'open'],
        series: [
          { name: 's2a', values: [0.5, 0.2, 0.9] },
          { name: 'keyword', values: [0.1, 0.3, Number.NaN] },
        ],
        yRange: [0, 1],
      }),
    );
    expect(countColor(png, PALETTE[0]!)).toBeGreaterThan(countColor(png, PALETTE[1]!));
    expect(countColor(png, PALETTE[1]!)).toBeGreaterThan(100);
  });
});

describe('niceTicks', () => {
  it('uses 1-2-5 steps covering the range', () => {
    expect(niceTicks(0, 1)).toEqual(
      [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1].map((v) => Number(v.toFixed(10))).map((v) => expect.closeTo(v, 9)),
    );
    expect(niceTicks(0, 100, 5)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(3, 3)).toEqual([3]);
  });
});
