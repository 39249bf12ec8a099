import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeMlflowServer } from '../../../test/helpers/fake-mlflow-server.ts';
import { captureIo, writeTrackedGrid } from '../../../test/helpers/tracked-grid.ts';
import { syncCommand } from './sync.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'exp-cli-track-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const io = captureIo;
const grid = (): Promise<void> => writeTrackedGrid(dir);

describe('exp sync', () => {
  let server: FakeMlflowServer;
  beforeEach(async () => {
    server = new FakeMlflowServer();
    await server.start();
  });
  afterEach(async () => {
    await server.stop();
  });

  it('pushes the runs, then reports them unchanged on a second sync', async () => {
    await grid();
    let t = io();
    expect(await syncCommand(['--to', server.url], t.io, dir)).toBe(0);
    expect(t.out()).toMatch(/4 new run\(s\), 0 updated, 0 unchanged/);
    expect(t.out()).toContain(`${server.url}/#/experiments/1`);
    t = io();
    expect(await syncCommand(['--to', server.url, '--experiment', 'ava-fewshot'], t.io, dir)).toBe(0);
    expect(t.out()).toMatch(/0 new run\(s\), 0 updated, 4 unchanged/);
    expect(server.runsOf('ava-fewshot')).toHaveLength(4);
  });

  it('exits 2 without a server, 1 when the server cannot be reached, and never prints credentials', async () => {
    let t = io();
    const saved = { ...process.env };
    delete process.env.MLFLOW_TRACKING_URI;
    try {
      expect(await syncCommand([], t.io, dir)).toBe(2);
      expect(t.err()).toContain('--to');
      t = io();
      expect(await syncCommand(['--to', 'file:///x'], t.io, dir)).toBe(2);
      await grid();
      const url = server.url;
      await server.stop();
      process.env.MLFLOW_TRACKING_TOKEN = 'top-secret-token';
      t = io();
      process.env.MLFLOW_HTTP_REQUEST_MAX_RETRIES = '1';
      process.env.MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR = '0';
      expect(await syncCommand(['--to', url, '--experiment', 'ava-fewshot'], t.io, dir)).toBe(1);
      expect(t.err()).toContain('cannot reach MLflow');
      expect(t.out() + t.err()).not.toContain('top-secret-token');
    } finally {
      process.env = saved;
    }
  });
});
