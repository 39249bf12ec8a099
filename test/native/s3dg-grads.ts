// One backend's loss and gradients of a small S3D-G for fixed weights and a fixed batch, as JSON on
// stdout (test/native/parity.native.ts runs it once on wasm and once on the native backend).
// Usage: npx tsx test/native/s3dg-grads.ts wasm|node
import type * as tfjs from '@tensorflow/tfjs';
import { type BackendName, initBackend, tf } from '../../src/ml/backend.ts';
import { buildS3dg } from '../../src/video/model/s3dg.ts';

const want = process.argv[2] as BackendName;
const got = await initBackend(want);
if (got !== want) {
  console.error(`asked for ${want}, exp chose ${got}`);
  process.exit(2);
}

/** Deterministic uniform [-1, 1) numbers (the same on every backend and process). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

const [batch, frames, size, classes] = [4, 8, 32, 5];
const model = buildS3dg({ arch: 's3dg', width: 0.125, frames, size, numClasses: classes });
// Dropout draws a different mask per backend: off, so the two runs compute the same function.
for (const l of model.layers) if (l.getClassName() === 'Dropout') (l as unknown as { rate: number }).rate = 0;
const rnd = lcg(16);
for (const w of model.weights) {
  if (!w.trainable) continue; // running statistics keep their initial values
  const shape = w.shape as number[];
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  const name = w.originalName ?? w.name;
  if (name.endsWith('gamma')) for (let i = 0; i < n; i++) v[i] = 1 + 0.2 * rnd();
  else if (name.endsWith('beta') || name.endsWith('bias')) for (let i = 0; i < n; i++) v[i] = 0.1 * rnd();
  else {
    const fanIn = n / shape[shape.length - 1]!;
    const a = Math.sqrt(6 / fanIn);
    for (let i = 0; i < n; i++) v[i] = a * rnd();
  }
  w.write(tf.tensor(v, shape));
}
const xv = new Float32Array(batch * frames * size * size * 3);
for (let i = 0; i < xv.length; i++) xv[i] = rnd();
const x = tf.tensor(xv, [batch, frames, size, size, 3]);
const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), classes);
const trainable = model.trainableWeights.map((w) => ({
  name: w.originalName ?? w.name,
  v: (w as unknown as { val: tfjs.Variable }).val,
}));
const { value, grads } = tf.variableGrads(
  () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tfjs.Tensor) as tfjs.Scalar,
  trainable.map((t) => t.v),
);
const out: Record<string, number[]> = {};
for (const t of trainable) out[t.name] = Array.from(await grads[t.v.name]!.data());
const moving: Record<string, number[]> = {};
for (const w of model.weights)
  if (!w.trainable && /moving_(mean|variance)$/.test(w.originalName ?? w.name))
    moving[w.originalName ?? w.name] = Array.from(await w.read().data());
console.log(JSON.stringify({ backend: tf.getBackend(), loss: (await value.data())[0], grads: out, moving }));
