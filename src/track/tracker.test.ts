import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeMlflowServer } from '../../test/helpers/fake-mlflow-server.ts';
import { listArtifacts, listExperiments, listRuns, readMetricHistories } from './file-store-read.ts';
import { MlflowRestClient } from './rest-client.ts';
import { StoreSyncer } from './sync.ts';
import { invocationRunName, openTracker, type TrackerOptions } from './tracker.ts';

let dir: string;
let logs: string[];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'exp-tracker-'));
  logs = [];
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const instant = { retries: 2, delayMs: () => 1, sleep: async () => {} };
const open = (extra: Partial<TrackerOptions> = {}) =>
  openTracker({
    runsDir: dir,
    experimentName: 'ava-fewshot',
    log: (m) => logs.push(m),
    retry: instant,
    env: {},
    ...extra,
  });

/** What the engine does for a 2-point grid. */
async function runGrid(extra: Partial<TrackerOptions> = {}) {
  const tracker = await open(extra);
  const inv = await tracker.startInvocation({
    invocationId: 'inv-1',
    specFile: 'experiments/ava_fewshot.yaml',
    specName: 'ava-fewshot',
    resolvedSpecYaml: 'name: ava-fewshot\n',
    gitCommit: 'abc123',
    user: 'ann',
    sourceName: 'exp run',
  });
  await writeFile(join(dir, 'clips.jsonl'), '{"id":"c1"}\n');
  const runs = [];
  for (const k of [0, 20]) {
    const run = await inv.startPoint({
      pointId: `pt${k}`,
      name: `method=s2a k=${k}`,
      params: { 'finetune.k': k, 'mining.method': 's2a', 'video.pretrained': null, 'train.shuffle': true },
    });
    await run.logMetrics([
      { key: 'train.loss', value: 1, step: 0 },
      { key: 'train.loss', value: 0.5, step: 1 },
    ]);
    await run.logMetrics([
      { key: 'video.ap.drive', value: k / 100 },
      { key: 'video.mean_ap', value: NaN },
    ]);
    await run.setTags({ 'exp.cached': String(k === 20) });
    await run.logArtifact(join(dir, 'clips.jsonl'), 'mining/');
    await run.end('FINISHED');
    runs.push(run);
  }
  await inv.end('FINISHED');
  await tracker.close();
  return { tracker, inv, runs };
}

describe('tracker → file store', () => {
  it('makes one experiment, a parent run per invocation and a child run per point with every tag', async () => {
    const { tracker, inv } = await runGrid();
    const exps = await listExperiments(tracker.storeRoot);
    expect(exps.map((e) => e.name)).toEqual(['ava-fewshot']);
    const runs = await listRuns(tracker.storeRoot, tracker.experimentId);
    expect(runs).toHaveLength(3);
    const parent = runs.find((r) => r.info.runId === inv.runId)!;
    expect(parent.info.status).toBe('FINISHED');
    expect(parent.info.runName).toMatch(/^ava-fewshot @ \d{4}-\d\d-\d\d \d\d:\d\d$/);
    expect(parent.tags).toMatchObject({
      'mlflow.runName': parent.info.runName,
      'mlflow.source.name': 'exp run',
      'mlflow.source.git.commit': 'abc123',
      'mlflow.user': 'ann',
      'exp.spec': 'experiments/ava_fewshot.yaml',
      'exp.invocation': 'inv-1',
    });
    expect(await listArtifacts(tracker.storeRoot, tracker.experimentId, inv.runId)).toEqual(['spec.resolved.yaml']);
    const points = runs.filter((r) => r.tags['mlflow.parentRunId'] === inv.runId);
    expect(points.map((r) => r.info.runName).sort()).toEqual(['method=s2a k=0', 'method=s2a k=20']);
    const k20 = points.find((r) => r.info.runName === 'method=s2a k=20')!;
    expect(k20.params).toEqual({
      'finetune.k': '20',
      'mining.method': 's2a',
      'video.pretrained': 'None',
      'train.shuffle': 'True',
    });
    expect(k20.tags).toMatchObject({
      'exp.point_id': 'pt20',
      'exp.spec': 'experiments/ava_fewshot.yaml',
      'exp.cached': 'true',
      'mlflow.user': 'ann',
    });
    expect(k20.metrics['video.ap.drive']!.value).toBe(0.2);
    expect(Number.isNaN(k20.metrics['video.mean_ap']!.value)).toBe(true);
    expect(k20.metrics['train.loss']).toMatchObject({ value: 0.5, step: 1 });
    expect(k20.info.userId).toBe('ann');
    expect(await listArtifacts(tracker.storeRoot, tracker.experimentId, k20.info.runId)).toEqual([
      'mining/clips.jsonl',
    ]);
    expect(logs).toEqual([]);
    expect(invocationRunName('x', Date.UTC(2026, 10, 23, 23, 40))).toBe('x @ 2026-11-23 23:40');
  });

  it('moves a param longer than 6000 characters into an artifact and keeps a short reference', async () => {
    const tracker = await open();
    const inv = await tracker.startInvocation({
      invocationId: 'i',
      specFile: 's.yaml',
      specName: 's',
      resolvedSpecYaml: '',
      user: 'u',
      sourceName: 'exp',
    });
    const long = 'v'.repeat(7000);
    const run = await inv.startPoint({ pointId: 'p', name: 'p', params: { 'data.classes': long, lr: 0.1 } });
    await run.logParams({ 'notes/long': long });
    await tracker.close();
    const [rec] = (await listRuns(tracker.storeRoot, tracker.experimentId)).filter((r) => r.info.runId === run.runId);
    expect(rec!.params['data.classes']).toBe('(7000 characters: see artifact params/data.classes.txt)');
    expect(rec!.params.lr).toBe('0.1');
    expect(
      await readFile(
        join(tracker.storeRoot, tracker.experimentId, run.runId, 'artifacts', 'params', 'data.classes.txt'),
        'utf8',
      ),
    ).toBe(long);
    expect(await listArtifacts(tracker.storeRoot, tracker.experimentId, run.runId)).toEqual([
      'params/data.classes.txt',
      'params/notes/long.txt',
    ]);
  });

  it('rejects bad keys, steps and values before writing anything, naming the run and the key', async () => {
    const tracker = await open();
    const inv = await tracker.startInvocation({
      invocationId: 'i',
      specFile: 's.yaml',
      specName: 's',
      resolvedSpecYaml: '',
      user: 'u',
      sourceName: 'exp',
    });
    await expect(inv.startPoint({ pointId: 'p', name: 'bad', params: { a$b: 1 } })).rejects.toMatchObject({
      code: 'EXP_TRACK_INVALID',
      message: expect.stringMatching(/param "a\$b" of point "bad"/),
    });
    await expect(
      inv.startPoint({ pointId: 'p', name: 'bad', params: { obj: { x: 1 } as unknown as string } }),
    ).rejects.toMatchObject({ code: 'EXP_TRACK_INVALID' });
    expect(await listRuns(tracker.storeRoot, tracker.experimentId)).toHaveLength(1); // only the parent
    const run = await inv.startPoint({ pointId: 'p', name: 'ok', params: {} });
    const cases: [unknown, RegExp][] = [
      [[{ key: 'loss', value: 1, step: 0.5 }], /"loss".*step must be an integer/],
      [[{ key: 'loss', value: 1, step: Infinity }], /step must be an integer/],
      [[{ key: 'loss', value: '0.5' }], /value must be a number/],
      [[{ key: '../x', value: 1 }], /"\.\.\/x"/],
      [[{ key: '/abs', value: 1 }], /starts with "\/"/],
      [[{ key: 'k'.repeat(251), value: 1 }], /251 characters/],
      [
        [
          { key: 'ok', value: 1 },
          { key: 'bad key!', value: 1 },
        ],
        /"bad key!"/,
      ],
    ];
    for (const [metrics, msg] of cases) {
      await expect(run.logMetrics(metrics as never)).rejects.toMatchObject({
        code: 'EXP_TRACK_INVALID',
        message: expect.stringMatching(msg),
      });
    }
    await expect(run.setTags({ note: 'x'.repeat(8001) })).rejects.toMatchObject({
      code: 'EXP_TRACK_INVALID',
      message: expect.stringContaining('"note"'),
    });
    expect(await readMetricHistories(tracker.storeRoot, tracker.experimentId, run.runId)).toEqual({}); // "ok" of the bad batch not written
    await tracker.close();
  });
});

describe('tracker → server mirror, spool and sync', () => {
  let server: FakeMlflowServer;
  beforeEach(async () => {
    server = new FakeMlflowServer();
    await server.start();
  });
  afterEach(async () => {
    await server.stop();
  });

  it('mirrors every run to the server when MLFLOW_TRACKING_URI is http', async () => {
    const { tracker } = await runGrid({ trackingUri: server.url });
    expect(tracker.serverUri).toBe(server.url);
    const runs = server.runsOf('ava-fewshot');
    expect(runs).toHaveLength(3);
    const parent = runs.find((r) => !r.tags.has('mlflow.parentRunId'))!;
    const children = runs.filter((r) => r.tags.get('mlflow.parentRunId') === parent.info.run_id);
    expect(children).toHaveLength(2);
    for (const c of children) {
      expect(c.info.status).toBe('FINISHED');
      expect(c.metrics.filter((m) => m.key === 'train.loss')).toHaveLength(2);
      expect(c.params.get('finetune.k')).toMatch(/^(0|20)$/);
    }
    expect([...server.artifacts.keys()].some((k) => k.endsWith('/artifacts/mining/clips.jsonl'))).toBe(true);
    expect([...server.artifacts.keys()].some((k) => k.endsWith('/artifacts/spec.resolved.yaml'))).toBe(true);
    expect(logs).toEqual([]);
  });

  it('keeps going when the server is down, reports it once, and sync pushes later without duplicates', async () => {
    const url = server.url;
    await server.stop();
    const { tracker } = await runGrid({ trackingUri: url });
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/failed.*exp sync --to/);
    expect(await listRuns(tracker.storeRoot, tracker.experimentId)).toHaveLength(3);

    // The server comes back on another port: push with sync, twice.
    server = new FakeMlflowServer();
    await server.start();
    const syncer = () =>
      new StoreSyncer(tracker.storeRoot, new MlflowRestClient({ trackingUri: server.url, retry: instant }));
    const first = await syncer().syncAll();
    expect(first).toMatchObject({ created: 3, updated: 0, unchanged: 0, failed: [] });
    const second = await syncer().syncAll();
    expect(second).toMatchObject({ created: 0, updated: 0, unchanged: 3 });
    const runs = server.runsOf('ava-fewshot');
    expect(runs).toHaveLength(3);
    for (const r of runs.filter((x) => x.tags.has('mlflow.parentRunId'))) {
      expect(r.metrics).toHaveLength(4);
      expect(server.runs.has(r.tags.get('mlflow.parentRunId')!)).toBe(true);
    }
  });

  it('a 4xx from the server is reported with the run and key; the data stays local', async () => {
    const tracker = await open({ trackingUri: server.url });
    const inv = await tracker.startInvocation({
      invocationId: 'i',
      specFile: 's.yaml',
      specName: 's',
      resolvedSpecYaml: '',
      user: 'u',
      sourceName: 'exp',
    });
    await tracker.close();
    // Someone logged another value of the same param on the server run.
    const serverRunId = [...server.runs.keys()][0]!;
    const c = new MlflowRestClient({ trackingUri: server.url });
    await c.logBatch(serverRunId, { params: { lr: '0.5' } });
    await inv.logParams({ lr: 0.1 });
    const syncer = new StoreSyncer(tracker.storeRoot, c);
    const s = await syncer.syncAll();
    expect(s.failed).toHaveLength(1);
    expect(s.failed[0]!.error).toMatch(/param "lr" of run .* is "0.1" locally but "0.5" on the server/);
    expect((await listRuns(tracker.storeRoot, tracker.experimentId))[0]!.params.lr).toBe('0.1');
  });
});
