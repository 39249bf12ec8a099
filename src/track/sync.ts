import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ExpError } from '../errors.ts';
import { writeFileAtomic } from '../atomic.ts';
import { listArtifacts, listExperiments, listRuns, readMetricHistories, readRun } from './file-store-read.ts';
import { formatMetricValue } from './file-store.ts';
import { MlflowHttpError, type MlflowRestClient } from './rest-client.ts';
import type { MetricPoint, RunRecord } from './types.ts';

export const LOCAL_RUN_TAG = 'exp.local_run_id';

export interface SyncedRun {
  serverRunId: string;
  serverExperimentId: string;
  /** False while a push is under way: the next sync compares with the server's history. */
  complete: boolean;
  /** Lines of each local metric file already on the server. */
  metricLines: Record<string, number>;
  /** Artifacts uploaded: relative path → size. */
  artifacts: Record<string, number>;
  /** Local status + end time at the last complete push. */
  status?: string;
}

interface MappingFile {
  version: 1;
  servers: Record<string, { runs: Record<string, SyncedRun> }>;
}

export interface SyncSummary {
  created: number;
  updated: number;
  unchanged: number;
  failed: { runId: string; runName: string; error: string }[];
  /** Local experiment name → server experiment id. */
  experiments: Record<string, string>;
  artifactsSkipped: number;
}

export function mappingPath(storeRoot: string): string {
  return join(dirname(storeRoot), 'mlflow-sync.json');
}

export class StoreSyncer {
  private mapping: MappingFile | null = null;
  private readonly serverExperiments = new Map<string, string>();
  private readonly inFlight = new Map<string, Promise<'created' | 'updated' | 'unchanged'>>();
  artifactsSkipped = 0;

  constructor(
    readonly storeRoot: string,
    readonly client: MlflowRestClient,
    private readonly log: (msg: string) => void = () => {},
  ) {}

  private async load(): Promise<MappingFile> {
    if (this.mapping) return this.mapping;
    const text = await readFile(mappingPath(this.storeRoot), 'utf8').catch(() => null);
    let parsed: MappingFile | null = null;
    if (text) {
      try {
        parsed = JSON.parse(text) as MappingFile;
      } catch {
        this.log(
          `${mappingPath(this.storeRoot)} is not valid JSON; runs are matched by their ${LOCAL_RUN_TAG} tag instead`,
        );
      }
    }
    this.mapping = parsed && parsed.version === 1 && parsed.servers ? parsed : { version: 1, servers: {} };
    return this.mapping;
  }

  private async runsMap(): Promise<Record<string, SyncedRun>> {
    const m = await this.load();
    m.servers[this.client.baseUrl] ??= { runs: {} };
    return m.servers[this.client.baseUrl]!.runs;
  }

  private async save(): Promise<void> {
    if (this.mapping) await writeFileAtomic(mappingPath(this.storeRoot), `${JSON.stringify(this.mapping, null, 2)}\n`);
  }

  /** The server run a local run was pushed to, if any. */
  async serverRunId(localRunId: string): Promise<string | undefined> {
    return (await this.runsMap())[localRunId]?.serverRunId;
  }

  private async serverExperiment(name: string): Promise<string> {
    let id = this.serverExperiments.get(name);
    if (!id) {
      id = await this.client.getOrCreateExperiment(name);
      this.serverExperiments.set(name, id);
    }
    return id;
  }

  /** Pushes every run of the store (or of one experiment). One failing run does not stop the others. */
  async syncAll(experimentName?: string): Promise<SyncSummary> {
    const summary: SyncSummary = {
      created: 0,
      updated: 0,
      unchanged: 0,
      failed: [],
      experiments: {},
      artifactsSkipped: 0,
    };
    const experiments = (await listExperiments(this.storeRoot)).filter(
      (e) => e.lifecycleStage === 'active' && (!experimentName || e.name === experimentName),
    );
    if (experimentName && experiments.length === 0) {
      throw new ExpError(
        'EXP_INPUT_MISSING',
        `no experiment called ${JSON.stringify(experimentName)} in ${this.storeRoot}`,
        { hint: 'run `exp compare` or look in the folder for the experiment names' },
      );
    }
    for (const exp of experiments) {
      summary.experiments[exp.name] = await this.serverExperiment(exp.name);
      const runs = await listRuns(this.storeRoot, exp.experimentId);
      // Parents first, so that children can point at their server id.
      runs.sort((a, b) => Number('mlflow.parentRunId' in a.tags) - Number('mlflow.parentRunId' in b.tags));
      for (const run of runs) {
        try {
          summary[await this.syncRun(exp.experimentId, run.info.runId, exp.name)]++;
        } catch (e) {
          if (
            e instanceof MlflowHttpError &&
            e.status !== 429 &&
            e.status < 500 &&
            e.status !== 401 &&
            e.status !== 403
          ) {
            summary.failed.push({ runId: run.info.runId, runName: run.info.runName, error: e.message });
            continue;
          }
          if (e instanceof ExpError) {
            summary.failed.push({ runId: run.info.runId, runName: run.info.runName, error: e.message });
            continue;
          }
          throw e; // server unreachable or refusing us: stop, the mapping keeps what was done
        }
      }
    }
    summary.artifactsSkipped = this.artifactsSkipped;
    return summary;
  }

  /** Pushes one local run (creating its server run when needed); concurrent calls share one push. */
  syncRun(
    localExperimentId: string,
    localRunId: string,
    experimentName?: string,
  ): Promise<'created' | 'updated' | 'unchanged'> {
    const key = `${localExperimentId}/${localRunId}`;
    const prev = this.inFlight.get(key);
    const next = (prev ? prev.catch(() => undefined) : Promise.resolve()).then(() =>
      this.push(localExperimentId, localRunId, experimentName),
    );
    this.inFlight.set(key, next);
    void next
      .catch(() => undefined)
      .then(() => {
        if (this.inFlight.get(key) === next) this.inFlight.delete(key);
      });
    return next;
  }

  private async push(
    localExperimentId: string,
    localRunId: string,
    experimentName?: string,
  ): Promise<'created' | 'updated' | 'unchanged'> {
    const local = await readRun(this.storeRoot, localExperimentId, localRunId);
    if (!local) throw new Error(`run ${localRunId} not found in ${this.storeRoot}/${localExperimentId}`);
    const name =
      experimentName ?? (await listExperiments(this.storeRoot)).find((e) => e.experimentId === localExperimentId)?.name;
    if (!name) throw new Error(`experiment ${localExperimentId} not found in ${this.storeRoot}`);
    const runs = await this.runsMap();
    const histories = await readMetricHistories(this.storeRoot, localExperimentId, localRunId);
    const artifacts = await this.artifactSizes(localExperimentId, localRunId);
    const statusKey = `${local.info.status}@${local.info.endTime ?? ''}`;
    let entry = runs[localRunId];
    if (
      entry?.complete &&
      entry.status === statusKey &&
      sameCounts(entry.metricLines, histories) &&
      sameSizes(entry.artifacts, artifacts)
    ) {
      // Params and tags may have changed too: compare with what the server holds.
      const server = await this.client.getRun(entry.serverRunId);
      if (server && !(await this.tagsOrParamsDiffer(local, server.data))) return 'unchanged';
    }

    const serverExperimentId = await this.serverExperiment(name);
    let created = false;
    let server = entry ? await this.client.getRun(entry.serverRunId) : null;
    if (!server) {
      const found = await this.client.searchRuns(
        [serverExperimentId],
        `tags.\`${LOCAL_RUN_TAG}\` = '${localRunId}'`,
        10,
      );
      server = found[0] ?? null;
      if (!server) {
        const info = await this.client.createRun({
          experimentId: serverExperimentId,
          runName: local.info.runName,
          startTime: local.info.startTime,
          userId: local.info.userId,
          tags: { [LOCAL_RUN_TAG]: localRunId },
        });
        server = { info, data: {} };
        created = true;
      }
      entry = {
        serverRunId: server.info.run_id,
        serverExperimentId,
        complete: created,
        metricLines: {},
        artifacts: {},
      };
      if (created) for (const k of Object.keys(histories)) entry.metricLines[k] = 0;
    }
    const trustCounts = entry.complete;
    entry.complete = false;
    runs[localRunId] = entry;
    await this.save();

    const serverParams = Object.fromEntries((server.data.params ?? []).map((p) => [p.key, p.value]));
    const serverTags = Object.fromEntries((server.data.tags ?? []).map((t) => [t.key, t.value]));
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(local.params)) {
      if (!(k in serverParams)) params[k] = v;
      else if (serverParams[k] !== v) {
        throw new ExpError(
          'EXP_TRACK_INVALID',
          `param ${JSON.stringify(k)} of run ${local.info.runName} (${localRunId}) is ${JSON.stringify(v)} locally but ${JSON.stringify(serverParams[k])} on the server run ${entry.serverRunId}; params cannot change`,
          {
            hint: `delete the server run or drop its entry from ${mappingPath(this.storeRoot)} to push it as a new run`,
            detail: { run: localRunId, key: k },
          },
        );
      }
    }
    const tags: Record<string, string> = {};
    for (const [k, v] of Object.entries(await this.translateTags(local))) if (serverTags[k] !== v) tags[k] = v;

    const metrics: MetricPoint[] = [];
    for (const [key, hist] of Object.entries(histories)) {
      const pushed = trustCounts ? (entry.metricLines[key] ?? 0) : null;
      if (pushed !== null) metrics.push(...hist.slice(pushed));
      else metrics.push(...missingPoints(hist, await this.client.getMetricHistory(entry.serverRunId, key)));
    }
    await this.client.logBatch(entry.serverRunId, { params, tags, metrics });

    const artifactUri = server.info.artifact_uri ?? '';
    for (const [rel, size] of Object.entries(artifacts)) {
      if (entry.artifacts[rel] === size) continue;
      const data = await readFile(join(this.storeRoot, localExperimentId, localRunId, 'artifacts', ...rel.split('/')));
      if (await this.client.uploadArtifact(artifactUri, rel, data)) entry.artifacts[rel] = size;
      else {
        this.artifactsSkipped++;
        this.log(
          `artifact ${rel} of run ${local.info.runName} not uploaded: the server's artifact store (${artifactUri}) is not served through mlflow-artifacts; start the server with --serve-artifacts`,
        );
        entry.artifacts[rel] = size;
      }
    }
    if (local.info.status !== 'RUNNING' && server.info.status !== local.info.status) {
      await this.client.updateRun(entry.serverRunId, local.info.status as 'FINISHED', local.info.endTime ?? undefined);
    }
    entry.metricLines = Object.fromEntries(Object.entries(histories).map(([k, h]) => [k, h.length]));
    entry.status = statusKey;
    entry.complete = true;
    await this.save();
    return created ? 'created' : 'updated';
  }

  private async artifactSizes(expId: string, runId: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const rel of await listArtifacts(this.storeRoot, expId, runId)) {
      const st = await stat(join(this.storeRoot, expId, runId, 'artifacts', ...rel.split('/')));
      out[rel] = st.size;
    }
    return out;
  }

  /** Local tags with mlflow.parentRunId pointing at the parent's server run. */
  private async translateTags(local: RunRecord): Promise<Record<string, string>> {
    const tags: Record<string, string> = { ...local.tags, [LOCAL_RUN_TAG]: local.info.runId };
    const parent = tags['mlflow.parentRunId'];
    if (parent) {
      let serverParent = await this.serverRunId(parent);
      if (!serverParent) {
        await this.syncRun(local.info.experimentId, parent);
        serverParent = await this.serverRunId(parent);
      }
      if (serverParent) tags['mlflow.parentRunId'] = serverParent;
      else delete tags['mlflow.parentRunId'];
    }
    return tags;
  }

  private async tagsOrParamsDiffer(
    local: RunRecord,
    data: { params?: { key: string; value: string }[]; tags?: { key: string; value: string }[] },
  ): Promise<boolean> {
    const sp = Object.fromEntries((data.params ?? []).map((p) => [p.key, p.value]));
    const st = Object.fromEntries((data.tags ?? []).map((t) => [t.key, t.value]));
    if (Object.entries(local.params).some(([k, v]) => sp[k] !== v)) return true;
    return Object.entries(await this.translateTags(local)).some(([k, v]) => st[k] !== v);
  }
}

function sameCounts(pushed: Record<string, number>, histories: Record<string, MetricPoint[]>): boolean {
  const keys = Object.keys(histories);
  return keys.length === Object.keys(pushed).length && keys.every((k) => pushed[k] === histories[k]!.length);
}

function sameSizes(a: Record<string, number>, b: Record<string, number>): boolean {
  const keys = Object.keys(b);
  return keys.length === Object.keys(a).length && keys.every((k) => a[k] === b[k]);
}

/** Local points not yet on the server (as a multiset: a point logged twice is pushed twice). */
export function missingPoints(local: readonly MetricPoint[], server: readonly MetricPoint[]): MetricPoint[] {
  const id = (m: MetricPoint) => `${m.step}|${m.timestamp}|${formatMetricValue(m.value)}`;
  const have = new Map<string, number>();
  for (const m of server) have.set(id(m), (have.get(id(m)) ?? 0) + 1);
  const out: MetricPoint[] = [];
  for (const m of local) {
    const n = have.get(id(m)) ?? 0;
    if (n > 0) have.set(id(m), n - 1);
    else out.push(m);
  }
  return out;
}
