import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../random.ts';
import { SparseRows } from './rows.ts';
import { SparseHeadTrainer, sparseTargets, trainSparseHeadSerial as trainSparseHead } from './sparse-head.ts';
import { trainHead } from './train-head.ts';
import { trainSentenceClassifier } from './train.ts';

/** A tiny problem: N rows over D buckets, a repeated bucket in each row, K classes (two labels on some rows). */
function tiny(D: number, N: number, K: number) {
  const rows = new SparseRows(D);
  const cols: number[][] = [];
  for (let i = 0; i < N; i++) {
    const idx = Int32Array.from([i % D, (i * 7 + 3) % D, (i * 13 + 5) % D, i % D]);
    const val = Float32Array.from([0.5, 0.25, -0.5, 0.5]);
    rows.push(idx, val, idx.length);
    cols.push(i % 3 === 2 ? [i % K, (i + 1) % K] : [i % K]);
  }
  return { rows, cols, targets: sparseTargets(cols) };
}

describe('SparseHeadTrainer: gradients', () => {
  for (const hidden of [0, 3]) {
    it(`match central finite differences of the batch loss (hidden ${hidden})`, () => {
      const D = 16;
      const K = 4;
      const { rows, targets } = tiny(D, 5, K);
      const t = new SparseHeadTrainer(rows, targets, K, hidden, 5, mulberry32(4), { denseOnBackend: false });
      const head = t.head;
      // larger weights than the init, so that the loss is not flat
      for (const w of [head.w1, head.b1, head.w2, head.b2])
        if (w) for (let i = 0; i < w.length; i++) w[i] = Math.sin(i * 1.7 + w.length) * 0.8;
      const batch = Int32Array.from([0, 1, 2, 3, 4]);
      const g = t.gradients(batch);
      const touched = [...g.touched];
      const W = hidden || K;
      const table = new Float32Array(D * W); // scatter the sparse table gradient back to [D × W]
      touched.forEach((b, s) => table.set(g.table.subarray(s * W, (s + 1) * W), b * W));
      const check = (w: Float32Array, grad: Float32Array) => {
        const eps = 1e-3;
        for (let i = 0; i < w.length; i++) {
          const x = w[i]!;
          w[i] = x + eps;
          const up = t.gradients(batch).loss;
          w[i] = x - eps;
          const down = t.gradients(batch).loss;
          w[i] = x;
          const numeric = (up - down) / (2 * eps);
          expect(Math.abs(numeric - grad[i]!)).toBeLessThan(2e-3 + 2e-2 * Math.abs(numeric));
        }
      };
      check(head.w1, table);
      check(head.b1, new Float32Array(g.b1));
      if (hidden) {
        check(head.w2!, new Float32Array(g.w2!));
        check(head.b2!, new Float32Array(g.b2!));
      }
      // rows no example uses get no gradient (and are not touched)
      const used = new Set<number>();
      for (const r of batch) for (const b of [r % D, (r * 7 + 3) % D, (r * 13 + 5) % D]) used.add(b);
      expect(new Set(touched)).toEqual(used);
    });
  }
});

describe('trainSparseHead', () => {
  for (const hidden of [0, 8]) {
    it(`equals the dense tfjs trainer after one Adam step (hidden ${hidden})`, async () => {
      // same init and shuffle draws, same loss, same Adam: the sparse bag with lazy Adam must give
      // what tf.train.adam gives on the densified rows (untouched rows: zero gradient, zero moments)
      const D = 64;
      const K = 3;
      const N = 6;
      const { rows, cols } = tiny(D, N, K);
      const dense = new Float32Array(N * K);
      cols.forEach((c, i) => c.forEach((k) => (dense[i * K + k] = 1 / c.length)));
      const opts = { hidden, epochs: 1, batchSize: N, learningRate: 0.05, seed: 9 };
      const a = await trainSparseHead(rows, sparseTargets(cols), K, opts);
      const b = (await trainHead(rows, dense, K, opts)).head;
      const close = (x: Float32Array, y: Float32Array) => {
        expect(x.length).toBe(y.length);
        for (let i = 0; i < x.length; i++) expect(Math.abs(x[i]! - y[i]!)).toBeLessThan(2e-3); // a wrong sign would be 0.1 off
      };
      close(a.w1, b.w1);
      close(a.b1, b.b1);
      if (hidden) {
        close(a.w2!, b.w2!);
        close(a.b2!, b.b2!);
      }
    });
  }

  it('the [hidden × K] products on the tfjs backend give the JS reference weights', async () => {
    const { rows, targets } = tiny(32, 40, 5);
    const opts = { hidden: 6, epochs: 3, batchSize: 8, learningRate: 0.01, seed: 2 };
    const js = await trainSparseHead(rows, targets, 5, { ...opts, denseOnBackend: false });
    const tfjs = await trainSparseHead(rows, targets, 5, opts);
    for (const [x, y] of [
      [js.w1, tfjs.w1],
      [js.w2!, tfjs.w2!],
      [js.b2!, tfjs.b2!],
    ] as const) {
      for (let i = 0; i < x.length; i++) expect(Math.abs(x[i]! - y[i]!)).toBeLessThan(1e-3);
    }
  });
});

// Sentences of three classes, each with its own words; the classifier must learn them.
const WORDS = {
  phone: ['phone', 'call', 'ring', 'hello'],
  open: ['door', 'open', 'unlock', 'key'],
  run: ['run', 'fast', 'hurry', 'go'],
} as const;
function toyPairs(n: number, seed: number) {
  const rand = mulberry32(seed);
  const pick = <T>(a: readonly T[]) => a[Math.floor(rand() * a.length)]!;
  const classes = Object.keys(WORDS) as (keyof typeof WORDS)[];
  return Array.from({ length: n }, (_, i) => {
    const c = classes[i % 3]!;
    return { speech: `well ${pick(WORDS[c])} the ${pick(WORDS[c])} now`, labels: [c] };
  });
}

describe('trainSentenceClassifier (ngram)', () => {
  for (const hidden of [0, 16]) {
    it(`learns a separable problem (hidden ${hidden})`, async () => {
      const t = await trainSentenceClassifier(toyPairs(120, 1), {
        classes: ['phone', 'open', 'run'],
        encoder: { kind: 'ngram', ngram: { buckets: 1024 } },
        hidden,
        epochs: 8,
        batchSize: 8,
        learningRate: 0.02,
        seed: 5,
      });
      const test = toyPairs(30, 2);
      const scores = await t.classifier.predict(test.map((p) => p.speech));
      let right = 0;
      test.forEach((p, i) => {
        const row = Array.from(scores.subarray(i * 3, i * 3 + 3));
        if (['phone', 'open', 'run'][row.indexOf(Math.max(...row))] === p.labels[0]) right++;
      });
      expect(right).toBe(test.length);
      expect(t.history.at(-1)!.loss).toBeLessThan(t.history[0]!.loss);
      expect(t.manifest.training?.trainer).toBe('js');
    });
  }

  it('gives the same predictions for the same seed, and others for another seed', async () => {
    const train = (seed: number) =>
      trainSentenceClassifier(toyPairs(60, 3), {
        classes: ['phone', 'open', 'run'],
        encoder: { kind: 'ngram', ngram: { buckets: 512 } },
        hidden: 8,
        epochs: 2,
        batchSize: 4,
        seed,
      });
    const sentences = ['ring ring hello', 'open the door', 'hurry up', 'what now'];
    const [a, b, c] = await Promise.all([train(7), train(7), train(8)]);
    const [pa, pb, pc] = await Promise.all([a, b, c].map((t) => t.classifier.predict(sentences)));
    expect(Array.from(pa!)).toEqual(Array.from(pb!));
    expect(Array.from(pa!)).not.toEqual(Array.from(pc!));
  });
});
