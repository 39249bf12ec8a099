// `make native`'s last step: the built binding loads through exp's backend chooser (no LD_LIBRARY_PATH),
// and tfjs-node resolved the project's own @tensorflow/tfjs-core (one engine, one kernel registry).
import { createRequire } from 'node:module';
import path from 'node:path';
import { initBackend, nativeDir, nativeThreads, tf } from '../src/ml/backend.ts';

const require = createRequire(import.meta.url);
const fromNative = require.resolve('@tensorflow/tfjs-core', {
  paths: [path.join(nativeDir(), 'node_modules', '@tensorflow', 'tfjs-node', 'dist')],
});
const ours = require.resolve('@tensorflow/tfjs-core');
if (fromNative !== ours) {
  console.error(`make native: tfjs-node resolves its own tfjs-core (${fromNative}), not exp's (${ours})`);
  process.exit(1);
}
const b = await initBackend('node');
if (b !== 'node') {
  console.error(`make native: built, but exp chose the ${b} backend`);
  process.exit(1);
}
const s = tf.matMul(tf.ones([2, 3]), tf.ones([3, 2])).dataSync();
console.log(
  `make native: tfjs-node loads; backend ${tf.getBackend()}, matMul [${Array.from(s).join(',')}], ${nativeThreads()}`,
);
