// Input data of a node: the files and folders its path params (`x-exp-path` in the kind's schema)
// point at. Node keys hash params as written, so a screenplay folder whose content changed under
// the same path would go unnoticed; a cheap fingerprint of what is there (relative path, size and
// modification time of every file, sorted) is kept in the manifest and compared at plan time.
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { JsonSchema } from './stage-kind.ts';

/** Names of the params a kind's schema marks as paths. */
export function pathParamNames(schema: JsonSchema): string[] {
  const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  return Object.entries(props)
    .filter(([, p]) => typeof p['x-exp-path'] === 'string')
    .map(([name]) => name)
    .sort();
}

const MAX_ENTRIES = 50_000;

/** sha256 of the sorted listing (path, size, mtime) under `target`; 'missing' when it is not there. */
export function fingerprintPath(target: string): string {
  const hash = createHash('sha256');
  let entries = 0;
  const visit = (abs: string, rel: string): void => {
    if (entries++ > MAX_ENTRIES) return;
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(abs);
    } catch {
      hash.update(`${rel}\0missing\n`);
      return;
    }
    if (st.isDirectory()) {
      let names: string[] = [];
      try {
        names = readdirSync(abs)
          .filter((n) => !n.startsWith('.'))
          .sort();
      } catch {
        names = [];
      }
      for (const n of names) visit(path.join(abs, n), rel ? `${rel}/${n}` : n);
    } else {
      hash.update(`${rel}\0${st.size}\0${Math.floor(st.mtimeMs)}\n`);
    }
  };
  visit(target, '');
  return hash.digest('hex').slice(0, 16);
}

/** Fingerprints of a node's non-empty path params, by param name. */
export function fingerprintParams(schema: JsonSchema, runParams: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of pathParamNames(schema)) {
    const v = runParams[name];
    if (typeof v === 'string' && v) out[name] = fingerprintPath(v);
  }
  return out;
}
