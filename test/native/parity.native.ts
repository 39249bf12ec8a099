// `make native-check`: the native backend computes the same training step as wasm. A small S3D-G
// (width 0.125, 4 clips of 8×32×32, dropout off) with the same weights and batch, run once per backend
// in its own process (test/native/s3dg-grads.ts): loss, every parameter's gradient, and the running
// batch-norm statistics must agree within float32 tolerance. For scale: wasm vs tfjs' pure-JS cpu
// backend differ by a median 8e-4 (worst 5e-3) in relative L2 per gradient on this net; native vs
// wasm by a median 1.4e-3 (worst 1.2e-2, a batch-norm γ with a small gradient).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/repo.ts';

interface Result {
  backend: string;
  loss: number;
  grads: Record<string, number[]>;
  moving: Record<string, number[]>;
}

function run(backend: 'wasm' | 'node'): Result {
  const r = spawnSync(
    process.execPath,
    [
      path.join(repoRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
      path.join(repoRoot, 'test', 'native', 's3dg-grads.ts'),
      backend,
    ],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, cwd: repoRoot, env: { ...process.env, EXP_TF_BACKEND: backend } },
  );
  if (r.status !== 0) throw new Error(`s3dg-grads ${backend} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`s3dg-grads ${backend}: no JSON on stdout`);
  return JSON.parse(line) as Result;
}

function relL2(a: number[], b: number[]): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i]! - b[i]!) ** 2;
    n += a[i]! ** 2;
  }
  return Math.sqrt(d) / Math.max(Math.sqrt(n), 1e-12);
}

describe('native backend parity with wasm (small S3D-G, one training step)', () => {
  it('same loss, gradients and running statistics for the same weights and batch', () => {
    const wasm = run('wasm');
    const native = run('node');
    expect(wasm.backend).toBe('wasm');
    expect(native.backend).toBe('tensorflow');
    expect(Math.abs(native.loss - wasm.loss) / wasm.loss).toBeLessThan(1e-4);
    const names = Object.keys(wasm.grads);
    expect(names.length).toBeGreaterThan(100);
    expect(Object.keys(native.grads).sort()).toEqual([...names].sort());
    const errs = names.map((k) => ({ k, e: relL2(wasm.grads[k]!, native.grads[k]!) })).sort((a, b) => a.e - b.e);
    const median = errs[Math.floor(errs.length / 2)]!.e;
    const worst = errs.at(-1)!;
    expect(median, 'median relative L2 error of a gradient').toBeLessThan(5e-3);
    expect(worst.e, `worst gradient: ${worst.k}`).toBeLessThan(5e-2);
    for (const k of Object.keys(wasm.moving)) {
      const e = relL2(wasm.moving[k]!, native.moving[k]!);
      expect(e, `running statistic ${k}`).toBeLessThan(1e-3);
    }
  });
});
