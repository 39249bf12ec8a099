// Canonical JSON and short hashes, the one encoder for every room: point ids (spec) and node keys
// (plan) depend on it being identical on every machine, so key order never leaks into a hash, and
// NaN/±Infinity are encoded as the strings "NaN"/"Infinity"/"-Infinity" (JSON has no such
// numbers; writing them as null would make NaN and null the same params).
import { createHash } from 'node:crypto';

// Objects frozen by deepFreeze never change, so their canonical JSON is computed once: the
// params of a stage shared by 1,000 grid points are serialised once, not 1,000 times.
const frozen = new WeakSet<object>();
const memo = new WeakMap<object, string>();

/** Freezes `value` and everything below it (and remembers it as immutable for canonicalJson). */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !frozen.has(value)) {
    for (const item of Object.values(value as object)) deepFreeze(item);
    Object.freeze(value);
    frozen.add(value);
  }
  return value;
}

/** JSON with object keys sorted (recursively); `undefined` members dropped, like JSON.stringify. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) return JSON.stringify(String(value));
    const text = JSON.stringify(value);
    return text === undefined ? 'null' : text;
  }
  if (!frozen.has(value)) return serialise(value);
  let text = memo.get(value);
  if (text === undefined) {
    text = serialise(value);
    memo.set(value, text);
  }
  return text;
}

function serialise(value: object): string {
  if (Array.isArray(value))
    return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const item = record[key];
    if (item === undefined || typeof item === 'function') continue;
    out += `${first ? '' : ','}${JSON.stringify(key)}:${canonicalJson(item)}`;
    first = false;
  }
  return `${out}}`;
}

/** First `length` hex characters of the SHA-256 of `text` (default 12). */
export function shortHash(text: string, length = 12): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}
