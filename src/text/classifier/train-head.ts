// Trains the head with tfjs (§3.2: softmax + cross-entropy, Adam, batch 32), then hands back the
// weights as Float32Arrays for the plain-JS forward pass, and tfjs save artifacts of an equivalent
// dense layers model (loadable with tf.io.fromMemory).
//
// Hashed n-gram inputs are sparse (~100 of 65k buckets set), so the first layer is an
// "embedding bag": gather the rows of the set buckets and sum them weighted by their values, with
// a custom gradient that scatters back into the batch's rows. Feeding a dense [32 × 65k] batch
// instead spent ~0.5 s per step on wasm (the transposed matMul of the kernel gradient).
import { tf, initBackend, type BackendName } from '../../ml/backend.ts';
import type { HeadWeights } from './head.ts';
import { SparseRows, type FeatureRows } from './rows.ts';
import { mulberry32, shuffleInPlace } from '../../random.ts';

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
  /** tfjs artifacts (topology + weight specs + data), as `tf.io.withSaveHandler` received them. */
  artifacts: HeadArtifacts;
}

export interface HeadArtifacts {
  modelTopology: unknown;
  weightSpecs: { name: string; shape: number[]; dtype: string }[];
  weightData: ArrayBuffer;
}

type Tensor = ReturnType<typeof tf.tensor>;

/** Glorot-uniform init from our seeded PRNG (the same seed gives the same run on any backend). */
export function glorot(rows: number, cols: number, rand: () => number): Float32Array {
  const limit = Math.sqrt(6 / (rows + cols));
  const a = new Float32Array(rows * cols);
  for (let i = 0; i < a.length; i++) a[i] = (rand() * 2 - 1) * limit;
  return a;
}

const ADAM = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }; // tf.train.adam's defaults

/**
 * rows: N encoded sentences; targets: N×K target distributions (a pair with several labels
 * spreads its mass over them; class weights may scale rows).
 *
 * Sparse rows (hashed n-grams): the first layer is an embedding table [buckets × width]. tfjs
 * computes the loss and every gradient; the table's rows touched by a batch are then updated
 * with Adam in place ("lazy Adam", as TensorFlow Addons' LazyAdam): a dense Adam step over the
 * 4M-weight table cost ~0.2 s per batch on wasm, the lazy one touches ~2k rows. The other
 * weights use tf.train.adam.
 */
export async function trainHead(rows: FeatureRows, targets: Float32Array, classes: number, opts: HeadTrainOptions): Promise<TrainedHead> {
  const backend = await initBackend();
  const N = rows.count;
  const D = rows.dim;
  const K = classes;
  const H = opts.hidden;
  if (targets.length !== N * K) throw new Error(`trainHead: ${N} rows but ${targets.length / K} target rows`);
  const rand = mulberry32(opts.seed);
  const width = H > 0 ? H : K;
  const sparse = rows instanceof SparseRows ? rows : undefined;
  const w1Init = glorot(D, width, rand);
  // sparse: the table lives in JS (with its Adam moments); dense: a tf variable
  const table = sparse ? { w: w1Init, m: new Float32Array(D * width), v: new Float32Array(D * width) } : undefined;
  const w1 = sparse ? undefined : tf.variable(tf.tensor2d(w1Init, [D, width]), true);
  const b1 = tf.variable(tf.zeros([width]), true);
  const w2 = H > 0 ? tf.variable(tf.tensor2d(glorot(H, K, rand), [H, K]), true) : undefined;
  const b2 = H > 0 ? tf.variable(tf.zeros([K]), true) : undefined;
  const tfVars = [...(w1 ? [w1] : []), b1, ...(w2 && b2 ? [w2, b2] : [])];
  const optimizer = tf.train.adam(opts.learningRate, ADAM.beta1, ADAM.beta2, ADAM.epsilon);

  const order = new Int32Array(N);
  for (let i = 0; i < N; i++) order[i] = i;
  const B = opts.batchSize;
  const yBuf = new Float32Array(B * K);
  const denseBuf = sparse ? new Float32Array(0) : new Float32Array(B * D);
  const bagBuf = new Float32Array(B * width);
  let maxRow = 1;
  if (sparse) for (let r = 0; r < N; r++) maxRow = Math.max(maxRow, sparse.rowLength(r));
  const rowIdx = new Int32Array(maxRow);
  const rowVal = new Float32Array(maxRow);
  const scratch = { rowIdx, rowVal, grad: new Float32Array(D * (sparse ? width : 0)), touched: new Int32Array(sparse ? D : 0), seen: new Uint8Array(sparse ? D : 0) };
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
      const batchTensors: Tensor[] = [ys];
      // args of the loss whose gradients tfjs computes: [first-layer input or kernel, b1, (w2, b2)]
      let firstArg: Tensor;
      let firstLayer: (a: Tensor) => Tensor;
      if (sparse && table) {
        // embedding bag in JS: z[i] = Σ value · table[bucket]
        bagBuf.fill(0, 0, n * width);
        for (let i = 0; i < n; i++) {
          const r = order[start + i]!;
          const len = sparse.rowLength(r);
          sparse.copyRow(r, rowIdx, rowVal, 0);
          const zo = i * width;
          for (let f = 0; f < len; f++) {
            const v = rowVal[f]!;
            const o = rowIdx[f]! * width;
            for (let j = 0; j < width; j++) bagBuf[zo + j] += v * table.w[o + j]!;
          }
        }
        firstArg = tf.tensor2d(bagBuf.subarray(0, n * width), [n, width]);
        batchTensors.push(firstArg);
        firstLayer = (z) => z;
      } else {
        denseBuf.fill(0, 0, n * D);
        for (let i = 0; i < n; i++) rows.fill(order[start + i]!, denseBuf, i * D);
        const x = tf.tensor2d(denseBuf.subarray(0, n * D), [n, D]);
        batchTensors.push(x);
        firstArg = w1!;
        firstLayer = (w) => tf.matMul(x, w);
      }
      let logitsOut: Tensor | undefined;
      const args = [firstArg, ...tfVars.slice(w1 ? 1 : 0)];
      const { value: loss, grads } = tf.valueAndGrads((...a: Tensor[]) => {
        let z = tf.add(firstLayer(a[0]!), a[1]!);
        if (H > 0) z = tf.add(tf.matMul(tf.relu(z), a[2]!), a[3]!);
        logitsOut = tf.keep(z);
        return tf.losses.softmaxCrossEntropy(ys, z) as ReturnType<typeof tf.scalar>;
      })(args);
      const named: Record<string, Tensor> = {};
      tfVars.forEach((v, i) => (named[v.name] = grads[w1 ? i : i + 1]!));
      if (sparse && table) {
        // chain rule through the bag, then Adam on the touched rows only
        const dz = (await grads[0]!.data()) as Float32Array;
        lazyAdamBatch(table, sparse, order, start, n, dz, width, step, opts.learningRate, scratch);
      }
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
      for (const t of batchTensors) t.dispose();
      opts.onStep?.(step, totalSteps);
    }
    const head = await extractHead(table?.w, tfVars, D, H, K);
    await opts.onEpoch?.(epoch, { loss: N ? lossSum / N : Number.NaN, accuracy: N ? hits / N : Number.NaN }, head);
  }
  const head = await extractHead(table?.w, tfVars, D, H, K);
  const artifacts = await saveArtifacts(head);
  optimizer.dispose();
  for (const v of tfVars) v.dispose();
  return { head, backend, artifacts };
}

interface Table {
  w: Float32Array;
  m: Float32Array;
  v: Float32Array;
}
interface LazyScratch {
  rowIdx: Int32Array;
  rowVal: Float32Array;
  /** [D × width] gradient accumulator, only touched rows are non-zero (and reset after use). */
  grad: Float32Array;
  touched: Int32Array;
  seen: Uint8Array;
}

/**
 * Backpropagates dL/dz through the embedding bag (dL/dtable[b] = Σ value · dz[i]) and applies
 * Adam to the touched rows only (bias correction from the global step), as LazyAdam does.
 */
function lazyAdamBatch(table: Table, sparse: SparseRows, order: Int32Array, start: number, n: number, dz: Float32Array, width: number, step: number, lr: number, s: LazyScratch): void {
  let touched = 0;
  for (let i = 0; i < n; i++) {
    const r = order[start + i]!;
    const len = sparse.rowLength(r);
    sparse.copyRow(r, s.rowIdx, s.rowVal, 0);
    for (let f = 0; f < len; f++) {
      const b = s.rowIdx[f]!;
      if (!s.seen[b]) {
        s.seen[b] = 1;
        s.touched[touched++] = b;
      }
      const v = s.rowVal[f]!;
      const o = b * width;
      for (let j = 0; j < width; j++) s.grad[o + j] += v * dz[i * width + j]!;
    }
  }
  const { beta1, beta2, epsilon } = ADAM;
  const lrT = (lr * Math.sqrt(1 - beta2 ** step)) / (1 - beta1 ** step);
  const { w, m, v } = table;
  for (let t = 0; t < touched; t++) {
    const b = s.touched[t]!;
    s.seen[b] = 0;
    const o = b * width;
    for (let j = 0; j < width; j++) {
      const g = s.grad[o + j]!;
      s.grad[o + j] = 0;
      const mj = (m[o + j] = beta1 * m[o + j]! + (1 - beta1) * g);
      const vj = (v[o + j] = beta2 * v[o + j]! + (1 - beta2) * g * g);
      w[o + j]! -= (lrT * mj) / (Math.sqrt(vj) + epsilon);
    }
  }
}

async function extractHead(table: Float32Array | undefined, vars: Tensor[], D: number, H: number, K: number): Promise<HeadWeights> {
  const ws = await Promise.all(vars.map(async (v) => new Float32Array((await v.data()) as Float32Array)));
  return headFromWeightList(table ? [new Float32Array(table), ...ws] : ws, D, H, K);
}

/** The head as a tfjs dense layers model (softmax output), through tf.io.withSaveHandler. */
export async function saveArtifacts(head: HeadWeights): Promise<HeadArtifacts> {
  const { inputDim: D, hidden: H, classes: K } = head;
  const layers =
    H > 0
      ? [
          tf.layers.dense({ name: 'hidden', inputShape: [D], units: H, activation: 'relu' }),
          tf.layers.dense({ name: 'output', units: K, activation: 'softmax' }),
        ]
      : [tf.layers.dense({ name: 'output', inputShape: [D], units: K, activation: 'softmax' })];
  const model = tf.sequential({ layers });
  const weights =
    H > 0
      ? [tf.tensor2d(head.w1, [D, H]), tf.tensor1d(head.b1), tf.tensor2d(head.w2!, [H, K]), tf.tensor1d(head.b2!)]
      : [tf.tensor2d(head.w1, [D, K]), tf.tensor1d(head.b1)];
  model.setWeights(weights);
  for (const w of weights) w.dispose();
  let artifacts: HeadArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = {
        modelTopology: a.modelTopology,
        weightSpecs: (a.weightSpecs ?? []).map((s) => ({ name: s.name, shape: [...s.shape], dtype: s.dtype })),
        weightData: concatWeightData(a.weightData),
      };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  model.dispose();
  return artifacts!;
}

function concatWeightData(data: ArrayBuffer | ArrayBuffer[] | undefined): ArrayBuffer {
  if (!data) return new ArrayBuffer(0);
  if (!Array.isArray(data)) return data;
  const total = data.reduce((s, b) => s + b.byteLength, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const b of data) {
    out.set(new Uint8Array(b), o);
    o += b.byteLength;
  }
  return out.buffer;
}

/** Weights in layer order: [hidden kernel, hidden bias,] output kernel, output bias. */
export function headFromWeightList(ws: Float32Array[], D: number, hidden: number, K: number): HeadWeights {
  if (hidden > 0) {
    if (ws.length !== 4) throw new Error(`expected 4 weight tensors for an MLP head, got ${ws.length}`);
    return { inputDim: D, hidden, classes: K, w1: ws[0]!, b1: ws[1]!, w2: ws[2]!, b2: ws[3]! };
  }
  if (ws.length !== 2) throw new Error(`expected 2 weight tensors for a linear head, got ${ws.length}`);
  return { inputDim: D, hidden: 0, classes: K, w1: ws[0]!, b1: ws[1]! };
}

/** Splits tfjs weight data along its specs (float32 only: what dense layers save). */
export function weightsFromArtifacts(specs: HeadArtifacts['weightSpecs'], data: ArrayBuffer): Float32Array[] {
  const out: Float32Array[] = [];
  let offset = 0;
  for (const s of specs) {
    if (s.dtype !== 'float32') throw new Error(`weight ${s.name}: dtype ${s.dtype} not supported`);
    const size = s.shape.reduce((a, b) => a * b, 1);
    out.push(new Float32Array(data.slice(offset, offset + size * 4)));
    offset += size * 4;
  }
  if (offset !== data.byteLength) throw new Error(`weights: specs cover ${offset} bytes, file has ${data.byteLength}`);
  return out;
}
