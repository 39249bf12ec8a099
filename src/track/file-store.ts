// The MLflow file-store writer (MLflow's file store layout, docs/tracking.md): the default home of every run,
// readable by `mlflow ui --backend-store-uri <runs>/mlruns` on MLflow 2.x and 3.x.
//
// Crash safety: one malformed run breaks search for its whole experiment, so a run or an
// experiment folder is built complete (meta.yaml, metrics/, params/, artifacts/, its first tags)
// in a staging folder beside the store and renamed into place: it is either absent or whole.
// Params, tags and meta.yaml are then replaced atomically (temp file + rename). Metric files are
// appended to, as MLflow itself does, one write per key and batch; a torn last line (a crash in
// the middle of a write) is ignored by our reader and cut off before the next append.
import { randomUUID } from 'node:crypto';
import { appendFile, cp, mkdir, readFile, readdir, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ExpError } from '../errors.ts';
import { copyFileAtomic, writeFileAtomic } from '../atomic.ts';
import { fromMetaYaml, toMetaYaml } from './meta-yaml.ts';
import { listExperiments } from './file-store-read.ts';
import type { EndStatus, ExperimentInfo, MetricPoint, RunInfoData } from './types.ts';
import { STATUS_CODE } from './types.ts';

export interface RunRef {
  experimentId: string;
  runId: string;
}

export interface CreateRunOptions {
  experimentId: string;
  runName: string;
  userId: string;
  /** Epoch ms; default now. */
  startTime?: number;
  sourceName?: string;
  sourceVersion?: string;
  /** Validated tags (at least mlflow.runName is always added: the UI needs ≥ 1 tag). */
  tags?: Record<string, string>;
  /** Validated params in string form. */
  params?: Record<string, string>;
  /** Fixed id (sync from elsewhere); default a random 32-hex id. */
  runId?: string;
}

const RUN_ID = /^[A-Za-z0-9][\w-]{0,255}$/;

/** Formats a metric value as Python's float() reads it. */
export function formatMetricValue(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  return String(v);
}

export function metricLine(m: { value: number; step: number; timestamp: number }): string {
  return `${m.timestamp} ${formatMetricValue(m.value)} ${m.step}\n`;
}

/** Path of `key` under `folder`; `/` in a key makes nested folders, as MLflow's own writer does. */
export function keyPath(folder: string, key: string): string {
  return join(folder, ...key.split('/'));
}

export class FileStore {
  readonly root: string;
  /** Where runs and experiments are assembled before being renamed into the store. */
  readonly stagingDir: string;
  private readonly now: () => number;
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly checkedMetricFiles = new Set<string>();

  constructor(root: string, options: { now?: () => number } = {}) {
    this.root = resolve(root);
    this.stagingDir = join(dirname(this.root), `.${basename(this.root)}-staging`);
    this.now = options.now ?? Date.now;
  }

  experimentDir(experimentId: string): string {
    return join(this.root, experimentId);
  }

  runDir(ref: RunRef): string {
    return join(this.root, ref.experimentId, ref.runId);
  }

  /** Finds the active experiment called `name`, creating it (under a lock) when missing. */
  async getOrCreateExperiment(name: string): Promise<ExperimentInfo> {
    if (typeof name !== 'string' || name.trim() === '') {
      throw new ExpError('EXP_TRACK_INVALID', `experiment name ${JSON.stringify(name)} is empty`, {
        hint: 'give the spec a `name:`',
      });
    }
    const found = await this.findExperiment(name);
    if (found) return found;
    return this.withLock('experiments', async () => {
      const again = await this.findExperiment(name);
      if (again) return again;
      const id = await this.nextExperimentId();
      const now = this.now();
      const dest = this.experimentDir(id);
      const info: ExperimentInfo = {
        experimentId: id,
        name,
        artifactLocation: pathToFileURL(dest).href,
        lifecycleStage: 'active',
        creationTime: now,
        lastUpdateTime: now,
      };
      const tmp = join(this.stagingDir, `exp-${id}-${randomUUID()}`);
      await mkdir(join(tmp, 'tags'), { recursive: true });
      await writeFileAtomic(
        join(tmp, 'meta.yaml'),
        toMetaYaml({
          artifact_location: info.artifactLocation,
          creation_time: now,
          experiment_id: id,
          last_update_time: now,
          lifecycle_stage: 'active',
          name,
        }),
      );
      await mkdir(this.root, { recursive: true });
      await rename(tmp, dest);
      return info;
    });
  }

  /** The active experiment called `name`, or null. */
  async findExperiment(name: string): Promise<ExperimentInfo | null> {
    const all = await listExperiments(this.root);
    return all.find((e) => e.name === name && e.lifecycleStage === 'active') ?? null;
  }

  private async nextExperimentId(): Promise<string> {
    // BigInt: MLflow itself names experiments with random 18-digit ids, past Number's precision.
    let max = 0n;
    for (const name of await readdirOrEmpty(this.root)) {
      if (/^\d+$/.test(name) && BigInt(name) > max) max = BigInt(name);
    }
    // 0 is MLflow's "Default" experiment: ours start at 1.
    return String(max + 1n);
  }

  /** Creates a complete run folder and renames it into place. */
  async createRun(opts: CreateRunOptions): Promise<RunInfoData> {
    const runId = opts.runId ?? randomUUID().replace(/-/g, '');
    if (!RUN_ID.test(runId)) throw new Error(`invalid run id ${runId}`);
    const expDir = this.experimentDir(opts.experimentId);
    await stat(join(expDir, 'meta.yaml')).catch(() => {
      throw new Error(`experiment ${opts.experimentId} does not exist in ${this.root}`);
    });
    const dest = join(expDir, runId);
    const info: RunInfoData = {
      runId,
      experimentId: opts.experimentId,
      runName: opts.runName,
      userId: opts.userId,
      status: 'RUNNING',
      startTime: opts.startTime ?? this.now(),
      endTime: null,
      artifactUri: pathToFileURL(join(dest, 'artifacts')).href,
      lifecycleStage: 'active',
    };
    const tmp = join(this.stagingDir, `run-${runId}-${randomUUID()}`);
    try {
      for (const sub of ['metrics', 'params', 'tags', 'artifacts']) await mkdir(join(tmp, sub), { recursive: true });
      // Nobody sees the staging folder: plain writes suffice; the rename below publishes it whole.
      const files = new Map<string, string>();
      for (const [k, v] of Object.entries({ 'mlflow.runName': opts.runName, ...(opts.tags ?? {}) }))
        files.set(keyPath(join(tmp, 'tags'), k), v);
      for (const [k, v] of Object.entries(opts.params ?? {})) files.set(keyPath(join(tmp, 'params'), k), v);
      for (const d of new Set([...files.keys()].map((f) => dirname(f)))) await mkdir(d, { recursive: true });
      await Promise.all([...files].map(([f, v]) => writeFile(f, v)));
      await writeFile(join(tmp, 'meta.yaml'), runMetaYaml(info, opts.sourceName ?? '', opts.sourceVersion ?? ''));
      await rename(tmp, dest);
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
    return info;
  }

  /** Appends validated metrics (one write per key). */
  logMetrics(ref: RunRef, metrics: readonly MetricPoint[]): Promise<void> {
    return this.serial(ref, async () => {
      const byKey = new Map<string, string>();
      for (const m of metrics) byKey.set(m.key, (byKey.get(m.key) ?? '') + metricLine(m));
      const dir = join(this.runDir(ref), 'metrics');
      for (const [key, lines] of byKey) {
        const file = keyPath(dir, key);
        await this.cutTornTail(file);
        try {
          await mkdir(dirname(file), { recursive: true });
          await appendFile(file, lines);
        } catch (e) {
          throw keyClash('metric', ref, key, e as NodeJS.ErrnoException);
        }
      }
    });
  }

  /** Writes params; a param is immutable: the same value again is fine, another value is an error. */
  logParams(ref: RunRef, params: Record<string, string>): Promise<void> {
    return this.serial(ref, async () => {
      const dir = join(this.runDir(ref), 'params');
      for (const [key, value] of Object.entries(params)) {
        const file = keyPath(dir, key);
        const old = await readFile(file, 'utf8').catch(() => null);
        if (old !== null && old !== value) {
          throw new ExpError(
            'EXP_TRACK_INVALID',
            `param ${JSON.stringify(key)} of run ${ref.runId} already holds ${JSON.stringify(old)}; it cannot change to ${JSON.stringify(value)}`,
            {
              hint: 'MLflow params are immutable: log the changing value as a metric or a tag',
              detail: { run: ref.runId, key },
            },
          );
        }
        if (old === null)
          await writeFileAtomic(file, value, this.stagingDir).catch((e: NodeJS.ErrnoException) => {
            throw keyClash('param', ref, key, e);
          });
      }
    });
  }

  setTags(ref: RunRef, tags: Record<string, string>): Promise<void> {
    return this.serial(ref, async () => {
      const dir = join(this.runDir(ref), 'tags');
      for (const [key, value] of Object.entries(tags)) {
        await writeFileAtomic(keyPath(dir, key), value, this.stagingDir).catch((e: NodeJS.ErrnoException) => {
          throw keyClash('tag', ref, key, e);
        });
      }
    });
  }

  /**
   * Copies a file (or a folder's files) into the run's artifacts. `artifactPath` is the
   * destination relative to artifacts/: a file name, or a folder when it ends with `/`
   * (the source's base name is appended); default the source's base name.
   */
  logArtifact(ref: RunRef, localPath: string, artifactPath?: string): Promise<string> {
    return this.serial(ref, async () => {
      const rel = artifactDestination(localPath, artifactPath);
      const dest = join(this.runDir(ref), 'artifacts', rel);
      const st = await stat(localPath).catch(() => {
        throw new ExpError('EXP_INPUT_MISSING', `artifact ${localPath} of run ${ref.runId} does not exist`, {
          detail: { run: ref.runId, path: localPath },
        });
      });
      if (st.isDirectory()) {
        const tmp = join(this.stagingDir, `artifact-${randomUUID()}`);
        await mkdir(dirname(dest), { recursive: true });
        await cp(localPath, tmp, { recursive: true });
        await rm(dest, { recursive: true, force: true });
        await rename(tmp, dest);
      } else {
        await copyFileAtomic(localPath, dest, this.stagingDir);
      }
      return rel;
    });
  }

  /** Writes text as an artifact at `relPath` (relative to artifacts/). */
  writeArtifact(ref: RunRef, relPath: string, data: string | Uint8Array): Promise<void> {
    return this.serial(ref, async () => {
      checkArtifactPath(ref, relPath);
      await writeFileAtomic(join(this.runDir(ref), 'artifacts', ...relPath.split('/')), data, this.stagingDir);
    });
  }

  /** Sets the terminal status and end time (meta.yaml replaced atomically). */
  endRun(ref: RunRef, status: EndStatus, endTime?: number): Promise<void> {
    return this.serial(ref, async () => {
      const file = join(this.runDir(ref), 'meta.yaml');
      const meta = fromMetaYaml(await readFile(file, 'utf8'));
      if (!(status in STATUS_CODE) || status === ('RUNNING' as string)) throw new Error(`unknown end status ${status}`);
      meta.status = STATUS_CODE[status];
      meta.end_time = endTime ?? this.now();
      await writeFileAtomic(file, toMetaYaml(meta), this.stagingDir);
    });
  }

  /** Waits for every queued write. */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.queues.values()]);
  }

  private serial<T>(ref: RunRef, job: () => Promise<T>): Promise<T> {
    const key = `${ref.experimentId}/${ref.runId}`;
    const prev = this.queues.get(key) ?? Promise.resolve();
    const next = prev.then(job, job);
    const settled = next.catch(() => undefined);
    this.queues.set(key, settled);
    void settled.then(() => {
      if (this.queues.get(key) === settled) this.queues.delete(key);
    });
    return next;
  }

  private async cutTornTail(file: string): Promise<void> {
    if (this.checkedMetricFiles.has(file)) return;
    this.checkedMetricFiles.add(file);
    const text = await readFile(file, 'utf8').catch(() => null);
    if (text && !text.endsWith('\n'))
      await truncate(file, Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1)));
  }

  private async withLock<T>(name: string, job: () => Promise<T>): Promise<T> {
    const lock = join(this.stagingDir, `${name}.lock`);
    await mkdir(this.stagingDir, { recursive: true });
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await mkdir(lock);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        // A lock left by a crashed process: older than 30 s is stale.
        const st = await stat(lock).catch(() => null);
        if (st && Date.now() - st.mtimeMs > 30_000) await rm(lock, { recursive: true, force: true });
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
        await new Promise((r) => setTimeout(r, 10 + Math.random() * 40));
      }
    }
    try {
      return await job();
    } finally {
      await rm(lock, { recursive: true, force: true });
    }
  }
}

export function runMetaYaml(info: RunInfoData, sourceName: string, sourceVersion: string): string {
  return toMetaYaml({
    artifact_uri: info.artifactUri,
    end_time: info.endTime,
    entry_point_name: '',
    experiment_id: info.experimentId,
    lifecycle_stage: info.lifecycleStage,
    run_id: info.runId,
    run_name: info.runName,
    run_uuid: info.runId,
    source_name: sourceName,
    source_type: 4,
    source_version: sourceVersion,
    start_time: info.startTime,
    status: STATUS_CODE[info.status],
    tags: [],
    user_id: info.userId,
  });
}

function artifactDestination(localPath: string, artifactPath: string | undefined): string {
  const base = basename(localPath);
  let rel =
    artifactPath === undefined || artifactPath === ''
      ? base
      : artifactPath.endsWith('/')
        ? artifactPath + base
        : artifactPath;
  rel = rel.split(sep).join('/');
  checkArtifactPath({ experimentId: '', runId: '' }, rel, localPath);
  return rel;
}

function checkArtifactPath(ref: RunRef, rel: string, source?: string): void {
  if (rel.startsWith('/') || rel.split('/').some((s) => s === '..' || s === '')) {
    throw new ExpError(
      'EXP_TRACK_INVALID',
      `artifact path ${JSON.stringify(rel)}${source ? ` (for ${source})` : ''}${ref.runId ? ` of run ${ref.runId}` : ''} must be relative, without "..": it lands under the run's artifacts/`,
      {
        detail: { run: ref.runId, key: rel },
      },
    );
  }
}

function keyClash(kind: string, ref: RunRef, key: string, e: NodeJS.ErrnoException): Error {
  if (e.code === 'ENOTDIR' || e.code === 'EISDIR' || e.code === 'EEXIST') {
    return new ExpError(
      'EXP_TRACK_INVALID',
      `${kind} ${JSON.stringify(key)} of run ${ref.runId} clashes with another key: "a" and "a/b" cannot both exist (a "/" makes a folder)`,
      {
        hint: 'rename one of the keys',
        detail: { run: ref.runId, key },
      },
    );
  }
  return e;
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}
