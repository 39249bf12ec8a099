// Hogwild training of the `ngram` head on worker threads (fastText's way of using every core):
// the weights and the optimiser state live in SharedArrayBuffers, every thread trains its own
// contiguous shard of each epoch's shuffled order and writes its updates without locks. Sparse
// rows rarely collide, and the dense parts (biases, W2) take the sum of everyone's steps.
// The PRNG draws the same init and shuffles as one thread would; what differs is the order in
// which the threads' updates land: results are not bit-reproducible (nor are fastText's).
import { Worker } from 'node:worker_threads';
import { initBackend } from '../../ml/backend.ts';
import type { HeadWeights } from './head.ts';
import { mulberry32, shuffleInPlace } from '../../random.ts';
import {
  createHeadState,
  type CsrRows,
  type HeadState,
  type SparseHeadOptions,
  SparseHeadTrainer,
  type SparseTargets,
  trainSparseHeadSerial,
} from './sparse-head.ts';

// Compiled: the worker's .js; from the TypeScript sources: its .mjs shim that registers tsx first.
const workerEntry = new URL(
  import.meta.url.endsWith('.ts') ? './sparse-head-worker.mjs' : './sparse-head-worker.js',
  import.meta.url,
);

/** What a worker thread gets (every array on a SharedArrayBuffer: nothing is copied). */
export interface HeadWorkerData {
  dim: number;
  indptr: Int32Array;
  indices: Int32Array;
  values: Float32Array;
  targets: SparseTargets;
  order: Int32Array;
  state: HeadState;
  classes: number;
  hidden: number;
  batchSize: number;
  learningRate: number;
  optimizer: 'adam' | 'sgd';
  denseOnBackend: boolean;
  totalSteps: number;
}

/** A worker's messages: ready, progress (steps since the last message), done with its shard's sums. */
export type HeadWorkerMessage =
  | { type: 'ready' }
  | { type: 'progress'; steps: number }
  | { type: 'done'; steps: number; lossSum: number; hits: number };

function shareInt(a: Int32Array): Int32Array {
  const out = new Int32Array(new SharedArrayBuffer(4 * Math.max(1, a.length)), 0, a.length);
  out.set(a);
  return out;
}

function shareFloat(a: Float32Array): Float32Array {
  const out = new Float32Array(new SharedArrayBuffer(4 * Math.max(1, a.length)), 0, a.length);
  out.set(a);
  return out;
}

/**
 * Trains the head on hashed n-gram rows: on this thread when `threads` is 1 (deterministic), else
 * on worker threads from the same init and shuffles.
 */
export async function trainSparseHead(
  rows: CsrRows,
  targets: SparseTargets,
  classes: number,
  opts: SparseHeadOptions,
): Promise<HeadWeights> {
  const threads = Math.max(1, Math.floor(opts.threads ?? 1));
  return threads > 1
    ? trainSparseHeadThreads(rows, targets, classes, opts, threads)
    : trainSparseHeadSerial(rows, targets, classes, opts);
}

export async function trainSparseHeadThreads(
  rows: CsrRows,
  targets: SparseTargets,
  classes: number,
  opts: SparseHeadOptions,
  threads: number,
): Promise<HeadWeights> {
  const rand = mulberry32(opts.seed);
  const H = opts.hidden;
  const K = classes;
  const N = rows.count;
  const B = opts.batchSize;
  const optimizer = opts.optimizer ?? 'adam';
  const denseOnBackend = H > 0 && opts.denseOnBackend !== false;
  if (denseOnBackend) await initBackend(); // this thread's argmax for the validation rows
  const state = createHeadState(rows.dim, H, K, rand, { shared: true, optimizer, w2Transposed: denseOnBackend });
  const csr = rows.csr();
  const shared = { indptr: shareInt(csr.indptr), indices: shareInt(csr.indices), values: shareFloat(csr.values) };
  const sharedTargets: SparseTargets = {
    indptr: shareInt(targets.indptr),
    cols: shareInt(targets.cols),
    mass: shareFloat(targets.mass),
  };
  const order = shareInt(Int32Array.from({ length: N }, (_, i) => i));
  // contiguous shards of each epoch's shuffled order, one per thread, covering every row once
  const shards = Array.from({ length: threads }, (_, t) => ({
    from: Math.floor((t * N) / threads),
    to: Math.floor(((t + 1) * N) / threads),
  }));
  const total = opts.epochs * shards.reduce((s, x) => s + Math.ceil((x.to - x.from) / B), 0);
  const here = new SparseHeadTrainer(
    { dim: rows.dim, count: N, csr: () => shared },
    sharedTargets,
    K,
    H,
    B,
    undefined,
    { learningRate: opts.learningRate, denseOnBackend, optimizer, totalSteps: total, state },
  );
  const data: HeadWorkerData = {
    dim: rows.dim,
    ...shared,
    targets: sharedTargets,
    order,
    state,
    classes: K,
    hidden: H,
    batchSize: B,
    learningRate: opts.learningRate,
    optimizer,
    denseOnBackend,
    totalSteps: total,
  };
  const workers: Worker[] = [];
  let failed: ((e: unknown) => void) | undefined;
  const failure = new Promise<never>((_, reject) => (failed = reject));
  failure.catch(() => {}); // raced below; an unobserved rejection must not crash the process
  const onAbort = () => failed!(opts.signal!.reason ?? new Error('aborted'));
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
    // this thread trains shard 0 itself (it has loaded everything already); workers the others
    for (let t = 1; t < threads; t++) {
      const w = new Worker(workerEntry, { workerData: data });
      w.on('error', (e) => failed!(e));
      w.on('exit', (code) => {
        if (code !== 0) failed!(new Error(`s2a training thread ${t} exited with code ${code}`));
      });
      workers.push(w);
    }
    await Promise.race([
      failure,
      Promise.all(workers.map((w) => new Promise<void>((r) => w.once('message', () => r())))),
    ]);
    let step = 0;
    for (let epoch = 1; epoch <= opts.epochs; epoch++) {
      shuffleInPlace(order, rand);
      const done = workers.map((w, i) => {
        const { from, to } = shards[i + 1]!;
        return new Promise<{ lossSum: number; hits: number }>((resolve) => {
          const onMessage = (m: HeadWorkerMessage) => {
            if (m.type === 'ready') return;
            for (let s = 0; s < m.steps; s++) opts.onStep?.(++step, total);
            if (m.type === 'done') {
              w.off('message', onMessage);
              resolve(m);
            }
          };
          w.on('message', onMessage);
          w.postMessage({ from, to });
        });
      });
      // shard 0, here: yield about 4 times a second so that progress, errors and aborts get through
      const mine = { lossSum: 0, hits: 0 };
      let yielded = performance.now();
      for (let start = shards[0]!.from; start < shards[0]!.to; start += B) {
        const n = Math.min(B, shards[0]!.to - start);
        const g = here.trainBatch(order.subarray(start, start + n), n, opts.learningRate);
        mine.lossSum += g.loss * n;
        mine.hits += g.hits;
        opts.onStep?.(++step, total);
        if (performance.now() - yielded > 250) {
          await Promise.race([failure, new Promise((r) => setImmediate(r))]);
          yielded = performance.now();
        }
      }
      const sums = [mine, ...(await Promise.race([failure, Promise.all(done)]))];
      const lossSum = sums.reduce((s, x) => s + x.lossSum, 0);
      const hits = sums.reduce((s, x) => s + x.hits, 0);
      const valTop = opts.validation && opts.onEpoch ? here.argmax(opts.validation) : undefined;
      await opts.onEpoch?.(
        epoch,
        { loss: N ? lossSum / N : Number.NaN, accuracy: N ? hits / N : Number.NaN, ...(valTop ? { valTop } : {}) },
        here.syncHead(),
      );
    }
    return here.syncHead();
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await Promise.all(
      workers.map((w) => {
        w.removeAllListeners('exit');
        return w.terminate();
      }),
    );
    here.dispose();
  }
}
