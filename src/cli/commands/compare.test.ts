import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { captureIo, writeTrackedGrid } from '../../../test/helpers/tracked-grid.ts';
import { compareCommand } from './compare.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'exp-cli-track-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const io = captureIo;
const grid = (): Promise<void> => writeTrackedGrid(dir);

describe('exp compare', () => {
  it('prints the grid from a spec file, with the MLflow UI command', async () => {
    await grid();
    await writeFile(join(dir, 'spec.yaml'), 'name: ava-fewshot\nstages: {}\n');
    const t = io();
    expect(
      await compareCommand([join(dir, 'spec.yaml'), '--metric', 'video.ap.*', '--sort', '-video.ap.drive'], t.io, dir),
    ).toBe(0);
    const lines = t.out().split('\n');
    expect(lines[2]).toMatch(/^point\s+finetune\.k\s+video\.ap\.drive\s+video\.ap\.phone\s+status$/);
    expect(lines.slice(4, 7).map((l) => l.split(/\s+/)[0])).toEqual(['k=50', 'k=20', 'k=0']);
    expect(t.out()).not.toContain('s2a.ap.phone');
    expect(t.out()).toContain(`MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri ${join(dir, 'mlruns')}`);
  });

  it('--json gives the rows with params and metrics', async () => {
    await grid();
    const t = io();
    expect(await compareCommand(['ava-fewshot', '--json', '--metric', 's2a.*'], t.io, dir)).toBe(0);
    const j = JSON.parse(t.out()) as {
      invocation: string;
      params: string[];
      metrics: string[];
      rows: { params: Record<string, string>; metrics: Record<string, number> }[];
    };
    expect(j.invocation).toBe('inv-1');
    expect(j.params).toEqual(['finetune.k']);
    expect(j.metrics).toEqual(['s2a.ap.phone']);
    expect(j.rows.map((r) => r.params['finetune.k'])).toEqual(['0', '20', '50']);
  });

  it('exits 2 on bad arguments, an unknown experiment and a spec without a name (docs/ERRORS.md)', async () => {
    let t = io();
    expect(await compareCommand([], t.io, dir)).toBe(2);
    expect(t.err()).toContain('usage: exp compare');
    t = io();
    expect(await compareCommand(['x', '--frobnicate'], t.io, dir)).toBe(2);
    await grid();
    t = io();
    expect(await compareCommand(['ava-fewshot', '--sort', 'nope'], t.io, dir)).toBe(2);
    t = io();
    expect(await compareCommand(['nothing-here'], t.io, dir)).toBe(2);
    expect(t.err()).toContain('EXP_NOT_FOUND');
    t = io();
    await writeFile(join(dir, 'noname.yaml'), 'stages: {}\n');
    expect(await compareCommand([join(dir, 'noname.yaml')], t.io, dir)).toBe(2);
    expect(t.err()).toContain('name:');
  });
});
