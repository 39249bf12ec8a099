// Trains the head on dense features (BERT sentence vectors) with tfjs (§3.2: softmax +
// cross-entropy, Adam, batch 32), then hands back the weights as Float32Arrays for the plain-JS
// forward pass, and tfjs save artifacts of an equivalent dense layers model (loadable with
// tf.io.fromMemory). Hashed n-gram rows are trained in plain JS instead (sparse-head.ts).
import { tf, initBackend, type BackendName } from '../../ml/backend.ts';
import type { HeadWeights } from './head.ts';
import type { FeatureRows } from './rows.ts';
import { mulberry32, shuffleInPlace } from '../../random.ts';
import { ADAM, glorot } from './sparse-head.ts';
import { headArtifacts, headFromWeightList, type HeadArtifacts } from './head-format.ts';

export interface HeadTrainOptions {
  hidden: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  signal?: AbortSignal;
  /** Called after every optimiser step (step counts from 1 across epochs). */
  onStep?: (step: number, totalSteps: number) => void;
  /** Called after each epoch with the mean training loss and accuracy (and the head so far). */
  onEpoch?: (epoch: number, stats: { loss: number; accuracy: number }, head: HeadWeights) => void | Promise<void>;
}

export interface TrainedHead {
  head: HeadWeights;
  backend: BackendName;
  /** Save artifacts (tfjs layers topology + weight specs + data). */
  artifacts: HeadArtifacts;
}

type Tensor = ReturnType<typeof tf.tensor>;

/**
 * rows: N encoded sentences (each densified per batch: meant for BERT vectors; hashed n-grams go
 * to sparse-head.ts); targets: N×K target distributions (a pair with several labels spreads its
 * mass over them; class weights may scale rows).
 */
export async function trainHead(
  rows: FeatureRows,
  targets: Float32Array,
  classes: number,
  opts: HeadTrainOptions,
): Promise<TrainedHead> {
  const backend = await initBackend();
  const N = rows.count;
  const D = rows.dim;
  const K = classes;
  const H = opts.hidden;
  if (targets.length !== N * K) throw new Error(`trainHead: ${N} rows but ${targets.length / K} target rows`);
  const rand = mulberry32(opts.seed);
  const width = H > 0 ? H : K;
  const w1 = tf.variable(tf.tensor2d(glorot(D, width, rand), [D, width]), true);
  const b1 = tf.variable(tf.zeros([width]), true);
  const w2 = H > 0 ? tf.variable(tf.tensor2d(glorot(H, K, rand), [H, K]), true) : undefined;
  const b2 = H > 0 ? tf.variable(tf.zeros([K]), true) : undefined;
  const tfVars = [w1, b1, ...(w2 && b2 ? [w2, b2] : [])];
  const optimizer = tf.train.adam(opts.learningRate, ADAM.beta1, ADAM.beta2, ADAM.epsilon);

  const order = new Int32Array(N);
  for (let i = 0; i < N; i++) order[i] = i;
  const B = opts.batchSize;
  const yBuf = new Float32Array(B * K);
  const denseBuf = new Float32Array(B * D);
  let step = 0;
  const totalSteps = Math.ceil(N / B) * opts.epochs;

  for (let epoch = 1; epoch <= opts.epochs; epoch++) {
    shuffleInPlace(order, rand);
    let lossSum = 0;
    let hits = 0;
    for (let start = 0; start < N; start += B) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
      step++;
      const n = Math.min(B, N - start);
      for (let i = 0; i < n; i++) yBuf.set(targets.subarray(order[start + i]! * K, (order[start + i]! + 1) * K), i * K);
      const ys = tf.tensor2d(yBuf.subarray(0, n * K), [n, K]);
      denseBuf.fill(0, 0, n * D);
      for (let i = 0; i < n; i++) rows.fill(order[start + i]!, denseBuf, i * D);
      const x = tf.tensor2d(denseBuf.subarray(0, n * D), [n, D]);
      let logitsOut: Tensor | undefined;
      const { value: loss, grads } = tf.valueAndGrads((...a: Tensor[]) => {
        let z = tf.add(tf.matMul(x, a[0]!), a[1]!);
        if (H > 0) z = tf.add(tf.matMul(tf.relu(z), a[2]!), a[3]!);
        logitsOut = tf.keep(z);
        return tf.losses.softmaxCrossEntropy(ys, z) as ReturnType<typeof tf.scalar>;
      })(tfVars);
      const named: Record<string, Tensor> = {};
      tfVars.forEach((v, i) => (named[v.name] = grads[i]!));
      optimizer.applyGradients(named as Parameters<typeof optimizer.applyGradients>[0]);
      const [lossValue] = await loss.data();
      const logits = (await logitsOut!.data()) as Float32Array;
      for (let i = 0; i < n; i++) {
        let best = 0;
        let bestT = 0;
        for (let k = 1; k < K; k++) if (logits[i * K + k]! > logits[i * K + best]!) best = k;
        for (let k = 1; k < K; k++) if (yBuf[i * K + k]! > yBuf[i * K + bestT]!) bestT = k;
        if (yBuf[i * K + best]! > 0 && yBuf[i * K + best]! >= yBuf[i * K + bestT]!) hits++;
      }
      lossSum += lossValue! * n;
      loss.dispose();
      logitsOut!.dispose();
      tf.dispose(grads);
      ys.dispose();
      x.dispose();
      opts.onStep?.(step, totalSteps);
    }
    const head = await extractHead(tfVars, D, H, K);
    await opts.onEpoch?.(epoch, { loss: N ? lossSum / N : Number.NaN, accuracy: N ? hits / N : Number.NaN }, head);
  }
  const head = await extractHead(tfVars, D, H, K);
  optimizer.dispose();
  for (const v of tfVars) v.dispose();
  return { head, backend, artifacts: headArtifacts(head) };
}

async function extractHead(vars: Tensor[], D: number, H: number, K: number): Promise<HeadWeights> {
  const ws = await Promise.all(vars.map(async (v) => new Float32Array((await v.data()) as Float32Array)));
  return headFromWeightList(ws, D, H, K);
}
