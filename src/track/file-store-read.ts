// Reading MLflow's file store back (ours or one MLflow wrote): used by compare, sync and tests.
// Tolerant like MLflow's own reader: a folder without meta.yaml is not a run; a torn last
// metric line (a crash mid-append) is ignored.
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fromMetaYaml } from './meta-yaml.ts';
import type { ExperimentInfo, MetricPoint, RunInfoData, RunRecord, RunStatus } from './types.ts';
import { STATUS_CODE, STATUS_NAME } from './types.ts';

export function statusFromMeta(value: unknown): RunStatus {
  if (typeof value === 'number' && STATUS_NAME[value]) return STATUS_NAME[value];
  if (typeof value === 'string' && value in STATUS_CODE) return value as RunStatus;
  throw new Error(`invalid run status ${JSON.stringify(value)}`);
}

async function subdirs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

function numOrNull(v: unknown): number | null {
  return typeof v === 'number' ? v : typeof v === 'string' && v !== '' && Number.isFinite(Number(v)) ? Number(v) : null;
}

export async function readExperiment(root: string, experimentId: string): Promise<ExperimentInfo | null> {
  const text = await readFile(join(root, experimentId, 'meta.yaml'), 'utf8').catch(() => null);
  if (text === null) return null;
  const m = fromMetaYaml(text);
  return {
    experimentId: String(m.experiment_id ?? experimentId),
    name: String(m.name ?? ''),
    artifactLocation: String(m.artifact_location ?? ''),
    lifecycleStage: String(m.lifecycle_stage ?? 'active'),
    creationTime: numOrNull(m.creation_time),
    lastUpdateTime: numOrNull(m.last_update_time),
  };
}

/** Experiments of the store (those with a readable meta.yaml), sorted by id. */
export async function listExperiments(root: string): Promise<ExperimentInfo[]> {
  const out: ExperimentInfo[] = [];
  for (const id of await subdirs(root)) {
    const e = await readExperiment(root, id).catch(() => null);
    if (e) out.push(e);
  }
  return out;
}

export async function findExperimentByName(root: string, name: string): Promise<ExperimentInfo | null> {
  return (await listExperiments(root)).find((e) => e.name === name && e.lifecycleStage === 'active') ?? null;
}

export async function readRunInfo(root: string, experimentId: string, runId: string): Promise<RunInfoData | null> {
  const text = await readFile(join(root, experimentId, runId, 'meta.yaml'), 'utf8').catch(() => null);
  if (text === null) return null;
  const m = fromMetaYaml(text);
  return {
    runId: String(m.run_id ?? m.run_uuid ?? runId),
    experimentId: String(m.experiment_id ?? experimentId),
    runName: String(m.run_name ?? ''),
    userId: String(m.user_id ?? ''),
    status: statusFromMeta(m.status),
    startTime: numOrNull(m.start_time) ?? 0,
    endTime: numOrNull(m.end_time),
    artifactUri: String(m.artifact_uri ?? ''),
    lifecycleStage: String(m.lifecycle_stage ?? 'active'),
  };
}

/** key → file content for every file under `dir` (nested folders make `/` keys). */
export async function readKeyFiles(dir: string, prefix = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  await Promise.all(
    entries.map(async (e) => {
      if (e.name.startsWith('.') && e.name.endsWith('.tmp')) return; // an atomic write in flight
      const key = prefix + e.name;
      if (e.isDirectory()) Object.assign(out, await readKeyFiles(join(dir, e.name), `${key}/`));
      else if (e.isFile()) out[key] = await readFile(join(dir, e.name), 'utf8');
    }),
  );
  // Stable key order whatever order the reads finished in.
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function parseMetricFile(key: string, text: string): MetricPoint[] {
  const out: MetricPoint[] = [];
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  for (const line of complete.split('\n')) {
    if (line.trim() === '') continue;
    const [ts, value, step] = line.trim().split(/\s+/);
    out.push({
      key,
      timestamp: Number(ts),
      value: parseFloatPy(value ?? ''),
      step: step === undefined ? 0 : Number(step),
    });
  }
  return out;
}

function parseFloatPy(s: string): number {
  const l = s.toLowerCase();
  if (l === 'nan' || l === '-nan') return NaN;
  if (l === 'inf' || l === 'infinity' || l === '+inf') return Infinity;
  if (l === '-inf' || l === '-infinity') return -Infinity;
  return Number(s);
}

/** The full history of every metric of a run. */
export async function readMetricHistories(
  root: string,
  experimentId: string,
  runId: string,
): Promise<Record<string, MetricPoint[]>> {
  const files = await readKeyFiles(join(root, experimentId, runId, 'metrics'));
  const out: Record<string, MetricPoint[]> = {};
  for (const [key, text] of Object.entries(files)) out[key] = parseMetricFile(key, text);
  return out;
}

/** MLflow's latest value: the max by (step, timestamp, value); NaN sorts below every number. */
export function latestMetric(history: readonly MetricPoint[]): MetricPoint | null {
  let best: MetricPoint | null = null;
  const cmpValue = (a: number, b: number) =>
    Number.isNaN(a) ? (Number.isNaN(b) ? 0 : -1) : Number.isNaN(b) ? 1 : a - b;
  for (const m of history) {
    if (
      !best ||
      m.step > best.step ||
      (m.step === best.step &&
        (m.timestamp > best.timestamp || (m.timestamp === best.timestamp && cmpValue(m.value, best.value) > 0)))
    )
      best = m;
  }
  return best;
}

export async function readRun(root: string, experimentId: string, runId: string): Promise<RunRecord | null> {
  const info = await readRunInfo(root, experimentId, runId);
  if (!info) return null;
  const dir = join(root, experimentId, runId);
  const [histories, params, tags] = await Promise.all([
    readMetricHistories(root, experimentId, runId),
    readKeyFiles(join(dir, 'params')),
    readKeyFiles(join(dir, 'tags')),
  ]);
  const metrics: Record<string, MetricPoint> = {};
  for (const [key, hist] of Object.entries(histories)) {
    const last = latestMetric(hist);
    if (last) metrics[key] = last;
  }
  return { info, params, tags, metrics };
}

/** Every run of an experiment (folders with a meta.yaml), sorted by start time. */
export async function listRuns(root: string, experimentId: string): Promise<RunRecord[]> {
  const out: RunRecord[] = [];
  const names = (await subdirs(join(root, experimentId))).filter((n) => n !== 'tags');
  // A few runs at a time: fast, without running out of file descriptors on big experiments.
  for (let i = 0; i < names.length; i += 16) {
    const batch = await Promise.all(
      names.slice(i, i + 16).map((name) => readRun(root, experimentId, name).catch(() => null)),
    );
    for (const run of batch) if (run) out.push(run);
  }
  return out.sort((a, b) => a.info.startTime - b.info.startTime || a.info.runId.localeCompare(b.info.runId));
}

/** Relative paths of every file under the run's artifacts/. */
export async function listArtifacts(root: string, experimentId: string, runId: string): Promise<string[]> {
  const base = join(root, experimentId, runId, 'artifacts');
  const out: string[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (e.name.startsWith('.') && e.name.endsWith('.tmp')) continue;
      if (e.isDirectory()) await walk(join(dir, e.name), `${prefix}${e.name}/`);
      else if (e.isFile()) out.push(prefix + e.name);
    }
  };
  if (await stat(base).catch(() => null)) await walk(base, '');
  return out.sort();
}
