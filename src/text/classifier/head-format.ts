// The saved head: a tfjs layers model (`Dense` [+ `Dense`], softmax) as tf.io.withSaveHandler
// hands it over (topology JSON + weight specs + float32 data), loadable with tf.io.fromMemory.
// Written and read here without a tfjs engine: a linear head on 65k buckets × 2,725 classes is
// 0.7 GB, and going through tfjs tensors to save it held two more copies of it.
import type { HeadWeights } from './head.ts';

export interface HeadArtifacts {
  modelTopology: unknown;
  weightSpecs: { name: string; shape: number[]; dtype: string }[];
  /** float32 weights in spec order: one buffer, or the arrays themselves (written one after another). */
  weightData: ArrayBuffer | Float32Array[];
}

function denseLayer(name: string, units: number, activation: 'relu' | 'softmax', inputDim?: number): unknown {
  return {
    class_name: 'Dense',
    config: {
      units,
      activation,
      use_bias: true,
      kernel_initializer: {
        class_name: 'VarianceScaling',
        config: { scale: 1, mode: 'fan_avg', distribution: 'normal', seed: null },
      },
      bias_initializer: { class_name: 'Zeros', config: {} },
      kernel_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      kernel_constraint: null,
      bias_constraint: null,
      name,
      trainable: true,
      ...(inputDim !== undefined ? { batch_input_shape: [null, inputDim], dtype: 'float32' } : {}),
    },
  };
}

/** The Keras topology tfjs-layers 4.22 writes for this head (checked against tfjs in head-format.test.ts). */
export function layersTopology(inputDim: number, hidden: number, classes: number): unknown {
  const layers =
    hidden > 0
      ? [denseLayer('hidden', hidden, 'relu', inputDim), denseLayer('output', classes, 'softmax')]
      : [denseLayer('output', classes, 'softmax', inputDim)];
  return {
    class_name: 'Sequential',
    config: { name: 'sequential', layers },
    keras_version: 'tfjs-layers 4.22.0',
    backend: 'tensor_flow.js',
  };
}

/** Save artifacts of a head, sharing its arrays (no copy). */
export function headArtifacts(head: HeadWeights): HeadArtifacts {
  const { inputDim: D, hidden: H, classes: K } = head;
  const f32 = (name: string, shape: number[]) => ({ name, shape, dtype: 'float32' });
  if (H > 0) {
    return {
      modelTopology: layersTopology(D, H, K),
      weightSpecs: [
        f32('hidden/kernel', [D, H]),
        f32('hidden/bias', [H]),
        f32('output/kernel', [H, K]),
        f32('output/bias', [K]),
      ],
      weightData: [head.w1, head.b1, head.w2!, head.b2!],
    };
  }
  return {
    modelTopology: layersTopology(D, 0, K),
    weightSpecs: [f32('output/kernel', [D, K]), f32('output/bias', [K])],
    weightData: [head.w1, head.b1],
  };
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
export function weightsFromArtifacts(
  specs: HeadArtifacts['weightSpecs'],
  data: HeadArtifacts['weightData'],
): Float32Array[] {
  if (Array.isArray(data)) {
    if (data.length !== specs.length) throw new Error(`weights: ${specs.length} specs, ${data.length} arrays`);
    return data;
  }
  const out: Float32Array[] = [];
  let offset = 0;
  for (const s of specs) {
    if (s.dtype !== 'float32') throw new Error(`weight ${s.name}: dtype ${s.dtype} not supported`);
    const size = s.shape.reduce((a, b) => a * b, 1);
    if (offset + size * 4 > data.byteLength)
      throw new Error(`weights: specs need more than the file's ${data.byteLength} bytes`);
    out.push(new Float32Array(data, offset, size));
    offset += size * 4;
  }
  if (offset !== data.byteLength) throw new Error(`weights: specs cover ${offset} bytes, file has ${data.byteLength}`);
  return out;
}

/** One ArrayBuffer of the weights (copies when they are separate arrays). */
export function weightBuffer(data: HeadArtifacts['weightData']): ArrayBuffer {
  if (!Array.isArray(data)) return data;
  const total = data.reduce((s, a) => s + a.byteLength, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const a of data) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), o);
    o += a.byteLength;
  }
  return out.buffer;
}
