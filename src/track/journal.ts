// When the MLflow file store cannot be written (a read-only mlruns/, a full disk at the start),
// tracking must not fail the run, and must not be lost either: the tracker calls of the run are
// recorded, one JSON line each, in `<runs>/mlflow-pending/<invocation>.jsonl` (with the time each
// happened), and `exp sync` replays them into the file store later through the real tracker, so
// the runs get the same params, metrics, tags, artifacts and times as a run tracked directly.
//
// Exactly once: a replayed journal is deleted; runs that an interrupted replay (or the failed
// start of the tracked run) left for the same invocation are removed before a replay, so the
// store never holds an invocation twice. Artifacts are copied from the node folders in the
// cache at replay time: a node removed meanwhile (exp gc) loses its artifacts, with a warning.
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { readdir, readFile, rm, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ownStartTime, processAlive } from '../process-identity.ts';
import { findExperimentByName, listRuns } from './file-store-read.ts';
import {
  type InvocationRun,
  type InvocationStart,
  openTracker,
  type PointStart,
  type Tracker,
  type TrackedRun,
} from './tracker.ts';
import type { EndStatus, MetricInput, ParamValue } from './types.ts';
import { checkMetrics, checkParams, checkTags } from './validate.ts';

/** `<runs>/mlflow-pending`: the journals of runs whose tracking could not be written. */
export function pendingDir(runsDir: string): string {
  return path.join(path.resolve(runsDir), 'mlflow-pending');
}

type Event =
  | {
      t: 'start';
      at: number;
      experimentName: string;
      start: InvocationStart;
      pid: number;
      /** The writer's process start time (process-identity.ts): a reused pid is not the writer. */
      pidStart?: number;
      host: string;
    }
  | { t: 'point'; at: number; ref: string; point: PointStart }
  | { t: 'metrics'; at: number; ref: string; metrics: MetricInput[] }
  | { t: 'params'; at: number; ref: string; params: Record<string, ParamValue> }
  | { t: 'tags'; at: number; ref: string; tags: Record<string, string> }
  | { t: 'artifact'; at: number; ref: string; localPath: string; artifactPath?: string }
  | { t: 'end'; at: number; ref: string; status: EndStatus };

const PARENT = 'parent';

/**
 * A Tracker that records every call in a journal instead of writing the file store. Its run ids
 * are placeholders (`pending-<n>`); the replay gives the real ones. Calls are checked like the
 * real tracker's, so a journal never holds what the store would refuse.
 */
export function openJournalTracker(opts: {
  runsDir: string;
  experimentName: string;
  now?: () => number;
}): Tracker & { journalFile(): string | undefined } {
  const now = opts.now ?? Date.now;
  let file: string | undefined;
  let points = 0;
  const write = (e: Event): void => {
    if (!file) throw new Error('journal: startInvocation first');
    appendFileSync(file, `${JSON.stringify(e)}\n`);
  };
  const makeRun = (ref: string, label: string): TrackedRun => ({
    runId: `pending-${ref}`,
    experimentId: 'pending',
    async logMetrics(metrics) {
      write({ t: 'metrics', at: now(), ref, metrics: checkMetrics(label, metrics, now()) });
    },
    async logParams(params) {
      checkParams(label, params);
      write({ t: 'params', at: now(), ref, params });
    },
    async setTags(tags) {
      write({ t: 'tags', at: now(), ref, tags: checkTags(label, tags) });
    },
    async logArtifact(localPath, artifactPath) {
      write({ t: 'artifact', at: now(), ref, localPath: path.resolve(localPath), artifactPath });
    },
    async end(status) {
      write({ t: 'end', at: now(), ref, status });
    },
  });
  return {
    storeRoot: path.join(path.resolve(opts.runsDir), 'mlruns'),
    experimentId: 'pending',
    serverUri: undefined,
    journalFile: () => file,
    async startInvocation(start): Promise<InvocationRun> {
      const dir = pendingDir(opts.runsDir);
      mkdirSync(dir, { recursive: true });
      file = path.join(dir, `${start.invocationId}.jsonl`);
      write({
        t: 'start',
        at: now(),
        experimentName: opts.experimentName,
        start,
        pid: process.pid,
        pidStart: ownStartTime(),
        host: os.hostname(),
      });
      const parent = makeRun(PARENT, `invocation ${start.invocationId}`);
      return {
        ...parent,
        async startPoint(point) {
          const label = `point ${JSON.stringify(point.name)} (${point.pointId})`;
          checkParams(label, point.params);
          checkTags(label, point.tags ?? {});
          const ref = `p${points++}`;
          write({ t: 'point', at: now(), ref, point });
          return makeRun(ref, label);
        },
      };
    },
    async close() {},
  };
}

export interface ReplaySummary {
  /** Journals replayed (one per `exp run` whose tracking was pending). */
  invocations: number;
  /** MLflow runs written (parents and points). */
  runs: number;
  /** Artifacts whose source was gone (a node removed by exp gc). */
  artifactsMissing: number;
}

/**
 * Writes every pending journal of a runs folder into its MLflow file store (`<runs>/mlruns`),
 * oldest first, and deletes each journal once it is in. Throws (the store still unwritable) with
 * the journals left for the next try.
 */
export async function replayPending(runsDir: string, log: (m: string) => void = () => {}): Promise<ReplaySummary> {
  const dir = pendingDir(runsDir);
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.jsonl')).sort();
  const summary: ReplaySummary = { invocations: 0, runs: 0, artifactsMissing: 0 };
  for (const name of names) {
    const file = path.join(dir, name);
    const events = parseJournal(await readFile(file, 'utf8'), file, log);
    const first = events[0];
    if (first?.t !== 'start') {
      log(`${file} holds no run start; removed`);
      await unlink(file);
      continue;
    }
    if (stillRunning(first, events)) {
      log(
        `${file}: exp run ${first.start.invocationId} is still running (pid ${first.pid}); left for a later exp sync`,
      );
      continue;
    }
    await removeRunsOf(runsDir, first.experimentName, first.start.invocationId);
    let clock = first.at;
    const tracker = await openTracker({
      runsDir,
      experimentName: first.experimentName,
      log,
      now: () => clock,
    });
    const runs = new Map<string, TrackedRun>();
    let invocation: InvocationRun | undefined;
    for (const e of events) {
      clock = e.at;
      if (e.t === 'start') {
        invocation = await tracker.startInvocation(e.start);
        await invocation.setTags({ 'exp.replayed': 'true' });
        runs.set(PARENT, invocation);
        summary.runs++;
        continue;
      }
      if (e.t === 'point') {
        const run = await invocation!.startPoint({ ...e.point, tags: { ...e.point.tags, 'exp.replayed': 'true' } });
        runs.set(e.ref, run);
        summary.runs++;
        continue;
      }
      const run = runs.get(e.ref);
      if (!run) continue;
      if (e.t === 'metrics') await run.logMetrics(e.metrics);
      else if (e.t === 'params') await run.logParams(e.params);
      else if (e.t === 'tags') await run.setTags(e.tags);
      else if (e.t === 'end') await run.end(e.status);
      else if (e.t === 'artifact') {
        if (existsSync(e.localPath)) await run.logArtifact(e.localPath, e.artifactPath);
        else {
          summary.artifactsMissing++;
          log(`artifact ${e.localPath} is gone (exp gc?); the replayed run goes without it`);
        }
      }
    }
    await tracker.close();
    await unlink(file);
    summary.invocations++;
  }
  return summary;
}

/** The run that writes this journal is alive (same host, its pid exists) and has not ended. */
function stillRunning(first: Extract<Event, { t: 'start' }>, events: Event[]): boolean {
  if (events.some((e) => e.t === 'end' && e.ref === PARENT)) return false;
  if (first.host !== os.hostname() || first.pid === process.pid) return false;
  return processAlive(first.pid, first.pidStart);
}

function parseJournal(text: string, file: string, log: (m: string) => void): Event[] {
  const out: Event[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line) as Event);
    } catch {
      // The last line of a run killed while writing it; anything else is damage worth a word.
      if (i < lines.length - 2) log(`${file}:${i + 1} is not JSON; skipped`);
    }
  });
  return out;
}

/** Removes the runs an earlier, interrupted replay wrote for this invocation. */
async function removeRunsOf(runsDir: string, experimentName: string, invocationId: string): Promise<void> {
  const root = path.join(path.resolve(runsDir), 'mlruns');
  const exp = await findExperimentByName(root, experimentName).catch(() => null);
  if (!exp) return;
  for (const run of await listRuns(root, exp.experimentId)) {
    if (run.tags['exp.invocation'] === invocationId)
      await rm(path.join(root, exp.experimentId, run.info.runId), { recursive: true, force: true });
  }
}
