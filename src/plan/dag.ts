// Grid points → one DAG. A node's key is a hash of (kind, kind version, params, seed, upstream
// keys), so a stage whose params and ancestry are equal in several points is one node, run once.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../canonical.ts';
import { ExpError } from '../errors.ts';
import { resourcesOf, type StageRegistry } from './registry.ts';
import type { ShardRole, ShardSetting } from './shards.ts';
import type { PortSource, StageResources } from './stage-kind.ts';

/** What the planner needs of a loaded spec (the spec room's LoadedSpec fits this shape). */
export interface PlanStageInput {
  name: string;
  uses: string;
  needs: string[];
  with: Record<string, unknown>;
  runWith: Record<string, unknown>;
  resources?: StageResources;
  retries?: number;
  /** Where each active port is fed from (the loader's wiring); absent for kinds without ports. */
  ports?: Readonly<Record<string, PortSource>>;
  /** `shards` / `shard_size`: run the stage as shards + a gather (not part of any key). */
  sharding?: ShardSetting;
}
export interface PlanPointInput {
  id: string;
  name: string;
  assignment: Record<string, unknown>;
  /** `--set` values outside the matrix (they define the point as much as its assignment). */
  overrides?: Record<string, unknown>;
  stages: Record<string, PlanStageInput>;
}
export interface PlanSpecInput {
  file: string;
  name: string;
  settings: { seed: number; retries?: number };
  points: PlanPointInput[];
}

export interface PlanNode {
  key: string;
  /** First stage name that produced this node (others in `stages`). */
  stage: string;
  stages: string[];
  kind: string;
  kindVersion: string;
  params: Record<string, unknown>;
  runParams: Record<string, unknown>;
  needs: string[];
  needStages: string[];
  /** Active ports: upstream stage names (a subset of needStages) or the path param that feeds each. */
  ports: Record<string, PortSource>;
  points: string[];
  resources: Required<Omit<StageResources, 'gpuOptional'>> & Pick<StageResources, 'gpuOptional'>;
  retries: number;
  seed: number;
  /** Set for the shard nodes and the gather node of a sharded stage (plan/shards.ts). */
  shard?: ShardRole;
}

export interface PlanPoint {
  id: string;
  name: string;
  assignment: Record<string, unknown>;
  overrides: Record<string, unknown>;
  /** stage name → node key */
  nodes: Record<string, string>;
}

export interface Plan {
  specFile: string;
  specName: string;
  /** Topological order: every node after its needs. */
  nodes: PlanNode[];
  byKey: Map<string, PlanNode>;
  points: PlanPoint[];
}

/** How node seeds are derived; part of every key, so outputs made under another scheme never count as cached. */
const SEED_SCHEME = 'params-v2';

export function nodeKey(parts: {
  kind: string;
  version: string;
  params: unknown;
  seed: number;
  upstream: string[];
}): string {
  return createHash('sha256')
    .update(canonicalJson([parts.kind, parts.version, parts.params, parts.seed, parts.upstream, SEED_SCHEME]))
    .digest('hex')
    .slice(0, 16);
}

/**
 * Seed a node sees: derived from the spec seed, its kind and its params, not from its upstream
 * nodes. Nodes of the same stage with the same params in different grid points (pre-training on
 * keyword- vs S2A-mined clips) thus draw the same initial weights and shuffles (common random
 * numbers): the comparison shows the data's effect, not two different draws.
 */
function nodeSeed(specSeed: number, kind: string, version: string, params: unknown): number {
  const h = createHash('sha256')
    .update(canonicalJson([specSeed, kind, version, params]))
    .digest('hex');
  return Number.parseInt(h.slice(0, 8), 16) >>> 0;
}

export function buildPlan(spec: PlanSpecInput, registry: StageRegistry): Plan {
  const byKey = new Map<string, PlanNode>();
  const order: PlanNode[] = [];
  const points: PlanPoint[] = [];
  const seed = spec.settings.seed ?? 0;

  for (const point of spec.points) {
    const keys: Record<string, string> = {};
    const visiting = new Set<string>();
    const resolve = (stageName: string, chain: string[]): string => {
      const done = keys[stageName];
      if (done) return done;
      const stage = point.stages[stageName];
      if (!stage) {
        throw new ExpError(
          'EXP_SPEC_INVALID',
          `stage "${chain.at(-1)}" needs "${stageName}", which is not a stage of point ${point.name}`,
        );
      }
      if (visiting.has(stageName)) {
        throw new ExpError('EXP_SPEC_INVALID', `stages form a cycle: ${[...chain, stageName].join(' → ')}`);
      }
      visiting.add(stageName);
      const upstream = stage.needs.map((n) => resolve(n, [...chain, stageName]));
      visiting.delete(stageName);
      const kind = registry.get(stage.uses);
      if (!kind) throw new ExpError('EXP_SPEC_INVALID', `stage "${stageName}" uses unknown kind "${stage.uses}"`);
      const key = nodeKey({ kind: kind.name, version: kind.version, params: stage.with, seed, upstream });
      let node = byKey.get(key);
      if (!node) {
        const res = resourcesOf(kind, stage.runWith);
        const o = stage.resources ?? {};
        node = {
          key,
          stage: stageName,
          stages: [stageName],
          kind: kind.name,
          kindVersion: kind.version,
          params: stage.with,
          runParams: stage.runWith,
          needs: upstream,
          needStages: [...stage.needs],
          ports: { ...(stage.ports ?? {}) },
          points: [],
          resources: {
            cpus: o.cpus ?? res.cpus,
            gpus: o.gpus ?? res.gpus,
            memoryMb: o.memoryMb ?? res.memoryMb,
            ...(res.gpuOptional ? { gpuOptional: true } : {}),
          },
          retries: stage.retries ?? spec.settings.retries ?? 0,
          seed: nodeSeed(seed, kind.name, kind.version, stage.with),
        };
        if (stage.sharding) {
          if (!kind.shard) {
            throw new ExpError('EXP_SPEC_INVALID', `stage "${stageName}": kind ${kind.name} cannot be sharded`, {
              hint: 'remove shards / shard_size from this stage',
            });
          }
          const source = node.ports[kind.shard.port];
          node.shard = {
            role: 'gather',
            setting: { ...stage.sharding },
            port: kind.shard.port,
            upstream: upstream.length,
            ...(source?.from === 'stages' && source.stages[0] ? { itemsFrom: source.stages[0] } : {}),
            shards: [],
            decided: false,
          };
        }
        byKey.set(key, node);
        order.push(node);
      } else if (!node.stages.includes(stageName)) {
        node.stages.push(stageName);
      }
      if (node.points.at(-1) !== point.id) node.points.push(point.id);
      keys[stageName] = key;
      return key;
    };
    for (const name of Object.keys(point.stages)) resolve(name, []);
    points.push({
      id: point.id,
      name: point.name,
      assignment: point.assignment,
      overrides: point.overrides ?? {},
      nodes: keys,
    });
  }
  // `order` is already topological: a node is pushed only after all of its upstream nodes.
  return { specFile: spec.file, specName: spec.name, nodes: order, byKey, points };
}
