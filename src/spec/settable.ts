// Whether a key path may be set by `--set`, a matrix axis or an include/exclude entry: it exists
// in the doc, or the schema knows it (a settings key, a stage's resources, a param of the stage's
// kind left at its default), or it lies under the free maps `vars`/`data`.
import type { ExecutorLookup, KindLookup } from './types.ts';
import { getExperimentSchema } from './schema.ts';
import { isRecord } from './source.ts';
import type { JsonSchema } from './types.ts';

export type Settable = { ok: true } | { ok: false; failedAt: number; candidates: string[] };

function resolveRef(schema: JsonSchema | undefined, root: JsonSchema): JsonSchema | undefined {
  if (!schema) return undefined;
  const ref = schema.$ref;
  if (typeof ref === 'string' && ref.startsWith('#/')) {
    let node: unknown = root;
    for (const part of ref.slice(2).split('/')) node = isRecord(node) ? node[part] : undefined;
    return isRecord(node) ? node : undefined;
  }
  return schema;
}

function schemaKeys(schema: JsonSchema | undefined): string[] {
  return schema && isRecord(schema.properties) ? Object.keys(schema.properties) : [];
}

export function checkSettable(
  doc: unknown,
  segments: readonly string[],
  kinds: KindLookup,
  executors?: ExecutorLookup,
): Settable {
  const experiment = getExperimentSchema(executors);
  let node: unknown = doc;
  let schema: JsonSchema | undefined = experiment;
  let root = experiment;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (i === 1 && (segments[0] === 'vars' || segments[0] === 'data')) return { ok: true };
    const exists = Array.isArray(node)
      ? /^\d+$/.test(segment) && Number(segment) < node.length
      : isRecord(node) && Object.hasOwn(node, segment);
    let childSchema: JsonSchema | undefined;
    if (i === 2 && segments[0] === 'stages' && segment === 'with') {
      const stage = isRecord(node) ? node : undefined;
      const kind = typeof stage?.uses === 'string' ? kinds.get(stage.uses) : undefined;
      childSchema = kind?.paramsSchema;
      if (kind) root = kind.paramsSchema;
    } else if (schema) {
      const props = isRecord(schema.properties) ? schema.properties : undefined;
      const fromProps = props && isRecord(props[segment]) ? (props[segment] as JsonSchema) : undefined;
      // A new stage cannot be made by a key path: stages.<name> must exist (then its keys the
      // schema knows, e.g. stages.<name>.shards, may be set).
      const additional = schema.additionalProperties;
      childSchema = resolveRef(fromProps ?? (isRecord(additional) && exists ? additional : undefined), root);
      if (!childSchema && Array.isArray(node) && exists && isRecord(schema.items))
        childSchema = resolveRef(schema.items, root);
    }
    if (!exists && !childSchema) {
      const candidates = [...new Set([...(isRecord(node) ? Object.keys(node) : []), ...schemaKeys(schema)])];
      return { ok: false, failedAt: i, candidates };
    }
    node = exists
      ? Array.isArray(node)
        ? node[Number(segment)]
        : (node as Record<string, unknown>)[segment]
      : undefined;
    schema = childSchema;
  }
  return { ok: true };
}
