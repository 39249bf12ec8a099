import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    // The default backend for tests is wasm even where `make native` has been run (make native-check
    // runs the video/ml tests on native); EXP_TF_BACKEND=... in the environment overrides.
    // EXP_REPORT=0: `exp run` in tests writes no HTML report (about a second of vega per run, over
    // some 80 runs); the report's own tests (test/report/) turn it back on.
    env: { EXP_TF_BACKEND: process.env.EXP_TF_BACKEND ?? 'wasm', EXP_REPORT: '0' },
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      exclude: ['src/**/*.test.ts'],
      reporter: ['text-summary', 'json-summary'],
    },
  },
});
