import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../random.ts';
import { SparseRows } from './rows.ts';
import { createHeadState, type HeadOptimizer, SparseHeadTrainer, sparseTargets } from './sparse-head.ts';
import { trainSparseHead } from './sparse-head-threads.ts';
import { trainSentenceClassifier } from './train.ts';

// Sentences of three classes, each with its own words.
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

/**
 * Row i has a bucket of its own (plus one every row shares) and class i mod K: its bucket's table
 * row changes only if some thread trained on row i and the update reached the weights returned.
 * Skip a shard, or let a thread train a private copy, and half the rows keep their init.
 */
function memorise(N: number, K: number) {
  const rows = new SparseRows(N + 1);
  const cols: number[][] = [];
  for (let i = 0; i < N; i++) {
    rows.push(Int32Array.from([i, N]), Float32Array.from([1, 0.1]), 2);
    cols.push([i % K]);
  }
  return { rows, cols, targets: sparseTargets(cols) };
}

describe('trainSparseHead on 2 threads (Hogwild)', () => {
  const cases: { hidden: number; optimizer: HeadOptimizer; learningRate: number }[] = [
    { hidden: 0, optimizer: 'adam', learningRate: 0.01 },
    { hidden: 0, optimizer: 'sgd', learningRate: 1 },
    { hidden: 8, optimizer: 'adam', learningRate: 0.002 },
  ];
  for (const c of cases) {
    it(`every row's update reaches the weights it returns (hidden ${c.hidden}, ${c.optimizer})`, async () => {
      const N = 1200;
      const K = 6;
      const { rows, targets } = memorise(N, K);
      const opts = { ...c, epochs: 1, batchSize: 8, seed: 3 };
      // the same draws as the trainer's: the table's init, then W2's
      const init = createHeadState(N + 1, c.hidden, K, mulberry32(opts.seed)).w1;
      const steps: number[] = [];
      const losses: number[] = [];
      const two = await trainSparseHead(rows, targets, K, {
        ...opts,
        threads: 2,
        onStep: (s, total) => steps.push(s, total),
        onEpoch: (_e, stats) => void losses.push(stats.loss),
      });
      const W = c.hidden || K;
      const unchanged = (w1: Float32Array) => {
        let n = 0;
        for (let i = 0; i < N; i++) {
          let same = true;
          for (let j = 0; j < W; j++) if (w1[i * W + j] !== init[i * W + j]) same = false;
          if (same) n++;
        }
        return n;
      };
      // with a hidden layer a row whose ReLUs are all off gets no gradient: as many as on 1 thread
      const one = await trainSparseHead(rows, targets, K, { ...opts, threads: 1 });
      if (c.hidden === 0) expect(unchanged(two.w1)).toBe(0);
      expect(unchanged(one.w1)).toBeLessThan(N / 2);
      expect(unchanged(two.w1)).toBeLessThanOrEqual(unchanged(one.w1) + N / 20);
      // every step was reported, once, and the epoch's loss is a mean over all rows
      expect(steps.at(-2)).toBe(steps.at(-1));
      expect(steps.at(-1)).toBe(Math.ceil(N / 2 / 8) * 2);
      expect(losses).toHaveLength(1);
      expect(losses[0]).toBeGreaterThan(0.5 * Math.log(K));
      expect(losses[0]).toBeLessThan(2 * Math.log(K));
    }, 180_000);
  }

  for (const hidden of [0, 16])
    it(`trains to the held-out accuracy of 1 thread on a separable problem (hidden ${hidden})`, async () => {
      const train = (threads: number) =>
        trainSentenceClassifier(toyPairs(600, 1), {
          classes: ['phone', 'open', 'run'],
          encoder: { kind: 'ngram', ngram: { buckets: 1024 } },
          hidden,
          epochs: 2,
          batchSize: 8,
          learningRate: 0.02,
          seed: 5,
          threads,
          validation: toyPairs(90, 2),
        });
      const [one, two] = [await train(1), await train(2)];
      expect(one.history.at(-1)!.valAccuracy).toBe(1);
      expect(two.history.at(-1)!.valAccuracy).toBe(1);
      expect(two.manifest.training).toMatchObject({ threads: 2, trainer: 'js' });
    }, 180_000);

  it('stops with the abort signal', async () => {
    const { rows, targets } = memorise(4000, 4);
    const ac = new AbortController();
    const run = trainSparseHead(rows, targets, 4, {
      hidden: 0,
      epochs: 50,
      batchSize: 4,
      learningRate: 0.01,
      seed: 1,
      threads: 2,
      signal: ac.signal,
      onStep: (s) => {
        if (s === 20) ac.abort(new Error('stop here'));
      },
    });
    await expect(run).rejects.toThrow('stop here');
  }, 180_000);
});

describe('SGD', () => {
  it("one step is w − lr · (the batch's gradient), the table's applied while back-propagating", () => {
    const { rows, targets } = memorise(12, 3);
    const a = new SparseHeadTrainer(rows, targets, 3, 4, 6, mulberry32(7), { denseOnBackend: false, optimizer: 'sgd' });
    const b = new SparseHeadTrainer(rows, targets, 3, 4, 6, mulberry32(7), { denseOnBackend: false });
    const batch = Int32Array.from([0, 3, 5, 7, 11, 12 - 1]);
    const w1 = Float32Array.from(b.head.w1);
    const w2 = Float32Array.from(b.head.w2!);
    const g = b.gradients(batch);
    const table = new Float32Array(w1.length);
    g.touched.forEach((r, s) => table.set(g.table.subarray(s * 4, (s + 1) * 4), r * 4));
    // first step of a run: the full learning rate
    a.trainBatch(batch, batch.length, 0.5);
    for (let i = 0; i < w1.length; i++) expect(a.head.w1[i]).toBeCloseTo(w1[i]! - 0.5 * table[i]!, 5);
    for (let i = 0; i < w2.length; i++) expect(a.head.w2![i]).toBeCloseTo(w2[i]! - 0.5 * g.w2![i]!, 5);
    expect(a.state.adam).toBeUndefined(); // no optimiser state
  });

  it('decays the learning rate linearly to 0 over the run', () => {
    const { rows, targets } = memorise(8, 2);
    const t = new SparseHeadTrainer(rows, targets, 2, 0, 8, mulberry32(1), { optimizer: 'sgd', totalSteps: 4 });
    const before = Float32Array.from(t.head.w1);
    for (let s = 0; s < 4; s++) t.trainBatch(Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7]), 8, 1);
    const moved = Float32Array.from(t.head.w1);
    t.trainBatch(Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7]), 8, 1); // past the run's steps: rate 0
    expect(Array.from(t.head.w1)).toEqual(Array.from(moved));
    expect(Array.from(moved)).not.toEqual(Array.from(before));
  });
});
