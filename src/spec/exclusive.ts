// Two forms of one setting (an absolute threshold and its per-1,000-scripts form, ...) are declared
// by a kind's params schema the JSON Schema way: `not: { required: [a, b] }`, at its top or in
// `allOf`. As in Hydra, the most specific layer wins: a `--set` over the spec file, a file over the
// files it extends. When a layer sets one form, the other form inherited from a less specific
// layer is dropped; both forms set in one layer stay a conflict (reported by the schema).
import { isRecord, type Origin, type SrcNode } from './source.ts';
import { absolutePath, parseKeyPath } from './key-path.ts';
import type { JsonSchema, KindLookup } from './types.ts';

/** The pairs of params a kind's schema declares mutually exclusive. */
export function exclusivePairs(schema: JsonSchema): [string, string][] {
  const out: [string, string][] = [];
  const take = (clause: unknown): void => {
    if (!isRecord(clause) || !isRecord(clause.not)) return;
    const required = clause.not.required;
    if (Array.isArray(required) && required.length === 2 && required.every((k) => typeof k === 'string'))
      out.push([required[0] as string, required[1] as string]);
  };
  take(schema);
  if (Array.isArray(schema.allOf)) for (const clause of schema.allOf) take(clause);
  return out;
}

/** How specific a place is: higher wins. */
export type Precedence = (origin: Origin) => number;

/** A form dropped because a more specific layer set the other one. */
export interface DroppedForm {
  stage: string;
  dropped: string;
  kept: string;
}

/**
 * The doc with, in each stage's `with:`, every form of a setting dropped that a more specific
 * layer overrode by setting another form of it (in `with:` or as a matrix axis).
 */
export function dropOverriddenForms(
  doc: Record<string, unknown>,
  src: SrcNode,
  kinds: KindLookup,
  precedence: Precedence,
): { doc: Record<string, unknown>; src: SrcNode; dropped: DroppedForm[] } {
  if (!isRecord(doc.stages)) return { doc, src, dropped: [] };
  const axes = matrixAxes(doc, src);
  const stagesSrc = src.children?.get('stages');
  const dropped: DroppedForm[] = [];
  let stages: Record<string, unknown> | undefined;
  let stagesChildren: Map<string, SrcNode> | undefined;
  for (const [name, stage] of Object.entries(doc.stages)) {
    if (!isRecord(stage) || typeof stage.uses !== 'string' || !isRecord(stage.with)) continue;
    const kind = kinds.get(stage.uses);
    if (!kind) continue;
    const withSrc = stagesSrc?.children?.get(name)?.children?.get('with');
    const rank = (param: string): number | undefined => {
      const axis = axes.get(`${name}\u0000${param}`);
      const own = Object.hasOwn(stage.with as object, param) ? withSrc?.children?.get(param) : undefined;
      const ranks = [axis, own?.keyAt ?? own?.at].filter((o): o is Origin => o !== undefined).map(precedence);
      return ranks.length ? Math.max(...ranks) : undefined;
    };
    let params: Record<string, unknown> | undefined;
    let paramsSrc: Map<string, SrcNode> | undefined;
    for (const [a, b] of exclusivePairs(kind.paramsSchema)) {
      const ra = rank(a);
      const rb = rank(b);
      if (ra === undefined || rb === undefined || ra === rb) continue;
      const [loser, winner] = ra > rb ? [b, a] : [a, b];
      if (!Object.hasOwn(stage.with, loser) || axes.has(`${name}\u0000${loser}`)) continue;
      params ??= { ...stage.with };
      paramsSrc ??= new Map(withSrc?.children ?? []);
      delete params[loser];
      paramsSrc.delete(loser);
      dropped.push({ stage: name, dropped: loser, kept: winner });
    }
    if (!params) continue;
    stages ??= { ...doc.stages };
    stagesChildren ??= new Map(stagesSrc?.children ?? []);
    stages[name] = { ...stage, with: params };
    const stageSrc = stagesChildren.get(name);
    if (stageSrc && withSrc) {
      const children = new Map(stageSrc.children ?? []);
      children.set('with', { ...withSrc, children: paramsSrc });
      stagesChildren.set(name, { ...stageSrc, children });
    }
  }
  if (!stages) return { doc, src, dropped };
  const children = new Map(src.children ?? []);
  if (stagesSrc) children.set('stages', { ...stagesSrc, children: stagesChildren });
  return { doc: { ...doc, stages }, src: { ...src, children }, dropped };
}

/** Matrix axes on a stage param (`verbs.min_count: [10, 20]`): stage\0param → where the axis was written. */
function matrixAxes(doc: Record<string, unknown>, src: SrcNode): Map<string, Origin> {
  const out = new Map<string, Origin>();
  if (!isRecord(doc.matrix)) return out;
  const matrixSrc = src.children?.get('matrix');
  for (const label of Object.keys(doc.matrix)) {
    if (label === 'include' || label === 'exclude') continue;
    let segments: readonly string[];
    try {
      segments = absolutePath(parseKeyPath(label));
    } catch {
      continue; // a malformed axis is reported with the matrix
    }
    if (segments.length !== 4 || segments[0] !== 'stages' || segments[2] !== 'with') continue;
    const at = matrixSrc?.children?.get(label);
    if (at) out.set(`${segments[1]}\u0000${segments[3]}`, at.keyAt ?? at.at);
  }
  return out;
}
