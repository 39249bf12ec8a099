// Lifecycle → MLflow: one parent run per `exp run`, one child run per point. Each node's metrics
// and artifacts are logged into every point that contains it, cached nodes included (tagged), so
// each run is complete in the MLflow UI whatever was reused. A running node's metrics are logged as
// they come (whichever executor forwards them: local, Slurm's events file, BullMQ's progress), at
// most every LIVE_FLUSH_MS; the manifest's metrics that were already logged live are not logged again.
import os from 'node:os';
import path from 'node:path';
import { execFileSyncChild } from '../children.ts';
import type { ExecSummary, Lifecycle, NodeOutcome } from '../exec/lifecycle.ts';
import type { Plan, PlanNode } from '../plan/dag.ts';
import type { LoadedSpec } from '../spec/types.ts';
import { openJournalTracker } from '../track/journal.ts';
import { openTracker, type InvocationRun, type Tracker, type TrackedRun } from '../track/tracker.ts';
import type { EndStatus, ParamValue } from '../track/types.ts';
import type { TaskEvent } from '../exec/task.ts';

type Metric = { key: string; value: number; step: number; timestamp: number };
const LIVE_FLUSH_MS = 1000;

/** A metric's identity, to recognise in the manifest one that was logged live. */
function metricId(m: { key: string; value: number | null; step?: number; timestamp: number }): string {
  const v = typeof m.value === 'number' && Number.isFinite(m.value) ? String(m.value) : 'non-finite';
  return `${m.key}\u0000${v}\u0000${m.step ?? 0}\u0000${m.timestamp}`;
}

interface PointBuffer {
  metrics: { key: string; value: number; step: number; timestamp: number }[];
  tags: Record<string, string>;
  artifacts: [string, string][];
}

export interface TrackingOptions {
  runsDir: string;
  spec: LoadedSpec;
  plan: Plan;
  invocationId: string;
  env: NodeJS.ProcessEnv;
  log: (message: string) => void;
}

/** `{a: {b: 1, c: [1, 2]}}` → `{"a.b": 1, "a.c": "[1,2]"}`: MLflow params are flat strings. */
export function flattenParams(
  value: unknown,
  prefix = '',
  out: Record<string, ParamValue> = {},
): Record<string, ParamValue> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (!entries.length && prefix) out[prefix] = '{}';
    for (const [k, v] of entries) flattenParams(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out[prefix] = Array.isArray(value) ? JSON.stringify(value) : (value as ParamValue);
  }
  return out;
}

/** MLflow keys allow `[A-Za-z0-9_ .:/-]`; anything else becomes `_`. */
function safeKey(key: string): string {
  return key.replace(/[^A-Za-z0-9_ .:/-]/g, '_').slice(0, 250);
}

function gitCommit(dir: string): string | undefined {
  try {
    return (
      execFileSyncChild('git', ['rev-parse', 'HEAD'], {
        cwd: dir,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 3000,
      }).trim() || undefined
    );
  } catch {
    return undefined;
  }
}

export class TrackingReporter implements Lifecycle {
  private readonly pointRuns = new Map<string, TrackedRun>();
  private readonly pending = new Map<string, number>();
  private readonly pointStatus = new Map<string, EndStatus>();
  private readonly cachedStages = new Map<string, string[]>();
  private readonly buffers = new Map<string, PointBuffer>();
  /** Metrics of running nodes not yet written, per point. */
  private readonly liveBuffers = new Map<string, Metric[]>();
  /** Per running node: the metrics logged live (identity → count), left out of its manifest's. */
  private readonly liveLogged = new Map<string, Map<string, number>>();
  private liveTimer: NodeJS.Timeout | undefined;
  private liveWrites: Promise<void> = Promise.resolve();
  private warned = false;

  private constructor(
    /** Null when tracking is off for this run (the store could not be opened or written). */
    private readonly tracker: Tracker | null,
    private readonly invocation: InvocationRun | null,
    private readonly plan: Plan,
    private readonly options: TrackingOptions,
    /** Why tracking is off. */
    private readonly offReason?: string,
  ) {
    for (const p of plan.points) this.pending.set(p.id, Object.keys(p.nodes).length);
  }

  get parentRunId(): string | undefined {
    return this.invocation?.runId;
  }

  /**
   * Adds a file to the invocation's parent run (the grid's report), before the run ends. Tracking
   * never fails the computation: a write that fails is said once, like any other.
   */
  async logParentArtifact(localPath: string, artifactPath?: string): Promise<boolean> {
    if (!this.invocation) return false;
    try {
      await this.invocation.logArtifact(localPath, artifactPath);
      return true;
    } catch (e) {
      this.warnOnce(e);
      return false;
    }
  }

  /**
   * Opens the MLflow store and starts the runs. Tracking never fails the computation: when the
   * store cannot be written (a read-only mlruns/, a full disk), it says so once, the run goes on,
   * and its tracking goes to a journal (track/journal.ts) that `exp sync` writes into the store
   * later. Only when even that fails is the run untracked (the results stay in the cache).
   */
  static async open(o: TrackingOptions): Promise<TrackingReporter> {
    try {
      return await TrackingReporter.start(o);
    } catch (e) {
      const reason = oneLine(e);
      // Keep what the store would have got in a journal, for `exp sync` to write once it can.
      try {
        const journal = openJournalTracker({ runsDir: o.runsDir, experimentName: o.spec.name });
        const reporter = await TrackingReporter.start(o, journal, reason);
        const file = journal.journalFile();
        o.log(
          `tracking: ${path.join(o.runsDir, 'mlruns')} cannot be written (${reason}). The run goes on; its tracking is kept in ${file}: make the folder writable, then run exp sync to write it there (exp sync --to URL also pushes it to a server).`,
        );
        reporter.journal = file;
        return reporter;
      } catch {
        o.log(
          `tracking: off for this run: ${reason}. The run goes on; results stay in the cache (exp show lists them).`,
        );
        return new TrackingReporter(null, null, o.plan, o, reason);
      }
    }
  }

  /** The journal this run's tracking went to (mlruns/ could not be written), if any. */
  journal: string | undefined;

  private static async start(o: TrackingOptions, journal?: Tracker, offReason?: string): Promise<TrackingReporter> {
    const tracker =
      journal ??
      (await openTracker({
        runsDir: o.runsDir,
        experimentName: o.spec.name,
        trackingUri: o.env.MLFLOW_TRACKING_URI,
        log: o.log,
        env: o.env,
      }));
    const invocation = await tracker.startInvocation({
      invocationId: o.invocationId,
      specFile: o.spec.file,
      specName: o.spec.name,
      resolvedSpecYaml: o.spec.resolvedYaml,
      gitCommit: gitCommit(path.dirname(o.spec.file)),
      user: o.env.USER ?? safeUser(),
      sourceName: o.spec.file,
    });
    const reporter = new TrackingReporter(tracker, invocation, o.plan, o, offReason);
    const configs = new Map(o.spec.points.map((p) => [p.id, p.config]));
    for (const point of o.plan.points) {
      const params: Record<string, ParamValue> = {};
      for (const [k, v] of Object.entries(flattenParams(configs.get(point.id) ?? {}))) params[safeKey(k)] = v;
      const run = await invocation.startPoint({
        pointId: point.id,
        name: point.name,
        params,
        tags: {
          'exp.point_name': point.name,
          ...Object.fromEntries(Object.entries(point.nodes).map(([s, k]) => [safeKey(`exp.node.${s}`), k])),
        },
      });
      reporter.pointRuns.set(point.id, run);
    }
    return reporter;
  }

  nodeEvent(node: PlanNode, e: TaskEvent): void {
    // A shard's metrics are partial; the gather's are the stage's (as one node would log them).
    if (e.type !== 'metric' || !this.tracker || node.shard?.role === 'map') return;
    const m: Metric = { key: e.key, value: e.value, step: e.step ?? 0, timestamp: e.timestamp };
    const logged = this.liveLogged.get(node.key) ?? this.liveLogged.set(node.key, new Map()).get(node.key)!;
    const id = metricId(m);
    logged.set(id, (logged.get(id) ?? 0) + 1);
    for (const pointId of node.points) {
      if (!this.pointRuns.has(pointId)) continue;
      (this.liveBuffers.get(pointId) ?? this.liveBuffers.set(pointId, []).get(pointId)!).push(m);
    }
    if (!this.liveTimer) {
      this.liveTimer = setTimeout(() => {
        this.liveTimer = undefined;
        void this.flushLive();
      }, LIVE_FLUSH_MS);
      this.liveTimer.unref();
    }
  }

  /** Writes the live metrics gathered so far (one write per point), after the previous writes. */
  private flushLive(): Promise<void> {
    if (this.liveTimer) clearTimeout(this.liveTimer);
    this.liveTimer = undefined;
    const batches = [...this.liveBuffers];
    this.liveBuffers.clear();
    this.liveWrites = this.liveWrites.then(async () => {
      for (const [pointId, metrics] of batches) {
        try {
          await this.pointRuns.get(pointId)?.logMetrics(metrics);
        } catch (e) {
          this.warnOnce(e);
        }
      }
    });
    return this.liveWrites;
  }

  private warnOnce(e: unknown): void {
    if (this.warned) return;
    this.warned = true;
    this.options.log(`tracking: ${oneLine(e)} (results stay in the cache; exp show lists them)`);
  }

  async nodeFinished(node: PlanNode, o: NodeOutcome): Promise<void> {
    // A failed shard reaches the points through its gather (skipped: "upstream mining[3/7] failed").
    if (node.shard?.role === 'map') return;
    // Live metrics first, so a point's history is in order and complete before its run ends.
    if (this.liveBuffers.size) await this.flushLive();
    else await this.liveWrites;
    const logged = this.liveLogged.get(node.key);
    this.liveLogged.delete(node.key);
    try {
      for (const pointId of node.points) {
        const run = this.pointRuns.get(pointId);
        if (!run) continue;
        const buf = this.buffer(pointId);
        if (o.manifest && (o.status === 'done' || o.status === 'cached')) {
          // Each point gets the node's metrics once: live ones are left out here.
          const seen = new Map(logged);
          for (const m of o.manifest.metrics) {
            const id = metricId(m);
            const n = seen.get(id) ?? 0;
            if (n > 0) {
              seen.set(id, n - 1);
              continue;
            }
            buf.metrics.push({ key: m.key, value: m.value, step: m.step ?? 0, timestamp: m.timestamp });
          }
          for (const a of o.manifest.artifacts) {
            buf.artifacts.push([
              path.join(o.dir!, a),
              `${node.stage}/${path.dirname(a) === '.' ? '' : `${path.dirname(a)}/`}`,
            ]);
          }
          if (o.status === 'cached') {
            const list = this.cachedStages.get(pointId) ?? [];
            list.push(...node.stages);
            this.cachedStages.set(pointId, list);
            buf.tags['exp.cached'] = 'true';
            buf.tags['exp.cached_stages'] = list.join(',');
          }
        } else if (o.status === 'failed' || o.status === 'skipped') {
          this.pointStatus.set(pointId, 'FAILED');
          buf.tags[safeKey(`exp.failed.${node.stage}`)] = (o.error?.message ?? o.reason ?? o.status).slice(0, 4000);
        } else if (o.status === 'cancelled' && !this.pointStatus.has(pointId)) {
          this.pointStatus.set(pointId, 'KILLED');
        }
        // Each stage of the point that maps to this node counts once.
        const point = this.plan.points.find((p) => p.id === pointId);
        const hits = point ? Object.values(point.nodes).filter((k) => k === node.key).length : 1;
        const left = (this.pending.get(pointId) ?? 0) - hits;
        this.pending.set(pointId, left);
        // Cached results are batched (one write per point); fresh results show up at once.
        if (o.status !== 'cached' || left <= 0) await this.flush(pointId, run);
        if (left <= 0) await run.end(this.pointStatus.get(pointId) ?? 'FINISHED');
      }
    } catch (e) {
      // Tracking must never fail the computation; say so once, the store keeps everything.
      if (!this.warned) {
        this.warned = true;
        this.options.log(`tracking: ${(e as Error).message} (results stay in the cache; exp show lists them)`);
      }
    }
  }

  private buffer(pointId: string): PointBuffer {
    let b = this.buffers.get(pointId);
    if (!b) this.buffers.set(pointId, (b = { metrics: [], tags: {}, artifacts: [] }));
    return b;
  }

  private async flush(pointId: string, run: TrackedRun): Promise<void> {
    const b = this.buffers.get(pointId);
    if (!b) return;
    this.buffers.delete(pointId);
    if (b.metrics.length) await run.logMetrics(b.metrics);
    if (Object.keys(b.tags).length) await run.setTags(b.tags);
    for (const [from, to] of b.artifacts) await run.logArtifact(from, to);
  }

  async finished(_summary: ExecSummary): Promise<void> {
    await this.flushLive();
    for (const [pointId, left] of this.pending) {
      if (left > 0)
        await this.pointRuns
          .get(pointId)
          ?.end('KILLED')
          .catch(() => undefined);
    }
  }

  async close(status: string): Promise<void> {
    if (!this.tracker || !this.invocation) return;
    const end: EndStatus = status === 'done' ? 'FINISHED' : status === 'cancelled' ? 'KILLED' : 'FAILED';
    await this.invocation.end(end).catch(() => undefined);
    await this.tracker.close().catch((e: unknown) => {
      if (this.warned) return;
      this.warned = true;
      this.options.log(`tracking: ${oneLine(e)} (results stay in the cache; exp show lists them)`);
    });
  }

  howToOpen(): string {
    if (this.journal)
      return `MLflow: not written (${this.offReason}); kept in ${this.journal}\n  make ${path.join(this.options.runsDir, 'mlruns')} writable, then: exp sync${this.options.runsDir !== path.resolve('runs') ? ` --runs ${this.options.runsDir}` : ''}`;
    if (!this.tracker) return `MLflow: not tracked this time (${this.offReason}); results are in the cache (exp show)`;
    const root = this.tracker.storeRoot;
    const lines = [
      `MLflow: ${this.plan.points.length} run(s) under experiment "${this.options.spec.name}" in ${root}`,
      `  open them: mlflow ui --backend-store-uri ${root}   (MLflow ≥ 3.13: MLFLOW_ALLOW_FILE_STORE=true mlflow ui ...)`,
      `  compare here: exp compare ${path.relative(process.cwd(), this.options.spec.file) || this.options.spec.file}${this.options.runsDir !== path.resolve('runs') ? ` --runs ${this.options.runsDir}` : ''}`,
    ];
    if (this.tracker.serverUri) lines.push(`  also pushed to ${this.tracker.serverUri}`);
    return lines.join('\n');
  }
}

function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}

function safeUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return '';
  }
}
