import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeMlflowServer } from '../../test/helpers/fake-mlflow-server.ts';
import { BATCH_LIMITS, chunkBatch, MlflowHttpError, MlflowRestClient, proxiedArtifactPath } from './rest-client.ts';
import type { MetricPoint } from './types.ts';

let server: FakeMlflowServer;
let sleeps: number[];
const fastRetry = () => ({
  retries: 3,
  delayMs: (a: number) => 100 * a,
  sleep: async (ms: number) => {
    sleeps.push(ms);
  },
});

beforeEach(async () => {
  server = new FakeMlflowServer();
  await server.start();
  sleeps = [];
});
afterEach(async () => {
  await server.stop();
});

const client = (extra: Partial<ConstructorParameters<typeof MlflowRestClient>[0]> = {}) =>
  new MlflowRestClient({ trackingUri: server.url, retry: fastRetry(), ...extra });

async function newRun(c: MlflowRestClient) {
  const expId = await c.getOrCreateExperiment('e');
  return c.createRun({ experimentId: expId, runName: 'r', startTime: 1000, userId: 'me' });
}

describe('MlflowRestClient against the fake server', () => {
  it('gets or creates an experiment by name (404 on get-by-name means missing)', async () => {
    const c = client();
    expect(await c.getExperimentByName('nope')).toBeNull();
    const id = await c.getOrCreateExperiment('ava');
    expect(await c.getOrCreateExperiment('ava')).toBe(id);
    expect(server.calls('experiments/create')).toHaveLength(1);
  });

  it('creates, logs, updates and gets a run; NaN and ±Infinity survive as strings', async () => {
    const c = client();
    const run = await newRun(c);
    expect(run.artifact_uri).toMatch(/^mlflow-artifacts:\//);
    await c.logBatch(run.run_id, {
      params: { lr: '0.01' },
      tags: { 'exp.point_id': 'p' },
      metrics: [
        { key: 'ap', value: NaN, step: 0, timestamp: 5 },
        { key: 'inf', value: Infinity, step: 0, timestamp: 5 },
        { key: 'ninf', value: -Infinity, step: 0, timestamp: 5 },
      ],
    });
    const body = JSON.parse(server.calls('runs/log-batch')[0]!.body) as { metrics: { value: unknown }[] };
    expect(body.metrics.map((m) => m.value)).toEqual(['NaN', 'Infinity', '-Infinity']);
    await c.updateRun(run.run_id, 'FINISHED', 2000);
    const got = await c.getRun(run.run_id);
    expect(got?.info.status).toBe('FINISHED');
    expect(got?.info.end_time).toBe(2000);
    expect(got?.data.params).toEqual([{ key: 'lr', value: '0.01' }]);
    const hist = await c.getMetricHistory(run.run_id, 'ap');
    expect(hist).toHaveLength(1);
    expect(Number.isNaN(hist[0]!.value)).toBe(true);
    expect((await c.getMetricHistory(run.run_id, 'ninf'))[0]!.value).toBe(-Infinity);
    expect(await c.getRun('0123456789abcdef0123456789abcdef')).toBeNull();
  });

  it('chunks big batches within every limit; the server accepts each request', async () => {
    const c = client();
    const run = await newRun(c);
    const metrics: MetricPoint[] = Array.from({ length: 2500 }, (_, i) => ({
      key: `m${i % 7}`,
      value: i / 3,
      step: i,
      timestamp: 1000 + i,
    }));
    const params = Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`p${i}`, 'x'.repeat(5000)]));
    const tags = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`t${i}`, String(i)]));
    await c.logBatch(run.run_id, { metrics, params, tags });
    const calls = server.calls('runs/log-batch');
    for (const call of calls) {
      const b = JSON.parse(call.body) as { metrics: unknown[]; params: unknown[]; tags: unknown[] };
      expect(b.metrics.length).toBeLessThanOrEqual(BATCH_LIMITS.metrics);
      expect(b.params.length).toBeLessThanOrEqual(BATCH_LIMITS.params);
      expect(b.tags.length).toBeLessThanOrEqual(BATCH_LIMITS.tags);
      expect(b.metrics.length + b.params.length + b.tags.length).toBeLessThanOrEqual(BATCH_LIMITS.items);
      expect(Buffer.byteLength(call.body)).toBeLessThanOrEqual(BATCH_LIMITS.bytes);
    }
    const stored = server.runs.get(run.run_id)!;
    expect(stored.metrics).toHaveLength(2500);
    expect(stored.params.size).toBe(250);
    expect(stored.tags.size).toBe(151); // + mlflow.runName
    // 250 params of 5 kB need > 1 MB: the byte limit, not only the count, split them.
    expect(calls.length).toBeGreaterThanOrEqual(3);
  });

  it('refuses what the server would silently truncate or zero: long params and tags, fractional steps', () => {
    expect(() => chunkBatch('r1', { params: { big: 'x'.repeat(6001) } })).toThrow(/param "big" of run r1.*6001/);
    expect(() => chunkBatch('r1', { tags: { note: 'x'.repeat(8001) } })).toThrow(/tag "note"/);
    expect(() => chunkBatch('r1', { metrics: [{ key: 'loss', value: 1, step: 0.5, timestamp: 1 }] })).toThrow(
      /metric "loss" of run r1/,
    );
    expect(chunkBatch('r1', { params: { ok: 'x'.repeat(6000) } })).toHaveLength(1);
  });

  it('retries 5xx (HTML body) and 429, then succeeds, with the injected backoff', async () => {
    const c = client();
    const run = await newRun(c);
    server.failNext(2, 503, 'log-batch');
    server.failNext(1, 429, 'log-batch');
    await c.logBatch(run.run_id, { metrics: [{ key: 'a', value: 1, step: 0, timestamp: 1 }] });
    expect(server.runs.get(run.run_id)!.metrics).toHaveLength(1);
    expect(sleeps).toEqual([100, 200, 300]);
  });

  it('gives up after the retries with the last error', async () => {
    const c = client();
    server.failNext(10, 500);
    await expect(c.getExperimentByName('x')).rejects.toMatchObject({ status: 500 });
    expect(server.requests).toHaveLength(4);
  });

  it("never retries another 4xx, and names the server's error code and message", async () => {
    const c = client();
    const run = await newRun(c);
    await c.logBatch(run.run_id, { params: { lr: '0.01' } });
    const err = await c.logBatch(run.run_id, { params: { lr: '0.02' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlflowHttpError);
    expect(err).toMatchObject({ status: 400, errorCode: 'INVALID_PARAMETER_VALUE' });
    expect((err as Error).message).toContain("key='lr'");
    expect(server.calls('runs/log-batch')).toHaveLength(2);
    expect(sleeps).toEqual([]);
  });

  it('retries network errors (nothing listening) and then reports the server unreachable', async () => {
    const url = server.url;
    await server.stop();
    const c = new MlflowRestClient({ trackingUri: url, retry: fastRetry() });
    await expect(c.getOrCreateExperiment('e')).rejects.toThrow(/cannot reach MLflow/);
    expect(sleeps).toHaveLength(3);
  });

  it('follows page tokens for get-history (always sending max_results) and runs/search', async () => {
    const c = client();
    const run = await newRun(c);
    await c.logBatch(run.run_id, {
      metrics: Array.from({ length: 25 }, (_, i) => ({ key: 'loss', value: i, step: i, timestamp: i })),
    });
    const hist = await c.getMetricHistory(run.run_id, 'loss', 10);
    expect(hist.map((m) => m.step)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    const calls = server.calls('metrics/get-history');
    expect(calls).toHaveLength(3);
    expect(calls.every((r) => r.query.max_results === '10')).toBe(true);
    expect(calls[1]!.query.page_token).toBeTruthy();

    const expId = run.experiment_id;
    for (let i = 0; i < 4; i++) await c.createRun({ experimentId: expId, startTime: i, tags: { k: 'v' } });
    expect(await c.searchRuns([expId], "tags.k = 'v'", 3)).toHaveLength(4);
    expect(await c.searchRuns([expId], "tags.k = 'nothing'")).toEqual([]);
  });

  it('sends a bearer token, or basic auth, and the server refuses without it', async () => {
    await server.stop();
    server = new FakeMlflowServer({ requireAuthorization: 'Bearer s3cret' });
    await server.start();
    await expect(client().getOrCreateExperiment('e')).rejects.toMatchObject({ status: 401 });
    expect(await client({ token: 's3cret' }).getOrCreateExperiment('e')).toBe('1');
    await client({ username: 'ann', password: 'pw' })
      .getExperimentByName('e')
      .catch(() => undefined);
    expect(server.requests.at(-1)!.headers.authorization).toBe(`Basic ${Buffer.from('ann:pw').toString('base64')}`);
    const inUri = new MlflowRestClient({
      trackingUri: server.url.replace('http://', 'http://bob:p%40ss@'),
      retry: fastRetry(),
    });
    expect(inUri.baseUrl).toBe(server.url);
    await inUri.getExperimentByName('e').catch(() => undefined);
    expect(server.requests.at(-1)!.headers.authorization).toBe(`Basic ${Buffer.from('bob:p@ss').toString('base64')}`);
  });

  it('uploads artifacts through the mlflow-artifacts proxy', async () => {
    const c = client();
    const run = await newRun(c);
    expect(await c.uploadArtifact(run.artifact_uri!, 'plots/pr curve.png', new Uint8Array([1, 2, 3]))).toBe(true);
    expect([...server.artifacts.get(`${run.experiment_id}/${run.run_id}/artifacts/plots/pr curve.png`)!]).toEqual([
      1, 2, 3,
    ]);
    expect(await c.uploadArtifact('s3://bucket/x', 'a.txt', new Uint8Array())).toBe(false);
    expect(proxiedArtifactPath('mlflow-artifacts://host:5000/1/abc/artifacts')).toBe('1/abc/artifacts');
    expect(proxiedArtifactPath('mlflow-artifacts:/1/abc/artifacts')).toBe('1/abc/artifacts');
  });

  it('refuses a tracking URI that is not http(s)', () => {
    expect(() => new MlflowRestClient({ trackingUri: 'file:///tmp/mlruns' })).toThrow(/not http/);
  });
});

describe("the fake server follows MLflow's documented behaviour, not our client", () => {
  const post = (path: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    fetch(`${server.url}/api/2.0/mlflow/${path}`, { method: 'POST', headers, body });

  it('answers JSON 4xx, HTML 404/405/500, and 400 without Content-Type', async () => {
    const missing = await fetch(`${server.url}/api/2.0/mlflow/experiments/get-by-name?experiment_name=x`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error_code: 'RESOURCE_DOES_NOT_EXIST' });
    const wrongPath = await fetch(`${server.url}/api/2.0/mlflow/nope`);
    expect([wrongPath.status, wrongPath.headers.get('content-type')]).toEqual([404, 'text/html; charset=utf-8']);
    expect((await fetch(`${server.url}/api/2.0/mlflow/runs/create`)).status).toBe(405);
    expect((await post('experiments/create', '{"name": ')).status).toBe(500);
    expect((await post('experiments/create', '{"name":"x"}', {})).status).toBe(400);
  });

  it('stores a bare NaN as 0 with timestamp 0, rejects null, truncates long params, zeroes fractional steps', async () => {
    const c = client();
    const run = await newRun(c);
    expect(
      (
        await post(
          'runs/log-batch',
          `{"run_id":"${run.run_id}","metrics":[{"key":"a","value":NaN,"timestamp":7,"step":1}]}`,
        )
      ).status,
    ).toBe(200);
    expect(server.runs.get(run.run_id)!.metrics[0]).toMatchObject({ value: 0, timestamp: 0 });
    expect(
      (
        await post(
          'runs/log-batch',
          JSON.stringify({ run_id: run.run_id, metrics: [{ key: 'b', value: NaN, timestamp: 1, step: 0 }] }),
        )
      ).status,
    ).toBe(400);
    await post(
      'runs/log-batch',
      JSON.stringify({
        run_id: run.run_id,
        params: [{ key: 'p', value: 'x'.repeat(7000) }],
        metrics: [{ key: 'c', value: 1, timestamp: 1, step: 2.5 }],
      }),
    );
    expect(server.runs.get(run.run_id)!.params.get('p')).toHaveLength(6000);
    expect(server.runs.get(run.run_id)!.metrics.at(-1)!.step).toBe(0);
  });

  it('rejects duplicate keys and over-limit batches whole, ignores unknown statuses, hides history without max_results', async () => {
    const c = client();
    const run = await newRun(c);
    const dup = await post(
      'runs/log-batch',
      JSON.stringify({
        run_id: run.run_id,
        params: [
          { key: 'a', value: '1' },
          { key: 'a', value: '1' },
        ],
        metrics: [{ key: 'm', value: 1, timestamp: 1, step: 0 }],
      }),
    );
    expect(dup.status).toBe(400);
    expect(server.runs.get(run.run_id)!.metrics).toHaveLength(0);
    const many = await post(
      'runs/log-batch',
      JSON.stringify({
        run_id: run.run_id,
        params: Array.from({ length: 101 }, (_, i) => ({ key: `p${i}`, value: '1' })),
      }),
    );
    expect(many.status).toBe(400);
    await post('runs/update', JSON.stringify({ run_id: run.run_id, status: 'DONE' }));
    expect(server.runs.get(run.run_id)!.info.status).toBe('RUNNING');
    await c.logBatch(run.run_id, { metrics: [{ key: 'm', value: 1, step: 0, timestamp: 1 }] });
    const noMax = await fetch(`${server.url}/api/2.0/mlflow/metrics/get-history?run_id=${run.run_id}&metric_key=m`);
    expect(await noMax.json()).toEqual({});
    const none = await post('runs/search', JSON.stringify({ experiment_ids: ['999'] }));
    expect(await none.json()).toEqual({});
  });
});
