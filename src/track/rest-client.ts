// A small typed client for MLflow's REST API (/api/2.0/mlflow/...), following the verified
// limits and quirks of MLflow's server (checked against MLflow 3.11, see src/track/README.md): batches chunked to the server's limits, NaN/±Infinity sent as
// strings, get-history always with max_results and page tokens, retries with backoff on network
// errors, 429 and 5xx only. Credentials go into the Authorization header and nowhere else.
import { ExpError } from '../errors.ts';
import { MAX_PARAM_VALUE_LENGTH, MAX_TAG_VALUE_LENGTH } from './validate.ts';
import type { EndStatus, MetricPoint, RunStatus } from './types.ts';

export const BATCH_LIMITS = { metrics: 1000, params: 100, tags: 100, items: 1000, bytes: 1_000_000 } as const;
export const HISTORY_PAGE_SIZE = 25_000;

export interface RetryOptions {
  /** Attempts after the first (default 4). */
  retries?: number;
  /** Delay before retry number `attempt` (1-based), in ms (default 500 · 2^(attempt-1), ±20 %). */
  delayMs?: (attempt: number) => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface RestClientOptions {
  /** http(s)://host[:port][/prefix] of the tracking server. */
  trackingUri: string;
  /** Bearer token (MLFLOW_TRACKING_TOKEN). */
  token?: string;
  /** Basic auth (MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD). */
  username?: string;
  password?: string;
  retry?: RetryOptions;
  /** Per-request timeout, connecting included (default 30 s). */
  timeoutMs?: number;
  /**
   * Total time all of this client's requests may take together (default: unbounded). Once
   * spent, requests fail at once; a request never waits past what is left.
   */
  budgetMs?: number;
  /**
   * Retry a request that timed out (default true). false: the first timeout is final, for that
   * request and every later one of this client (a circuit breaker: later calls fail at once).
   */
  retryTimeouts?: boolean;
  now?: () => number;
  fetch?: typeof fetch;
}

/** Reads the auth settings from MLFLOW_TRACKING_* variables. */
export function authFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): Pick<RestClientOptions, 'token' | 'username' | 'password'> {
  return {
    token: env.MLFLOW_TRACKING_TOKEN || undefined,
    username: env.MLFLOW_TRACKING_USERNAME || undefined,
    password: env.MLFLOW_TRACKING_PASSWORD || undefined,
  };
}

/**
 * Retry settings from MLflow's own variables: MLFLOW_HTTP_REQUEST_MAX_RETRIES (default 4 here)
 * and MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR (seconds; delay = factor · 2^(attempt-1), default 0.5).
 */
export function retryFromEnv(env: NodeJS.ProcessEnv = process.env): RetryOptions {
  const out: RetryOptions = {};
  const retries = Number(env.MLFLOW_HTTP_REQUEST_MAX_RETRIES);
  if (env.MLFLOW_HTTP_REQUEST_MAX_RETRIES !== undefined && Number.isInteger(retries) && retries >= 0)
    out.retries = retries;
  const factor = Number(env.MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR);
  if (env.MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR !== undefined && Number.isFinite(factor) && factor >= 0)
    out.delayMs = (a) => factor * 1000 * 2 ** (a - 1);
  return out;
}

/** MLFLOW_HTTP_REQUEST_TIMEOUT (seconds, as MLflow reads it) in ms, when set to a positive number. */
export function timeoutFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const ms = Number(env.MLFLOW_HTTP_REQUEST_TIMEOUT) * 1000;
  return env.MLFLOW_HTTP_REQUEST_TIMEOUT && Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

export function isHttpUri(uri: string | undefined): uri is string {
  return typeof uri === 'string' && /^https?:\/\//i.test(uri);
}

/** An HTTP error from the server (after retries when it was retryable). */
export class MlflowHttpError extends Error {
  readonly status: number;
  readonly errorCode: string | undefined;
  readonly endpoint: string;
  constructor(endpoint: string, status: number, errorCode: string | undefined, message: string) {
    super(`MLflow ${endpoint} answered ${status}${errorCode ? ` ${errorCode}` : ''}: ${message}`);
    this.name = 'MlflowHttpError';
    this.status = status;
    this.errorCode = errorCode;
    this.endpoint = endpoint;
  }
}

export interface ServerExperiment {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  lifecycle_stage?: string;
  tags?: { key: string; value: string }[];
}

export interface ServerRunInfo {
  run_id: string;
  run_uuid?: string;
  experiment_id: string;
  run_name?: string;
  user_id?: string;
  status: RunStatus;
  start_time?: number;
  end_time?: number;
  artifact_uri?: string;
  lifecycle_stage?: string;
}

export interface ServerRun {
  info: ServerRunInfo;
  data: {
    metrics?: { key: string; value: number | string; timestamp: number; step: number }[];
    params?: { key: string; value: string }[];
    tags?: { key: string; value: string }[];
  };
}

export interface BatchInput {
  metrics?: readonly MetricPoint[];
  params?: Record<string, string>;
  tags?: Record<string, string>;
}

type WireMetric = { key: string; value: number | string; timestamp: number; step: number };

/** NaN and ±Infinity as the strings the server parses (JSON null is a 400, bare NaN becomes 0). */
export function wireValue(v: number): number | string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  return v;
}

export function valueFromWire(v: number | string): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return Number(v);
}

/**
 * Splits a batch into requests within the server's limits (≤1000 metrics, 100 params, 100 tags,
 * 1000 items, 1 MB). Params go first so that a run's configuration lands before its metrics.
 * Refuses what the server would silently damage or reject: a param over 6000 characters, a tag
 * over 8000, a fractional step.
 */
export function chunkBatch(
  runId: string,
  batch: BatchInput,
): { metrics: WireMetric[]; params: { key: string; value: string }[]; tags: { key: string; value: string }[] }[] {
  const items: (
    | { kind: 'params' | 'tags'; item: { key: string; value: string } }
    | { kind: 'metrics'; item: WireMetric }
  )[] = [];
  for (const [key, value] of Object.entries(batch.params ?? {})) {
    if (value.length > MAX_PARAM_VALUE_LENGTH) {
      throw new ExpError(
        'EXP_TRACK_INVALID',
        `param ${JSON.stringify(key)} of run ${runId} is ${value.length} characters long; the server would truncate it to ${MAX_PARAM_VALUE_LENGTH}`,
        { detail: { run: runId, key } },
      );
    }
    items.push({ kind: 'params', item: { key, value } });
  }
  for (const [key, value] of Object.entries(batch.tags ?? {})) {
    if (value.length > MAX_TAG_VALUE_LENGTH) {
      throw new ExpError(
        'EXP_TRACK_INVALID',
        `tag ${JSON.stringify(key)} of run ${runId} is ${value.length} characters long; the server would truncate it to ${MAX_TAG_VALUE_LENGTH}`,
        { detail: { run: runId, key } },
      );
    }
    items.push({ kind: 'tags', item: { key, value } });
  }
  for (const m of batch.metrics ?? []) {
    if (!Number.isSafeInteger(m.step) || !Number.isSafeInteger(m.timestamp)) {
      throw new ExpError(
        'EXP_TRACK_INVALID',
        `metric ${JSON.stringify(m.key)} of run ${runId}: step and timestamp must be integers (got step ${m.step}); the server would store a fractional step as 0`,
        { detail: { run: runId, key: m.key } },
      );
    }
    items.push({
      kind: 'metrics',
      item: { key: m.key, value: wireValue(m.value), timestamp: m.timestamp, step: m.step },
    });
  }
  const out: ReturnType<typeof chunkBatch> = [];
  const overhead = JSON.stringify({ run_id: runId, metrics: [], params: [], tags: [] }).length;
  let cur = {
    metrics: [] as WireMetric[],
    params: [] as { key: string; value: string }[],
    tags: [] as { key: string; value: string }[],
  };
  let bytes = overhead;
  const full = (kind: 'metrics' | 'params' | 'tags', size: number) =>
    cur[kind].length >= BATCH_LIMITS[kind] ||
    cur.metrics.length + cur.params.length + cur.tags.length >= BATCH_LIMITS.items ||
    bytes + size > BATCH_LIMITS.bytes;
  for (const { kind, item } of items) {
    const size = Buffer.byteLength(JSON.stringify(item)) + 1;
    if (full(kind, size)) {
      out.push(cur);
      cur = { metrics: [], params: [], tags: [] };
      bytes = overhead;
    }
    (cur[kind] as unknown[]).push(item);
    bytes += size;
  }
  if (cur.metrics.length + cur.params.length + cur.tags.length > 0) out.push(cur);
  return out;
}

const defaultDelay = (attempt: number) => 500 * 2 ** (attempt - 1) * (0.8 + Math.random() * 0.4);
const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class MlflowRestClient {
  readonly baseUrl: string;
  private readonly headers: Record<string, string>;
  private readonly retries: number;
  private readonly delayMs: (attempt: number) => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;
  private readonly retryTimeouts: boolean;
  private readonly now: () => number;
  /** Time left of budgetMs (Infinity when unbounded). */
  private budgetLeftMs: number;
  /** Set once a request timed out and retryTimeouts is false: why later requests are not tried. */
  private broken: string | undefined;

  constructor(opts: RestClientOptions) {
    if (!isHttpUri(opts.trackingUri))
      throw new ExpError('EXP_TRACK_INVALID', `tracking URI ${JSON.stringify(opts.trackingUri)} is not http(s)://`, {
        hint: 'set MLFLOW_TRACKING_URI=http://host:5000 or pass --to',
      });
    // Credentials written into the URI (http://user:pass@host) move to the header: never shown.
    const uri = new URL(opts.trackingUri);
    const userinfo = uri.username
      ? { username: decodeURIComponent(uri.username), password: decodeURIComponent(uri.password) }
      : null;
    uri.username = '';
    uri.password = '';
    this.baseUrl = uri.href.replace(/\/+$/, '');
    this.headers = {};
    if (userinfo && !opts.token && opts.username === undefined) opts = { ...opts, ...userinfo };
    if (opts.token) this.headers.authorization = `Bearer ${opts.token}`;
    else if (opts.username !== undefined && opts.password !== undefined)
      this.headers.authorization = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString('base64')}`;
    this.retries = opts.retry?.retries ?? 4;
    this.delayMs = opts.retry?.delayMs ?? defaultDelay;
    this.sleep = opts.retry?.sleep ?? defaultSleep;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.fetchImpl = opts.fetch ?? fetch;
    this.retryTimeouts = opts.retryTimeouts ?? true;
    this.now = opts.now ?? Date.now;
    this.budgetLeftMs = opts.budgetMs ?? Infinity;
  }

  /** The URL of an experiment in the server's UI. */
  experimentUrl(experimentId: string): string {
    return `${this.baseUrl}/#/experiments/${experimentId}`;
  }

  private async request<T>(
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    opts: { query?: Record<string, string | number | undefined>; body?: unknown; raw?: Uint8Array } = {},
  ): Promise<T> {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { ...this.headers };
    let body: string | Uint8Array | undefined;
    if (opts.raw) {
      headers['content-type'] = 'application/octet-stream';
      body = opts.raw;
    } else if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    const endpoint = path.replace(/^\/api\/2\.0\//, '');
    for (let attempt = 0; ; attempt++) {
      let retryable: Error;
      if (this.broken) throw new Error(`${this.broken}; ${endpoint} not tried`);
      if (this.budgetLeftMs <= 0)
        throw new Error(`MLflow at ${this.baseUrl} (${endpoint}): the time allowed for the tracking server is spent`);
      const timeoutMs = Math.max(1, Math.min(this.timeoutMs, this.budgetLeftMs));
      const started = this.now();
      try {
        const res = await this.fetchImpl(url, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
        const text = await res.text();
        if (res.ok) return (text.trim() === '' ? {} : JSON.parse(text)) as T;
        const err = httpError(endpoint, res.status, text);
        if (res.status !== 429 && res.status < 500) throw err;
        retryable = err;
      } catch (e) {
        if (e instanceof MlflowHttpError && e.status !== 429 && e.status < 500) throw e;
        if (
          (e as Error).name === 'TimeoutError' &&
          (!this.retryTimeouts || this.budgetLeftMs - (this.now() - started) <= 0)
        ) {
          const message = `MLflow at ${this.baseUrl} (${endpoint}) did not answer within ${(timeoutMs / 1000).toFixed(1)} s`;
          if (!this.retryTimeouts)
            this.broken = `MLflow at ${this.baseUrl} did not answer earlier (${endpoint}, ${(timeoutMs / 1000).toFixed(1)} s)`;
          throw new Error(message, { cause: e });
        }
        if (e instanceof SyntaxError)
          throw new Error(`MLflow ${endpoint} answered with a body that is not JSON`, { cause: e });
        retryable =
          e instanceof MlflowHttpError
            ? e
            : new Error(
                `cannot reach MLflow at ${this.baseUrl} (${endpoint}): ${(e as Error).message}${(e as Error & { cause?: { code?: string } }).cause?.code ? ` [${(e as Error & { cause: { code: string } }).cause.code}]` : ''}`,
                { cause: e },
              );
      } finally {
        this.budgetLeftMs -= this.now() - started;
      }
      if (attempt >= this.retries || this.budgetLeftMs <= 0) throw retryable;
      const delay = Math.min(this.delayMs(attempt + 1), this.budgetLeftMs);
      await this.sleep(delay);
      this.budgetLeftMs -= delay;
    }
  }

  async getExperimentByName(name: string): Promise<ServerExperiment | null> {
    try {
      const r = await this.request<{ experiment?: ServerExperiment }>(
        'GET',
        '/api/2.0/mlflow/experiments/get-by-name',
        { query: { experiment_name: name } },
      );
      return r.experiment ?? null;
    } catch (e) {
      if (e instanceof MlflowHttpError && e.status === 404) return null;
      throw e;
    }
  }

  async createExperiment(name: string, tags?: Record<string, string>): Promise<string> {
    const r = await this.request<{ experiment_id: string }>('POST', '/api/2.0/mlflow/experiments/create', {
      body: { name, tags: tags ? Object.entries(tags).map(([key, value]) => ({ key, value })) : undefined },
    });
    return String(r.experiment_id);
  }

  /** The experiment's id, created when missing (tolerates a concurrent create). */
  async getOrCreateExperiment(name: string): Promise<string> {
    const found = await this.getExperimentByName(name);
    if (found) return String(found.experiment_id);
    try {
      return await this.createExperiment(name);
    } catch (e) {
      if (e instanceof MlflowHttpError && e.errorCode === 'RESOURCE_ALREADY_EXISTS') {
        const again = await this.getExperimentByName(name);
        if (again) return String(again.experiment_id);
      }
      throw e;
    }
  }

  async createRun(opts: {
    experimentId: string;
    runName?: string;
    startTime: number;
    userId?: string;
    tags?: Record<string, string>;
  }): Promise<ServerRunInfo> {
    const r = await this.request<{ run: ServerRun }>('POST', '/api/2.0/mlflow/runs/create', {
      body: {
        experiment_id: opts.experimentId,
        run_name: opts.runName,
        start_time: opts.startTime,
        user_id: opts.userId,
        tags: Object.entries(opts.tags ?? {}).map(([key, value]) => ({ key, value })),
      },
    });
    return r.run.info;
  }

  /**
   * Logs a batch, split into as many requests as the server's limits need. Params and tags come
   * as records, so a key cannot appear twice (the server rejects duplicates with a 400).
   */
  async logBatch(runId: string, batch: BatchInput): Promise<void> {
    for (const chunk of chunkBatch(runId, batch)) {
      await this.request('POST', '/api/2.0/mlflow/runs/log-batch', { body: { run_id: runId, ...chunk } });
    }
  }

  async updateRun(runId: string, status: EndStatus | 'RUNNING', endTime?: number, runName?: string): Promise<void> {
    // The server ignores an unknown status without a word: only send the names it knows.
    if (!['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'].includes(status))
      throw new Error(`unknown run status ${status}`);
    await this.request('POST', '/api/2.0/mlflow/runs/update', {
      body: { run_id: runId, status, end_time: endTime, run_name: runName },
    });
  }

  async getRun(runId: string): Promise<ServerRun | null> {
    try {
      return (await this.request<{ run: ServerRun }>('GET', '/api/2.0/mlflow/runs/get', { query: { run_id: runId } }))
        .run;
    } catch (e) {
      if (e instanceof MlflowHttpError && e.status === 404) return null;
      throw e;
    }
  }

  /** Every run matching `filter` (pages followed; `{}` from the server means none). */
  async searchRuns(experimentIds: string[], filter = '', pageSize = 1000): Promise<ServerRun[]> {
    const out: ServerRun[] = [];
    let token: string | undefined;
    do {
      const r = await this.request<{ runs?: ServerRun[]; next_page_token?: string }>(
        'POST',
        '/api/2.0/mlflow/runs/search',
        {
          body: { experiment_ids: experimentIds, filter, max_results: pageSize, page_token: token },
        },
      );
      out.push(...(r.runs ?? []));
      token = r.next_page_token || undefined;
    } while (token);
    return out;
  }

  /** The whole history of a metric (always with max_results: without it 3.4-3.13 return nothing). */
  async getMetricHistory(runId: string, key: string, pageSize = HISTORY_PAGE_SIZE): Promise<MetricPoint[]> {
    const out: MetricPoint[] = [];
    let token: string | undefined;
    do {
      const r = await this.request<{ metrics?: WireMetric[]; next_page_token?: string }>(
        'GET',
        '/api/2.0/mlflow/metrics/get-history',
        {
          query: { run_id: runId, metric_key: key, max_results: pageSize, page_token: token },
        },
      );
      for (const m of r.metrics ?? [])
        out.push({
          key: m.key,
          value: valueFromWire(m.value),
          step: Number(m.step ?? 0),
          timestamp: Number(m.timestamp ?? 0),
        });
      token = r.next_page_token || undefined;
    } while (token);
    return out;
  }

  /** Uploads bytes through the mlflow-artifacts proxy; false when the run's store is not proxied. */
  async uploadArtifact(artifactUri: string, relativePath: string, data: Uint8Array): Promise<boolean> {
    const base = proxiedArtifactPath(artifactUri);
    if (base === null) return false;
    const path = [...base.split('/'), ...relativePath.split('/')]
      .filter((s) => s !== '')
      .map(encodeURIComponent)
      .join('/');
    await this.request('PUT', `/api/2.0/mlflow-artifacts/artifacts/${path}`, { raw: data });
    return true;
  }
}

/** `mlflow-artifacts:/1/abc/artifacts` or `mlflow-artifacts://host:5000/1/abc/artifacts` → `1/abc/artifacts`. */
export function proxiedArtifactPath(artifactUri: string): string | null {
  const m = /^mlflow-artifacts:(\/\/[^/]*)?\/?(.*)$/.exec(artifactUri);
  return m ? (m[2] ?? '').replace(/\/+$/, '') : null;
}

function httpError(endpoint: string, status: number, text: string): MlflowHttpError {
  try {
    const j = JSON.parse(text) as { error_code?: string; message?: string };
    if (j && typeof j === 'object' && (j.error_code || j.message))
      return new MlflowHttpError(endpoint, status, j.error_code, j.message ?? '');
  } catch {
    // HTML error page (404/405/500): keep its title or first words.
  }
  const title =
    /<title>([^<]*)<\/title>/i.exec(text)?.[1] ??
    text
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, 200);
  return new MlflowHttpError(endpoint, status, undefined, title || '(empty body)');
}
