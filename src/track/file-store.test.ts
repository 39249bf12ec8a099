import { mkdtemp, readFile, readdir, rm, stat, writeFile, appendFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileStore } from './file-store.ts';
import {
  latestMetric,
  listArtifacts,
  listExperiments,
  listRuns,
  readMetricHistories,
  readRun,
} from './file-store-read.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'exp-fs-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const yamlOf = async (file: string) =>
  parse(await readFile(file, 'utf8'), { version: '1.1' }) as Record<string, unknown>;

describe('FileStore: MLflow layout field by field', () => {
  it('writes an experiment meta.yaml with every field and a tags folder, folder name == id', async () => {
    const store = new FileStore(join(dir, 'mlruns'), { now: () => 1_700_000_000_000 });
    const exp = await store.getOrCreateExperiment('ava-fewshot');
    const meta = await yamlOf(join(dir, 'mlruns', exp.experimentId, 'meta.yaml'));
    expect(meta).toEqual({
      artifact_location: `file://${join(dir, 'mlruns', exp.experimentId)}`,
      creation_time: 1_700_000_000_000,
      experiment_id: exp.experimentId,
      last_update_time: 1_700_000_000_000,
      lifecycle_stage: 'active',
      name: 'ava-fewshot',
    });
    expect(typeof meta.experiment_id).toBe('string');
    expect((await stat(join(dir, 'mlruns', exp.experimentId, 'tags'))).isDirectory()).toBe(true);
    // Same name again → same experiment; another name → another id.
    expect((await store.getOrCreateExperiment('ava-fewshot')).experimentId).toBe(exp.experimentId);
    const other = await store.getOrCreateExperiment('hmdb');
    expect(other.experimentId).not.toBe(exp.experimentId);
    expect((await listExperiments(store.root)).map((e) => e.name)).toEqual(['ava-fewshot', 'hmdb']);
  });

  it('picks a fresh id beside experiments MLflow made with 18-digit ids', async () => {
    const root = join(dir, 'mlruns');
    await mkdir(join(root, '987654321098765432'), { recursive: true });
    await writeFile(
      join(root, '987654321098765432', 'meta.yaml'),
      "experiment_id: '987654321098765432'\nname: theirs\nlifecycle_stage: active\nartifact_location: x\n",
    );
    const ours = await new FileStore(root).getOrCreateExperiment('ours');
    expect(ours.experimentId).toBe('987654321098765433');
    expect((await listExperiments(root)).map((e) => e.name).sort()).toEqual(['ours', 'theirs']);
  });

  it('creates one experiment when many callers race for the same name', async () => {
    const stores = Array.from({ length: 6 }, () => new FileStore(join(dir, 'mlruns')));
    const ids = await Promise.all(stores.map((s) => s.getOrCreateExperiment('race')));
    expect(new Set(ids.map((e) => e.experimentId)).size).toBe(1);
    expect(await listExperiments(join(dir, 'mlruns'))).toHaveLength(1);
  });

  it('writes a run meta.yaml with integer status, run_id and run_uuid, user_id, end_time null, all folders, ≥1 tag', async () => {
    const store = new FileStore(join(dir, 'mlruns'), { now: () => 1_700_000_000_123 });
    const exp = await store.getOrCreateExperiment('e');
    const run = await store.createRun({
      experimentId: exp.experimentId,
      runName: 'method=s2a k=20',
      userId: '',
      params: { 'finetune.k': '20' },
    });
    expect(run.runId).toMatch(/^[0-9a-f]{32}$/);
    const runDir = join(dir, 'mlruns', exp.experimentId, run.runId);
    const meta = await yamlOf(join(runDir, 'meta.yaml'));
    expect(meta).toEqual({
      artifact_uri: `file://${join(runDir, 'artifacts')}`,
      end_time: null,
      entry_point_name: '',
      experiment_id: exp.experimentId,
      lifecycle_stage: 'active',
      run_id: run.runId,
      run_name: 'method=s2a k=20',
      run_uuid: run.runId,
      source_name: '',
      source_type: 4,
      source_version: '',
      start_time: 1_700_000_000_123,
      status: 1,
      tags: [],
      user_id: '',
    });
    expect(await readFile(join(runDir, 'meta.yaml'), 'utf8')).toMatch(/^end_time: null$/m);
    for (const sub of ['metrics', 'params', 'artifacts', 'tags'])
      expect((await stat(join(runDir, sub))).isDirectory()).toBe(true);
    expect(await readFile(join(runDir, 'tags', 'mlflow.runName'), 'utf8')).toBe('method=s2a k=20');
    expect(await readFile(join(runDir, 'params', 'finetune.k'), 'utf8')).toBe('20');

    await store.endRun({ experimentId: exp.experimentId, runId: run.runId }, 'FINISHED', 1_700_000_009_000);
    const ended = await yamlOf(join(runDir, 'meta.yaml'));
    expect(ended.status).toBe(3);
    expect(ended.end_time).toBe(1_700_000_009_000);
    await store.endRun({ experimentId: exp.experimentId, runId: run.runId }, 'FAILED');
    expect((await yamlOf(join(runDir, 'meta.yaml'))).status).toBe(4);
  });

  it('quotes names that YAML 1.1 would read as booleans or dates', async () => {
    const store = new FileStore(join(dir, 'mlruns'));
    const exp = await store.getOrCreateExperiment('yes');
    const run = await store.createRun({ experimentId: exp.experimentId, runName: '2026-11-23', userId: 'on' });
    const meta = await yamlOf(join(dir, 'mlruns', exp.experimentId, run.runId, 'meta.yaml'));
    expect(meta.run_name).toBe('2026-11-23');
    expect(meta.user_id).toBe('on');
    expect((await yamlOf(join(dir, 'mlruns', exp.experimentId, 'meta.yaml'))).name).toBe('yes');
  });

  it('writes metric lines "<ts> <value> <step>\\n", nested folders for "/" keys, params/tags without newline', async () => {
    const store = new FileStore(join(dir, 'mlruns'));
    const exp = await store.getOrCreateExperiment('e');
    const run = await store.createRun({ experimentId: exp.experimentId, runName: 'r', userId: 'u' });
    const ref = { experimentId: exp.experimentId, runId: run.runId };
    await store.logMetrics(ref, [
      { key: 'train.loss', value: 0.5, step: 0, timestamp: 1000 },
      { key: 'train.loss', value: 0.25, step: 1, timestamp: 2000 },
      { key: 'loss/box', value: NaN, step: 2, timestamp: 3000 },
      { key: 'loss/box', value: -Infinity, step: 3, timestamp: 3001 },
    ]);
    await store.logMetrics(ref, [{ key: 'train.loss', value: 1e-7, step: 2, timestamp: 4000 }]);
    await store.logParams(ref, { 'model/arch': 's3dg' });
    await store.setTags(ref, { 'exp.cached': 'true' });
    const runDir = store.runDir(ref);
    expect(await readFile(join(runDir, 'metrics', 'train.loss'), 'utf8')).toBe(
      '1000 0.5 0\n2000 0.25 1\n4000 1e-7 2\n',
    );
    expect(await readFile(join(runDir, 'metrics', 'loss', 'box'), 'utf8')).toBe('3000 nan 2\n3001 -inf 3\n');
    expect(await readFile(join(runDir, 'params', 'model', 'arch'), 'utf8')).toBe('s3dg');
    expect(await readFile(join(runDir, 'tags', 'exp.cached'), 'utf8')).toBe('true');
  });

  it('keeps params immutable: same value again is fine, another value names the key', async () => {
    const store = new FileStore(join(dir, 'mlruns'));
    const exp = await store.getOrCreateExperiment('e');
    const run = await store.createRun({
      experimentId: exp.experimentId,
      runName: 'r',
      userId: 'u',
      params: { lr: '0.01' },
    });
    const ref = { experimentId: exp.experimentId, runId: run.runId };
    await store.logParams(ref, { lr: '0.01' });
    await expect(store.logParams(ref, { lr: '0.1' })).rejects.toMatchObject({
      code: 'EXP_TRACK_INVALID',
      message: expect.stringContaining('"lr"'),
    });
    expect(await readFile(join(store.runDir(ref), 'params', 'lr'), 'utf8')).toBe('0.01');
  });

  it('names the key when "a" and "a/b" clash', async () => {
    const store = new FileStore(join(dir, 'mlruns'));
    const exp = await store.getOrCreateExperiment('e');
    const run = await store.createRun({ experimentId: exp.experimentId, runName: 'r', userId: 'u' });
    const ref = { experimentId: exp.experimentId, runId: run.runId };
    await store.logMetrics(ref, [{ key: 'loss', value: 1, step: 0, timestamp: 1 }]);
    await expect(store.logMetrics(ref, [{ key: 'loss/box', value: 1, step: 0, timestamp: 1 }])).rejects.toMatchObject({
      code: 'EXP_TRACK_INVALID',
      message: expect.stringContaining('"loss/box"'),
    });
  });

  it('copies artifacts (file, file into folder, whole folder) and refuses paths that leave artifacts/', async () => {
    const store = new FileStore(join(dir, 'mlruns'));
    const exp = await store.getOrCreateExperiment('e');
    const run = await store.createRun({ experimentId: exp.experimentId, runName: 'r', userId: 'u' });
    const ref = { experimentId: exp.experimentId, runId: run.runId };
    await writeFile(join(dir, 'clips.jsonl'), '{"id":1}\n');
    await mkdir(join(dir, 'model', 'sub'), { recursive: true });
    await writeFile(join(dir, 'model', 'config.json'), '{}');
    await writeFile(join(dir, 'model', 'sub', 'w.bin'), 'xx');
    await store.logArtifact(ref, join(dir, 'clips.jsonl'));
    await store.logArtifact(ref, join(dir, 'clips.jsonl'), 'mining/');
    await store.logArtifact(ref, join(dir, 'clips.jsonl'), 'mining/renamed.jsonl');
    await store.logArtifact(ref, join(dir, 'model'), 'video/');
    expect(await listArtifacts(store.root, exp.experimentId, run.runId)).toEqual([
      'clips.jsonl',
      'mining/clips.jsonl',
      'mining/renamed.jsonl',
      'video/model/config.json',
      'video/model/sub/w.bin',
    ]);
    await expect(store.logArtifact(ref, join(dir, 'clips.jsonl'), '../escape.txt')).rejects.toMatchObject({
      code: 'EXP_TRACK_INVALID',
    });
    await expect(store.logArtifact(ref, join(dir, 'missing.txt'))).rejects.toMatchObject({ code: 'EXP_INPUT_MISSING' });
  });
});

describe('FileStore: reading runs back', () => {
  it('reads params, tags, latest metrics (max by step, timestamp, value) and histories', async () => {
    const store = new FileStore(join(dir, 'mlruns'));
    const exp = await store.getOrCreateExperiment('e');
    const run = await store.createRun({
      experimentId: exp.experimentId,
      runName: 'r',
      userId: 'u',
      params: { 'a.b': '1' },
      tags: { 'exp.point_id': 'p1' },
    });
    const ref = { experimentId: exp.experimentId, runId: run.runId };
    await store.logMetrics(ref, [
      { key: 'ap', value: 0.9, step: 5, timestamp: 10 },
      { key: 'ap', value: 0.1, step: 7, timestamp: 1 },
      { key: 'ap', value: 0.3, step: 7, timestamp: 1 },
      { key: 'ap', value: 0.2, step: 6, timestamp: 99 },
    ]);
    const back = await readRun(store.root, exp.experimentId, run.runId);
    expect(back?.params).toEqual({ 'a.b': '1' });
    expect(back?.tags).toEqual({ 'mlflow.runName': 'r', 'exp.point_id': 'p1' });
    expect(back?.metrics.ap).toEqual({ key: 'ap', value: 0.3, step: 7, timestamp: 1 });
    expect(back?.info.status).toBe('RUNNING');
    expect((await readMetricHistories(store.root, exp.experimentId, run.runId)).ap).toHaveLength(4);
    expect(latestMetric([])).toBeNull();
    expect(
      latestMetric([
        { key: 'k', value: NaN, step: 1, timestamp: 1 },
        { key: 'k', value: 0, step: 1, timestamp: 1 },
      ])?.value,
    ).toBe(0);
  });

  it('reads a file store written by MLflow itself (status names, float values, no step)', async () => {
    const root = join(dir, 'mlruns');
    await mkdir(join(root, '0', 'abc', 'metrics'), { recursive: true });
    await writeFile(
      join(root, '0', 'meta.yaml'),
      "artifact_location: file:///x/mlruns/0\nexperiment_id: '0'\nlifecycle_stage: active\nname: Default\n",
    );
    await writeFile(
      join(root, '0', 'abc', 'meta.yaml'),
      "artifact_uri: file:///x\nend_time: 5\nexperiment_id: '0'\nlifecycle_stage: active\nrun_id: abc\nrun_name: old\nrun_uuid: abc\nstart_time: 1\nstatus: 3\nuser_id: me\n",
    );
    await writeFile(join(root, '0', 'abc', 'metrics', 'm'), '10 1.0 0\n20 inf 1\n30 2.5\n');
    const runs = await listRuns(root, '0');
    expect(runs).toHaveLength(1);
    expect(runs[0]!.info).toMatchObject({ runId: 'abc', status: 'FINISHED', endTime: 5, userId: 'me' });
    expect((await readMetricHistories(root, '0', 'abc')).m!.map((p) => p.value)).toEqual([1, Infinity, 2.5]);
  });
});

describe('FileStore: crash safety', () => {
  it('never shows a half-built run: runs appear only complete, staging stays outside the store', async () => {
    const store = new FileStore(join(dir, 'mlruns'));
    const exp = await store.getOrCreateExperiment('e');
    const expDir = join(dir, 'mlruns', exp.experimentId);
    // Watch the experiment folder while 20 runs are created concurrently.
    let watching = true;
    const problems: string[] = [];
    const watcher = (async () => {
      while (watching) {
        for (const name of await readdir(expDir)) {
          if (name === 'tags' || name === 'meta.yaml') continue;
          const entries = await readdir(join(expDir, name)).catch(() => ['?']);
          for (const need of ['meta.yaml', 'metrics', 'params', 'artifacts', 'tags'])
            if (!entries.includes(need)) problems.push(`${name} lacks ${need}`);
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.createRun({
          experimentId: exp.experimentId,
          runName: `p${i}`,
          userId: 'u',
          params: Object.fromEntries(Array.from({ length: 30 }, (_, j) => [`k${j}`, String(j)])),
        }),
      ),
    );
    watching = false;
    await watcher;
    expect(problems).toEqual([]);
    expect(await listRuns(store.root, exp.experimentId)).toHaveLength(20);
    // Nothing transient was left in the store itself.
    const names = await readdir(expDir);
    expect(names.filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('ignores a torn last metric line and cuts it before the next append', async () => {
    const store = new FileStore(join(dir, 'mlruns'));
    const exp = await store.getOrCreateExperiment('e');
    const run = await store.createRun({ experimentId: exp.experimentId, runName: 'r', userId: 'u' });
    const ref = { experimentId: exp.experimentId, runId: run.runId };
    await store.logMetrics(ref, [{ key: 'loss', value: 1, step: 0, timestamp: 10 }]);
    const file = join(store.runDir(ref), 'metrics', 'loss');
    await appendFile(file, '20 0.'); // a crash in the middle of a write
    expect((await readMetricHistories(store.root, exp.experimentId, run.runId)).loss).toHaveLength(1);
    const reopened = new FileStore(join(dir, 'mlruns'));
    await reopened.logMetrics(ref, [{ key: 'loss', value: 0.5, step: 1, timestamp: 30 }]);
    expect(await readFile(file, 'utf8')).toBe('10 1 0\n30 0.5 1\n');
  });

  it('skips folders without meta.yaml when listing (an interrupted copy, a stray folder)', async () => {
    const store = new FileStore(join(dir, 'mlruns'));
    const exp = await store.getOrCreateExperiment('e');
    await mkdir(join(store.root, exp.experimentId, 'notarun', 'metrics'), { recursive: true });
    await mkdir(join(store.root, 'junk'), { recursive: true });
    await store.createRun({ experimentId: exp.experimentId, runName: 'r', userId: 'u' });
    expect(await listRuns(store.root, exp.experimentId)).toHaveLength(1);
    expect(await listExperiments(store.root)).toHaveLength(1);
  });

  it("artifact_uri is a file URI pointing at the run's artifacts folder", async () => {
    const store = new FileStore(join(dir, 'mlruns'));
    const exp = await store.getOrCreateExperiment('e');
    const run = await store.createRun({ experimentId: exp.experimentId, runName: 'r', userId: 'u' });
    expect(fileURLToPath(run.artifactUri)).toBe(join(store.root, exp.experimentId, run.runId, 'artifacts'));
  });
});
