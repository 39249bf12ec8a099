import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeBackend, initBackend, nativeDir } from './backend.ts';

let dir = '';
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('backend choice', () => {
  it('auto without a native build runs wasm and says why native was passed over', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'exp-native-'));
    process.env.EXP_TF_NATIVE_DIR = dir; // an empty `make native` folder
    delete process.env.EXP_TF_BACKEND;
    expect(nativeDir()).toBe(dir);
    expect(await initBackend()).toBe('wasm');
    expect(describeBackend([])).toBe(
      'tfjs backend: wasm — native passed over: @tensorflow/tfjs-node is not built (run `make native`)',
    );
    // npm installs the optional GPU package without running its install script (package.json
    // allowScripts), so a fresh `npm ci` has it without its binding; an older install has none.
    expect(describeBackend([0])).toMatch(
      /granted GPU 0 but fell back to wasm: @tensorflow\/tfjs-node-gpu (is not installed|is installed without its native binding)/,
    );
  });
});
