import { describe, expect, it } from 'vitest';
import { DenseRows, SparseRows } from './rows.ts';
import { trainHead } from './train-head.ts';

// After one Adam step the lazy update of the sparse embedding table equals tfjs's dense Adam
// (untouched rows have zero gradient and zero moments), so both paths must give the same head
// (up to float32 rounding: Adam's first step divides tiny gradients by their own magnitude).
describe('trainHead: sparse embedding bag with lazy Adam', () => {
  for (const hidden of [0, 8]) {
    it(`matches the dense tfjs path after one step (hidden ${hidden})`, async () => {
      const D = 64;
      const K = 3;
      const N = 6;
      const sparse = new SparseRows(D);
      const dense = new Float32Array(N * D);
      for (let i = 0; i < N; i++) {
        const idx = Int32Array.from([i, (i * 7 + 3) % D, (i * 13 + 5) % D, i]); // a repeated bucket too
        const val = Float32Array.from([0.5, 0.25, -0.5, 0.5]);
        sparse.push(idx, val, idx.length);
        for (let f = 0; f < idx.length; f++) dense[i * D + idx[f]!] += val[f]!;
      }
      const targets = new Float32Array(N * K);
      for (let i = 0; i < N; i++) targets[i * K + (i % K)] = 1;
      const opts = { hidden, epochs: 1, batchSize: N, learningRate: 0.05, seed: 9 };
      const a = await trainHead(sparse, targets, K, opts);
      const b = await trainHead(new DenseRows(dense, D), targets, K, opts);
      // a wrong gradient sign would differ by 2 × learningRate = 0.1
      const close = (x: Float32Array, y: Float32Array) => {
        expect(x.length).toBe(y.length);
        for (let i = 0; i < x.length; i++) expect(Math.abs(x[i]! - y[i]!)).toBeLessThan(2e-3);
      };
      close(a.head.w1, b.head.w1);
      close(a.head.b1, b.head.b1);
      if (hidden) close(a.head.w2!, b.head.w2!);
      // and something was learnt: the weights moved from their initialisation
      const c = await trainHead(sparse, targets, K, { ...opts, learningRate: 1e-9 });
      expect(a.head.w1.some((v, i) => Math.abs(v - c.head.w1[i]!) > 1e-3)).toBe(true);
    });
  }
});
