// Trains the head of the `ngram` classifier in plain JS on Float32Arrays (§3.2: softmax +
// cross-entropy, Adam, batch 32), the way fastText trains on bags of hashed n-grams.
//
// Why not tfjs autograd: at 2,098 verb classes the tfjs trainer took 35 ms per batch with the
// default 64-unit hidden layer (per-op overhead, dense [batch × K] targets, the gradient of the
// whole bag as a tensor) and 388 ms with a linear head (~800 s per epoch on 66k pairs). Here
// every step touches only the table rows of the batch's n-grams, targets stay sparse (a pair has
// 1-3 verbs, not a dense row of K), and the three [hidden × K] products of a batch, the bulk of
// the work, are plain tfjs-wasm matMuls (SIMD, ~10× a JS loop) with no graph around them
// (`denseOnBackend`; in JS they skip the units a ReLU zeroed). Profile at 2,169 classes, hidden
// 64, per batch of 32 (2 loaded cores): embedding bag 1.3 ms, logits 0.9, softmax + loss 1.3,
// back through W2 2.0, back into the bag 0.9, lazy Adam on the table 2.0, the rest of Adam 1.2.
//
// Model (same as before, so saved models and their loader are unchanged):
//   z1 = b1 + Σ_f value_f · E[bucket_f]   (embedding bag, width = hidden || K)
//   hidden > 0: logits = b2 + relu(z1) · W2;  hidden = 0: logits = z1
//   loss = mean over the batch of −Σ_k y_k log softmax(logits)_k (tf.losses.softmaxCrossEntropy)
// Adam as tf.train.adam (β1 0.9, β2 0.999, ε 1e-7); the embedding table's rows get Adam only when
// a batch touches them ("lazy Adam", TensorFlow Addons' LazyAdam), with the global step's bias
// correction. Single-threaded and in a fixed order: the same seed gives the same weights.
import type { HeadWeights } from './head.ts';
import { initBackend, tf } from '../../ml/backend.ts';
import { type Mulberry32, mulberry32, shuffleInPlace } from '../../random.ts';

/** Per-row targets in CSR form: row r puts `mass[p]` on class `cols[p]`, p in indptr[r]..indptr[r+1]. */
export interface SparseTargets {
  indptr: Int32Array;
  cols: Int32Array;
  mass: Float32Array;
}

export interface SparseHeadOptions {
  hidden: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  signal?: AbortSignal;
  /**
   * With a hidden layer, run the three [hidden × K] products of a batch (the bulk of the work with
   * thousands of classes) and W2's Adam step on the tfjs backend (wasm SIMD matMul, ~10× a JS
   * loop) instead of in JS. Default true; false keeps everything in JS (the reference).
   */
  denseOnBackend?: boolean;
  /** Called after every optimiser step (step counts from 1 across epochs). */
  onStep?: (step: number, totalSteps: number) => void;
  /**
   * After each epoch: mean training loss and accuracy, and the head so far (live weights: read
   * them before returning, training continues in the same arrays).
   */
  onEpoch?: (
    epoch: number,
    stats: { loss: number; accuracy: number; valTop?: Int32Array },
    head: HeadWeights,
  ) => void | Promise<void>;
  /** Held-out rows whose arg-max class is handed to onEpoch as `valTop` (top-1 needs no softmax). */
  validation?: CsrRows;
  /**
   * `adam` (default): Adam, lazily on the table's rows. `sgd`: plain SGD with the learning rate
   * decaying linearly to 0 over all steps, as fastText trains; no optimiser state, and the table's
   * rows are updated while back-propagating (a linear head's rows are K wide: Adam's two moments
   * tripled the memory traffic and the RAM).
   */
  optimizer?: HeadOptimizer;
  /**
   * Worker threads training at once, Hogwild-style (fastText's way): weights (and Adam moments) in
   * SharedArrayBuffers, each thread takes a contiguous shard of every epoch's shuffled order and
   * updates them without locks. 1 (default) trains here, deterministically; > 1 is not
   * bit-reproducible (the threads' updates interleave as the OS schedules them).
   */
  threads?: number;
}

export type HeadOptimizer = 'adam' | 'sgd';

/** CSR rows as the trainer reads them (SparseRows, or views a worker thread got from shared memory). */
export interface CsrRows {
  readonly dim: number;
  readonly count: number;
  csr(): { indptr: Int32Array; indices: Int32Array; values: Float32Array };
}

/**
 * What training changes: the head's weights, the optimiser's state and the step counter. Threads
 * share one of these (SharedArrayBuffer-backed arrays); alone, a trainer allocates its own.
 */
export interface HeadState {
  w1: Float32Array;
  b1: Float32Array;
  /** [H × K] (absent when `w2t` holds W2). */
  w2?: Float32Array;
  /** [K × H]: W2 transposed, the layout the threads' tfjs products take it in. */
  w2t?: Float32Array;
  b2?: Float32Array;
  /** Adam's first and second moments, each in its weight's layout (absent with SGD). */
  adam?: {
    m1: Float32Array;
    v1: Float32Array;
    mb1: Float32Array;
    vb1: Float32Array;
    mw2: Float32Array;
    vw2: Float32Array;
    mb2: Float32Array;
    vb2: Float32Array;
  };
  /** [1]: optimiser steps taken so far, by all threads (Adam's bias correction, SGD's decay). */
  steps: Int32Array;
}

function f32(n: number, shared: boolean): Float32Array {
  return shared ? new Float32Array(new SharedArrayBuffer(4 * n)) : new Float32Array(n);
}

/**
 * A fresh state: the table's Glorot init, then W2's (the PRNG's first draws, as the tfjs trainer
 * drew them), zero biases and moments.
 */
export function createHeadState(
  D: number,
  H: number,
  K: number,
  rand: () => number,
  opts: { shared?: boolean; optimizer?: HeadOptimizer; w2Transposed?: boolean } = {},
): HeadState {
  const shared = opts.shared ?? false;
  const W = H > 0 ? H : K;
  const state: HeadState = {
    w1: glorot(D, W, rand, f32(D * W, shared)),
    b1: f32(W, shared),
    steps: shared ? new Int32Array(new SharedArrayBuffer(4)) : new Int32Array(1),
  };
  if (H > 0) {
    const w2 = glorot(H, K, rand, f32(H * K, shared));
    if (opts.w2Transposed) state.w2t = transpose(w2, H, K, f32(H * K, shared));
    else state.w2 = w2;
    state.b2 = f32(K, shared);
  }
  if ((opts.optimizer ?? 'adam') === 'adam') {
    state.adam = {
      m1: f32(D * W, shared),
      v1: f32(D * W, shared),
      mb1: f32(W, shared),
      vb1: f32(W, shared),
      mw2: f32(H * K, shared),
      vw2: f32(H * K, shared),
      mb2: f32(H > 0 ? K : 0, shared),
      vb2: f32(H > 0 ? K : 0, shared),
    };
  }
  return state;
}

export const ADAM = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }; // tf.train.adam's defaults

/** Glorot-uniform init from our seeded PRNG (the tfjs trainer drew the same numbers), into `out` if given. */
export function glorot(
  rows: number,
  cols: number,
  rand: (() => number) & Partial<Pick<Mulberry32, 'fillSymmetric'>>,
  out: Float32Array = new Float32Array(rows * cols),
): Float32Array {
  const limit = Math.sqrt(6 / (rows + cols));
  // in chunks: a fresh call gets the optimised code, a 142M-draw loop waits for on-stack replacement
  if (rand.fillSymmetric)
    for (let o = 0; o < out.length; o += 1 << 20) rand.fillSymmetric(out.subarray(o, o + (1 << 20)), limit);
  else for (let i = 0; i < out.length; i++) out[i] = (rand() * 2 - 1) * limit;
  return out;
}

/** Targets from per-row class lists, each weighing `1 / labels` (times an optional class weight). */
export function sparseTargets(
  rowsCols: readonly (readonly number[])[],
  classWeight?: ArrayLike<number>,
): SparseTargets {
  const indptr = new Int32Array(rowsCols.length + 1);
  let n = 0;
  rowsCols.forEach((c, i) => (indptr[i + 1] = n += c.length));
  const cols = new Int32Array(n);
  const mass = new Float32Array(n);
  let p = 0;
  for (const c of rowsCols) {
    for (const k of c) {
      cols[p] = k;
      mass[p++] = (1 / c.length) * (classWeight ? classWeight[k]! : 1);
    }
  }
  return { indptr, cols, mass };
}

/** Gradients of the mean batch loss (the table's only for the rows a batch touched). */
export interface SparseGradients {
  loss: number;
  hits: number;
  /** Touched buckets, and their gradient rows (touched.length × width) in `table`. */
  touched: Int32Array;
  table: Float32Array;
  b1: Float32Array;
  /** Absent with denseOnBackend (the gradient stays a tensor). */
  w2?: Float32Array;
  b2?: Float32Array;
}

type TfTensor = ReturnType<typeof tf.tensor>;
type TfVariable = ReturnType<typeof tf.variable>;

function transpose(
  a: Float32Array,
  rows: number,
  cols: number,
  out: Float32Array = new Float32Array(rows * cols),
): Float32Array {
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c]!;
  return out;
}

/**
 * One trainer: the weights, their optimiser state (a HeadState, maybe shared with other threads)
 * and the batch buffers. `gradients()` is the forward + backward pass (exported for the gradient
 * check); `step()` applies Adam; `trainBatch()` does both (or SGD).
 */
export class SparseHeadTrainer {
  readonly head: HeadWeights;
  readonly state: HeadState;
  private readonly rows: ReturnType<CsrRows['csr']>;
  private readonly targets: SparseTargets;
  private readonly width: number;
  private readonly optimizer: HeadOptimizer;
  private readonly totalSteps: number;
  // batch buffers
  private readonly z1: Float32Array; // [B × width]: embedding bag, then dL/dz1
  private readonly act: Float32Array; // [B × H]: relu(z1)
  private readonly logits: Float32Array; // [B × K]: logits, then dL/dlogits
  private readonly gb1: Float32Array;
  private readonly gw2: Float32Array;
  private readonly gb2: Float32Array;
  private readonly slotOf: Int32Array; // bucket → row of gTable, -1 when untouched
  private touched: Int32Array;
  private gTable: Float32Array;
  private readonly activeJ: Int32Array;
  private readonly activeI: Int32Array;
  /**
   * denseOnBackend: W2ᵀ [K × H] on the tfjs backend. Alone: a tf variable stepped by tf.train.adam
   * (or sgd). Sharing a state: the shared `state.w2t`, copied into a tensor for each batch and
   * stepped here in JS (a tf variable cannot live in shared memory).
   */
  private readonly dense?: {
    w2t?: TfVariable;
    opt?: ReturnType<typeof tf.train.adam> | ReturnType<typeof tf.train.sgd>;
    gw2t?: TfTensor;
    buf: Float32Array;
  };

  constructor(
    rows: CsrRows,
    targets: SparseTargets,
    classes: number,
    hidden: number,
    batchSize: number,
    rand: (() => number) | undefined,
    opts: {
      learningRate?: number;
      denseOnBackend?: boolean;
      optimizer?: HeadOptimizer;
      /** Steps of the whole run (SGD's linear decay); default: one epoch. */
      totalSteps?: number;
      /** Train this (shared) state instead of a fresh one; `rand` is then not used. */
      state?: HeadState;
    } = {},
  ) {
    const D = rows.dim;
    const K = classes;
    const H = hidden;
    const W = H > 0 ? H : K;
    if (targets.indptr.length !== rows.count + 1)
      throw new Error(`SparseHeadTrainer: ${rows.count} rows but ${targets.indptr.length - 1} target rows`);
    this.rows = rows.csr();
    this.targets = targets;
    this.width = W;
    this.optimizer = opts.optimizer ?? 'adam';
    this.totalSteps = opts.totalSteps ?? Math.ceil(rows.count / batchSize);
    if (!opts.state && !rand) throw new Error('SparseHeadTrainer: a fresh state needs a PRNG');
    const state = opts.state ?? createHeadState(D, H, K, rand!, { optimizer: this.optimizer });
    if (state.w1.length !== D * W) throw new Error(`SparseHeadTrainer: the state's table is not ${D} × ${W}`);
    if (this.optimizer === 'adam' && !state.adam) throw new Error('SparseHeadTrainer: adam needs a state with moments');
    this.state = state;
    this.head =
      H > 0
        ? {
            inputDim: D,
            hidden: H,
            classes: K,
            w1: state.w1,
            b1: state.b1,
            w2: state.w2 ?? new Float32Array(H * K),
            b2: state.b2!,
          }
        : { inputDim: D, hidden: 0, classes: K, w1: state.w1, b1: state.b1 };
    const B = batchSize;
    this.z1 = new Float32Array(B * W);
    this.act = new Float32Array(B * H);
    this.logits = new Float32Array(B * K);
    this.gb1 = new Float32Array(W);
    this.gw2 = new Float32Array(H * K);
    this.gb2 = new Float32Array(H > 0 ? K : 0);
    this.slotOf = new Int32Array(D).fill(-1);
    // room for a typical batch's distinct buckets; grows when a batch needs more (not with SGD:
    // the table's gradient is applied while back-propagating)
    const meanRow = rows.count ? this.rows.indices.length / rows.count : 1;
    const cap = this.optimizer === 'sgd' ? 1 : Math.min(D, Math.max(64, Math.ceil(B * meanRow * 1.5)));
    this.touched = new Int32Array(cap);
    this.gTable = new Float32Array(cap * W);
    this.activeJ = new Int32Array(Math.max(1, H));
    this.activeI = new Int32Array(B);
    if (H > 0 && state.w2t) {
      this.dense = { buf: new Float32Array(B * Math.max(K, H)) };
    } else if (H > 0 && opts.denseOnBackend) {
      const w2t = tf.variable(tf.tensor2d(transpose(this.head.w2!, H, K), [K, H]), true);
      const lr = opts.learningRate ?? 0.001;
      this.dense = {
        w2t,
        opt: this.optimizer === 'sgd' ? tf.train.sgd(lr) : tf.train.adam(lr, ADAM.beta1, ADAM.beta2, ADAM.epsilon),
        buf: new Float32Array(B * Math.max(K, H)),
      };
    }
  }

  /** W2ᵀ as a tensor: the variable, or (shared) a copy of `state.w2t` the caller disposes. */
  private w2tTensor(): { t: TfTensor; own: boolean } {
    if (this.dense?.w2t) return { t: this.dense.w2t, own: false };
    return { t: tf.tensor2d(this.state.w2t!, [this.head.classes, this.head.hidden]), own: true };
  }

  /** Arg-max class of each row (with denseOnBackend the [hidden × K] product runs on the backend). */
  argmax(rows: CsrRows): Int32Array {
    const { indptr, indices, values } = rows.csr();
    const head = this.head;
    const W = this.width;
    const H = head.hidden;
    const K = head.classes;
    const N = rows.count;
    const out = new Int32Array(N);
    const CH = 256;
    const z = new Float32Array(CH * W);
    const actT = new Float32Array(H * CH);
    const logits = new Float32Array(CH * K);
    for (let start = 0; start < N; start += CH) {
      const n = Math.min(CH, N - start);
      for (let i = 0; i < n; i++) {
        const r = start + i;
        const zo = i * W;
        z.set(head.b1, zo);
        for (let p = indptr[r]!; p < indptr[r + 1]!; p++) {
          const v = values[p]!;
          const o = indices[p]! * W;
          for (let j = 0; j < W; j++) z[zo + j] += v * head.w1[o + j]!;
        }
      }
      if (H === 0) {
        for (let i = 0; i < n; i++) out[start + i] = argmaxRow(z, i * K, K);
        continue;
      }
      if (this.dense) {
        for (let i = 0; i < n; i++) for (let j = 0; j < H; j++) actT[j * n + i] = Math.max(0, z[i * H + j]!);
        const w2t = this.w2tTensor();
        const lt = tf.tidy(() => tf.matMul(w2t.t, tf.tensor2d(actT.subarray(0, H * n), [H, n])));
        if (w2t.own) w2t.t.dispose();
        const l = lt.dataSync() as Float32Array;
        lt.dispose();
        for (let i = 0; i < n; i++) {
          let best = 0;
          let max = -Infinity;
          for (let k = 0; k < K; k++) {
            const x = l[k * n + i]! + head.b2![k]!;
            if (x > max) {
              max = x;
              best = k;
            }
          }
          out[start + i] = best;
        }
        continue;
      }
      const w2 = head.w2!;
      for (let i = 0; i < n; i++) {
        logits.set(head.b2!, 0);
        for (let j = 0; j < H; j++) {
          const a = z[i * H + j]!;
          if (a <= 0) continue;
          for (let k = 0; k < K; k++) logits[k] += a * w2[j * K + k]!;
        }
        out[start + i] = argmaxRow(logits, 0, K);
      }
    }
    return out;
  }

  /** Brings head.w2 up to date (with denseOnBackend it lives in a tf variable while training). */
  syncHead(): HeadWeights {
    const { classes: K, hidden: H } = this.head;
    if (this.dense?.w2t) this.head.w2!.set(transpose(this.dense.w2t.dataSync() as Float32Array, K, H));
    else if (this.state.w2t) transpose(this.state.w2t, K, H, this.head.w2!);
    return this.head;
  }

  dispose(): void {
    if (!this.dense) return;
    this.dense.gw2t?.dispose();
    this.dense.w2t?.dispose();
    this.dense.opt?.dispose();
  }

  private slot(bucket: number, n: number): number {
    let s = this.slotOf[bucket]!;
    if (s >= 0) return s;
    s = n;
    if (s >= this.touched.length) {
      const cap = Math.min(this.slotOf.length, this.touched.length * 2);
      const touched = new Int32Array(cap);
      touched.set(this.touched);
      const g = new Float32Array(cap * this.width);
      g.set(this.gTable);
      this.touched = touched;
      this.gTable = g;
    }
    this.touched[s] = bucket;
    this.slotOf[bucket] = s;
    this.gTable.fill(0, s * this.width, (s + 1) * this.width);
    return s;
  }

  /**
   * Loss, hits and gradients of the mean loss over `batch` (row numbers). With `sgdTableLr` the
   * table's rows are updated in place by SGD at that rate while back-propagating (nothing reads
   * them after the forward pass: the same update as gradient-then-step) and `touched` is empty.
   */
  gradients(batch: ArrayLike<number>, count = batch.length, sgdTableLr?: number): SparseGradients {
    const { indptr, indices, values } = this.rows;
    const { indptr: tptr, cols, mass } = this.targets;
    const head = this.head;
    const W = this.width;
    const H = head.hidden;
    const K = head.classes;
    const w1 = head.w1;
    const b1 = head.b1;
    const z1 = this.z1;
    const n = count;
    // 1. embedding bag: z1[i] = b1 + Σ value · E[bucket]
    const sgd = this.optimizer === 'sgd';
    for (let i = 0; i < n; i++) {
      const r = batch[i]!;
      const zo = i * W;
      z1.set(b1, zo);
      if (sgd) {
        bag(z1, zo, w1, W, indices, values, indptr[r]!, indptr[r + 1]!);
        continue;
      }
      for (let p = indptr[r]!; p < indptr[r + 1]!; p++) {
        const v = values[p]!;
        const o = indices[p]! * W;
        for (let j = 0; j < W; j++) z1[zo + j] += v * w1[o + j]!;
      }
    }
    // 2. logits
    const logits = H > 0 ? this.logits : z1;
    const dense = this.dense;
    const w2t = dense ? this.w2tTensor() : undefined; // one snapshot for the batch (threads write on)
    if (dense) {
      // logitsᵀ [K × n] = W2ᵀ · reluᵀ (tfjs-wasm is slow on transposed operands: pass them laid out)
      const act = this.act;
      const actT = dense.buf.subarray(0, H * n);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < H; j++) {
          const a = z1[i * H + j]!;
          act[i * H + j] = Math.max(a, 0);
          actT[j * n + i] = Math.max(a, 0);
        }
      }
      const lt = tf.tidy(() => tf.matMul(w2t!.t, tf.tensor2d(actT, [H, n])));
      const logitsT = lt.dataSync() as Float32Array;
      lt.dispose();
      const b2 = head.b2!;
      for (let i = 0; i < n; i++) for (let k = 0; k < K; k++) logits[i * K + k] = logitsT[k * n + i]! + b2[k]!;
    } else if (H > 0) {
      const act = this.act;
      const w2 = head.w2!;
      const b2 = head.b2!;
      const aj = this.activeJ;
      for (let i = 0; i < n; i++) {
        let na = 0;
        for (let j = 0; j < H; j++) {
          const a = z1[i * H + j]!;
          act[i * H + j] = Math.max(a, 0);
          if (a > 0) aj[na++] = j;
        }
        const lo = i * K;
        logits.set(b2, lo);
        addScaledRows(logits, lo, w2, K, aj, na, act, i * H, 1);
      }
    }
    // 3. softmax, loss, accuracy and dL/dlogits = (Σy · p − y) / n, in place
    let loss = 0;
    let hits = 0;
    for (let i = 0; i < n; i++) {
      const r = batch[i]!;
      const lo = i * K;
      let best = 0;
      let max = -Infinity;
      for (let k = 0; k < K; k++) {
        if (logits[lo + k]! > max) {
          max = logits[lo + k]!;
          best = k;
        }
      }
      // accuracy: the arg-max is one of the labels with the most target mass
      let ySum = 0;
      let yLogit = 0;
      let bestMass = 0;
      let topMass = 0;
      for (let p = tptr[r]!; p < tptr[r + 1]!; p++) {
        const y = mass[p]!;
        ySum += y;
        yLogit += y * (logits[lo + cols[p]!]! - max);
        if (y > topMass) topMass = y;
        if (cols[p] === best) bestMass = y;
      }
      let sum = 0;
      for (let k = 0; k < K; k++) {
        const e = Math.exp(logits[lo + k]! - max);
        logits[lo + k] = e;
        sum += e;
      }
      loss -= yLogit - ySum * Math.log(sum);
      if (bestMass > 0 && bestMass >= topMass) hits++;
      const scale = ySum / n;
      const inv = 1 / sum;
      const f = scale * inv;
      for (let k = 0; k < K; k++) logits[lo + k]! *= f;
      for (let p = tptr[r]!; p < tptr[r + 1]!; p++) logits[lo + cols[p]!] -= mass[p]! / n;
    }
    loss /= n;
    // 4. back through the hidden layer: dL/dz1 = (dL/dlogits · W2ᵀ) ⊙ [z1 > 0], into z1
    if (dense) {
      const act = this.act;
      const dZ = tf.tensor2d(logits.subarray(0, n * K), [n, K]);
      const dA = tf.matMul(dZ, w2t!.t);
      if (w2t!.own) w2t!.t.dispose();
      const dAv = dA.dataSync() as Float32Array;
      for (let q = 0; q < n * H; q++) z1[q] = act[q]! > 0 ? dAv[q]! : 0;
      // dL/dW2ᵀ [K × H] = dL/dlogitsᵀ · relu, kept as a tensor for step()
      const dZt = dense.buf.subarray(0, K * n);
      for (let i = 0; i < n; i++) for (let k = 0; k < K; k++) dZt[k * n + i] = logits[i * K + k]!;
      dense.gw2t?.dispose();
      dense.gw2t = tf.tidy(() => tf.matMul(tf.tensor2d(dZt, [K, n]), tf.tensor2d(act.subarray(0, n * H), [n, H])));
      tf.dispose([dZ, dA]);
      const gb2 = this.gb2;
      gb2.fill(0);
      for (let i = 0; i < n; i++) for (let k = 0; k < K; k++) gb2[k] += logits[i * K + k]!;
    } else if (H > 0) {
      const act = this.act;
      const w2 = head.w2!;
      const aj = this.activeJ;
      for (let i = 0; i < n; i++) {
        let na = 0;
        for (let j = 0; j < H; j++) {
          if (act[i * H + j]! > 0) aj[na++] = j;
          z1[i * H + j] = 0;
        }
        const lo = i * K;
        let q = 0;
        for (; q + 4 <= na; q += 4) {
          const j0 = aj[q]!,
            j1 = aj[q + 1]!,
            j2 = aj[q + 2]!,
            j3 = aj[q + 3]!;
          const o0 = j0 * K,
            o1 = j1 * K,
            o2 = j2 * K,
            o3 = j3 * K;
          let s0 = 0,
            s1 = 0,
            s2 = 0,
            s3 = 0;
          for (let k = 0; k < K; k++) {
            const d = logits[lo + k]!;
            s0 += d * w2[o0 + k]!;
            s1 += d * w2[o1 + k]!;
            s2 += d * w2[o2 + k]!;
            s3 += d * w2[o3 + k]!;
          }
          z1[i * H + j0] = s0;
          z1[i * H + j1] = s1;
          z1[i * H + j2] = s2;
          z1[i * H + j3] = s3;
        }
        for (; q < na; q++) {
          const j = aj[q]!;
          const o = j * K;
          let s = 0;
          for (let k = 0; k < K; k++) s += logits[lo + k]! * w2[o + k]!;
          z1[i * H + j] = s;
        }
      }
      // dL/dW2 = reluᵀ · dL/dlogits (rows of units no example activated stay 0); dL/db2 = Σ_i
      const gw2 = this.gw2;
      const gb2 = this.gb2;
      const ai = this.activeI;
      gb2.fill(0);
      for (let i = 0; i < n; i++) for (let k = 0; k < K; k++) gb2[k] += logits[i * K + k]!;
      for (let j = 0; j < H; j++) {
        const go = j * K;
        gw2.fill(0, go, go + K);
        let na = 0;
        for (let i = 0; i < n; i++) if (act[i * H + j]! > 0) ai[na++] = i;
        addScaledRows(gw2, go, logits, K, ai, na, act, j, H);
      }
    }
    // 5. dL/db1 = Σ_i dz1; dL/dE[bucket] = Σ value · dz1 over the batch's features
    const gb1 = this.gb1;
    gb1.fill(0);
    let touched = 0;
    if (sgdTableLr !== undefined) {
      for (let i = 0; i < n; i++) {
        const r = batch[i]!;
        const zo = i * W;
        for (let j = 0; j < W; j++) gb1[j] += z1[zo + j]!;
        scatter(w1, W, z1, zo, -sgdTableLr, indices, values, indptr[r]!, indptr[r + 1]!);
      }
      return {
        loss,
        hits,
        touched: this.touched.subarray(0, 0),
        table: this.gTable.subarray(0, 0),
        b1: gb1,
        ...(H > 0 ? { w2: dense ? undefined : this.gw2, b2: this.gb2 } : {}),
      };
    }
    for (let i = 0; i < n; i++) {
      const r = batch[i]!;
      const zo = i * W;
      for (let j = 0; j < W; j++) gb1[j] += z1[zo + j]!;
      for (let p = indptr[r]!; p < indptr[r + 1]!; p++) {
        const b = indices[p]!;
        let s = this.slotOf[b]!;
        if (s < 0) s = this.slot(b, touched++);
        const g = this.gTable;
        const v = values[p]!;
        const go = s * W;
        for (let j = 0; j < W; j++) g[go + j] += v * z1[zo + j]!;
      }
    }
    for (let t = 0; t < touched; t++) this.slotOf[this.touched[t]!] = -1;
    return {
      loss,
      hits,
      touched: this.touched.subarray(0, touched),
      table: this.gTable.subarray(0, touched * W),
      b1: gb1,
      ...(H > 0 ? { w2: dense ? undefined : this.gw2, b2: this.gb2 } : {}),
    };
  }

  /** One Adam step on `g` (from gradients()). */
  step(g: SparseGradients, lr: number): void {
    const t = Atomics.add(this.state.steps, 0, 1) + 1;
    const { beta1, beta2, epsilon } = ADAM;
    // tf.train.adam: w −= lr · m̂ / (√v̂ + ε), m̂ = m / (1 − β1^t), v̂ = v / (1 − β2^t)
    const c1 = lr / (1 - beta1 ** t);
    const c2 = 1 / (1 - beta2 ** t);
    const W = this.width;
    const w1 = this.head.w1;
    const st = this.state.adam!;
    const m1 = st.m1;
    const v1 = st.v1;
    for (let s = 0; s < g.touched.length; s++) {
      const o = g.touched[s]! * W;
      const go = s * W;
      for (let j = 0; j < W; j++) {
        const x = g.table[go + j]!;
        const m = (m1[o + j] = beta1 * m1[o + j]! + (1 - beta1) * x);
        const v = (v1[o + j] = beta2 * v1[o + j]! + (1 - beta2) * x * x);
        w1[o + j] -= (c1 * m) / (Math.sqrt(v * c2) + epsilon);
      }
    }
    adamDense(this.head.b1, g.b1, st.mb1, st.vb1, c1, c2);
    if (g.w2) adamDense(this.head.w2!, g.w2, st.mw2, st.vw2, c1, c2);
    if (g.b2) adamDense(this.head.b2!, g.b2, st.mb2, st.vb2, c1, c2);
    this.stepDense(lr, (w, gw) => adamDense(w, gw, st.mw2, st.vw2, c1, c2));
  }

  /** W2ᵀ's step when its products run on the backend: tf's optimiser, or (shared) `update` in JS. */
  private stepDense(lr: number, update: (w2t: Float32Array, g: Float32Array) => void): void {
    const dense = this.dense;
    if (!dense?.gw2t) return;
    if (dense.w2t) {
      if (this.optimizer === 'sgd') (dense.opt as ReturnType<typeof tf.train.sgd>).setLearningRate(lr);
      dense.opt!.applyGradients([{ name: dense.w2t.name, tensor: dense.gw2t }]);
    } else update(this.state.w2t!, dense.gw2t.dataSync() as Float32Array);
    dense.gw2t.dispose();
    dense.gw2t = undefined;
  }

  /**
   * One optimiser step on a batch: Adam at `lr`, or SGD at lr · (1 − done / total) (fastText's
   * linear decay; `done` counts every thread's steps). Returns the batch's mean loss and hits.
   */
  trainBatch(batch: ArrayLike<number>, count: number, lr: number): { loss: number; hits: number } {
    if (this.optimizer === 'adam') {
      const g = this.gradients(batch, count);
      this.step(g, lr);
      return g;
    }
    const done = Atomics.add(this.state.steps, 0, 1);
    const rate = lr * Math.max(0, 1 - done / this.totalSteps);
    const g = this.gradients(batch, count, rate);
    sgd(this.head.b1, g.b1, rate);
    if (g.w2) sgd(this.head.w2!, g.w2, rate);
    if (g.b2) sgd(this.head.b2!, g.b2, rate);
    this.stepDense(rate, (w, gw) => sgd(w, gw, rate));
    return g;
  }
}

/**
 * z[zo ..] += Σ_p values[p] · w[indices[p] ..] over p in [from, to), four rows at a time (one load
 * and store of z per four rows: with a linear head a row is K wide, and this and scatter() are
 * most of the work).
 */
function bag(
  z: Float32Array,
  zo: number,
  w: Float32Array,
  W: number,
  indices: Int32Array,
  values: Float32Array,
  from: number,
  to: number,
): void {
  let p = from;
  for (; p + 4 <= to; p += 4) {
    const v0 = values[p]!,
      v1 = values[p + 1]!,
      v2 = values[p + 2]!,
      v3 = values[p + 3]!;
    const o0 = indices[p]! * W,
      o1 = indices[p + 1]! * W,
      o2 = indices[p + 2]! * W,
      o3 = indices[p + 3]! * W;
    for (let j = 0; j < W; j++) z[zo + j] += v0 * w[o0 + j]! + v1 * w[o1 + j]! + v2 * w[o2 + j]! + v3 * w[o3 + j]!;
  }
  for (; p < to; p++) {
    const v = values[p]!;
    const o = indices[p]! * W;
    for (let j = 0; j < W; j++) z[zo + j] += v * w[o + j]!;
  }
}

/** w[indices[p] ..] += scale · values[p] · d[do ..] for p in [from, to), four rows at a time. */
function scatter(
  w: Float32Array,
  W: number,
  d: Float32Array,
  dOff: number,
  scale: number,
  indices: Int32Array,
  values: Float32Array,
  from: number,
  to: number,
): void {
  let p = from;
  for (; p + 4 <= to; p += 4) {
    const f0 = scale * values[p]!,
      f1 = scale * values[p + 1]!,
      f2 = scale * values[p + 2]!,
      f3 = scale * values[p + 3]!;
    const o0 = indices[p]! * W,
      o1 = indices[p + 1]! * W,
      o2 = indices[p + 2]! * W,
      o3 = indices[p + 3]! * W;
    // one statement per row: a bucket twice among the four still gets both updates
    for (let j = 0; j < W; j++) {
      const x = d[dOff + j]!;
      w[o0 + j] += f0 * x;
      w[o1 + j] += f1 * x;
      w[o2 + j] += f2 * x;
      w[o3 + j] += f3 * x;
    }
  }
  for (; p < to; p++) {
    const f = scale * values[p]!;
    const o = indices[p]! * W;
    for (let j = 0; j < W; j++) w[o + j] += f * d[dOff + j]!;
  }
}

function sgd(w: Float32Array, g: Float32Array, lr: number): void {
  for (let i = 0; i < w.length; i++) w[i] -= lr * g[i]!;
}

function argmaxRow(a: Float32Array, o: number, K: number): number {
  let best = 0;
  for (let k = 1; k < K; k++) if (a[o + k]! > a[o + best]!) best = k;
  return best;
}

function adamDense(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, c1: number, c2: number): void {
  const { beta1, beta2, epsilon } = ADAM;
  for (let i = 0; i < w.length; i++) {
    const x = g[i]!;
    const mi = (m[i] = beta1 * m[i]! + (1 - beta1) * x);
    const vi = (v[i] = beta2 * v[i]! + (1 - beta2) * x * x);
    w[i] -= (c1 * mi) / (Math.sqrt(vi * c2) + epsilon);
  }
}

/**
 * Trains the head on hashed n-gram rows on this thread (deterministic). The PRNG draws the table's
 * init, then W2's, then one shuffle per epoch, as the tfjs trainer did. `trainSparseHead`
 * (sparse-head-threads.ts) chooses between this and worker threads.
 */
export async function trainSparseHeadSerial(
  rows: CsrRows,
  targets: SparseTargets,
  classes: number,
  opts: SparseHeadOptions,
): Promise<HeadWeights> {
  const rand = mulberry32(opts.seed);
  const denseOnBackend = opts.hidden > 0 && opts.denseOnBackend !== false;
  if (denseOnBackend) await initBackend();
  const trainer = new SparseHeadTrainer(rows, targets, classes, opts.hidden, opts.batchSize, rand, {
    learningRate: opts.learningRate,
    denseOnBackend,
    optimizer: opts.optimizer ?? 'adam',
    totalSteps: totalSteps(rows.count, opts),
  });
  try {
    return await trainLoop(trainer, rows, rand, opts);
  } finally {
    trainer.dispose();
  }
}

/** Optimiser steps of a whole run. */
export function totalSteps(rows: number, opts: Pick<SparseHeadOptions, 'batchSize' | 'epochs'>): number {
  return Math.ceil(rows / opts.batchSize) * opts.epochs;
}

async function trainLoop(
  trainer: SparseHeadTrainer,
  rows: CsrRows,
  rand: () => number,
  opts: SparseHeadOptions,
): Promise<HeadWeights> {
  const N = rows.count;
  const B = opts.batchSize;
  const order = new Int32Array(N);
  for (let i = 0; i < N; i++) order[i] = i;
  const total = totalSteps(N, opts);
  let step = 0;
  let yielded = performance.now();
  for (let epoch = 1; epoch <= opts.epochs; epoch++) {
    shuffleInPlace(order, rand);
    let lossSum = 0;
    let hits = 0;
    for (let start = 0; start < N; start += B) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
      const n = Math.min(B, N - start);
      const g = trainer.trainBatch(order.subarray(start, start + n), n, opts.learningRate);
      lossSum += g.loss * n;
      hits += g.hits;
      opts.onStep?.(++step, total);
      // let timers, messages and the abort signal through about 4 times a second
      if (performance.now() - yielded > 250) {
        await new Promise((r) => setImmediate(r));
        yielded = performance.now();
      }
    }
    const valTop = opts.validation && opts.onEpoch ? trainer.argmax(opts.validation) : undefined;
    await opts.onEpoch?.(
      epoch,
      { loss: N ? lossSum / N : Number.NaN, accuracy: N ? hits / N : Number.NaN, ...(valTop ? { valTop } : {}) },
      trainer.syncHead(),
    );
  }
  return trainer.syncHead();
}

/**
 * dst[d + k] += Σ_q coef[cBase + rows[q]·cStride] · src[rows[q]·K + k] for k < K and q < count:
 * the nonzero rows of a dense product, four source rows per pass over dst (the head's hot loop,
 * used forward for logits = relu(z1)·W2 and backward for dW2 = relu(z1)ᵀ·dlogits).
 */
function addScaledRows(
  dst: Float32Array,
  d: number,
  src: Float32Array,
  K: number,
  rows: Int32Array,
  count: number,
  coef: Float32Array,
  cBase: number,
  cStride: number,
): void {
  let q = 0;
  for (; q + 4 <= count; q += 4) {
    const r0 = rows[q]!,
      r1 = rows[q + 1]!,
      r2 = rows[q + 2]!,
      r3 = rows[q + 3]!;
    const a0 = coef[cBase + r0 * cStride]!,
      a1 = coef[cBase + r1 * cStride]!,
      a2 = coef[cBase + r2 * cStride]!,
      a3 = coef[cBase + r3 * cStride]!;
    const o0 = r0 * K,
      o1 = r1 * K,
      o2 = r2 * K,
      o3 = r3 * K;
    for (let k = 0; k < K; k++)
      dst[d + k] += a0 * src[o0 + k]! + a1 * src[o1 + k]! + a2 * src[o2 + k]! + a3 * src[o3 + k]!;
  }
  for (; q < count; q++) {
    const r = rows[q]!;
    const a = coef[cBase + r * cStride]!;
    const o = r * K;
    for (let k = 0; k < K; k++) dst[d + k] += a * src[o + k]!;
  }
}
