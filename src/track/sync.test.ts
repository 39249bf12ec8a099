import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeMlflowServer } from '../../test/helpers/fake-mlflow-server.ts';
import { FileStore } from './file-store.ts';
import { MlflowRestClient } from './rest-client.ts';
import { mappingPath, missingPoints, StoreSyncer } from './sync.ts';

let dir: string;
let server: FakeMlflowServer;
const instant = { retries: 1, delayMs: () => 1, sleep: async () => {} };
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'exp-sync-'));
  server = new FakeMlflowServer();
  await server.start();
});
afterEach(async () => {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

const syncer = (root: string) =>
  new StoreSyncer(root, new MlflowRestClient({ trackingUri: server.url, retry: instant }));

async function localRun(metrics: number) {
  const store = new FileStore(join(dir, 'mlruns'));
  const exp = await store.getOrCreateExperiment('grid');
  const run = await store.createRun({
    experimentId: exp.experimentId,
    runName: 'p',
    userId: 'u',
    params: { lr: '0.1' },
  });
  const ref = { experimentId: exp.experimentId, runId: run.runId };
  await store.logMetrics(
    ref,
    Array.from({ length: metrics }, (_, i) => ({ key: 'loss', value: 1 / (i + 1), step: i, timestamp: 1000 + i })),
  );
  return { store, ref };
}

describe('exp sync: idempotent and resumable', () => {
  it('resumes a push that stopped half-way without duplicating the points already sent', async () => {
    const { store, ref } = await localRun(2500);
    // 1st chunk of log-batch passes, then the server fails for good.
    server.failNext(100, 503, 'log-batch', 1);
    await expect(syncer(store.root).syncAll()).rejects.toMatchObject({ status: 503 });
    const map = JSON.parse(await readFile(mappingPath(store.root), 'utf8')) as {
      servers: Record<string, { runs: Record<string, { complete: boolean }> }>;
    };
    expect(map.servers[server.url]!.runs[ref.runId]!.complete).toBe(false);
    const [remote] = server.runsOf('grid');
    expect(remote!.metrics.length).toBeGreaterThan(0);
    expect(remote!.metrics.length).toBeLessThan(2500);

    server.clearFailures();
    const s = await syncer(store.root).syncAll();
    expect(s).toMatchObject({ created: 0, updated: 1, failed: [] });
    expect(server.runsOf('grid')).toHaveLength(1);
    expect(remote!.metrics).toHaveLength(2500);
    expect(new Set(remote!.metrics.map((m) => m.step)).size).toBe(2500);
  });

  it('pushes only new points after more were logged locally, and finds runs by tag when the mapping file is lost', async () => {
    const { store, ref } = await localRun(3);
    await syncer(store.root).syncAll();
    await store.logMetrics(ref, [{ key: 'loss', value: 0.01, step: 3, timestamp: 5000 }]);
    await store.endRun(ref, 'FINISHED', 6000);
    expect(await syncer(store.root).syncAll()).toMatchObject({ created: 0, updated: 1 });
    const [remote] = server.runsOf('grid');
    expect(remote!.metrics).toHaveLength(4);
    expect(remote!.info).toMatchObject({ status: 'FINISHED', end_time: 6000 });

    await rm(mappingPath(store.root));
    expect(await syncer(store.root).syncAll()).toMatchObject({ created: 0, updated: 1 });
    expect(server.runsOf('grid')).toHaveLength(1);
    expect(remote!.metrics).toHaveLength(4);
    expect(await syncer(store.root).syncAll()).toMatchObject({ created: 0, updated: 0, unchanged: 1 });
  });

  it('syncs one experiment by name and says when it does not exist', async () => {
    const { store } = await localRun(1);
    const other = await store.getOrCreateExperiment('other');
    await store.createRun({ experimentId: other.experimentId, runName: 'x', userId: 'u' });
    expect(await syncer(store.root).syncAll('other')).toMatchObject({ created: 1 });
    expect(server.runsOf('grid')).toHaveLength(0);
    await expect(syncer(store.root).syncAll('nope')).rejects.toMatchObject({ code: 'EXP_INPUT_MISSING' });
  });

  it('missingPoints treats histories as multisets', () => {
    const p = (step: number, value: number) => ({ key: 'k', step, value, timestamp: 1 });
    expect(missingPoints([p(0, 1), p(0, 1), p(1, NaN)], [p(0, 1)])).toEqual([p(0, 1), p(1, NaN)]);
    expect(missingPoints([p(1, NaN)], [p(1, NaN)])).toEqual([]);
  });
});
