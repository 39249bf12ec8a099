// Deciding the shards of a sharded stage: list its items (from the path param that feeds its item
// port, or from the finished upstream node that makes them), make the shard nodes and decide each
// (cached, or runs and why). At plan time for items known then; during the run for items made
// upstream (a dynamic expansion: the executor calls this when the gather's own inputs are done).
import { ExpError } from '../errors.ts';
import type { PlanNode } from './dag.ts';
import { diffPlan, type ManifestView, type NodeDecision, type StoreView } from './diff.ts';
import type { StageRegistry } from './registry.ts';
import { createHash } from 'node:crypto';
import { addShardNodes, attachShards, type GatherRole, makeShardNode, shardKey } from './shards.ts';
import { type JsonValue, type ShardItem, type ShardSource, withCheckedParams } from './stage-kind.ts';

/** The store as shard expansion reads it: the planner's view plus node folders and file hashes. */
export interface ShardStoreView extends StoreView {
  nodeDir(kind: string, key: string): string;
  readManifest(
    kind: string,
    key: string,
  ):
    | (ManifestView & {
        kind: string;
        outputs: Record<string, unknown>;
        files: Record<string, { bytes: number; sha256: string }>;
      })
    | undefined;
}

export interface ExpandOptions {
  registry: StageRegistry;
  store: ShardStoreView;
  /** Every decision made so far (the gather's upstream among them); the new shards' are added. */
  decisions: Map<string, NodeDecision>;
  force?: boolean | string[];
}

/** Whether the gather's items can be listed now: a path param feeds them, or their maker is in the store. */
export function canListNow(plan: { byKey: Map<string, PlanNode> }, gather: PlanNode, o: ExpandOptions): boolean {
  const role = gather.shard as GatherRole;
  if (role.decided) return false;
  const up = itemUpstream(gather);
  if (!up) return true;
  const node = plan.byKey.get(up);
  return o.decisions.get(up)?.status === 'cached' && node !== undefined && o.store.has(node.kind, up);
}

/** The key of the upstream node that makes a gather's items; undefined when a path param feeds them. */
export function itemUpstream(gather: PlanNode): string | undefined {
  const role = gather.shard as GatherRole;
  if (!role.itemsFrom) return undefined;
  const i = gather.needStages.indexOf(role.itemsFrom);
  return i >= 0 && i < role.upstream ? gather.needs[i] : undefined;
}

/**
 * Lists the gather's items, adds its shard nodes to the plan and decides them. Returns the shard
 * nodes that are new to the plan (a shard equal to one already planned is shared).
 */
export async function expandGather(
  plan: { nodes: PlanNode[]; byKey: Map<string, PlanNode> },
  gather: PlanNode,
  o: ExpandOptions,
): Promise<PlanNode[]> {
  const registered = o.registry.get(gather.kind);
  const kind = registered && withCheckedParams(registered);
  if (!kind?.shard) {
    throw new ExpError('EXP_KIND_UNREGISTERED', `stage kind "${gather.kind}" is not registered or cannot shard`, {
      hint: 'load the plugin that registers it (--plugin), or drop shards / shard_size from the stage',
    });
  }
  const source: ShardSource = { params: gather.runParams };
  const upKey = itemUpstream(gather);
  if (upKey) {
    const up = plan.byKey.get(upKey);
    const manifest = up ? o.store.readManifest(up.kind, upKey) : undefined;
    if (!up || !manifest) {
      throw new ExpError(
        'EXP_INPUT_MISSING',
        `${gather.stage}: the items of its shards come from ${(gather.shard as GatherRole).itemsFrom} (${upKey.slice(0, 10)}), which is not in the store`,
        { hint: 'rerun it (exp run --rerun STAGE) or check the runs folder' },
      );
    }
    source.input = {
      stage: (gather.shard as GatherRole).itemsFrom!,
      kind: up.kind,
      key: upKey,
      dir: o.store.nodeDir(up.kind, upKey),
      outputs: manifest.outputs as Record<string, JsonValue>,
      files: manifest.files,
    };
  }
  const items = checkItems(await kind.shard.listItems(source), gather);
  const before = new Set(plan.byKey.keys());
  const shards = addShardNodes(plan, gather, items, kind.shard.autoShardSize);
  const fresh = shards.filter((s) => !before.has(s.key));
  const decided = diffPlan({ nodes: fresh }, o.store, { force: o.force, known: o.decisions });
  for (const [k, d] of decided) o.decisions.set(k, d);
  return fresh;
}

/** Items as plain data with string ids and digests (a plugin's listItems is checked once here). */
function checkItems(items: unknown, gather: PlanNode): ShardItem[] {
  if (!Array.isArray(items)) throw new Error(`${gather.kind}: shard.listItems did not return a list`);
  for (const it of items as ShardItem[]) {
    if (typeof it?.id !== 'string' || typeof it.digest !== 'string')
      throw new Error(`${gather.kind}: shard.listItems returned an item without a string id and digest`);
  }
  return items as ShardItem[];
}

/**
 * During the run, when `finished` (done or cached) made the items of sharded stages that wait on
 * it: their shards, decided, and the gathers whose needs grew (for the schedule to relink). A
 * listing that fails becomes one shard that fails with its error: the gather is then skipped like
 * any dependent of a failed node, and the rest of the run goes on.
 */
export async function expandAfter(
  plan: { nodes: PlanNode[]; byKey: Map<string, PlanNode> },
  finished: PlanNode,
  o: ExpandOptions,
): Promise<{ nodes: PlanNode[]; relink: PlanNode[] } | undefined> {
  const gathers = plan.nodes.filter(
    (g) =>
      g.shard?.role === 'gather' &&
      !g.shard.decided &&
      o.decisions.get(g.key)?.status === 'run' &&
      itemUpstream(g) === finished.key,
  );
  if (!gathers.length) return undefined;
  const nodes: PlanNode[] = [];
  for (const g of gathers) {
    try {
      nodes.push(...(await expandGather(plan, g, o)));
    } catch (e) {
      nodes.push(failedExpansion(plan, g, e, o));
    }
  }
  return { nodes, relink: gathers };
}

/** The one shard that stands for a stage whose items could not be listed, failing with why. */
function failedExpansion(
  plan: { nodes: PlanNode[]; byKey: Map<string, PlanNode> },
  gather: PlanNode,
  e: unknown,
  o: ExpandOptions,
): PlanNode {
  const message = `${gather.stage}: listing its items for sharding failed: ${e instanceof Error ? e.message : String(e)}`;
  const hint = (e as { hint?: unknown } | undefined)?.hint;
  const marker = { id: '.listing-failed', digest: createHash('sha256').update(message).digest('hex').slice(0, 24) };
  // A key of its own (never a real shard's): the failure is recorded for it alone.
  const key = shardKey({
    kind: gather.kind,
    version: gather.kindVersion,
    params: gather.params,
    seed: gather.seed,
    upstream: [message],
    items: [marker],
  });
  const node = makeShardNode(gather, key, {
    index: 0,
    count: 1,
    items: [marker],
    error: { message, ...(typeof hint === 'string' ? { hint } : {}) },
  });
  attachShards(plan, gather, [node]);
  (gather.shard as GatherRole).items = 0;
  o.decisions.set(key, { key, status: 'run', reason: 'never-run', why: message });
  return node;
}

/**
 * At plan time: the shards of every sharded stage that will run and whose items can be listed now
 * (a path param feeds them, or the upstream node that makes them is cached). The others are
 * decided when their upstream has run ("shards decided after <stage>").
 */
export async function expandPlannedShards(
  plan: { nodes: PlanNode[]; byKey: Map<string, PlanNode> },
  o: ExpandOptions,
): Promise<void> {
  for (const gather of [...plan.nodes]) {
    if (gather.shard?.role !== 'gather' || o.decisions.get(gather.key)?.status !== 'run') continue;
    if (canListNow(plan, gather, o)) await expandGather(plan, gather, o);
  }
}
