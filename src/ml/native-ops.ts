// Fused TensorFlow ops for the native backend (`make native`), called through tfjs-node's own op
// executor. tfjs runs a training-mode batch norm as moments + batchNorm and differentiates it op by op
// (~45 eager ops per layer, each a round trip into TensorFlow); here it is one FusedBatchNormV3 forward
// and one FusedBatchNormGradV3 + ReluGrad backward, the kernels Keras/PyTorch use. The arithmetic is
// the same (biased batch variance for normalising, TF's CPU kernels): test/native checks it against
// the wasm path within float tolerance.
import type * as tfjs from '@tensorflow/tfjs';
import { tf } from './backend.ts';

type Tensor = tfjs.Tensor;

interface OpAttr {
  name: string;
  type: number;
  value: number | boolean | string;
}

/** The part of tfjs-node's NodeJSKernelBackend used here. */
interface NodeBackendLike {
  binding: {
    TF_FLOAT: number;
    TF_ATTR_TYPE: number;
    TF_ATTR_FLOAT: number;
    TF_ATTR_BOOL: number;
    TF_ATTR_STRING: number;
  };
  executeSingleOutput(name: string, attrs: OpAttr[], inputs: Tensor[]): Tensor;
  executeMultipleOutputs(name: string, attrs: OpAttr[], inputs: Tensor[], n: number): Tensor[];
}

/** tfjs-node's backend when it is the active one, else undefined (wasm, cpu). */
export function nativeBackend(): NodeBackendLike | undefined {
  if (tf.getBackend() !== 'tensorflow') return undefined;
  const b = tf.backend() as unknown as Partial<NodeBackendLike>;
  return typeof b.executeMultipleOutputs === 'function' && b.binding ? (b as NodeBackendLike) : undefined;
}

function bnAttrs(b: NodeBackendLike, epsilon: number, forward: boolean): OpAttr[] {
  const { binding } = b;
  const attrs: OpAttr[] = [
    { name: 'T', type: binding.TF_ATTR_TYPE, value: binding.TF_FLOAT },
    { name: 'U', type: binding.TF_ATTR_TYPE, value: binding.TF_FLOAT },
    { name: 'epsilon', type: binding.TF_ATTR_FLOAT, value: epsilon },
    { name: 'data_format', type: binding.TF_ATTR_STRING, value: 'NHWC' },
    { name: 'is_training', type: binding.TF_ATTR_BOOL, value: true },
  ];
  // The forward op's running-average factor (1: no averaging here; ConvUnit keeps its own averages).
  if (forward) attrs.push({ name: 'exponential_avg_factor', type: binding.TF_ATTR_FLOAT, value: 1 });
  return attrs;
}

/**
 * relu(batchNorm(x)) with the batch's own statistics, channels last, on the native backend.
 * `x` is rank 4 ([N, H, W, C]) or rank 2 ([positions, C]). Returns the activation, and the batch
 * mean and biased variance (kept: the caller disposes them) for the running averages. The activation
 * comes reshaped to `outShape` (default: x's shape), saving a reshape each way for rank-2 inputs.
 */
export function fusedBatchNormReluTraining(
  b: NodeBackendLike,
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  epsilon: number,
  outShape: number[] = x.shape,
): { y: Tensor; mean: Tensor; variance: Tensor } {
  const x4 = x.rank === 4 ? x : x.reshape([1, 1, -1, x.shape[x.rank - 1]!]);
  let mean: Tensor | undefined;
  let variance: Tensor | undefined;
  const f = tf.customGrad((xi, g, bt, save) => {
    const empty = tf.tensor1d([], 'float32');
    const [yn, bMean, , rs1, rs2, rs3] = b.executeMultipleOutputs(
      'FusedBatchNormV3',
      bnAttrs(b, epsilon, true),
      [xi as Tensor, g as Tensor, bt as Tensor, empty, empty],
      6,
    );
    const out = tf.relu(yn!);
    // TF's batch_variance output is Bessel-corrected (for running averages), tfjs' moments are not;
    // TF's CPU kernel keeps the biased one as reserve_space_2.
    mean = tf.keep(bMean!);
    variance = tf.keep(rs2!);
    (save as tfjs.GradSaveFunc)([xi as Tensor, g as Tensor, out, rs1!, rs2!, rs3!]);
    return {
      value: out,
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
        const [xs, gs, outs, r1, r2, r3] = saved as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
        const dyr = b.executeSingleOutput(
          'ReluGrad',
          [{ name: 'T', type: b.binding.TF_ATTR_TYPE, value: b.binding.TF_FLOAT }],
          [dy as Tensor, outs],
        );
        const [dx, dg, db] = b.executeMultipleOutputs(
          'FusedBatchNormGradV3',
          bnAttrs(b, epsilon, false),
          [dyr, xs, gs, r1, r2, r3],
          5,
        );
        return [dx!, dg!, db!];
      },
    };
  });
  const y4 = f(x4, gamma, beta);
  const y = y4.reshape(outShape);
  return { y, mean: mean!, variance: variance! };
}
