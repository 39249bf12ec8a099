import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // builds dist/ first: the tests that start bin/exp.js run the current sources
    globalSetup: ['test/global-setup.ts'],
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    // The default backend for tests is wasm even where `make native` has been run (make native-check
    // runs the video/ml tests on native); EXP_TF_BACKEND=... in the environment overrides.
    env: { EXP_TF_BACKEND: process.env.EXP_TF_BACKEND ?? 'wasm' },
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      exclude: ['src/**/*.test.ts'],
      reporter: ['text-summary', 'json-summary'],
    },
  },
});
