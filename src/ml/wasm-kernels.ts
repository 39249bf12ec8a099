// Kernels the tfjs wasm backend lacks but training needs (tfjs 4.22 registers none for them): `Conv2DBackpropFilter`
// (the weight gradient of conv2d) and `UnsortedSegmentSum` (the gradient of gather / embeddings).
// Conv2DBackpropFilter is built from ops the backend does have (pad, strided slices, one matMul:
// an im2col), so the heavy part runs in wasm's SIMD GEMM. Inputs handed to a kernel are bare
// TensorInfos: wrapping one as a Tensor takes a backend reference (incRef) that disposing the
// wrapper gives back, and the result keeps one reference that the engine then owns.
import type * as tfjs from '@tensorflow/tfjs';

type Tf = typeof tfjs;
type TensorInfo = tfjs.TensorInfo;

/** The subset of the wasm backend these kernels call. */
interface WasmBackendLike {
  incRef(dataId: object): void;
  readSync(dataId: object): unknown;
  makeOutput(shape: number[], dtype: tfjs.DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

interface Conv2DBackpropFilterAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | { type: string } | number[][];
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

let registered = false;

/** Register the missing kernels for the 'wasm' backend (idempotent). */
export function registerWasmTrainingKernels(tf: Tf): void {
  if (registered) return;
  registered = true;
  const have = new Set(tf.getKernelsForBackend('wasm').map((k) => k.kernelName));
  if (!have.has('Conv2DBackpropFilter')) {
    tf.registerKernel({
      kernelName: 'Conv2DBackpropFilter',
      backendName: 'wasm',
      kernelFunc: (args) => conv2dBackpropFilter(tf, args as unknown as KernelArgs<Conv2DBackpropFilterAttrs>),
    });
  }
  if (!have.has('UnsortedSegmentSum')) {
    tf.registerKernel({
      kernelName: 'UnsortedSegmentSum',
      backendName: 'wasm',
      kernelFunc: (args) => unsortedSegmentSum(args as unknown as KernelArgs<{ numSegments: number }>),
    });
  }
}

interface KernelArgs<A> {
  inputs: Record<string, TensorInfo>;
  attrs: A;
  backend: WasmBackendLike;
}

/** A Tensor view of a kernel input that holds its own backend reference. */
function wrap(tf: Tf, info: TensorInfo, backend: WasmBackendLike): tfjs.Tensor {
  backend.incRef(info.dataId);
  return tf.engine().makeTensorFromTensorInfo(info, backend as unknown as tfjs.KernelBackend);
}

/** Hand a computed tensor's data to the engine as a kernel output. */
function release(t: tfjs.Tensor, backend: WasmBackendLike): TensorInfo {
  backend.incRef(t.dataId);
  const info = { dataId: t.dataId, shape: t.shape.slice(), dtype: t.dtype };
  t.dispose();
  return info;
}

function conv2dBackpropFilter(tf: Tf, { inputs, attrs, backend }: KernelArgs<Conv2DBackpropFilterAttrs>): TensorInfo {
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  if (dataFormat !== 'NHWC') throw new Error(`Conv2DBackpropFilter (wasm): only NHWC is supported, got ${dataFormat}`);
  const x = wrap(tf, inputs.x!, backend);
  const dy = wrap(tf, inputs.dy!, backend);
  try {
    const [kh, kw, cin, cout] = filterShape;
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filterShape,
      strides,
      1,
      pad as 'valid',
      dimRoundingMode,
      false,
      'channelsLast',
    );
    const { top, left, bottom, right } = info.padInfo;
    const out = tf.tidy(() => {
      const xp =
        top || left || bottom || right
          ? tf.pad(x as tfjs.Tensor4D, [
              [0, 0],
              [top, bottom],
              [left, right],
              [0, 0],
            ])
          : (x as tfjs.Tensor4D);
      const n = x.shape[0]!;
      const { outHeight, outWidth, strideHeight: sh, strideWidth: sw } = info;
      const m = n * outHeight * outWidth;
      const dy2 = dy.reshape([m, cout]);
      // A strided conv reads each input phase (row % sh, col % sw) with unit stride: cut the
      // sh×sw phases once (strided slices are slow on wasm) and take every tap as a plain slice.
      let phased: tfjs.Tensor4D | undefined;
      const hq = Math.ceil(xp.shape[1] / sh);
      const wq = Math.ceil(xp.shape[2] / sw);
      const phase = (a: number, b: number): tfjs.Tensor4D => {
        if (sh === 1 && sw === 1) return xp;
        if (!phased) {
          // [n, hq·sh, wq·sw, c] → [sh, sw, n, hq, wq, c] → [sh·sw·n, hq, wq, c]: phase (a, b) is then n contiguous images.
          const padded = tf.pad(xp, [
            [0, 0],
            [0, hq * sh - xp.shape[1]],
            [0, wq * sw - xp.shape[2]],
            [0, 0],
          ]);
          phased = padded
            .reshape([n, hq, sh, wq, sw, cin])
            .transpose([2, 4, 0, 1, 3, 5])
            .reshape([sh * sw * n, hq, wq, cin]) as tfjs.Tensor4D;
        }
        return tf.slice(phased, [(a * sw + b) * n, 0, 0, 0], [n, hq, wq, cin]);
      };
      // im2col one tap at a time: dW[i, j] = tapᵀ · dy, a [cin, cout] GEMM over all positions.
      const grads: tfjs.Tensor[] = [];
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const p = phase(i % sh, j % sw);
          const tap = tf.slice(p, [0, Math.floor(i / sh), Math.floor(j / sw), 0], [n, outHeight, outWidth, cin]);
          grads.push(tf.matMul(tap.reshape([m, cin]), dy2, true, false));
        }
      }
      const grad = grads.length === 1 ? grads[0]! : tf.stack(grads);
      return grad.reshape([kh, kw, cin, cout]);
    });
    return release(out, backend);
  } finally {
    x.dispose();
    dy.dispose();
  }
}

function unsortedSegmentSum({ inputs, attrs, backend }: KernelArgs<{ numSegments: number }>): TensorInfo {
  const x = inputs.x!;
  const ids = inputs.segmentIds!;
  const { numSegments } = attrs;
  const idCount = ids.shape.reduce((a, b) => a * b, 1);
  const total = x.shape.reduce((a, b) => a * b, 1);
  const inner = idCount === 0 ? 0 : total / idCount;
  const xs = backend.readSync(x.dataId) as ArrayLike<number>;
  const is = backend.readSync(ids.dataId) as ArrayLike<number>;
  const outShape = [numSegments, ...x.shape.slice(ids.shape.length)];
  const out = backend.makeOutput(outShape, x.dtype);
  const acc = backend.typedArrayFromHeap(out);
  acc.fill(0);
  for (let r = 0; r < idCount; r++) {
    const seg = is[r]!;
    // Out-of-range ids are dropped, as TensorFlow's kernel does for negative ids.
    if (seg < 0 || seg >= numSegments) continue;
    const src = r * inner;
    const dst = seg * inner;
    for (let c = 0; c < inner; c++) acc[dst + c]! += xs[src + c]!;
  }
  return out;
}
