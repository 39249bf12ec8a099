// The classification head (§3.2: one linear layer on the sentence encoding, softmax over the K
// verb classes; optionally one hidden ReLU layer), evaluated in plain JS on Float32Array weights
// so that inference needs no tfjs engine (fast, and cheap to start in a worker thread).

export interface HeadWeights {
  inputDim: number;
  /** 0 = linear head. */
  hidden: number;
  classes: number;
  /** [inputDim × (hidden || classes)] row-major. */
  w1: Float32Array;
  b1: Float32Array;
  /** [hidden × classes] when hidden > 0. */
  w2?: Float32Array;
  b2?: Float32Array;
}

/** Scratch buffers for one thread. */
export class HeadScratch {
  readonly hiddenBuf: Float32Array;
  constructor(head: HeadWeights) {
    this.hiddenBuf = new Float32Array(Math.max(1, head.hidden));
  }
}

function finish(head: HeadWeights, scratch: HeadScratch, out: Float32Array, o: number): void {
  const K = head.classes;
  if (head.hidden > 0) {
    const H = head.hidden;
    const h = scratch.hiddenBuf;
    const w2 = head.w2!;
    const b2 = head.b2!;
    for (let k = 0; k < K; k++) out[o + k] = b2[k]!;
    for (let j = 0; j < H; j++) {
      const a = Math.max(h[j]!, 0);
      if (a === 0) continue;
      const row = j * K;
      for (let k = 0; k < K; k++) out[o + k] += a * w2[row + k]!;
    }
  }
  softmaxInPlace(out, o, K);
}

export function softmaxInPlace(out: Float32Array, o: number, K: number): void {
  let max = -Infinity;
  for (let k = 0; k < K; k++) if (out[o + k]! > max) max = out[o + k]!;
  let sum = 0;
  for (let k = 0; k < K; k++) {
    const e = Math.exp(out[o + k]! - max);
    out[o + k] = e;
    sum += e;
  }
  const inv = 1 / sum;
  for (let k = 0; k < K; k++) out[o + k]! *= inv;
}

/** Softmax scores of one sparse input row into out[o .. o+K). */
export function forwardSparse(
  head: HeadWeights,
  scratch: HeadScratch,
  indices: Int32Array,
  values: Float32Array,
  length: number,
  out: Float32Array,
  o: number,
): void {
  const width = head.hidden > 0 ? head.hidden : head.classes;
  const acc = head.hidden > 0 ? scratch.hiddenBuf : out;
  const base = head.hidden > 0 ? 0 : o;
  const w1 = head.w1;
  const b1 = head.b1;
  for (let k = 0; k < width; k++) acc[base + k] = b1[k]!;
  for (let f = 0; f < length; f++) {
    const v = values[f]!;
    const row = indices[f]! * width;
    for (let k = 0; k < width; k++) acc[base + k] += v * w1[row + k]!;
  }
  finish(head, scratch, out, o);
}

/** Softmax scores of one dense input row x[xo .. xo+inputDim) into out[o .. o+K). */
export function forwardDense(
  head: HeadWeights,
  scratch: HeadScratch,
  x: Float32Array,
  xo: number,
  out: Float32Array,
  o: number,
): void {
  const width = head.hidden > 0 ? head.hidden : head.classes;
  const acc = head.hidden > 0 ? scratch.hiddenBuf : out;
  const base = head.hidden > 0 ? 0 : o;
  const w1 = head.w1;
  const b1 = head.b1;
  for (let k = 0; k < width; k++) acc[base + k] = b1[k]!;
  for (let d = 0; d < head.inputDim; d++) {
    const v = x[xo + d]!;
    if (v === 0) continue;
    const row = d * width;
    for (let k = 0; k < width; k++) acc[base + k] += v * w1[row + k]!;
  }
  finish(head, scratch, out, o);
}
