// Typed stage ports: `needs:` checked against what each kind takes and what its upstream stages
// give, edges to upstream stages that feed nothing active dropped (a path param set by the user
// replaces the demo world; `init: scratch` drops the pre-training branch), producers with a parts
// param narrowed to what is taken from them, and the stages no target reaches any more pruned.
import type { KindLookup, PortInfo, PortSource } from './types.ts';

export interface WireStage {
  uses: string;
  needs: readonly string[];
  with: Readonly<Record<string, unknown>>;
  runWith: Readonly<Record<string, unknown>>;
}

export interface WiredStage {
  needs: string[];
  ports: Record<string, PortSource>;
  /** A producer with a parts param: the param's name and the artifacts this point takes from it. */
  parts?: { param: string; take: string[] };
}

export interface PortProblem {
  code: 'port_unfed' | 'port_ambiguous' | 'need_unused';
  /** Segments of the offending value (`stages.verbs.needs.0`, `stages.verbs.needs`). */
  segments: string[];
  message: string;
  hint?: string;
}

export interface WireResult {
  stages: Record<string, WiredStage>;
  /** Targets and the stages they reach through the wired needs, in spec order. */
  kept: string[];
  problems: PortProblem[];
}

/** True when a path param holds a value (a non-empty string or list). */
function isSet(value: unknown): boolean {
  return (typeof value === 'string' && value !== '') || (Array.isArray(value) && value.length > 0);
}

export function isPortActive(port: PortInfo, params: Readonly<Record<string, unknown>>): boolean {
  return !port.when || port.when.in.some((v) => v === params[port.when!.param]);
}

/** What a stage of this kind gives: its declared artifacts, restricted by its parts param. */
export function producedBy(
  kinds: KindLookup,
  uses: string,
  params: Readonly<Record<string, unknown>>,
): string[] | undefined {
  const kind = kinds.get(uses);
  if (!kind?.produces) return undefined;
  const parts = kind.partsParam ? params[kind.partsParam] : undefined;
  return Array.isArray(parts) ? kind.produces.filter((a) => parts.includes(a)) : [...kind.produces];
}

const list = (names: readonly string[]): string => names.map((n) => `"${n}"`).join(', ');

/**
 * Binds one stage's active ports to the upstream stages of `needs` (or to the path param that
 * replaces them). Pure: used by the loader and by hand-made stage contexts in tests.
 */
export function bindPorts(
  stageName: string,
  stage: WireStage,
  upstream: (name: string) => { uses: string; produces: string[] | undefined } | undefined,
  kinds: KindLookup,
  everyStage: readonly { name: string; produces: string[] | undefined }[] = [],
): { ports: Record<string, PortSource>; problems: PortProblem[] } {
  const kind = kinds.get(stage.uses);
  const ports: Record<string, PortSource> = {};
  const problems: PortProblem[] = [];
  if (!kind?.inputs) return { ports, problems };
  const declared = Object.entries(kind.inputs);
  const who = `stage "${stageName}" (${stage.uses})`;

  // A need must be able to feed some port of the kind, whatever the params.
  stage.needs.forEach((need, i) => {
    const up = upstream(need);
    if (!up?.produces) return;
    if (declared.some(([, port]) => port.accepts.some((a) => up.produces!.includes(a)))) return;
    const takes = declared.map(([name, port]) => `${name} (${port.accepts.join(' | ')})`).join(', ');
    problems.push({
      code: 'need_unused',
      segments: ['stages', stageName, 'needs', String(i)],
      message: `${who} needs "${need}" (${up.uses}), which gives ${up.produces.join(', ') || 'nothing'}; ${stage.uses} takes ${takes}`,
      hint: `remove "${need}" from needs, or name a stage that gives what ${stage.uses} takes`,
    });
  });

  for (const [portName, port] of declared) {
    if (!isPortActive(port, stage.with)) continue;
    if (port.param && isSet(stage.runWith[port.param])) {
      const value = stage.runWith[port.param];
      ports[portName] = {
        from: 'param',
        param: port.param,
        path: Array.isArray(value) ? value.join(',') : String(value),
      };
      continue;
    }
    const feeders = stage.needs.filter((need) => upstream(need)?.produces?.some((a) => port.accepts.includes(a)));
    if (feeders.length === 0) {
      if (port.optional) continue;
      const fit = everyStage
        .filter((s) => s.name !== stageName && s.produces?.some((a) => port.accepts.includes(a)))
        .map((s) => s.name);
      const alt = port.param ? ` or set with.${port.param}` : '';
      problems.push({
        code: 'port_unfed',
        segments: ['stages', stageName, 'needs'],
        message: `${who} has nothing for its input "${portName}" (${port.accepts.join(' | ')})${stage.needs.length ? `: its needs ${list(stage.needs)} give none` : ''}`,
        hint:
          fit.length > 0
            ? `add one of ${list(fit)} to its needs${alt}`
            : `no stage of this spec gives ${port.accepts.join(' | ')}: add one${alt}`,
      });
      continue;
    }
    if (feeders.length > 1 && !port.many) {
      problems.push({
        code: 'port_ambiguous',
        segments: ['stages', stageName, 'needs'],
        message: `${who} gets its input "${portName}" (${port.accepts.join(' | ')}) from ${feeders.length} stages: ${list(feeders)}`,
        hint: `keep one of ${list(feeders)} in its needs`,
      });
      continue;
    }
    ports[portName] = { from: 'stages', stages: feeders };
  }
  return { ports, problems };
}

/** Wires every stage of one point; `order` is the spec's stage order. */
export function wirePorts(
  order: readonly string[],
  stages: Readonly<Record<string, WireStage>>,
  targets: readonly string[],
  kinds: KindLookup,
): WireResult {
  const produces = new Map<string, string[] | undefined>();
  for (const name of order) produces.set(name, producedBy(kinds, stages[name]!.uses, stages[name]!.with));
  const everyStage = order.map((name) => ({ name, produces: produces.get(name) }));
  const upstream = (name: string) =>
    stages[name] ? { uses: stages[name]!.uses, produces: produces.get(name) } : undefined;

  const wired: Record<string, WiredStage> = {};
  const problems: PortProblem[] = [];
  for (const name of order) {
    const stage = stages[name]!;
    const kind = kinds.get(stage.uses);
    const bound = bindPorts(name, stage, upstream, kinds, everyStage);
    problems.push(...bound.problems);
    let needs = [...stage.needs];
    if (kind?.inputs) {
      const feeding = new Set<string>();
      for (const source of Object.values(bound.ports))
        if (source.from === 'stages') for (const s of source.stages) feeding.add(s);
      // Needs whose kind declares no artifacts are kept as plain ordering edges.
      needs = needs.filter((n) => feeding.has(n) || produces.get(n) === undefined);
    }
    wired[name] = { needs, ports: bound.ports };
  }

  // Reach from the targets through the wired needs.
  const keep = new Set<string>();
  const stack = [...targets];
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (keep.has(name) || !wired[name]) continue;
    keep.add(name);
    stack.push(...wired[name]!.needs);
  }

  // Producers with a parts param make only what their kept dependents take (all of it as a target).
  for (const name of order) {
    if (!keep.has(name) || targets.includes(name)) continue;
    const stage = stages[name]!;
    const kind = kinds.get(stage.uses);
    if (!kind?.partsParam || !kind.produces) continue;
    const want = new Set<string>();
    for (const dep of order) {
      if (!keep.has(dep) || !wired[dep]!.needs.includes(name)) continue;
      const depKind = kinds.get(stages[dep]!.uses);
      if (!depKind?.inputs) {
        for (const a of produces.get(name) ?? []) want.add(a);
        continue;
      }
      for (const [portName, source] of Object.entries(wired[dep]!.ports)) {
        if (source.from !== 'stages' || !source.stages.includes(name)) continue;
        for (const a of produces.get(name) ?? []) if (depKind.inputs[portName]!.accepts.includes(a)) want.add(a);
      }
    }
    wired[name]!.parts = { param: kind.partsParam, take: (produces.get(name) ?? []).filter((a) => want.has(a)) };
  }
  return { stages: wired, kept: order.filter((n) => keep.has(n)), problems };
}

const NO_PORTS_OBJ: Readonly<Record<string, PortSource>> = Object.freeze({});
export { NO_PORTS_OBJ as NO_PORTS };

interface ResolvedLike extends WireStage {
  name: string;
  needs: string[];
  ports: Readonly<Record<string, PortSource>>;
}

/**
 * Wiring per point, memoised: points of a grid share their (frozen, interned) resolved stages,
 * so a point whose stages are the same objects as an earlier point's is wired once.
 */
export class WiringMemo {
  private readonly ids = new WeakMap<object, number>();
  private nextId = 0;
  private readonly results = new Map<string, WireResult>();
  private readonly applied = new WeakMap<object, Map<string, ResolvedLike>>();

  private id(o: object): number {
    let id = this.ids.get(o);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(o, id);
    }
    return id;
  }

  wire(
    graph: { targets: readonly string[] },
    resolved: Readonly<Record<string, WireStage>>,
    kinds: KindLookup,
  ): WireResult {
    const order = Object.keys(resolved);
    const signature = `${graph.targets.join('\u0001')}\u0002${order.map((n) => `${n}\u0001${this.id(resolved[n]!)}`).join('\u0002')}`;
    let result = this.results.get(signature);
    if (!result) {
      result = wirePorts(order, resolved, graph.targets, kinds);
      this.results.set(signature, result);
    }
    return result;
  }

  /**
   * The resolved stage with its wiring (the same object when nothing changes; frozen, shared).
   * `parts`: what the whole grid takes from this producer (the union over its points), so that
   * points sharing a demo world keep sharing one node.
   */
  apply<T extends ResolvedLike>(rs: T, w: WiredStage, parts?: readonly string[]): T {
    let withParts: Record<string, unknown> | undefined;
    let runParts: Record<string, unknown> | undefined;
    if (w.parts && parts) {
      const current = rs.with[w.parts.param];
      const same = Array.isArray(current) && current.length === parts.length && current.every((a, i) => a === parts[i]);
      if (!same) {
        withParts = { ...rs.with, [w.parts.param]: [...parts] };
        runParts = { ...rs.runWith, [w.parts.param]: [...parts] };
      }
    }
    const samePorts = Object.keys(w.ports).length === 0 && Object.keys(rs.ports).length === 0;
    if (!withParts && samePorts && w.needs.length === rs.needs.length && w.needs.every((n, i) => n === rs.needs[i]))
      return rs;
    const key = JSON.stringify([w.needs, w.ports, withParts ? parts : 0]);
    let perStage = this.applied.get(rs);
    const hit = perStage?.get(key);
    if (hit) return hit as T;
    const out = Object.freeze({
      ...rs,
      needs: Object.freeze([...w.needs]) as string[],
      with: withParts ? deepFreezeShallow(withParts) : rs.with,
      runWith: runParts ? deepFreezeShallow(runParts) : rs.runWith,
      ports: Object.freeze(w.ports),
    });
    if (!perStage) {
      perStage = new Map();
      this.applied.set(rs, perStage);
    }
    perStage.set(key, out);
    return out;
  }
}

function deepFreezeShallow<T extends Record<string, unknown>>(o: T): T {
  for (const v of Object.values(o)) if (Array.isArray(v)) Object.freeze(v);
  return Object.freeze(o);
}
