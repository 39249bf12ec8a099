// The building blocks of S3D-G as tfjs layers over clips shaped [batch, T, H, W, C].
// Every 3D operation is factorised onto 2D kernels (measured: conv3d is slow on wasm, conv2d is
// fast once its weight gradient is registered): a 1×k×k convolution or pool runs on the frames
// folded into the batch ([B·T, H, W, C]); a k×1×1 one runs on [B, T, H·W, C] with a [k, 1] window.
// Xie et al. 2018 §4 ("separable 3D convolutions") is exactly this factorisation.
// On the native TensorFlow backend (`make native`) the same 2D kernels run in TensorFlow, and a
// training batch norm + ReLU is one fused op each way (src/ml/native-ops.ts). TF's Conv3D with the
// same 5D kernels was tried there (fewer reshapes) but its gradients disagreed with this path and with
// wasm beyond float tolerance on a small S3D-G (docs/performance.md, "Building native TensorFlow"), so it is not used.
import { tf } from '../../ml/backend.ts';
import { fusedBatchNormReluTraining, nativeBackend } from '../../ml/native-ops.ts';
import type * as tfjs from '@tensorflow/tfjs';

type Tensor = tfjs.Tensor;
type Shape = (number | null)[];
type Kwargs = { [key: string]: unknown };
type LayerArgs = { name?: string; trainable?: boolean };
type LayerVariable = tfjs.LayerVariable;

const BN_EPSILON = 1e-3;
// 0.9 rather than Keras' 0.99: short CPU trainings take few steps, and the running statistics must
// have caught up with the weights by evaluation time.
const BN_MOMENTUM = 0.9;

/**
 * While `active`, batch-norm layers in inference mode normalise with the batch's statistics and
 * average them into their running statistics ("precise BN", Wu & Johnson 2021): after a short
 * training the exponential averages lag the weights, so the trainer re-estimates them with the
 * final weights before each checkpoint.
 */
export const bnCalibration = { active: false };

function same(size: number | null, stride: number): number | null {
  return size === null ? null : Math.ceil(size / stride);
}

function single(x: Tensor | Tensor[]): Tensor {
  return Array.isArray(x) ? x[0]! : x;
}

function singleShape(s: Shape | Shape[]): Shape {
  return Array.isArray(s[0]) ? (s[0] as Shape) : (s as Shape);
}

export interface ConvUnitArgs extends LayerArgs {
  filters: number;
  /** Temporal kernel size (1 for a spatial or pointwise unit). */
  kt: number;
  /** Spatial kernel size (1 for a temporal or pointwise unit). */
  ks: number;
  st?: number;
  ss?: number;
  /** Batch norm + ReLU after the convolution (every conv of S3D-G has both). */
  bnRelu?: boolean;
}

/**
 * Convolution (1×k×k, k×1×1 or 1×1×1, no bias) + batch norm + ReLU: one "unit" of S3D-G.
 * A separable 3D conv is a spatial unit followed by a temporal unit.
 */
export class ConvUnit extends tf.layers.Layer {
  static className = 'S3dgConvUnit';
  readonly filters: number;
  readonly kt: number;
  readonly ks: number;
  readonly st: number;
  readonly ss: number;
  readonly bnRelu: boolean;
  private kernel?: LayerVariable;
  private gamma?: LayerVariable;
  private beta?: LayerVariable;
  private movingMean?: LayerVariable;
  private movingVar?: LayerVariable;
  private movingWeight?: LayerVariable;

  constructor(args: ConvUnitArgs) {
    super(args);
    if (args.kt > 1 && args.ks > 1)
      throw new Error(
        `ConvUnit ${args.name}: factorise ${args.kt}×${args.ks}×${args.ks} into a spatial and a temporal unit`,
      );
    this.filters = args.filters;
    this.kt = args.kt;
    this.ks = args.ks;
    this.st = args.st ?? 1;
    this.ss = args.ss ?? 1;
    this.bnRelu = args.bnRelu ?? true;
  }

  override build(inputShape: Shape | Shape[]): void {
    const cin = singleShape(inputShape)[4]!;
    this.kernel = this.addWeight(
      'kernel',
      [this.kt, this.ks, this.ks, cin, this.filters],
      'float32',
      tf.initializers.heNormal({}),
      undefined,
      true,
    );
    if (this.bnRelu) {
      this.gamma = this.addWeight('gamma', [this.filters], 'float32', tf.initializers.ones(), undefined, true);
      this.beta = this.addWeight('beta', [this.filters], 'float32', tf.initializers.zeros(), undefined, true);
      this.movingMean = this.addWeight(
        'moving_mean',
        [this.filters],
        'float32',
        tf.initializers.zeros(),
        undefined,
        false,
      );
      this.movingVar = this.addWeight(
        'moving_variance',
        [this.filters],
        'float32',
        tf.initializers.ones(),
        undefined,
        false,
      );
      // 1 − momentum^steps: debiases the running averages (as Adam does its moments), so a short
      // training evaluates with its own statistics, not a mix with the initial 0 / 1.
      this.movingWeight = this.addWeight('moving_weight', [1], 'float32', tf.initializers.zeros(), undefined, false);
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [b, t, h, w] = singleShape(inputShape);
    return [b ?? null, same(t ?? null, this.st), same(h ?? null, this.ss), same(w ?? null, this.ss), this.filters];
  }

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor {
    return tf.tidy(() => {
      const x = single(inputs);
      const [, t, h, w, c] = x.shape as number[];
      const kernel = this.kernel!.read();
      let y: Tensor;
      let outShape: number[];
      if (this.kt === 1 && this.ks === 1) {
        // Pointwise: one matMul over every position.
        y = tf.matMul(x.reshape([-1, c!]), kernel.reshape([c!, this.filters]));
        outShape = [-1, t!, h!, w!, this.filters];
      } else if (this.kt === 1) {
        y = tf.conv2d(
          x.reshape([-1, h!, w!, c!]) as tfjs.Tensor4D,
          kernel.reshape([this.ks, this.ks, c!, this.filters]) as tfjs.Tensor4D,
          [this.ss, this.ss],
          'same',
        );
        outShape = [-1, t!, y.shape[1]!, y.shape[2]!, this.filters];
      } else {
        y = tf.conv2d(
          x.reshape([-1, t!, h! * w!, c!]) as tfjs.Tensor4D,
          kernel.reshape([this.kt, 1, c!, this.filters]) as tfjs.Tensor4D,
          [this.st, 1],
          'same',
        );
        outShape = [-1, y.shape[1]!, h!, w!, this.filters];
      }
      if (this.bnRelu) return this.batchNormRelu(y, kwargs.training === true, outShape);
      return y.reshape(outShape);
    });
  }

  /** relu(batchNorm(y)) reshaped to `outShape` (one reshape: the native path fuses it in). */
  private batchNormRelu(y: Tensor, training: boolean, outShape: number[]): Tensor {
    const axes = y.shape.slice(0, -1).map((_, i) => i);
    const gamma = this.gamma!.read();
    const beta = this.beta!.read();
    let mean: Tensor;
    let variance: Tensor;
    const native = training ? nativeBackend() : undefined;
    if (native) {
      // Native backend: one fused TF kernel each way instead of ~45 eager ops (src/ml/native-ops.ts).
      const r = fusedBatchNormReluTraining(native, y, gamma, beta, BN_EPSILON, outShape);
      this.updateRunningStats(r.mean, r.variance);
      tf.dispose([r.mean, r.variance]);
      return r.y;
    }
    if (training) {
      const m = tf.moments(y, axes);
      mean = m.mean;
      variance = m.variance;
      this.updateRunningStats(mean, variance);
    } else if (bnCalibration.active) {
      const m = tf.moments(y, axes);
      mean = m.mean;
      variance = m.variance;
      // Cumulative average; moving_weight counts batches until finishCalibration().
      const mm = this.movingMean!;
      const mv = this.movingVar!;
      const mw = this.movingWeight!;
      tf.tidy(() => {
        const n = mw.read();
        const n1 = tf.add(n, 1);
        mm.write(tf.div(tf.add(tf.mul(mm.read(), n), mean), n1));
        mv.write(tf.div(tf.add(tf.mul(mv.read(), n), variance), n1));
        mw.write(n1);
      });
    } else {
      // Debiased: the averages started at mean 0 / variance 1 with weight 1 − w on that prior.
      const w = this.movingWeight!.read();
      const trained = tf.greater(w, 1e-6).tile([this.filters]);
      const safe = tf.maximum(w, 1e-6);
      mean = tf.where(trained, tf.div(this.movingMean!.read(), safe), tf.zerosLike(this.movingMean!.read()));
      variance = tf.where(
        trained,
        tf.div(tf.sub(this.movingVar!.read(), tf.sub(1, w)), safe),
        tf.onesLike(this.movingVar!.read()),
      );
      variance = tf.relu(variance);
    }
    return tf.relu(tf.batchNorm(y, mean, variance, beta, gamma, BN_EPSILON)).reshape(outShape);
  }

  /** Running statistics for evaluation (as Keras' BatchNormalization does). */
  private updateRunningStats(mean: Tensor, variance: Tensor): void {
    const mm = this.movingMean!;
    const mv = this.movingVar!;
    const mw = this.movingWeight!;
    tf.tidy(() => {
      mm.write(tf.add(tf.mul(mm.read(), BN_MOMENTUM), tf.mul(mean, 1 - BN_MOMENTUM)));
      mv.write(tf.add(tf.mul(mv.read(), BN_MOMENTUM), tf.mul(variance, 1 - BN_MOMENTUM)));
      mw.write(tf.add(tf.mul(mw.read(), BN_MOMENTUM), 1 - BN_MOMENTUM));
    });
  }

  /** Forget the running statistics (before a calibration pass). */
  resetRunningStats(): void {
    if (!this.bnRelu) return;
    tf.tidy(() => {
      this.movingMean!.write(tf.zeros([this.filters]));
      this.movingVar!.write(tf.zeros([this.filters]));
      this.movingWeight!.write(tf.zeros([1]));
    });
  }

  /** After a calibration pass: the cumulative averages become the statistics used in inference. */
  finishCalibration(): void {
    if (!this.bnRelu) return;
    const batches = this.movingWeight!.read().dataSync()[0]!;
    tf.tidy(() => {
      if (batches > 0) this.movingWeight!.write(tf.ones([1]));
      else {
        this.movingVar!.write(tf.ones([this.filters]));
        this.movingWeight!.write(tf.zeros([1]));
      }
    });
  }

  override getConfig(): tfjs.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kt: this.kt,
      ks: this.ks,
      st: this.st,
      ss: this.ss,
      bnRelu: this.bnRelu,
    };
  }
}

/**
 * Feature gating (Xie et al. 2018 §5, eq. 1): Y = σ(W·pool(X) + b) ⊙ X, where pool averages
 * over time and space, so each channel is re-weighted by the clip's context.
 */
export class SelfGating extends tf.layers.Layer {
  static className = 'S3dgSelfGating';
  private w?: LayerVariable;
  private b?: LayerVariable;

  constructor(args: LayerArgs = {}) {
    super(args);
  }

  override build(inputShape: Shape | Shape[]): void {
    const c = singleShape(inputShape)[4]!;
    this.w = this.addWeight('kernel', [c, c], 'float32', tf.initializers.glorotUniform({}), undefined, true);
    this.b = this.addWeight('bias', [c], 'float32', tf.initializers.zeros(), undefined, true);
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return singleShape(inputShape);
  }

  override call(inputs: Tensor | Tensor[]): Tensor {
    return tf.tidy(() => {
      const x = single(inputs);
      const c = x.shape[4]!;
      const context = tf.mean(x, [1, 2, 3]);
      const gate = tf.sigmoid(tf.add(tf.matMul(context, this.w!.read()), this.b!.read()));
      return tf.mul(x, gate.reshape([-1, 1, 1, 1, c]));
    });
  }
}

export interface MaxPoolArgs extends LayerArgs {
  kt: number;
  ks: number;
  st: number;
  ss: number;
}

/** kt×ks×ks max pool with 'same' padding, as a spatial then a temporal pool (max is separable). */
export class MaxPoolST extends tf.layers.Layer {
  static className = 'S3dgMaxPool';
  readonly kt: number;
  readonly ks: number;
  readonly st: number;
  readonly ss: number;

  constructor(args: MaxPoolArgs) {
    super(args);
    this.kt = args.kt;
    this.ks = args.ks;
    this.st = args.st;
    this.ss = args.ss;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [b, t, h, w, c] = singleShape(inputShape);
    return [b ?? null, same(t ?? null, this.st), same(h ?? null, this.ss), same(w ?? null, this.ss), c ?? null];
  }

  override call(inputs: Tensor | Tensor[]): Tensor {
    return tf.tidy(() => {
      let x = single(inputs);
      const [, t, h, w, c] = x.shape as number[];
      let ho = h!;
      let wo = w!;
      if (this.ks > 1 || this.ss > 1) {
        const y = tf.maxPool(
          x.reshape([-1, h!, w!, c!]) as tfjs.Tensor4D,
          [this.ks, this.ks],
          [this.ss, this.ss],
          'same',
        );
        ho = y.shape[1]!;
        wo = y.shape[2]!;
        x = y.reshape([-1, t!, ho, wo, c!]);
      }
      if (this.kt > 1 || this.st > 1) {
        const y = tf.maxPool(x.reshape([-1, t!, ho * wo, c!]) as tfjs.Tensor4D, [this.kt, 1], [this.st, 1], 'same');
        x = y.reshape([-1, y.shape[1]!, ho, wo, c!]);
      }
      return x;
    });
  }

  override getConfig(): tfjs.serialization.ConfigDict {
    return { ...super.getConfig(), kt: this.kt, ks: this.ks, st: this.st, ss: this.ss };
  }
}

/** Mean over time and space: [B, T, H, W, C] → [B, C]. */
export class GlobalAvgPool3D extends tf.layers.Layer {
  static className = 'S3dgGlobalAvgPool';

  constructor(args: LayerArgs = {}) {
    super(args);
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = singleShape(inputShape);
    return [s[0] ?? null, s[4] ?? null];
  }

  override call(inputs: Tensor | Tensor[]): Tensor {
    return tf.tidy(() => tf.mean(single(inputs), [1, 2, 3]));
  }
}

/**
 * Concatenation along channels done on [positions, C] views: its gradient (a split) then slices
 * 2D tensors, which wasm copies fast, instead of rank-5 ones, which it copies element by element.
 */
export class ChannelConcat extends tf.layers.Layer {
  static className = 'S3dgChannelConcat';

  constructor(args: LayerArgs = {}) {
    super(args);
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shapes = inputShape as Shape[];
    const c = shapes.reduce((n, s) => n + (s[4] ?? 0), 0);
    return [...shapes[0]!.slice(0, 4), c];
  }

  override call(inputs: Tensor | Tensor[]): Tensor {
    return tf.tidy(() => {
      const xs = Array.isArray(inputs) ? inputs : [inputs];
      const [, t, h, w] = xs[0]!.shape as number[];
      const flat = xs.map((x) => x.reshape([-1, x.shape[4]!]));
      const y = tf.concat(flat, 1);
      return y.reshape([-1, t!, h!, w!, y.shape[1]!]);
    });
  }
}

for (const cls of [ConvUnit, SelfGating, MaxPoolST, GlobalAvgPool3D, ChannelConcat]) {
  tf.serialization.registerClass(
    cls as unknown as tfjs.serialization.SerializableConstructor<tfjs.serialization.Serializable>,
  );
}
