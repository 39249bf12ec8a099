// A stage's `with:` against its kind's params schema: validators compiled once per kind, each
// distinct (kind, params) validated once (ajv fills in the defaults), and path params
// (`"x-exp-path": "file" | "dir" | "any"`) made absolute and checked on disk.
import { statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { canonicalJson, deepFreeze } from '../canonical.ts';
import { compileParamsSchema } from './schema.ts';
import { isRecord } from './source.ts';
import type { KindInfo, KindLookup } from './types.ts';

export type PathMode = 'file' | 'dir' | 'any';

export interface PathParam {
  param: string;
  mode: PathMode;
  /** The param is a list of paths. */
  list: boolean;
}

export interface ParamsResult {
  /** Params with defaults, deep-frozen (shared by every point with the same params). */
  value: Readonly<Record<string, unknown>>;
  errors: ErrorObject[];
}

function isPathMode(value: unknown): value is PathMode {
  return value === 'file' || value === 'dir' || value === 'any';
}

export class ParamsChecker {
  private readonly validators = new Map<string, ValidateFunction | Error>();
  private readonly results = new Map<string, ParamsResult>();
  private readonly byIdentity = new WeakMap<object, Map<string, ParamsResult>>();
  private readonly pathParamsByKind = new Map<string, PathParam[]>();
  private readonly stats = new Map<string, 'file' | 'dir' | 'other' | 'missing'>();

  constructor(private readonly kinds: KindLookup) {}

  kind(name: string): KindInfo | undefined {
    return this.kinds.get(name);
  }

  /** Undefined when the kind is unknown; throws the compile Error when its schema is broken. */
  validate(kindName: string, params: Record<string, unknown>): ParamsResult | undefined {
    const kind = this.kinds.get(kindName);
    if (!kind) return undefined;
    // Points share unchanged (frozen) params objects: look them up by identity before serialising.
    const shared = Object.isFrozen(params);
    let same = shared ? this.byIdentity.get(params) : undefined;
    const hit = same?.get(kindName);
    if (hit) return hit;
    if (!same) {
      same = new Map();
      if (shared) this.byIdentity.set(params, same);
    }
    const key = `${kindName}\u0000${canonicalJson(params)}`;
    const cached = this.results.get(key);
    if (cached) {
      same.set(kindName, cached);
      return cached;
    }
    let validator = this.validators.get(kindName);
    if (!validator) {
      try {
        validator = compileParamsSchema(kind.paramsSchema);
      } catch (e) {
        validator = e instanceof Error ? e : new Error(String(e));
      }
      this.validators.set(kindName, validator);
    }
    if (validator instanceof Error) throw validator;
    const copy = structuredClone(params);
    const ok = validator(copy);
    const result: ParamsResult = { value: deepFreeze(copy), errors: ok ? [] : [...(validator.errors ?? [])] };
    this.results.set(key, result);
    same.set(kindName, result);
    return result;
  }

  /** Default of a param from the kind's schema (for `${stage.param}` left at its default). */
  paramDefault(kindName: string | undefined, param: string): { found: boolean; value: unknown } {
    const kind = kindName === undefined ? undefined : this.kinds.get(kindName);
    const props = kind && isRecord(kind.paramsSchema.properties) ? kind.paramsSchema.properties : undefined;
    const prop = props?.[param];
    if (isRecord(prop) && 'default' in prop) return { found: true, value: prop.default };
    return { found: false, value: undefined };
  }

  pathParams(kindName: string): PathParam[] {
    let list = this.pathParamsByKind.get(kindName);
    if (list) return list;
    list = [];
    const kind = this.kinds.get(kindName);
    const props = kind && isRecord(kind.paramsSchema.properties) ? kind.paramsSchema.properties : {};
    for (const [param, schema] of Object.entries(props)) {
      if (!isRecord(schema)) continue;
      if (isPathMode(schema['x-exp-path'])) list.push({ param, mode: schema['x-exp-path'], list: false });
      else if (isRecord(schema.items) && isPathMode(schema.items['x-exp-path']))
        list.push({ param, mode: schema.items['x-exp-path'], list: true });
    }
    this.pathParamsByKind.set(kindName, list);
    return list;
  }

  /** What is at an absolute path (cached: the same data folder is named by every point). */
  stat(path: string): 'file' | 'dir' | 'other' | 'missing' {
    let kind = this.stats.get(path);
    if (kind) return kind;
    try {
      const s = statSync(path);
      kind = s.isFile() ? 'file' : s.isDirectory() ? 'dir' : 'other';
    } catch {
      kind = 'missing';
    }
    this.stats.set(path, kind);
    return kind;
  }
}

/** Absolute form of a path param written relative to `baseDir`. */
export function absolutePathParam(value: string, baseDir: string): string {
  return isAbsolute(value) ? value : resolve(baseDir, value);
}

export function pathMismatch(mode: PathMode, found: 'file' | 'dir' | 'other' | 'missing'): string | undefined {
  if (found === 'missing')
    return mode === 'dir' ? 'folder not found' : mode === 'file' ? 'file not found' : 'not found';
  if (mode === 'file' && found !== 'file') return 'expected a file, found a folder';
  if (mode === 'dir' && found !== 'dir') return 'expected a folder, found a file';
  return undefined;
}
