// `make eval`: checks on the real data (EXP_DATA, default ../shared/data). Never part of `make test`.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // builds dist/ first: the tests that start bin/exp.js run the current sources
    globalSetup: ['test/global-setup.ts'],
    include: ['eval/**/*.eval.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
