import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTracker } from '../../track/tracker.ts';
import { compareCommand } from './compare.ts';

let dir: string;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'exp-cli-track-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on('data', (d: Buffer) => out.push(d.toString()));
  stderr.on('data', (d: Buffer) => err.push(d.toString()));
  return { io: { stdout, stderr }, out: () => out.join(''), err: () => err.join('') };
}

async function grid() {
  const tracker = await openTracker({ runsDir: dir, experimentName: 'ava-fewshot', log: () => {} });
  const inv = await tracker.startInvocation({ invocationId: 'inv-1', specFile: 'x.yaml', specName: 'ava-fewshot', resolvedSpecYaml: '', user: 'u', sourceName: 'exp' });
  for (const k of [0, 20, 50]) {
    const run = await inv.startPoint({ pointId: `p${k}`, name: `k=${k}`, params: { 'finetune.k': k, 'video.arch': 's3dg' } });
    await run.logMetrics([{ key: 'video.ap.drive', value: k / 100 }, { key: 'video.ap.phone', value: 0.5 }, { key: 's2a.ap.phone', value: 0.9 }]);
    await run.end('FINISHED');
  }
  await inv.end('FINISHED');
  await tracker.close();
}

describe('exp compare', () => {
  it('prints the grid from a spec file, with the MLflow UI command', async () => {
    await grid();
    await writeFile(join(dir, 'spec.yaml'), 'name: ava-fewshot\nstages: {}\n');
    const t = io();
    expect(await compareCommand([join(dir, 'spec.yaml'), '--metric', 'video.ap.*', '--sort', '-video.ap.drive'], t.io, dir)).toBe(0);
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
    const j = JSON.parse(t.out()) as { invocation: string; params: string[]; metrics: string[]; rows: { params: Record<string, string>; metrics: Record<string, number> }[] };
    expect(j.invocation).toBe('inv-1');
    expect(j.params).toEqual(['finetune.k']);
    expect(j.metrics).toEqual(['s2a.ap.phone']);
    expect(j.rows.map((r) => r.params['finetune.k'])).toEqual(['0', '20', '50']);
  });

  it('exits 2 on bad arguments and 1 on an unknown experiment', async () => {
    let t = io();
    expect(await compareCommand([], t.io, dir)).toBe(2);
    expect(t.err()).toContain('usage: exp compare');
    t = io();
    expect(await compareCommand(['x', '--frobnicate'], t.io, dir)).toBe(2);
    await grid();
    t = io();
    expect(await compareCommand(['ava-fewshot', '--sort', 'nope'], t.io, dir)).toBe(2);
    t = io();
    expect(await compareCommand(['nothing-here'], t.io, dir)).toBe(1);
    expect(t.err()).toContain('EXP_INPUT_MISSING');
    t = io();
    await writeFile(join(dir, 'noname.yaml'), 'stages: {}\n');
    expect(await compareCommand([join(dir, 'noname.yaml')], t.io, dir)).toBe(1);
    expect(t.err()).toContain('name:');
  });
});
