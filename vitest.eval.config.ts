// `make eval`: checks on the real data (EXP_DATA, default ../shared/data). Never part of `make test`.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['eval/**/*.eval.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
