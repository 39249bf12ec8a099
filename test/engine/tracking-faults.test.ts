// Tracking faults (issue 14): a hung server, an unsupported or malformed MLFLOW_TRACKING_URI and
// an unwritable mlruns/ each cost a warning, never the run (exit 0, no stack trace).
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { syncCommand } from '../../src/cli/commands/sync.ts';
import { MlflowRestClient } from '../../src/track/rest-client.ts';
import { FakeMlflowServer } from '../helpers/fake-mlflow-server.ts';
import { runExp } from '../helpers/exp.ts';
import { captureIo, writeTrackedGrid } from '../helpers/tracked-grid.ts';
import { repoRoot } from '../helpers/repo.ts';

const plugin = path.join(repoRoot, 'test/fixtures/plugins/test-kinds.ts');
const grid = path.join(repoRoot, 'test/fixtures/engine/grid.yaml');
const STACK = /\n\s+at .*[(:]\d+/;
const small = ['--set', 'top.value=[100]', '--set', 'mid.value=[1, 2]'];

function tmp(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'exp-track-fault-'));
}

function run(runs: string, env: Record<string, string>) {
  return runExp(['run', grid, '--runs', runs, '--quiet', ...small], {
    ...process.env,
    EXP_PLUGINS: plugin,
    MLFLOW_HTTP_REQUEST_TIMEOUT: '',
    ...env,
  });
}

function trackedRuns(runs: string): number {
  const root = path.join(runs, 'mlruns');
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && /^\d+$/.test(e.name))
    .flatMap((e) =>
      readdirSync(path.join(root, e.name), { withFileTypes: true }).filter((r) => r.isDirectory() && r.name !== 'tags'),
    ).length;
}

let server: FakeMlflowServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe('tracking faults', () => {
  it('a server that accepts connections and never answers: seconds, not minutes; one warning', async () => {
    server = new FakeMlflowServer();
    server.neverAnswer = true;
    const url = await server.start();
    const runs = tmp();
    const started = Date.now();
    const r = await run(runs, { MLFLOW_TRACKING_URI: url });
    const took = Date.now() - started;
    expect(r.code).toBe(0);
    expect(took).toBeLessThan(30_000);
    expect(r.err).not.toMatch(STACK);
    const warnings = r.err.split('\n').filter((l) => l.includes(`MLflow server ${url}`));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('did not answer within 10.0 s');
    expect(warnings[0]).toContain(`exp sync --to ${url}`);
    // Circuit-broken after the first timeout: one request reached the server, not one per run.
    expect(server.requests).toHaveLength(1);
    expect(trackedRuns(runs)).toBe(3);
  }, 180_000);

  it('MLFLOW_TRACKING_URI=ftp://...: a warning, and the run is tracked in the local file store', async () => {
    const runs = tmp();
    const r = await run(runs, { MLFLOW_TRACKING_URI: 'ftp://user:secret@mlflow.example.com/' });
    expect(r.code).toBe(0);
    expect(r.err).toContain(
      'tracking: MLFLOW_TRACKING_URI=ftp://***@mlflow.example.com/ is not supported (scheme ftp:); only http(s):// servers are mirrored',
    );
    expect(r.err).not.toContain('secret');
    expect(trackedRuns(runs)).toBe(3);
  });

  it('MLFLOW_TRACKING_URI=http://[::1 (malformed): a warning, never a TypeError', async () => {
    const runs = tmp();
    const r = await run(runs, { MLFLOW_TRACKING_URI: 'http://[::1' });
    expect(r.code).toBe(0);
    expect(r.err).toContain('tracking: MLFLOW_TRACKING_URI=http://[::1 is not a valid URL');
    expect(r.err).not.toContain('TypeError');
    expect(r.err).not.toMatch(STACK);
    expect(trackedRuns(runs)).toBe(3);
  });

  it('mlruns that is a file: a warning, the run completes, its tracking kept in mlflow-pending/', async () => {
    const runs = tmp();
    writeFileSync(path.join(runs, 'mlruns'), 'not a folder\n');
    const r = await run(runs, {});
    expect(r.code).toBe(0);
    expect(r.err).toContain(`tracking: ${path.join(runs, 'mlruns')} cannot be written (`);
    expect(readdirSync(path.join(runs, 'mlflow-pending'))).toHaveLength(1);
    expect(r.err).not.toMatch(STACK);
    expect(readdirSync(path.join(runs, 'cache', 'test.add'))).toHaveLength(1 + 2 + 2);
  });

  it('a read-only mlruns/: a warning naming the journal, the run completes (replay: tracking-replay.test.ts)', () => {
    const runs = tmp();
    mkdirSync(path.join(runs, 'mlruns'));
    chmodSync(runs, 0o777);
    chmodSync(path.join(runs, 'mlruns'), 0o555);
    // Root writes anywhere: run exp as an unprivileged user then.
    const asRoot = process.getuid?.() === 0;
    const r = spawnSync(
      process.execPath,
      [path.join(repoRoot, 'bin/exp.js'), 'run', grid, '--runs', runs, '--quiet', ...small],
      {
        cwd: os.tmpdir(),
        env: { ...process.env, EXP_PLUGINS: plugin, HOME: os.tmpdir(), MLFLOW_TRACKING_URI: '' },
        encoding: 'utf8',
        timeout: 60_000,
        ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
      },
    );
    if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'EPERM') return; // no right to drop privileges here
    expect(r.stderr).toContain(`tracking: ${path.join(runs, 'mlruns')} cannot be written (`);
    expect(r.stderr).toContain('EACCES');
    expect(r.stderr).toContain(path.join(runs, 'mlflow-pending'));
    expect(r.stderr).not.toMatch(STACK);
    expect(r.status).toBe(0);
    expect(readdirSync(path.join(runs, 'cache', 'test.add'))).toHaveLength(1 + 2 + 2);
  }, 240_000);
});

describe('rest client time budget', () => {
  it('a hung server: the first timeout is final without retryTimeouts, and the budget bounds retries', async () => {
    server = new FakeMlflowServer();
    server.neverAnswer = true;
    const url = await server.start();
    const once = new MlflowRestClient({
      trackingUri: url,
      timeoutMs: 200,
      retryTimeouts: false,
      retry: { retries: 4, delayMs: () => 1 },
    });
    let started = Date.now();
    await expect(once.getExperimentByName('x')).rejects.toThrow(
      `MLflow at ${url} (mlflow/experiments/get-by-name) did not answer within 0.2 s`,
    );
    expect(Date.now() - started).toBeLessThan(1500);
    const budget = new MlflowRestClient({
      trackingUri: url,
      timeoutMs: 300,
      budgetMs: 500,
      retry: { retries: 10, delayMs: () => 1 },
    });
    started = Date.now();
    await expect(budget.getExperimentByName('x')).rejects.toThrow(/did not answer|time allowed/);
    expect(Date.now() - started).toBeLessThan(2000);
    await expect(budget.getExperimentByName('y')).rejects.toThrow('the time allowed for the tracking server is spent');
  });
});

describe('exp sync faults', () => {
  it('exp sync --to http://[::1 (malformed): exit 2 with a message, no TypeError', async () => {
    const t = captureIo();
    expect(await syncCommand(['--to', 'http://[::1'], t.io, tmp())).toBe(2);
    expect(t.err()).toContain('"http://[::1" is not a valid URL');
    expect(t.err()).not.toMatch(STACK);
  });

  it('exp sync to a server that never answers: the first timeout stops the rest at once, exit 1', async () => {
    server = new FakeMlflowServer();
    server.neverAnswer = true;
    const url = await server.start();
    const runs = tmp();
    await writeTrackedGrid(runs);
    const saved = process.env.MLFLOW_HTTP_REQUEST_TIMEOUT;
    process.env.MLFLOW_HTTP_REQUEST_TIMEOUT = '0.5';
    try {
      const t = captureIo();
      const started = Date.now();
      const code = await syncCommand(['--to', url], t.io, runs);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(code).toBe(1);
      expect(t.err()).toContain('did not answer');
      expect(t.err()).not.toMatch(STACK);
      expect(server.requests).toHaveLength(1);
    } finally {
      if (saved === undefined) delete process.env.MLFLOW_HTTP_REQUEST_TIMEOUT;
      else process.env.MLFLOW_HTTP_REQUEST_TIMEOUT = saved;
    }
  });
});
