// Sharded stages: a stage whose kind declares `shard` and whose spec sets `shards` / `shard_size`
// becomes N shard nodes + 1 gather node. Sharding is an execution strategy, not a parameter: the
// gather keeps the key the unsharded node has (an unsharded run's cache serves a sharded rerun and
// back, downstream keys never change), and each shard's key is made of its own items' ids and
// digests plus the stage's params and non-item inputs, so a shard whose items did not change stays
// cached while the corpus grows.
//
// Shard boundaries are drawn from the items' ids, not their positions, so adding or removing an
// item moves few boundaries (never a global renumbering):
//   shards: N      the cut points are the N-1 items (after the first) with the smallest hash(id)
//                  ("bottom-k"): an insertion changes the shard it lands in, and when its hash is
//                  among the N-1 smallest it splits that shard and the largest cut so far goes
//                  (two neighbours merge): one shard changes, rarely three.
//   shard_size: M  content-defined chunking: past M/2 items, an item starts the next shard when
//                  hash(id) mod (M/2) == 0; a shard that reaches 3·M items is cut there. The
//                  count follows the corpus; an insertion changes one shard, or two.
//   auto           shard_size with the kind's `autoShardSize`.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../canonical.ts';
import type { PlanNode } from './dag.ts';
import type { ShardItem } from './stage-kind.ts';

/** `stages.<name>.shards` / `shard_size` as the spec gives them. */
export interface ShardSetting {
  shards?: number | 'auto';
  shardSize?: number;
}

/** A gather node: what it spreads and, once decided, its shard nodes in order. */
export interface GatherRole {
  role: 'gather';
  setting: ShardSetting;
  /** The kind's item port. */
  port: string;
  /** How many of the node's `needs` are the stage's own inputs (the shard keys come after). */
  upstream: number;
  /** The upstream stage that makes the items (dynamic expansion), absent when a path param feeds the port. */
  itemsFrom?: string;
  /** Shard node keys in shard order; empty until decided. */
  shards: string[];
  /** Whether the items were listed and the shard nodes made. */
  decided: boolean;
  /** Items over all shards, once decided. */
  items?: number;
}

/** A shard node of a sharded stage. */
export interface MapRole {
  role: 'map';
  /** The gather node's key. */
  gather: string;
  /** The kind's item port (its upstream is not part of the shard's key). */
  port: string;
  index: number;
  count: number;
  items: ShardItem[];
  /**
   * Listing the items failed when the shards were decided during the run: this one shard stands
   * for the stage and fails with the error (its gather is then skipped, like any dependent).
   */
  error?: { message: string; hint?: string };
}

export type ShardRole = GatherRole | MapRole;

/** `mining[3/7]`: how shards are named in plans, logs and progress (1-based for people). */
export function shardLabel(stage: string, index: number, count: number): string {
  return `${stage}[${index + 1}/${count}]`;
}

/** The label of a node: its stage, and which shard for shard nodes. */
export function nodeLabel(node: Pick<PlanNode, 'stage' | 'shard'>): string {
  return node.shard?.role === 'map' ? shardLabel(node.stage, node.shard.index, node.shard.count) : node.stage;
}

/**
 * A 52-bit hash of an item id (two 32-bit FNV-1a lanes with different offsets), fast enough for
 * 10^6 ids at plan time and the same on every machine: shard boundaries depend on it only.
 */
export function idHash(id: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  a ^= a >>> 13;
  a = Math.imul(a, 0xc2b2ae35);
  a ^= a >>> 16;
  return (a >>> 0) * 0x100000 + ((b >>> 0) & 0xfffff);
}

/** Items per shard for `shard_size` / `auto`, and the count for `shards: N`. */
export function shardPlan(setting: ShardSetting, autoShardSize: number): { count: number } | { size: number } {
  if (typeof setting.shards === 'number') return { count: setting.shards };
  if (setting.shardSize !== undefined) return { size: setting.shardSize };
  return { size: autoShardSize };
}

/**
 * Splits items (in the order the unsharded stage processes them) into shards, keeping that order
 * within and across shards. Returns start offsets of the shards (the first is 0). An empty list
 * gives one empty shard: the stage's own code then handles the empty corpus as unsharded.
 */
export function shardStarts(items: readonly { id: string }[], how: { count: number } | { size: number }): number[] {
  const n = items.length;
  if (n === 0) return [0];
  if ('count' in how) {
    const cuts = Math.min(Math.max(1, Math.floor(how.count)), n) - 1;
    if (cuts === 0) return [0];
    if (cuts >= n - 1) return Array.from({ length: n }, (_, i) => i);
    // bottom-k: the `cuts` smallest hashes among positions 1..n-1 (ties by position)
    const hashes = new Float64Array(n - 1);
    for (let i = 1; i < n; i++) hashes[i - 1] = idHash(items[i]!.id);
    const sorted = Float64Array.from(hashes).sort();
    const limit = sorted[cuts - 1]!;
    let below = 0;
    for (let i = 0; i < cuts; i++) if (sorted[i]! < limit) below++;
    let equalLeft = cuts - below;
    const starts = [0];
    for (let i = 0; i < n - 1; i++) {
      const h = hashes[i]!;
      if (h < limit || (h === limit && equalLeft-- > 0)) starts.push(i + 1);
    }
    return starts;
  }
  // Content-defined, normalised: no cut in the first half of a shard, then each item cuts with
  // probability 1/(M/2), so sizes gather around M (max/mean ~3 over 1,000 shards instead of ~4
  // without the floor, ~8 for bottom-k); a shard that reaches 3·M is cut there.
  const size = Math.max(1, Math.floor(how.size));
  const shortest = Math.ceil(size / 2);
  const modulus = size - shortest + 1;
  const longest = 3 * size;
  const starts = [0];
  let last = 0;
  for (let i = 1; i < n; i++) {
    const length = i - last;
    if ((length >= shortest && idHash(items[i]!.id) % modulus === 0) || length >= longest) {
      starts.push(i);
      last = i;
    }
  }
  return starts;
}

/** The shards themselves (slices of `items`). */
export function assignShards(items: readonly ShardItem[], how: { count: number } | { size: number }): ShardItem[][] {
  const starts = shardStarts(items, how);
  return starts.map((s, i) => items.slice(s, starts[i + 1] ?? items.length));
}

/** Hash of a shard's items (ids and digests, in order). */
export function itemsDigest(items: readonly ShardItem[]): string {
  const h = createHash('sha256');
  for (const it of items) h.update(`${it.id}\u0000${it.digest}\n`);
  return h.digest('hex');
}

/** How shard keys are made; part of every shard key. */
const SHARD_SCHEME = 'shard-v1';

/**
 * A shard node's key: kind, version, params, seed, the keys of the stage's non-item inputs and
 * the ids + digests of its items. Not its index or the shard count: a shard whose items are
 * unchanged keeps its key when shards are added before it.
 */
export function shardKey(parts: {
  kind: string;
  version: string;
  params: unknown;
  seed: number;
  upstream: string[];
  items: readonly ShardItem[];
}): string {
  return createHash('sha256')
    .update(
      canonicalJson([
        parts.kind,
        parts.version,
        parts.params,
        parts.seed,
        parts.upstream,
        itemsDigest(parts.items),
        SHARD_SCHEME,
      ]),
    )
    .digest('hex')
    .slice(0, 16);
}

/** The keys among a gather's own needs that feed its item port (left out of shard keys). */
export function itemInputKeys(gather: PlanNode): Set<string> {
  const role = gather.shard as GatherRole;
  const source = gather.ports[role.port];
  const out = new Set<string>();
  if (source?.from !== 'stages') return out;
  for (const s of source.stages) {
    const i = gather.needStages.indexOf(s);
    if (i >= 0 && i < role.upstream) out.add(gather.needs[i]!);
  }
  return out;
}

/** A shard node of `gather` (not yet in any plan). */
export function makeShardNode(
  gather: PlanNode,
  key: string,
  place: { index: number; count: number; items: ShardItem[]; error?: MapRole['error'] },
): PlanNode {
  const role = gather.shard as GatherRole;
  return {
    key,
    stage: gather.stage,
    stages: [...gather.stages],
    kind: gather.kind,
    kindVersion: gather.kindVersion,
    params: gather.params,
    runParams: gather.runParams,
    needs: gather.needs.slice(0, role.upstream),
    needStages: gather.needStages.slice(0, role.upstream),
    ports: gather.ports,
    points: [...gather.points],
    resources: gather.resources,
    retries: gather.retries,
    seed: gather.seed,
    shard: { role: 'map', gather: gather.key, port: role.port, ...place },
  };
}

/**
 * Shard nodes for a gather whose items are known; adds them to the plan (before the gather, which
 * keeps topological order) and makes the gather need them. A shard node equal to one already in
 * the plan (same items, params and non-item inputs) is shared. Returns the shard nodes in order.
 */
export function addShardNodes(
  plan: { nodes: PlanNode[]; byKey: Map<string, PlanNode> },
  gather: PlanNode,
  items: readonly ShardItem[],
  autoShardSize: number,
): PlanNode[] {
  const role = gather.shard;
  if (role?.role !== 'gather') throw new Error(`node ${gather.key} is not a gather node`);
  if (role.decided) throw new Error(`the shards of ${gather.stage} (${gather.key}) are already decided`);
  const itemKeys = itemInputKeys(gather);
  const upstream = gather.needs.slice(0, role.upstream).filter((k) => !itemKeys.has(k));
  const groups = assignShards(items, shardPlan(role.setting, autoShardSize));
  const shards = groups.map((group, index) => {
    const key = shardKey({
      kind: gather.kind,
      version: gather.kindVersion,
      params: gather.params,
      seed: gather.seed,
      upstream,
      items: group,
    });
    return plan.byKey.get(key) ?? makeShardNode(gather, key, { index, count: groups.length, items: group });
  });
  attachShards(plan, gather, shards);
  role.items = items.length;
  return shards;
}

/** Puts shard nodes into the plan before their gather (unless there already) and makes it need them. */
export function attachShards(
  plan: { nodes: PlanNode[]; byKey: Map<string, PlanNode> },
  gather: PlanNode,
  shards: PlanNode[],
): void {
  const role = gather.shard as GatherRole;
  for (const node of shards) {
    if (plan.byKey.has(node.key)) {
      const known = plan.byKey.get(node.key)!;
      for (const p of gather.points) if (!known.points.includes(p)) known.points.push(p);
      continue;
    }
    plan.byKey.set(node.key, node);
    const at = plan.nodes.indexOf(gather);
    plan.nodes.splice(at < 0 ? plan.nodes.length : at, 0, node);
  }
  const own = gather.needs.slice(0, role.upstream);
  const ownStages = gather.needStages.slice(0, role.upstream);
  gather.needs = [...own, ...shards.map((s) => s.key)];
  gather.needStages = [...ownStages, ...shards.map((_s, i) => shardLabel(gather.stage, i, shards.length))];
  role.shards = shards.map((s) => s.key);
  role.decided = true;
}
