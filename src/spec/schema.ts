// ajv (JSON Schema 2020-12) for the experiment schema and each kind's params schema, and the
// translation of ajv's errors into SpecIssues with a place, an expectation and a did-you-mean.
import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { didYouMean } from './did-you-mean.ts';
import { hintFor } from './issues.ts';
import { formatPath } from './key-path.ts';
import type { Locator } from './locate.ts';
import { isRecord, type Origin } from './source.ts';
import type { ExecutorLookup, JsonSchema, SpecIssue } from './types.ts';

const EXPERIMENT_SCHEMA_URL = new URL('../../schemas/experiment.schema.json', import.meta.url);

let experimentSchema: JsonSchema | undefined;
let experimentValidator: ValidateFunction | undefined;
/** The schema and its validator per set of registered executors (one or two per process). */
const withExecutorsCache = new Map<string, { schema: JsonSchema; validator?: ValidateFunction }>();

/** Marks the `settings.<name>` blocks that belong to an executor (they come from its registration). */
export const EXECUTOR_MARK = 'x-exp-executor';

/**
 * The experiment schema. The file knows the built-in executors; with `executors`, the registered
 * ones take their place: `settings.executor` lists their names and each one's `settings.<name>`
 * block is its own settings schema.
 */
export function getExperimentSchema(executors?: ExecutorLookup): JsonSchema {
  experimentSchema ??= JSON.parse(readFileSync(EXPERIMENT_SCHEMA_URL, 'utf8')) as JsonSchema;
  if (!executors) return experimentSchema;
  const id = executorsId(executors);
  let entry = withExecutorsCache.get(id);
  if (!entry) withExecutorsCache.set(id, (entry = { schema: withExecutors(experimentSchema, executors) }));
  return entry.schema;
}

function executorsId(executors: ExecutorLookup): string {
  return JSON.stringify(
    executors.names().map((n) => [n, executors.description(n) ?? '', executors.settingsSchema(n) ?? null]),
  );
}

/** `settings.<name>` keys that are executors' blocks in a schema (marked with EXECUTOR_MARK). */
export function executorSettingKeys(schema: JsonSchema): string[] {
  const settings = isRecord(schema.properties) ? schema.properties.settings : undefined;
  const props = isRecord(settings) && isRecord(settings.properties) ? settings.properties : {};
  return Object.keys(props).filter((k) => isRecord(props[k]) && (props[k] as JsonSchema)[EXECUTOR_MARK] === true);
}

/** The experiment schema with these executors in place of the ones it had (scripts write the file with it). */
export function withExecutors(base: JsonSchema, executors: ExecutorLookup): JsonSchema {
  const props = base.properties as Record<string, JsonSchema>;
  const settings = props.settings as JsonSchema;
  const old = settings.properties as Record<string, JsonSchema>;
  const names = executors.names();
  const next: Record<string, JsonSchema> = {};
  for (const [key, value] of Object.entries(old)) {
    if (value[EXECUTOR_MARK] === true) continue;
    next[key] =
      key === 'executor'
        ? {
            ...value,
            enum: names,
            description: `Where ready nodes run: ${names.map((n) => `${n}: ${executors.description(n) ?? n}`).join('; ')}. --executor overrides. Not part of the point id.`,
          }
        : value;
  }
  for (const name of names) {
    const schema = executors.settingsSchema(name);
    if (schema) next[name] = { ...schema, [EXECUTOR_MARK]: true };
  }
  return { ...base, properties: { ...props, settings: { ...settings, properties: next } } };
}

function newAjv(useDefaults: boolean, validateSchema: boolean): Ajv2020 {
  // Our schema is checked by the tests and kinds' schemas by theirs (schemas/stages sync test).
  // strict: false because plugin schemas may carry keywords of their own (x-exp-path, ...);
  // formats are not validated (ajv-formats is not a dependency).
  return new Ajv2020({
    allErrors: true,
    verbose: true,
    strict: false,
    validateFormats: false,
    useDefaults,
    validateSchema,
  });
}

export function validateExperiment(doc: unknown, executors?: ExecutorLookup): ErrorObject[] {
  let validate: ValidateFunction;
  if (executors) {
    const schema = getExperimentSchema(executors);
    const entry = withExecutorsCache.get(executorsId(executors))!;
    entry.validator ??= newAjv(false, false).compile(schema);
    validate = entry.validator;
  } else {
    experimentValidator ??= newAjv(false, false).compile(getExperimentSchema());
    validate = experimentValidator;
  }
  return validate(doc) ? [] : [...(validate.errors ?? [])];
}

// No meta-schema validation: compiling the 2020-12 meta-schema costs more (~0.1-0.3 s at start-up)
// than all our schemas together; a malformed kind schema still fails to compile, and is reported.
const paramsAjv = newAjv(true, false);

const compiledParams = new WeakMap<JsonSchema, ValidateFunction>();

/**
 * Compiles a kind's params schema once per process (cached by the schema object); `$schema` and
 * `$id` are dropped so that any draft marker compiles and two kinds may share an `$id`.
 */
export function compileParamsSchema(schema: JsonSchema): ValidateFunction {
  let validate = compiledParams.get(schema);
  if (!validate) {
    const { $schema: _ignored, $id: _id, ...rest } = schema;
    validate = paramsAjv.compile(rest);
    compiledParams.set(schema, validate);
  }
  return validate;
}

/**
 * What is wrong with a kind's params schema (undefined when it compiles): where in the schema
 * (from the 2020-12 meta-schema, compiled only here) and what ajv says, e.g.
 * `properties.k.type must be equal to one of the allowed values`.
 */
export function paramsSchemaProblem(schema: unknown): string | undefined {
  if (!isRecord(schema))
    return `expected a JSON Schema object, got ${Array.isArray(schema) ? 'a list' : typeof schema}`;
  try {
    compileParamsSchema(schema);
    return undefined;
  } catch (e) {
    const meta = newAjv(false, true);
    const { $schema: _ignored, $id: _id, ...rest } = schema;
    if (!meta.validateSchema(rest)) {
      const first = meta.errors?.[0];
      if (first) {
        const where = instanceSegments(first).join('.');
        const allowed = (first.params as { allowedValues?: unknown[] }).allowedValues;
        return `${where ? `${where}: ` : ''}${first.message ?? 'is invalid'}${allowed ? ` (${allowed.join(', ')}), got ${JSON.stringify(first.data)}` : ''}`;
      }
    }
    return (e as Error).message;
  }
}

type Place = (segments: readonly string[]) => Origin;

export interface MapContext {
  locator: Locator;
  display(file: string): string;
  /** Prepended to ajv's instance path (e.g. `stages.parse.with`). */
  prefix?: readonly string[];
}

function describe(data: unknown): string {
  if (data === null) return 'null';
  if (Array.isArray(data)) return 'a list';
  if (typeof data === 'object') return 'a map';
  if (typeof data === 'string') return `string ${JSON.stringify(data.length > 60 ? `${data.slice(0, 57)}...` : data)}`;
  if (typeof data === 'number') return `${Number.isInteger(data) ? 'integer' : 'number'} ${data}`;
  return `${typeof data} ${String(data)}`;
}

function typeName(type: unknown): string {
  const names = (Array.isArray(type) ? type : [type]).map((t) =>
    t === 'object' ? 'map' : t === 'array' ? 'list' : String(t),
  );
  return names.join(' or ');
}

function instanceSegments(error: ErrorObject): string[] {
  if (error.instancePath === '') return [];
  return error.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** ajv errors → SpecIssues, one per problem (the wrappers of propertyNames/anyOf are folded). */
export function mapAjvErrors(errors: readonly ErrorObject[], ctx: MapContext): SpecIssue[] {
  const prefix = ctx.prefix ?? [];
  const issues: SpecIssue[] = [];
  const at = (origin: Origin) => ({ file: ctx.display(origin.file), line: origin.line, col: origin.col });
  const valuePlace: Place = (segments) => ctx.locator.value(segments);
  const keyPlace: Place = (segments) => ctx.locator.key(segments);
  for (const error of errors) {
    // Sub-errors of propertyNames repeat the wrapper's point; the wrapper is reported below.
    if (error.propertyName !== undefined && error.keyword !== 'propertyNames') continue;
    const segments = [...prefix, ...instanceSegments(error)];
    const where = formatPath(segments) || 'the top level';
    const data: unknown = error.data;
    const parentSchema = (error.parentSchema ?? {}) as JsonSchema;
    const params = error.params as Record<string, unknown>;
    switch (error.keyword) {
      case 'additionalProperties': {
        const key = String(params.additionalProperty);
        const allowed = isRecord(parentSchema.properties) ? Object.keys(parentSchema.properties) : [];
        const suggestion = didYouMean(key, allowed);
        issues.push({
          code: 'unrecognized_key',
          path: formatPath([...segments, key]),
          message: `unknown key "${key}" in ${where}`,
          ...at(keyPlace([...segments, key])),
          hint: hintFor(suggestion) ?? (allowed.length > 0 ? `allowed keys: ${allowed.join(', ')}` : undefined),
        });
        break;
      }
      case 'propertyNames': {
        const key = String(params.propertyName);
        const isStages = segments.length === 1 && segments[0] === 'stages';
        issues.push({
          code: 'invalid_key',
          path: formatPath([...segments, key]),
          message: isStages ? `invalid stage name "${key}"` : `invalid key "${key}" in ${where}`,
          ...at(keyPlace([...segments, key])),
          hint: isStages
            ? 'stage names use letters, digits, _ and -, and may not be a top-level key (name, vars, data, settings, stages, ...)'
            : undefined,
        });
        break;
      }
      case 'required': {
        const key = String(params.missingProperty);
        issues.push({
          code: 'missing_key',
          path: formatPath([...segments, key]),
          message: `missing required key "${key}" in ${where}`,
          ...at(valuePlace([...segments, key])),
        });
        break;
      }
      case 'type':
        issues.push({
          code: 'invalid_type',
          path: where,
          message: `expected ${typeName(params.type)}, got ${describe(data)}`,
          ...at(valuePlace(segments)),
          hint:
            data === null
              ? 'a key with nothing after the colon is null: write {} for an empty map, [] for an empty list'
              : undefined,
        });
        break;
      case 'enum': {
        const allowed = (params.allowedValues as unknown[]) ?? [];
        const suggestion =
          typeof data === 'string'
            ? didYouMean(
                data,
                allowed.filter((v): v is string => typeof v === 'string'),
              )
            : undefined;
        issues.push({
          code: 'invalid_value',
          path: where,
          message: `expected one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(data)}`,
          ...at(valuePlace(segments)),
          hint: hintFor(suggestion),
        });
        break;
      }
      case 'const':
        issues.push({
          code: 'invalid_value',
          path: where,
          message: `expected ${JSON.stringify(params.allowedValue)}, got ${describe(data)}`,
          ...at(valuePlace(segments)),
        });
        break;
      case 'minimum':
      case 'exclusiveMinimum':
      case 'maximum':
      case 'exclusiveMaximum': {
        const small = error.keyword.endsWith('inimum');
        issues.push({
          code: small ? 'too_small' : 'too_big',
          path: where,
          message: `expected a number ${String(params.comparison)} ${String(params.limit)}, got ${describe(data)}`,
          ...at(valuePlace(segments)),
        });
        break;
      }
      case 'minItems':
        if (segments.length === 2 && segments[0] === 'matrix') {
          issues.push({
            code: 'empty_matrix',
            path: where,
            message: `matrix list "${segments[1]}" is empty`,
            ...at(valuePlace(segments)),
            hint: 'give the axis at least one value, or remove it (an empty list would give no points)',
          });
          break;
        }
        issues.push({
          code: 'too_small',
          path: where,
          message: `expected a list of at least ${String(params.limit)} item(s), got ${Array.isArray(data) ? data.length : describe(data)}`,
          ...at(valuePlace(segments)),
        });
        break;
      case 'maxItems':
        issues.push({
          code: 'too_big',
          path: where,
          message: `expected a list of at most ${String(params.limit)} item(s), got ${Array.isArray(data) ? data.length : describe(data)}`,
          ...at(valuePlace(segments)),
        });
        break;
      case 'minProperties':
        issues.push({
          code: 'too_small',
          path: where,
          message: `expected a map with at least ${String(params.limit)} key(s), got ${isRecord(data) ? Object.keys(data).length : describe(data)}`,
          ...at(valuePlace(segments)),
        });
        break;
      case 'minLength':
      case 'maxLength':
        issues.push({
          code: error.keyword === 'minLength' ? 'too_small' : 'too_big',
          path: where,
          message: `expected a string of ${error.keyword === 'minLength' ? 'at least' : 'at most'} ${String(params.limit)} character(s), got ${describe(data)}`,
          ...at(valuePlace(segments)),
        });
        break;
      case 'pattern':
        issues.push({
          code: 'invalid_format',
          path: where,
          message:
            segments.length === 1 && segments[0] === 'name'
              ? `invalid experiment name ${describe(data)}: use letters, digits, _ . -`
              : `${describe(data)} does not match the pattern ${String(params.pattern)}`,
          ...at(valuePlace(segments)),
        });
        break;
      case 'uniqueItems':
        issues.push({
          code: 'invalid_value',
          path: where,
          message: `list has duplicate items (positions ${String(params.j)} and ${String(params.i)})`,
          ...at(valuePlace(segments)),
        });
        break;
      case 'not': {
        // `not: { required: [a, b] }`: two keys that exclude each other
        const pair =
          isRecord(parentSchema.not) && Array.isArray(parentSchema.not.required)
            ? (parentSchema.not.required as unknown[]).map(String)
            : [];
        if (pair.length === 2) {
          issues.push({
            code: 'conflicting_keys',
            path: formatPath([...segments, pair[1]!]),
            message: `"${pair[0]}" and "${pair[1]}" cannot both be set in ${where}`,
            ...at(keyPlace([...segments, pair[1]!])),
            hint: `keep one of them (${pair[0]} or ${pair[1]})`,
          });
          break;
        }
        issues.push({
          code: 'schema_not',
          path: where,
          message: `${where} ${error.message ?? 'is invalid'}`,
          ...at(valuePlace(segments)),
        });
        break;
      }
      default:
        issues.push({
          code: `schema_${error.keyword}`,
          path: where,
          message: `${where} ${error.message ?? 'is invalid'}`,
          ...at(valuePlace(segments)),
        });
    }
  }
  return issues;
}

/** True when `data` at this error is a string holding a `${...}` reference (checked again per point). */
export function isInterpolatedError(error: ErrorObject): boolean {
  return typeof error.data === 'string' && /(^|[^$])\$\{/.test(error.data);
}
