import path from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The slowest test files, slowest first (measured: seconds on a loaded 2-core machine). A fresh
 * clone has no timing cache, and vitest would start them wherever they fall: the demo-world
 * findings (10–15 min alone) then began two thirds into the run and set its length. Started
 * first, they overlap with everything else.
 */
const SLOWEST_FIRST = [
  'test/findings/video.test.ts',
  'test/engine/cli-hostile.test.ts',
  'test/engine/slurm.test.ts',
  'test/findings/mining.test.ts',
  'test/experiments/s2a-bert.test.ts',
  'src/stages/s2a-stages.test.ts',
];

class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification): number => {
      const i = SLOWEST_FIRST.indexOf(path.relative(process.cwd(), f.moduleId));
      return i < 0 ? SLOWEST_FIRST.length : i;
    };
    // Array.prototype.sort is stable: the rest keep vitest's own order.
    return sorted.sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    // builds dist/ first: the tests that start bin/exp.js run the current sources
    globalSetup: ['test/global-setup.ts'],
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Timeouts catch hangs, not slowness: CI shares its 2 cores with other work (load 5-20 seen),
    // under which tests that take 20 s alone take a minute or more.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 2,
    sequence: { sequencer: SlowestFirst },
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
