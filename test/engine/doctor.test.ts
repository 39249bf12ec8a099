// `exp doctor` says what exp uses and why, and checks the services a user configured against real
// ones: a Redis it starts (test/helpers/redis.ts), an MLflow REST server (the recording fake), and
// the same addresses with nothing listening, which must fail within the doctor's few seconds.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExp } from '../helpers/exp.ts';
import { FakeMlflowServer } from '../helpers/fake-mlflow-server.ts';
import { type RedisServer, startRedis } from '../helpers/redis.ts';

interface Doctor {
  ok: boolean;
  checks: { check: string; status: 'ok' | 'warn' | 'fail' | 'off'; detail: string }[];
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

let redis: RedisServer;
const mlflow = new FakeMlflowServer();
let mlflowUrl: string;
beforeAll(async () => {
  redis = await startRedis();
  mlflowUrl = await mlflow.start();
});
afterAll(async () => {
  await redis?.stop();
  await mlflow.stop();
});

function byName(d: Doctor): Record<string, Doctor['checks'][number]> {
  return Object.fromEntries(d.checks.map((c) => [c.check, c]));
}

describe('exp doctor', () => {
  it('names the backend in use and why, ffmpeg, the slots, and checks a configured Redis and MLflow server', async () => {
    const env = {
      ...process.env,
      EXP_TF_BACKEND: 'wasm',
      EXP_REDIS: redis.url,
      MLFLOW_TRACKING_URI: mlflowUrl,
      EXP_GPUS: '0,1',
      SLURM_CONF: '',
    };
    const r = await runExp(['doctor', '--json'], env);
    const d = r.json<Doctor>();
    const c = byName(d);
    expect(c['tensorflow backend']).toMatchObject({ status: 'warn' });
    expect(c['tensorflow backend']!.detail).toContain('wasm');
    expect(c['tensorflow backend']!.detail).toContain('EXP_TF_BACKEND=wasm');
    expect(c.ffmpeg).toMatchObject({ status: 'ok' });
    expect(c.gpus!.detail).toMatch(/^0; 1 \(from env\)/);
    expect(c.redis).toMatchObject({ status: 'ok', detail: `${redis.url}: answers PING` });
    expect(c.tracking!.status).toBe('ok');
    expect(c.tracking!.detail).toContain(`pushed to ${mlflowUrl} (answers the MLflow API)`);
    expect(d.ok).toBe(true);
    expect(r.code).toBe(0);
  });

  it('fails (exit 1) within seconds when a configured Redis or MLflow server does not answer', async () => {
    const port = await closedPort();
    const env = {
      ...process.env,
      EXP_REDIS: `redis://127.0.0.1:${port}`,
      MLFLOW_TRACKING_URI: `http://127.0.0.1:${port}`,
      // a cluster configured by a file that is not there: sinfo fails at once
      SLURM_CONF: '/nonexistent/slurm.conf',
    };
    const t0 = Date.now();
    const r = await runExp(['doctor', '--json'], env);
    const c = byName(r.json<Doctor>());
    expect(c.redis).toMatchObject({ status: 'fail' });
    expect(c.redis!.detail).toContain('ECONNREFUSED');
    expect(c.tracking).toMatchObject({ status: 'fail' });
    expect(c.slurm).toMatchObject({ status: 'fail' });
    expect(r.code).toBe(1);
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it('prints a table a person reads, one line per check', async () => {
    const r = await runExp(['doctor'], { ...process.env, EXP_REDIS: '', SLURM_CONF: '' });
    expect(r.out).toMatch(/tensorflow backend +wasm/);
    expect(r.out).toMatch(/- +redis +not configured/);
  });
});
