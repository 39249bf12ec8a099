// One Hogwild training thread (sparse-head-threads.ts): trains the shared head on the shard of
// the shuffled order it is sent, then reports its shard's loss and hits.
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../../ml/backend.ts';
import { SparseHeadTrainer } from './sparse-head.ts';
import type { HeadWorkerData, HeadWorkerMessage } from './sparse-head-threads.ts';

const d = workerData as HeadWorkerData;
const port = parentPort!;
if (d.denseOnBackend) await initBackend();
const rows = {
  dim: d.dim,
  count: d.indptr.length - 1,
  csr: () => ({ indptr: d.indptr, indices: d.indices, values: d.values }),
};
const trainer = new SparseHeadTrainer(rows, d.targets, d.classes, d.hidden, d.batchSize, undefined, {
  learningRate: d.learningRate,
  denseOnBackend: d.denseOnBackend,
  optimizer: d.optimizer,
  totalSteps: d.totalSteps,
  state: d.state,
});
const post = (m: HeadWorkerMessage) => port.postMessage(m);
port.on('message', ({ from, to }: { from: number; to: number }) => {
  let lossSum = 0;
  let hits = 0;
  let steps = 0;
  let told = performance.now();
  for (let start = from; start < to; start += d.batchSize) {
    const n = Math.min(d.batchSize, to - start);
    const g = trainer.trainBatch(d.order.subarray(start, start + n), n, d.learningRate);
    lossSum += g.loss * n;
    hits += g.hits;
    steps++;
    if (performance.now() - told > 250) {
      post({ type: 'progress', steps });
      steps = 0;
      told = performance.now();
    }
  }
  post({ type: 'done', steps, lossSum, hits });
});
post({ type: 'ready' });
