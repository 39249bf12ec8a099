// `make native-check`: the video and ml tests again on the native TensorFlow backend (`make native`),
// plus the native-vs-wasm parity checks in test/native/. Never part of `make test`; the Makefile
// refuses to run it when .native/ has not been built.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // builds dist/ first: the tests that start bin/exp.js run the current sources
    globalSetup: ['test/global-setup.ts'],
    include: [
      'test/native/**/*.native.ts',
      'src/video/**/*.test.ts',
      'src/ml/checkpoint.test.ts',
      'src/ml/metrics.test.ts',
      'src/ml/plot.test.ts',
      'src/stages/video-stages.test.ts',
    ],
    env: { EXP_TF_BACKEND: 'node', EXP_TF_THREADS: '2' },
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 1,
  },
});
