import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from './backend.ts';

/** Run `fn` on the given backend and return plain arrays (so results outlive the switch). */
async function on(backend: string, fn: () => import('@tensorflow/tfjs').Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const ts = tf.tidy(fn);
  const out = await Promise.all(ts.map(async (t) => (await t.data()) as Float32Array));
  ts.forEach((t) => t.dispose());
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('wasm training kernels', () => {
  beforeAll(async () => {
    expect(await initBackend('wasm')).toBe('wasm');
  });

  const cases: Array<{
    name: string;
    x: number[];
    w: number[];
    stride: number | [number, number];
    pad: 'same' | 'valid';
  }> = [
    { name: '3x3 same stride 1', x: [2, 7, 6, 3], w: [3, 3, 3, 4], stride: 1, pad: 'same' },
    { name: '7x7 same stride 2 (S3D-G stem)', x: [2, 9, 11, 3], w: [7, 7, 3, 5], stride: 2, pad: 'same' },
    { name: 'temporal [3,1] stride [2,1]', x: [2, 8, 5, 4], w: [3, 1, 4, 6], stride: [2, 1], pad: 'same' },
    { name: '1x1 valid', x: [3, 4, 4, 5], w: [1, 1, 5, 2], stride: 1, pad: 'valid' },
    { name: '2x3 valid stride 2', x: [1, 7, 9, 2], w: [2, 3, 2, 3], stride: 2, pad: 'valid' },
  ];

  for (const c of cases) {
    it(`conv2d gradients match the cpu backend: ${c.name}`, async () => {
      const xs = Float32Array.from({ length: c.x.reduce((a, b) => a * b) }, (_, i) => Math.sin(i * 0.37));
      const ws = Float32Array.from({ length: c.w.reduce((a, b) => a * b) }, (_, i) => Math.cos(i * 0.11));
      const run = () => {
        const x = tf.tensor4d(xs, c.x as [number, number, number, number]);
        const w = tf.tensor4d(ws, c.w as [number, number, number, number]);
        const f = (a: import('@tensorflow/tfjs').Tensor, b: import('@tensorflow/tfjs').Tensor) =>
          tf
            .conv2d(a as import('@tensorflow/tfjs').Tensor4D, b as import('@tensorflow/tfjs').Tensor4D, c.stride, c.pad)
            .square()
            .sum();
        const [gx, gw] = tf.grads(f)([x, w]);
        return [gx!, gw!];
      };
      const [cx, cw] = await on('cpu', run);
      const [wx, ww] = await on('wasm', run);
      expect(maxAbsDiff(wx!, cx!)).toBeLessThan(1e-3);
      expect(maxAbsDiff(ww!, cw!)).toBeLessThan(1e-3);
      expect(Math.max(...Array.from(ww!, Math.abs))).toBeGreaterThan(0.1);
    });
  }

  it('conv2d weight gradient does not leak tensors', async () => {
    await tf.setBackend('wasm');
    const x = tf.randomNormal([2, 6, 6, 3]);
    const w = tf.variable(tf.randomNormal([3, 3, 3, 4]));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const g = tf.grad((v: import('@tensorflow/tfjs').Tensor) =>
        tf.conv2d(x as import('@tensorflow/tfjs').Tensor4D, v as import('@tensorflow/tfjs').Tensor4D, 1, 'same').sum(),
      )(w);
      g.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    w.dispose();
  });

  it('gather gradient (UnsortedSegmentSum) matches the cpu backend, repeated ids accumulate', async () => {
    const table = Float32Array.from({ length: 5 * 3 }, (_, i) => i / 7);
    const ids = [4, 1, 1, 0, 4, 4];
    const run = () => {
      const t = tf.tensor2d(table, [5, 3]);
      const g = tf.grad((e: import('@tensorflow/tfjs').Tensor) =>
        tf
          .gather(e, tf.tensor1d(ids, 'int32'))
          .mul(tf.range(1, 19).reshape([6, 3]))
          .sum(),
      )(t);
      return [g];
    };
    const [c] = await on('cpu', run);
    const [w] = await on('wasm', run);
    expect(maxAbsDiff(w!, c!)).toBeLessThan(1e-5);
    // Row 4 was gathered at positions 0, 4, 5: its gradient is the sum of those rows of the multiplier.
    expect(Array.from(w!.slice(12, 15))).toEqual([1 + 13 + 16, 2 + 14 + 17, 3 + 15 + 18]);
    expect(Array.from(w!.slice(6, 9))).toEqual([0, 0, 0]);
  });
  it('finite differences agree with the registered backward kernels on a tiny conv + embedding net', async () => {
    await tf.setBackend('wasm');
    type T = import('@tensorflow/tfjs').Tensor;
    // loss(w, E) = Σ conv2d(x, w; stride 2, same) ⊙ r1 + Σ gather(E, ids) ⊙ r2: linear in each parameter,
    // so a central difference with a step of 1 is exact up to float32 rounding of the loss.
    const x = tf.tensor4d(
      Float32Array.from({ length: 2 * 7 * 6 * 3 }, (_, i) => Math.sin(i * 0.7)),
      [2, 7, 6, 3],
    );
    const r1 = tf.tensor4d(
      Float32Array.from({ length: 2 * 4 * 3 * 4 }, (_, i) => Math.cos(i * 0.3)),
      [2, 4, 3, 4],
    );
    const ids = tf.tensor1d([3, 0, 3, 2, 3], 'int32');
    const r2 = tf.tensor2d(
      Float32Array.from({ length: 5 * 2 }, (_, i) => 1 + i),
      [5, 2],
    );
    const loss = (w: T, e: T): number =>
      tf.tidy(
        () =>
          tf
            .add(
              tf.sum(
                tf.mul(
                  tf.conv2d(
                    x as import('@tensorflow/tfjs').Tensor4D,
                    w as import('@tensorflow/tfjs').Tensor4D,
                    2,
                    'same',
                  ),
                  r1,
                ),
              ),
              tf.sum(tf.mul(tf.gather(e, ids), r2)),
            )
            .dataSync()[0]!,
      );
    const wv = Float32Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i * 0.9) * 0.5);
    const ev = Float32Array.from({ length: 4 * 2 }, (_, i) => i / 5);
    const w = tf.tensor4d(wv, [3, 3, 3, 4]);
    const e = tf.tensor2d(ev, [4, 2]);
    const [gw, ge] = tf.grads((a: T, b: T) =>
      tf.add(
        tf.sum(
          tf.mul(
            tf.conv2d(x as import('@tensorflow/tfjs').Tensor4D, a as import('@tensorflow/tfjs').Tensor4D, 2, 'same'),
            r1,
          ),
        ),
        tf.sum(tf.mul(tf.gather(b, ids), r2)),
      ),
    )([w, e]);
    const gwv = await gw!.data();
    const gev = await ge!.data();
    const fd = (vals: Float32Array, shape: number[], i: number, which: 'w' | 'e'): number => {
      const plus = Float32Array.from(vals);
      const minus = Float32Array.from(vals);
      plus[i]! += 1;
      minus[i]! -= 1;
      const at = (v: Float32Array) => {
        const t = tf.tensor(v, shape);
        const l = which === 'w' ? loss(t, e) : loss(w, t);
        t.dispose();
        return l;
      };
      return (at(plus) - at(minus)) / 2;
    };
    // Every 7th weight (including taps that read the 'same' padding) and every embedding entry.
    for (let i = 0; i < wv.length; i += 7) expect(gwv[i]!).toBeCloseTo(fd(wv, [3, 3, 3, 4], i, 'w'), 3);
    for (let i = 0; i < ev.length; i++) expect(gev[i]!).toBeCloseTo(fd(ev, [4, 2], i, 'e'), 3);
    // Row 1 is never gathered; row 3 three times (1+2 + 5+6 + 9+10 for its two columns).
    expect(Array.from(gev.slice(2, 4))).toEqual([0, 0]);
    expect(Array.from(gev.slice(6, 8))).toEqual([1 + 5 + 9, 2 + 6 + 10]);
    tf.dispose([x, r1, ids, r2, w, e, gw!, ge!]);
  });
});
