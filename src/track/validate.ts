// Checks done before anything is written or sent (MLflow's key rules, and what its server silently accepts):
// a bad key or value is the user's (or a stage's) mistake, named with its run and key.
// `run` below is a label naming the run for the user (e.g. `point "k=20" (p3, run 3f2a…)`).
import { ExpError } from '../errors.ts';
import type { MetricInput, ParamValue } from './types.ts';

export const MAX_KEY_LENGTH = 250;
/** Longer param values are silently truncated by the server; the tracker moves them to an artifact. */
export const MAX_PARAM_VALUE_LENGTH = 6000;
/** Longer tag values are silently truncated by the server. */
export const MAX_TAG_VALUE_LENGTH = 8000;

const KEY_CHARS = /^[A-Za-z0-9_ .:/-]+$/;

/** Why `key` is not a valid MLflow metric/param/tag key, or null when it is. */
export function keyProblem(key: unknown): string | null {
  if (typeof key !== 'string') return `the key must be a string, got ${typeof key}`;
  if (key.length === 0) return 'the key is empty';
  if (key.length > MAX_KEY_LENGTH) return `the key is ${key.length} characters long (at most ${MAX_KEY_LENGTH})`;
  if (!KEY_CHARS.test(key)) {
    const bad = [...key].find((c) => !/[A-Za-z0-9_ .:/-]/.test(c));
    return `the key holds ${JSON.stringify(bad)}; only letters, digits, '_', '-', '.', ' ', ':' and '/' are allowed`;
  }
  if (key.startsWith('/')) return 'the key starts with "/"';
  if (key.split('/').some((seg) => seg === '..' || seg === '.')) return 'the key has a "." or ".." path segment';
  // A key that ends with '/' or holds '//' would name a folder, not a file, in the file store.
  if (key.endsWith('/') || key.includes('//')) return 'the key has an empty path segment ("//" or a trailing "/")';
  return null;
}

function invalid(what: string, run: string, key: string, problem: string, hint: string): ExpError {
  return new ExpError('EXP_TRACK_INVALID', `${what} ${JSON.stringify(key)} of ${run}: ${problem}`, {
    hint,
    detail: { run, key },
  });
}

const KEY_HINT =
  'use keys made of letters, digits and _ - . : / and space, at most 250 characters (e.g. "video.ap.drive")';

export function checkKey(kind: 'metric' | 'param' | 'tag', run: string, key: unknown): void {
  const problem = keyProblem(key);
  if (problem) throw invalid(kind, run, String(key), problem, KEY_HINT);
}

/** Validates a batch of metrics; returns them with step/timestamp filled in. */
export function checkMetrics(
  run: string,
  metrics: readonly MetricInput[],
  now: number,
): { key: string; value: number; step: number; timestamp: number }[] {
  if (!Array.isArray(metrics))
    throw new ExpError('EXP_TRACK_INVALID', `metrics of ${run} must be an array of {key, value, step?}`);
  return metrics.map((m) => {
    if (typeof m !== 'object' || m === null)
      throw new ExpError('EXP_TRACK_INVALID', `a metric of ${run} is not an object: ${JSON.stringify(m)}`);
    checkKey('metric', run, m.key);
    if (typeof m.value !== 'number') {
      throw invalid(
        'metric',
        run,
        m.key,
        `the value must be a number, got ${typeof m.value} ${JSON.stringify(m.value)}`,
        'log numbers only (NaN and ±Infinity are allowed)',
      );
    }
    const step = m.step ?? 0;
    if (typeof step !== 'number' || !Number.isSafeInteger(step)) {
      // The server silently turns a fractional step into 0: refuse it here.
      throw invalid(
        'metric',
        run,
        m.key,
        `the step must be an integer, got ${JSON.stringify(step)}`,
        'use the epoch or iteration number as step',
      );
    }
    const timestamp = m.timestamp ?? now;
    if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp) || timestamp < 0) {
      throw invalid(
        'metric',
        run,
        m.key,
        `the timestamp must be a non-negative integer (ms since epoch), got ${JSON.stringify(timestamp)}`,
        'omit the timestamp to use the current time',
      );
    }
    return { key: m.key, value: m.value, step, timestamp };
  });
}

/** Turns a param value into MLflow's string form (null → "None", like MLflow's Python client). */
export function paramToString(run: string, key: string, value: unknown): string {
  if (value === null) return 'None';
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf';
    return String(value);
  }
  throw invalid(
    'param',
    run,
    key,
    `the value must be a string, number, boolean or null, got ${Array.isArray(value) ? 'an array' : typeof value}`,
    'flatten objects and arrays to dotted keys before logging',
  );
}

export function checkParams(run: string, params: Record<string, ParamValue>): Record<string, string> {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw new ExpError('EXP_TRACK_INVALID', `params of ${run} must be an object of key → value`);
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    checkKey('param', run, key);
    out[key] = paramToString(run, key, value);
  }
  return out;
}

export function checkTags(run: string, tags: Record<string, string>): Record<string, string> {
  if (typeof tags !== 'object' || tags === null || Array.isArray(tags)) {
    throw new ExpError('EXP_TRACK_INVALID', `tags of ${run} must be an object of key → string`);
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(tags)) {
    checkKey('tag', run, key);
    if (typeof value !== 'string') {
      throw invalid(
        'tag',
        run,
        key,
        `the value must be a string, got ${typeof value}`,
        'convert tag values to strings',
      );
    }
    if (value.length > MAX_TAG_VALUE_LENGTH) {
      throw invalid(
        'tag',
        run,
        key,
        `the value is ${value.length} characters long (a server keeps only ${MAX_TAG_VALUE_LENGTH})`,
        'log long text as an artifact instead',
      );
    }
    out[key] = value;
  }
  return out;
}
