// How `exp plan` shows sharded stages: one line per gather (how many shards, how many cached, or
// "shards decided after <stage>"), and with --why the shards that run and why (which items are
// new or changed), at most SHOWN of them per stage so that 1,000 shards stay readable.
import type { Plan, PlanNode } from '../plan/dag.ts';
import type { NodeDecision } from '../plan/diff.ts';
import { type GatherRole, nodeLabel, type ShardSetting } from '../plan/shards.ts';

const SHOWN = 20;

function settingText(s: ShardSetting): string {
  if (s.shards !== undefined) return `shards: ${s.shards}`;
  return `shard_size: ${s.shardSize}`;
}

/** Lines under the plan's table for its sharded stages; empty when none is sharded. */
export function shardLines(plan: Plan, decisions: Map<string, NodeDecision>, why: boolean): string[] {
  const lines: string[] = [];
  for (const g of plan.nodes) {
    const role = g.shard;
    if (role?.role !== 'gather') continue;
    const head = `${g.stage} (${g.key.slice(0, 10)}, ${settingText(role.setting)})`;
    if (decisions.get(g.key)?.status === 'cached') {
      lines.push(`  ${head}: cached; its shards are not needed`);
      continue;
    }
    if (!role.decided) {
      lines.push(`  ${head}: shards decided after ${role.itemsFrom ?? 'its upstream'}`);
      continue;
    }
    const shards = role.shards.map((k) => plan.byKey.get(k)!);
    const run = shards.filter((s) => decisions.get(s.key)?.status === 'run');
    lines.push(
      `  ${head}: ${shards.length} shard(s) of ${role.items ?? 0} item(s): ${shards.length - run.length} cached, ${run.length} to run`,
    );
    if (!why) continue;
    for (const s of run.slice(0, SHOWN)) lines.push(`    ${shardRow(s, decisions)}`);
    if (run.length > SHOWN) lines.push(`    … and ${run.length - SHOWN} more shard(s) to run`);
  }
  return lines;
}

function shardRow(s: PlanNode, decisions: Map<string, NodeDecision>): string {
  const items = s.shard?.role === 'map' ? s.shard.items.length : 0;
  return `● ${nodeLabel(s)} ${s.key.slice(0, 10)} ${items} item(s): ${decisions.get(s.key)?.why ?? ''}`;
}

/** The `shard` / `shards` members of a node in `exp plan --json`. */
export function shardJson(n: PlanNode): Record<string, unknown> {
  const role = n.shard;
  if (!role) return {};
  if (role.role === 'map')
    return { shard: { gather: role.gather, index: role.index, count: role.count, items: role.items.length } };
  const g: GatherRole = role;
  return {
    shards: {
      ...(g.setting.shards !== undefined ? { shards: g.setting.shards } : { shard_size: g.setting.shardSize }),
      decided: g.decided,
      ...(g.decided ? { count: g.shards.length, items: g.items ?? 0 } : { decided_after: g.itemsFrom ?? null }),
    },
  };
}
