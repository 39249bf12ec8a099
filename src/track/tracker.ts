// The tracker: what the engine calls to make every `exp run` a set of comparable MLflow runs.
//
// How the engine uses it, per `exp run` invocation:
//   const tracker = await openTracker({ runsDir, experimentName: spec.name,
//                                       trackingUri: process.env.MLFLOW_TRACKING_URI, log });
//   const inv = await tracker.startInvocation({ invocationId, specFile, specName,
//                                               resolvedSpecYaml, gitCommit, user, sourceName });
//   for each grid point:
//     const run = await inv.startPoint({ pointId, name: 'method=s2a k=20', params, tags });
//     for each node result in the point (a cached node too, with setTags({'exp.cached': 'true'})):
//       await run.logMetrics([{ key: 'video.ap.drive', value: 0.41, step: 3 }]);
//       await run.logArtifact('/abs/cache/.../clips.jsonl', 'mining/');
//     await run.end('FINISHED' | 'FAILED' | 'KILLED');
//   await inv.end(status); await tracker.close();
//
// - One MLflow experiment per spec `name`; one parent run per invocation (tags exp.invocation,
//   exp.spec, mlflow.source.*, mlflow.user; artifact spec.resolved.yaml); one child run per
//   point (tag mlflow.parentRunId; tags exp.point_id, exp.spec, exp.invocation).
// - Everything is written to the file store `<runsDir>/mlruns` first (always). When the tracking
//   URI is http(s), runs are also pushed to the server (when created and when ended) through the
//   same idempotent sync that `exp sync` uses. A failing server never fails the run: it is
//   reported once through `log`, the data stays in the file store, `exp sync` pushes it later.
// - Bad keys/values (MLflow's key rules, non-integer steps, wrong types) throw ExpError
//   EXP_TRACK_INVALID naming the run and the key, before anything is written.
import { join } from 'node:path';
import { FileStore, type RunRef } from './file-store.ts';
import {
  authFromEnv,
  isHttpUri,
  MlflowRestClient,
  retryFromEnv,
  timeoutFromEnv,
  type RetryOptions,
} from './rest-client.ts';
import { StoreSyncer } from './sync.ts';
import type { EndStatus, MetricInput, ParamValue } from './types.ts';
import { checkMetrics, checkParams, checkTags, MAX_PARAM_VALUE_LENGTH } from './validate.ts';

export interface TrackerOptions {
  /** The runs folder; the file store is `<runsDir>/mlruns`. */
  runsDir: string;
  /** The spec's `name`: one MLflow experiment per name. */
  experimentName: string;
  /** MLFLOW_TRACKING_URI; http(s) adds a server mirror, anything else is warned about (file store only). */
  trackingUri?: string;
  /** One line for the user (server failures, where the runs are). */
  log: (message: string) => void;
  /** Where MLFLOW_TRACKING_TOKEN / _USERNAME / _PASSWORD are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Backoff of server retries (default from MLFLOW_HTTP_REQUEST_MAX_RETRIES / _BACKOFF_FACTOR). */
  retry?: RetryOptions;
  /** How long close() waits for pending server calls (default 60 s). */
  closeTimeoutMs?: number;
  /** One server request, connecting included (default 10 s; MLFLOW_HTTP_REQUEST_TIMEOUT, seconds). */
  serverTimeoutMs?: number;
  /** All server requests of one run together (default 25 s): a dead server costs no more. */
  serverBudgetMs?: number;
  now?: () => number;
}

export interface InvocationStart {
  invocationId: string;
  specFile: string;
  specName: string;
  resolvedSpecYaml: string;
  gitCommit?: string;
  user: string;
  /** e.g. the spec file or `exp run`: shown as the run's source in the UI. */
  sourceName: string;
}

export interface PointStart {
  pointId: string;
  /** From the matrix values, e.g. `method=s2a k=20`. */
  name: string;
  /** The point's resolved config flattened to dotted keys. */
  params: Record<string, ParamValue>;
  tags?: Record<string, string>;
}

export interface TrackedRun {
  /** The run's id in the file store. */
  readonly runId: string;
  readonly experimentId: string;
  logMetrics(metrics: readonly MetricInput[]): Promise<void>;
  logParams(params: Record<string, ParamValue>): Promise<void>;
  setTags(tags: Record<string, string>): Promise<void>;
  /**
   * Copies a file or folder into the run's artifacts. `artifactPath`: destination relative to
   * artifacts/ (a file name, or a folder when it ends with `/`); default the source's base name.
   */
  logArtifact(localPath: string, artifactPath?: string): Promise<void>;
  end(status: EndStatus): Promise<void>;
}

export interface InvocationRun extends TrackedRun {
  startPoint(point: PointStart): Promise<TrackedRun>;
}

export interface Tracker {
  readonly storeRoot: string;
  readonly experimentId: string;
  /** The server URL when mirroring (http(s) tracking URI), else undefined. */
  readonly serverUri: string | undefined;
  startInvocation(start: InvocationStart): Promise<InvocationRun>;
  /** Flushes local writes and waits (bounded) for pending server calls. */
  close(): Promise<void>;
}

/**
 * The http(s) server to mirror to, from MLFLOW_TRACKING_URI. Any other scheme, or a URI that
 * does not parse, is warned about once and the run keeps to the local file store.
 */
function serverUriOf(trackingUri: string | undefined, storeRoot: string, log: (m: string) => void): string | undefined {
  const uri = trackingUri?.trim();
  if (!uri) return undefined;
  const local = `runs are kept in the local file store ${storeRoot} only`;
  if (!isHttpUri(uri)) {
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri)?.[1];
    log(
      `tracking: MLFLOW_TRACKING_URI=${redact(uri)} is not supported${scheme ? ` (scheme ${scheme}:)` : ''}; only http(s):// servers are mirrored, ${local}`,
    );
    return undefined;
  }
  try {
    new URL(uri);
  } catch {
    log(
      `tracking: MLFLOW_TRACKING_URI=${redact(uri)} is not a valid URL; ${local} (fix it, then push them with exp sync --to <url>)`,
    );
    return undefined;
  }
  return uri;
}

/** A URI as shown to the user: credentials in it (user:pass@) are hidden. */
function redact(uri: string): string {
  return uri.replace(/\/\/[^/@]*@/, '//***@');
}

/** `ava-fewshot @ 2026-11-23 23:40` (UTC). */
export function invocationRunName(specName: string, at: number): string {
  return `${specName} @ ${new Date(at).toISOString().slice(0, 16).replace('T', ' ')}`;
}

/** Pushes runs to the server in the background; the first failure turns it off for good. */
class ServerMirror {
  private chain: Promise<void> = Promise.resolve();
  private failed = false;
  private readonly pending = new Set<string>();

  constructor(
    private readonly syncer: StoreSyncer,
    private readonly experimentName: string,
    private readonly log: (m: string) => void,
  ) {}

  push(ref: RunRef): void {
    const key = `${ref.experimentId}/${ref.runId}`;
    if (this.failed || this.pending.has(key)) return;
    this.pending.add(key);
    this.chain = this.chain.then(async () => {
      this.pending.delete(key);
      if (this.failed) return;
      try {
        await this.syncer.syncRun(ref.experimentId, ref.runId, this.experimentName);
      } catch (e) {
        this.failed = true;
        this.log(
          `MLflow server ${this.syncer.client.baseUrl} failed (${(e as Error).message}). ` +
            `The run goes on; everything is kept in ${this.syncer.storeRoot}. Push it later with: exp sync --to ${this.syncer.client.baseUrl}`,
        );
      }
    });
  }

  async drain(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((r) => {
      timer = setTimeout(() => r(false), timeoutMs);
    });
    const done = await Promise.race([this.chain.then(() => true as const), timeout]);
    clearTimeout(timer);
    return done;
  }
}

export async function openTracker(opts: TrackerOptions): Promise<Tracker> {
  const now = opts.now ?? Date.now;
  const store = new FileStore(join(opts.runsDir, 'mlruns'), { now });
  const experiment = await store.getOrCreateExperiment(opts.experimentName);
  let mirror: ServerMirror | null = null;
  const serverUri = serverUriOf(opts.trackingUri, store.root, opts.log);
  if (serverUri) {
    const env = opts.env ?? process.env;
    // Bounded: a server that accepts connections and never answers costs one timeout, after
    // which the mirror is off for the rest of the run (the first failure turns it off).
    const timeoutMs = opts.serverTimeoutMs ?? timeoutFromEnv(env) ?? 10_000;
    const client = new MlflowRestClient({
      trackingUri: serverUri,
      ...authFromEnv(env),
      retry: opts.retry ?? retryFromEnv(env),
      timeoutMs,
      budgetMs: opts.serverBudgetMs ?? Math.max(25_000, timeoutMs),
      retryTimeouts: false,
    });
    mirror = new ServerMirror(new StoreSyncer(store.root, client, opts.log), opts.experimentName, opts.log);
  }
  const experimentId = experiment.experimentId;

  const makeRun = (ref: RunRef, label: string): TrackedRun => ({
    runId: ref.runId,
    experimentId: ref.experimentId,
    async logMetrics(metrics) {
      await store.logMetrics(ref, checkMetrics(label, metrics, now()));
    },
    async logParams(params) {
      await store.logParams(ref, await longParamsToArtifacts(ref, checkParams(label, params)));
    },
    async setTags(tags) {
      await store.setTags(ref, checkTags(label, tags));
    },
    async logArtifact(localPath, artifactPath) {
      await store.logArtifact(ref, localPath, artifactPath);
    },
    async end(status) {
      await store.endRun(ref, status, now());
      mirror?.push(ref);
    },
  });

  /** A value over 6000 characters goes to `params/<key>.txt`; the param holds a reference. */
  const longParamsToArtifacts = async (
    ref: RunRef,
    params: Record<string, string>,
  ): Promise<Record<string, string>> => {
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(params)) {
      if (value.length <= MAX_PARAM_VALUE_LENGTH) out[key] = value;
      else {
        const rel = `params/${key}.txt`;
        await store.writeArtifact(ref, rel, value);
        out[key] = `(${value.length} characters: see artifact ${rel})`;
      }
    }
    return out;
  };

  return {
    storeRoot: store.root,
    experimentId,
    serverUri,
    async startInvocation(start) {
      const label = `invocation ${start.invocationId}`;
      const startTime = now();
      const tags = checkTags(label, {
        'mlflow.source.name': start.sourceName,
        'mlflow.source.type': 'LOCAL',
        'mlflow.user': start.user,
        'exp.spec': start.specFile,
        'exp.invocation': start.invocationId,
        ...(start.gitCommit ? { 'mlflow.source.git.commit': start.gitCommit } : {}),
      });
      const info = await store.createRun({
        experimentId,
        runName: invocationRunName(start.specName, startTime),
        userId: start.user,
        startTime,
        sourceName: start.sourceName,
        sourceVersion: start.gitCommit ?? '',
        tags,
      });
      const parentRef: RunRef = { experimentId, runId: info.runId };
      await store.writeArtifact(parentRef, 'spec.resolved.yaml', start.resolvedSpecYaml);
      mirror?.push(parentRef);
      const parent = makeRun(parentRef, `run ${JSON.stringify(info.runName)} (${info.runId})`);
      return {
        ...parent,
        async startPoint(point) {
          const pointLabel = `point ${JSON.stringify(point.name)} (${point.pointId})`;
          const params = checkParams(pointLabel, point.params);
          const extra = checkTags(pointLabel, point.tags ?? {});
          const pointTags = {
            ...extra,
            'mlflow.parentRunId': info.runId,
            'mlflow.source.name': start.sourceName,
            'mlflow.source.type': 'LOCAL',
            'mlflow.user': start.user,
            'exp.point_id': point.pointId,
            'exp.spec': start.specFile,
            'exp.invocation': start.invocationId,
            ...(start.gitCommit ? { 'mlflow.source.git.commit': start.gitCommit } : {}),
          };
          const short: Record<string, string> = {};
          const long: Record<string, string> = {};
          for (const [k, v] of Object.entries(params)) (v.length > MAX_PARAM_VALUE_LENGTH ? long : short)[k] = v;
          const child = await store.createRun({
            experimentId,
            runName: point.name,
            userId: start.user,
            startTime: now(),
            sourceName: start.sourceName,
            sourceVersion: start.gitCommit ?? '',
            tags: pointTags,
            params: short,
          });
          const ref: RunRef = { experimentId, runId: child.runId };
          if (Object.keys(long).length > 0) await store.logParams(ref, await longParamsToArtifacts(ref, long));
          mirror?.push(ref);
          return makeRun(ref, `point ${JSON.stringify(point.name)} (${point.pointId}, run ${child.runId})`);
        },
      };
    },
    async close() {
      await store.flush();
      if (mirror && !(await mirror.drain(opts.closeTimeoutMs ?? 60_000))) {
        opts.log(
          `MLflow server ${serverUri} is still busy; what was not pushed is in ${store.root}: run exp sync --to ${serverUri}`,
        );
      }
    },
  };
}
