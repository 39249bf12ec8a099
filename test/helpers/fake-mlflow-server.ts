// An in-process MLflow tracking server for tests. It follows MLFLOW.md (what a real 3.x server
// was seen to do), not what our client expects: JSON 4xx bodies, HTML 404/405/500, Content-Type
// required on POST, batch limits and duplicate keys → 400, immutable params, silent truncation
// of long params/tags, fractional steps stored as 0, bare NaN stored as 0 with timestamp 0,
// JSON null values → 400, get-history without max_results returning nothing, paging with
// next_page_token, runs/search answering {} when nothing matches, unknown statuses ignored,
// artifacts PUT through the mlflow-artifacts proxy. `failNext` injects 5xx/429 answers.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

interface StoredMetric {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}
interface FakeRun {
  info: {
    run_id: string;
    run_uuid: string;
    experiment_id: string;
    run_name: string;
    user_id: string;
    status: string;
    start_time: number;
    end_time?: number;
    artifact_uri: string;
    lifecycle_stage: string;
  };
  params: Map<string, string>;
  tags: Map<string, string>;
  metrics: StoredMetric[];
}
interface FakeExperiment {
  experiment_id: string;
  name: string;
  artifact_location: string;
  lifecycle_stage: string;
  tags: Map<string, string>;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface FakeServerOptions {
  /** When set, every request must carry exactly this Authorization header (else 401). */
  requireAuthorization?: string;
}

const KEY = /^[A-Za-z0-9_ .:/-]+$/;
const STATUSES = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'];

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function keyOk(key: unknown): key is string {
  return (
    typeof key === 'string' &&
    key.length > 0 &&
    key.length <= 250 &&
    KEY.test(key) &&
    !key.startsWith('/') &&
    !key.split('/').includes('..')
  );
}

function wire(v: number): number | string {
  return Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : v;
}

/** Python's json.loads accepts bare NaN/Infinity tokens; mark them so log-batch can mimic MLflow. */
function parseLikePython(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    const marked = text.replace(/"(?:[^"\\]|\\.)*"|-?Infinity|NaN/g, (m) =>
      m.startsWith('"') ? m : '{"__bare__":true}',
    );
    return JSON.parse(marked); // throws again on truly malformed JSON → HTML 500
  }
}

export class FakeMlflowServer {
  readonly experiments = new Map<string, FakeExperiment>();
  readonly runs = new Map<string, FakeRun>();
  readonly artifacts = new Map<string, Buffer>();
  readonly requests: RecordedRequest[] = [];
  private failures: { status: number; count: number; match?: string; after: number }[] = [];
  private server: Server | null = null;
  private nextExperimentId = 1;
  url = '';

  constructor(private readonly options: FakeServerOptions = {}) {
    this.experiments.set('0', {
      experiment_id: '0',
      name: 'Default',
      artifact_location: 'mlflow-artifacts:/0',
      lifecycle_stage: 'active',
      tags: new Map(),
    });
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = null;
  }

  /** The next `count` requests (whose path contains `match`, when given) get `status`, after letting `after` of them through. */
  /** Accept connections and read requests, but never answer (a hung server); false answers again. */
  neverAnswer = false;

  failNext(count: number, status = 503, match?: string, after = 0): void {
    this.failures.push({ status, count, match, after });
  }

  /** Ends every injected failure: the server is healthy again. */
  clearFailures(): void {
    this.failures = [];
  }

  /** Requests to one API endpoint, e.g. `runs/log-batch`. */
  calls(endpoint: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path.endsWith(`/${endpoint}`));
  }

  runsOf(experimentName: string): FakeRun[] {
    const exp = [...this.experiments.values()].find((e) => e.name === experimentName);
    return exp ? [...this.runs.values()].filter((r) => r.info.experiment_id === exp.experiment_id) : [];
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://x');
    const rec: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...req.headers },
      body: raw.toString('utf8'),
    };
    this.requests.push(rec);
    if (this.neverAnswer) return;

    const failure = this.failures.find((f) => f.count > 0 && (!f.match || url.pathname.includes(f.match)));
    if (failure && failure.after > 0) failure.after--;
    else if (failure) {
      failure.count--;
      if (failure.status === 429)
        return this.json(res, 429, { error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'Too many requests' });
      return this.html(res, failure.status, `${failure.status} Server Error`);
    }
    if (
      this.options.requireAuthorization !== undefined &&
      req.headers.authorization !== this.options.requireAuthorization
    ) {
      return this.json(res, 401, { error_code: 'UNAUTHENTICATED', message: 'You are not authenticated.' });
    }

    if (url.pathname.startsWith('/api/2.0/mlflow-artifacts/artifacts/')) {
      const path = decodeURIComponent(url.pathname.slice('/api/2.0/mlflow-artifacts/artifacts/'.length));
      if (req.method === 'PUT') {
        this.artifacts.set(path, raw);
        return this.json(res, 200, {});
      }
      if (req.method === 'GET') {
        const data = this.artifacts.get(path);
        if (!data)
          return this.json(res, 404, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: `Artifact ${path} not found` });
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        return void res.end(data);
      }
      return this.html(res, 405, 'Method Not Allowed');
    }

    const routes: Record<string, [string, (body: Record<string, unknown>, q: Record<string, string>) => unknown]> = {
      '/api/2.0/mlflow/experiments/get-by-name': ['GET', (_b, q) => this.getExperimentByName(q)],
      '/api/2.0/mlflow/experiments/create': ['POST', (b) => this.createExperiment(b)],
      '/api/2.0/mlflow/runs/create': ['POST', (b) => this.createRun(b)],
      '/api/2.0/mlflow/runs/log-batch': ['POST', (b) => this.logBatch(b, raw.length)],
      '/api/2.0/mlflow/runs/update': ['POST', (b) => this.updateRun(b)],
      '/api/2.0/mlflow/runs/get': ['GET', (_b, q) => ({ run: this.runView(this.mustRun(q.run_id)) })],
      '/api/2.0/mlflow/runs/search': ['POST', (b) => this.searchRuns(b)],
      '/api/2.0/mlflow/metrics/get-history': ['GET', (_b, q) => this.getHistory(q)],
    };
    const route = routes[url.pathname];
    if (!route) return this.html(res, 404, 'Not Found');
    if (route[0] !== req.method) return this.html(res, 405, 'Method Not Allowed');
    let body: Record<string, unknown> = {};
    if (req.method === 'POST') {
      if (!String(req.headers['content-type'] ?? '').includes('application/json')) {
        return this.json(res, 400, {
          error_code: 'BAD_REQUEST',
          message: "Bad Request. Content-Type must be 'application/json'",
        });
      }
      try {
        body = parseLikePython(raw.toString('utf8')) as Record<string, unknown>;
      } catch {
        return this.html(res, 500, 'Internal Server Error');
      }
    }
    try {
      this.json(res, 200, route[1](body, rec.query));
    } catch (e) {
      if (e instanceof ApiError) return this.json(res, e.status, { error_code: e.code, message: e.message });
      this.html(res, 500, 'Internal Server Error');
    }
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private html(res: ServerResponse, status: number, title: string): void {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
    res.end(
      `<!doctype html>\n<html lang=en>\n<title>${title}</title>\n<h1>${title}</h1>\n<p>The server could not handle the request.</p>\n`,
    );
  }

  private getExperimentByName(q: Record<string, string>): unknown {
    const e = [...this.experiments.values()].find((x) => x.name === q.experiment_name);
    if (!e)
      throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Could not find experiment with name '${q.experiment_name}'`);
    return {
      experiment: {
        experiment_id: e.experiment_id,
        name: e.name,
        artifact_location: e.artifact_location,
        lifecycle_stage: e.lifecycle_stage,
        tags: [...e.tags].map(([key, value]) => ({ key, value })),
      },
    };
  }

  private createExperiment(b: Record<string, unknown>): unknown {
    if (typeof b.name !== 'string' || b.name === '')
      throw new ApiError(400, 'INVALID_PARAMETER_VALUE', "Missing value for required parameter 'name'.");
    if ([...this.experiments.values()].some((e) => e.name === b.name))
      throw new ApiError(400, 'RESOURCE_ALREADY_EXISTS', `Experiment '${b.name}' already exists.`);
    const id = String(this.nextExperimentId++);
    const tags = new Map<string, string>();
    for (const t of (b.tags as { key: string; value: string }[] | undefined) ?? []) tags.set(t.key, t.value);
    this.experiments.set(id, {
      experiment_id: id,
      name: b.name,
      artifact_location: `mlflow-artifacts:/${id}`,
      lifecycle_stage: 'active',
      tags,
    });
    return { experiment_id: id };
  }

  private createRun(b: Record<string, unknown>): unknown {
    const expId = String(b.experiment_id ?? '0');
    if (!this.experiments.has(expId))
      throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `No Experiment with id=${expId} exists`);
    const runId = randomUUID().replace(/-/g, '');
    const tags = new Map<string, string>();
    for (const t of (b.tags as { key: string; value: string }[] | undefined) ?? []) {
      if (!keyOk(t.key)) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `Invalid tag name: '${t.key}'`);
      tags.set(t.key, String(t.value).slice(0, 8000));
    }
    const runName =
      typeof b.run_name === 'string' ? b.run_name : (tags.get('mlflow.runName') ?? `run-${runId.slice(0, 6)}`);
    tags.set('mlflow.runName', runName);
    const run: FakeRun = {
      info: {
        run_id: runId,
        run_uuid: runId,
        experiment_id: expId,
        run_name: runName,
        user_id: String(b.user_id ?? ''),
        status: 'RUNNING',
        start_time: Number(b.start_time ?? Date.now()),
        artifact_uri: `mlflow-artifacts:/${expId}/${runId}/artifacts`,
        lifecycle_stage: 'active',
      },
      params: new Map(),
      tags,
      metrics: [],
    };
    this.runs.set(runId, run);
    return { run: this.runView(run) };
  }

  private mustRun(id: unknown): FakeRun {
    const run = typeof id === 'string' ? this.runs.get(id) : undefined;
    if (!run) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Run '${String(id)}' not found`);
    return run;
  }

  private logBatch(b: Record<string, unknown>, bytes: number): unknown {
    const run = this.mustRun(b.run_id);
    const metrics = (b.metrics as Record<string, unknown>[] | undefined) ?? [];
    const params = (b.params as { key: string; value: unknown }[] | undefined) ?? [];
    const tags = (b.tags as { key: string; value: unknown }[] | undefined) ?? [];
    const bad = (m: string) => new ApiError(400, 'INVALID_PARAMETER_VALUE', m);
    if (metrics.length > 1000)
      throw bad(`A batch logging request can contain at most 1000 metrics. Got ${metrics.length} metrics.`);
    if (params.length > 100)
      throw bad(`A batch logging request can contain at most 100 params. Got ${params.length} params.`);
    if (tags.length > 100) throw bad(`A batch logging request can contain at most 100 tags. Got ${tags.length} tags.`);
    if (metrics.length + params.length + tags.length > 1000)
      throw bad('A batch logging request can contain at most 1000 total items.');
    if (bytes > 1_000_000) throw bad('Batched logging API requests must be at most 1 MB in size.');
    // Validate the whole batch first: a bad item rejects everything (SQL stores are atomic).
    const seen = new Set<string>();
    for (const p of params) {
      if (!keyOk(p.key)) throw bad(`Invalid parameter name: '${p.key}'`);
      if (seen.has(p.key)) throw bad(`Duplicate parameter keys have been submitted: ['${p.key}']`);
      seen.add(p.key);
      const value = String(p.value ?? '').slice(0, 6000);
      const old = run.params.get(p.key);
      if (old !== undefined && old !== value)
        throw bad(
          `Changing param values is not allowed. Param with key='${p.key}' was already logged with value='${old}' for run ID='${run.info.run_id}'. Attempted logging new value '${value}'.`,
        );
    }
    const seenTags = new Set<string>();
    for (const t of tags) {
      if (!keyOk(t.key)) throw bad(`Invalid tag name: '${t.key}'`);
      if (seenTags.has(t.key)) throw bad(`Duplicate tag keys have been submitted: ['${t.key}']`);
      seenTags.add(t.key);
    }
    const stored: StoredMetric[] = [];
    for (const m of metrics) {
      if (!keyOk(m.key)) throw bad(`Invalid metric name: '${String(m.key)}'`);
      const v = m.value;
      if (v === null || v === undefined)
        throw bad(
          `Missing value for required parameter 'metrics[].value'. See the API docs for more information about request parameters.`,
        );
      if (typeof v === 'object' && (v as { __bare__?: boolean }).__bare__) {
        stored.push({ key: m.key as string, value: 0, timestamp: 0, step: 0 });
        continue;
      }
      const value =
        typeof v === 'string'
          ? v === 'NaN'
            ? NaN
            : v === 'Infinity'
              ? Infinity
              : v === '-Infinity'
                ? -Infinity
                : Number.NaN
          : Number(v);
      if (typeof v === 'string' && !['NaN', 'Infinity', '-Infinity'].includes(v))
        throw bad(`Invalid value '${v}' for parameter 'metrics[].value'`);
      const step = Number(m.step ?? 0);
      stored.push({
        key: m.key as string,
        value,
        timestamp: Number(m.timestamp ?? 0),
        step: Number.isInteger(step) ? step : 0,
      });
    }
    for (const p of params) run.params.set(p.key, String(p.value ?? '').slice(0, 6000));
    for (const t of tags) run.tags.set(t.key, String(t.value ?? '').slice(0, 8000));
    run.metrics.push(...stored);
    return {};
  }

  private updateRun(b: Record<string, unknown>): unknown {
    const run = this.mustRun(b.run_id);
    if (typeof b.status === 'string' && STATUSES.includes(b.status)) run.info.status = b.status;
    if (typeof b.end_time === 'number') run.info.end_time = b.end_time;
    if (typeof b.run_name === 'string') {
      run.info.run_name = b.run_name;
      run.tags.set('mlflow.runName', b.run_name);
    }
    return { run_info: run.info };
  }

  private latest(run: FakeRun): StoredMetric[] {
    const best = new Map<string, StoredMetric>();
    for (const m of run.metrics) {
      const b = best.get(m.key);
      if (
        !b ||
        m.step > b.step ||
        (m.step === b.step && (m.timestamp > b.timestamp || (m.timestamp === b.timestamp && m.value > b.value)))
      )
        best.set(m.key, m);
    }
    return [...best.values()];
  }

  private runView(run: FakeRun): unknown {
    return {
      info: run.info,
      data: {
        metrics: this.latest(run).map((m) => ({ ...m, value: wire(m.value) })),
        params: [...run.params].map(([key, value]) => ({ key, value })),
        tags: [...run.tags].map(([key, value]) => ({ key, value })),
      },
    };
  }

  private searchRuns(b: Record<string, unknown>): unknown {
    const ids = ((b.experiment_ids as unknown[] | undefined) ?? []).map(String);
    const clauses = parseFilter(typeof b.filter === 'string' ? b.filter : '');
    const all = [...this.runs.values()].filter(
      (r) => ids.includes(r.info.experiment_id) && clauses.every((c) => c(r, this.latest(r))),
    );
    const max = Number(b.max_results ?? 1000);
    if (max > 50000)
      throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `Invalid value ${max} for parameter 'max_results'`);
    const offset =
      typeof b.page_token === 'string' && b.page_token ? Number(Buffer.from(b.page_token, 'base64').toString()) : 0;
    const page = all.slice(offset, offset + max);
    if (page.length === 0) return {};
    const out: Record<string, unknown> = { runs: page.map((r) => this.runView(r)) };
    if (offset + max < all.length) out.next_page_token = Buffer.from(String(offset + max)).toString('base64');
    return out;
  }

  private getHistory(q: Record<string, string>): unknown {
    const run = this.mustRun(q.run_id);
    if (!q.metric_key)
      throw new ApiError(400, 'INVALID_PARAMETER_VALUE', "Missing value for required parameter 'metric_key'.");
    // MLflow 3.4-3.13: without max_results nothing comes back.
    if (q.max_results === undefined) return {};
    const max = Number(q.max_results);
    if (!Number.isInteger(max) || max < 1 || max > 25000)
      throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `Invalid value ${q.max_results} for parameter 'max_results'`);
    const hist = run.metrics.filter((m) => m.key === q.metric_key);
    const offset = q.page_token ? Number(Buffer.from(q.page_token, 'base64').toString()) : 0;
    const page = hist.slice(offset, offset + max);
    const out: Record<string, unknown> = { metrics: page.map((m) => ({ ...m, value: wire(m.value) })) };
    if (offset + max < hist.length) out.next_page_token = Buffer.from(String(offset + max)).toString('base64');
    return out;
  }
}

type Clause = (run: FakeRun, latest: StoredMetric[]) => boolean;

/** The subset of MLflow's search grammar the tests use: clauses joined by AND. */
function parseFilter(filter: string): Clause[] {
  if (filter.trim() === '') return [];
  return filter.split(/\s+and\s+/i).map((part) => {
    const m =
      /^\s*(params?|tags?|metrics?|attributes?)\.(`[^`]+`|"[^"]+"|[\w.:/-]+)\s*(=|!=|>=|<=|>|<|LIKE)\s*('(?:[^']*)'|"(?:[^"]*)"|-?[\d.]+(?:e-?\d+)?)\s*$/i.exec(
        part,
      );
    if (!m) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `Invalid filter '${part.trim()}'`);
    const [, kind, rawKey, op, rawValue] = m as unknown as [string, string, string, string, string];
    const key = /^[`"]/.test(rawKey) ? rawKey.slice(1, -1) : rawKey;
    const quoted = /^['"]/.test(rawValue);
    const value = quoted ? rawValue.slice(1, -1) : Number(rawValue);
    const kindL = kind.toLowerCase().replace(/s$/, '');
    if ((kindL === 'param' || kindL === 'tag') && !quoted)
      throw new ApiError(
        400,
        'INVALID_PARAMETER_VALUE',
        `Parameter value is either not quoted or unidentified quote types used for string value ${rawValue}`,
      );
    const cmp = (a: string | number | undefined): boolean => {
      if (a === undefined) return false;
      switch (op.toUpperCase()) {
        case '=':
          return a === value;
        case '!=':
          return a !== value;
        case '>':
          return a > value;
        case '>=':
          return a >= value;
        case '<':
          return a < value;
        case '<=':
          return a <= value;
        default:
          return (
            typeof a === 'string' &&
            new RegExp(
              `^${String(value)
                .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
                .replace(/%/g, '.*')
                .replace(/_/g, '.')}$`,
            ).test(a)
          );
      }
    };
    return (run, latest) => {
      if (kindL === 'param') return cmp(run.params.get(key));
      if (kindL === 'tag') return cmp(run.tags.get(key));
      if (kindL === 'metric') return cmp(latest.find((x) => x.key === key)?.value);
      const attr = (run.info as unknown as Record<string, string | number | undefined>)[key];
      return cmp(attr);
    };
  });
}
