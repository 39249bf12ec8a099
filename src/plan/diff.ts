// Plan vs store: which nodes are cached, which will run, and why (the "silent cache surprise"
// users of other tools complain about: we always say why a node runs again).
import { canonicalJson } from '../canonical.ts';
import type { Plan, PlanNode } from './dag.ts';

export type NodeStatus = 'cached' | 'run';

/** Why a node is cached or runs: code switches on this, people read `why`. */
export type Reason =
  | 'cached' // output in store
  | 'forced' // --force / --rerun
  | 'data-changed' // the data under one of its path params changed since it ran
  | 'data-changed-upstream' // an upstream node reruns for changed data
  | 'failed-before' // its previous attempt failed
  | 'never-run' // no earlier node of this stage
  | 'output-missing' // planned as cached, but its output was gone when its turn came
  | 'changed'; // kind version, params, upstream or settings differ from the closest earlier node

/** Reasons that rerun a node whose output is in the store (the executor discards that output). */
export const RERUN_IN_PLACE: ReadonlySet<Reason> = new Set<Reason>(['forced', 'data-changed', 'data-changed-upstream']);

export interface NodeDecision {
  key: string;
  status: NodeStatus;
  reason: Reason;
  /** The reason in words, with the details (which params, which upstream stage). */
  why: string;
}

/** What the planner reads of a finished node's manifest (the store's manifests have this shape). */
export interface ManifestView {
  stage: string;
  kindVersion: string;
  params: Record<string, unknown>;
  inputs: { stage: string; key: string }[];
  finishedAt: number;
  /** Fingerprints of the data under its path params when it ran. */
  data?: Record<string, string>;
  /** A shard node of a sharded stage: its place and its items as `[id, digest]`. */
  shard?: { index: number; count: number; items: [string, string][] };
}

/** The store as the planner sees it (read-only). */
export interface StoreView {
  has(kind: string, key: string): boolean;
  readFailure(key: string): { error: string; at: number } | undefined;
  manifestsOf(kind: string): ManifestView[];
  /** The finished node's manifest (only asked for nodes with path params). */
  readManifest?(kind: string, key: string): ManifestView | undefined;
}

export interface DiffOptions {
  force?: boolean | string[];
  /** Decisions already made for nodes outside `plan` (the upstream of shard nodes added later). */
  known?: ReadonlyMap<string, NodeDecision>;
  /** Current fingerprints of a node's input data (path params); empty when it has none. */
  dataFingerprint?: (node: PlanNode) => Record<string, string>;
}

const DATA_CHANGED = 'input data changed';

export function diffPlan(
  plan: Pick<Plan, 'nodes'>,
  store: StoreView,
  options: DiffOptions = {},
): Map<string, NodeDecision> {
  const own = new Map<string, NodeDecision>();
  const known = options.known;
  const decisions = {
    get: (k: string): NodeDecision | undefined => own.get(k) ?? known?.get(k),
    set: (k: string, d: NodeDecision): void => void own.set(k, d),
  };
  const forced = (n: PlanNode): boolean =>
    options.force === true ||
    (Array.isArray(options.force) && n.stages.some((s) => (options.force as string[]).includes(s)));

  for (const node of plan.nodes) {
    if (forced(node)) {
      decisions.set(node.key, { key: node.key, status: 'run', reason: 'forced', why: '--force' });
      continue;
    }
    if (store.has(node.kind, node.key)) {
      // Same key, but the data under a path param changed (here or upstream): recompute in place.
      const changed = changedData(node, store, options);
      const staleUp = node.needs
        .map((k, i) => (isDataChange(decisions.get(k)?.reason) ? node.needStages[i] : undefined))
        .filter(Boolean);
      if (changed.length)
        decisions.set(node.key, {
          key: node.key,
          status: 'run',
          reason: 'data-changed',
          why: `${DATA_CHANGED}: ${changed.join(', ')}`,
        });
      else if (staleUp.length)
        decisions.set(node.key, {
          key: node.key,
          status: 'run',
          reason: 'data-changed-upstream',
          why: `${DATA_CHANGED} upstream (${staleUp.join(', ')})`,
        });
      else decisions.set(node.key, { key: node.key, status: 'cached', reason: 'cached', why: 'output in store' });
      continue;
    }
    const upstreamRuns = node.needs
      .map((k, i) => ({ k, stage: node.needStages[i]! }))
      .filter(({ k }) => decisions.get(k)?.status === 'run');
    const failure = store.readFailure(node.key);
    let reason: Reason;
    let why: string;
    if (failure) {
      reason = 'failed-before';
      why = `previous attempt failed: ${firstLine(failure.error)}`;
    } else if (node.shard?.role === 'map') {
      const history = explainShard(node, store.manifestsOf(node.kind));
      reason = history ? 'changed' : 'never-run';
      why = history ?? 'never run';
    } else {
      const history = explainAgainstHistory(node, store.manifestsOf(node.kind));
      reason = history ? 'changed' : 'never-run';
      why = history ?? 'never run';
    }
    if (upstreamRuns.length && reason !== 'failed-before') {
      const ups = upstreamRuns.map((u) => u.stage).join(', ');
      why = reason === 'never-run' ? `upstream will run (${ups})` : `${why}; upstream will run (${ups})`;
    }
    decisions.set(node.key, { key: node.key, status: 'run', reason, why });
  }
  return own;
}

function changedData(node: PlanNode, store: StoreView, options: DiffOptions): string[] {
  // A shard's data is in its key (its items' digests); only the gather fingerprints the path.
  if (!options.dataFingerprint || !store.readManifest || node.shard?.role === 'map') return [];
  const now = options.dataFingerprint(node);
  const names = Object.keys(now);
  if (!names.length) return [];
  const before = store.readManifest(node.kind, node.key)?.data;
  if (!before) return [];
  return names
    .filter((n) => before[n] !== undefined && before[n] !== now[n])
    .map((n) => `${n} (${String(node.runParams[n])})`);
}

function isDataChange(reason: Reason | undefined): boolean {
  return reason === 'data-changed' || reason === 'data-changed-upstream';
}

/** What differs from the closest earlier node of the same stage; undefined when there is none. */
function explainAgainstHistory(node: PlanNode, history: ManifestView[]): string | undefined {
  const isShard = node.shard?.role === 'map';
  const same = history.filter((m) => node.stages.includes(m.stage) && Boolean(m.shard) === isShard);
  if (!same.length) return undefined;
  // The most similar earlier node of the same stage: fewest differing params, newest first.
  let best: { m: ManifestView; diffs: string[] } | undefined;
  for (const m of same.sort((a, b) => b.finishedAt - a.finishedAt)) {
    const diffs = paramDiffs(m.params, node.params);
    if (!best || diffs.length < best.diffs.length) best = { m, diffs };
  }
  const { m, diffs } = best!;
  const reasons: string[] = [];
  if (m.kindVersion !== node.kindVersion) reasons.push(`kind version changed ${m.kindVersion} → ${node.kindVersion}`);
  if (diffs.length) reasons.push(`params changed: ${diffs.slice(0, 4).join(', ')}${diffs.length > 4 ? ', …' : ''}`);
  const prevInputs = m.inputs.map((i) => i.key);
  const changed = node.needs.map((k, i) => (prevInputs[i] !== k ? node.needStages[i] : undefined)).filter(Boolean);
  if (changed.length) reasons.push(`upstream changed (${changed.join(', ')})`);
  if (!reasons.length) reasons.push('seed or spec settings changed');
  return reasons.join('; ');
}

/**
 * Why a shard node runs, against the earlier shards of its stage: which of its items are new or
 * changed, or that it holds items other shards held before (a boundary moved), or else what
 * differs in params, version or upstream. Undefined when the stage never ran as shards.
 */
function explainShard(node: PlanNode, history: ManifestView[]): string | undefined {
  const role = node.shard;
  if (role?.role !== 'map') return undefined;
  const shards = history.filter((m) => m.shard && node.stages.includes(m.stage));
  if (!shards.length) return undefined;
  const params = canonicalJson(node.params);
  // The item port's upstream (a demo world, a parse node) is not part of a shard's identity.
  const source = node.ports[role.port];
  const itemsFrom = new Set(source?.from === 'stages' ? source.stages : []);
  const nonItem = (inputs: { stage: string; key: string }[]): string =>
    inputs
      .filter((i) => !itemsFrom.has(i.stage))
      .map((i) => i.key)
      .join(',');
  const mine = nonItem(node.needs.map((key, i) => ({ stage: node.needStages[i]!, key })));
  const same = shards.filter(
    (m) => m.kindVersion === node.kindVersion && canonicalJson(m.params) === params && nonItem(m.inputs) === mine,
  );
  if (!same.length) return explainAgainstHistory(node, shards);
  const before = new Map<string, string>();
  for (const m of same) for (const [id, digest] of m.shard!.items ?? []) before.set(id, digest);
  const added: string[] = [];
  const changed: string[] = [];
  for (const it of role.items) {
    const d = before.get(it.id);
    if (d === undefined) added.push(it.id);
    else if (d !== it.digest) changed.push(it.id);
  }
  const parts: string[] = [];
  if (added.length) parts.push(`${added.length} new item(s) (${listed(added)})`);
  if (changed.length) parts.push(`${changed.length} changed item(s) (${listed(changed)})`);
  if (parts.length) return parts.join(', ');
  return 'shard boundaries moved: its items ran in other shards before';
}

function listed(ids: string[]): string {
  return ids.length > 3 ? `${ids.slice(0, 3).join(', ')}, …` : ids.join(', ');
}

function paramDiffs(before: Record<string, unknown>, after: Record<string, unknown>, prefix = ''): string[] {
  const out: string[] = [];
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  for (const k of [...keys].sort()) {
    const a = before?.[k];
    const b = after?.[k];
    if (canonicalJson(a) === canonicalJson(b)) continue;
    if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
      out.push(...paramDiffs(a as Record<string, unknown>, b as Record<string, unknown>, `${prefix}${k}.`));
    } else {
      out.push(`${prefix}${k} ${short(a)} → ${short(b)}`);
    }
  }
  return out;
}

function short(v: unknown): string {
  const s = v === undefined ? '∅' : JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 37)}…` : s;
}

function firstLine(s: string): string {
  const line = s.split('\n')[0] ?? '';
  return line.length > 120 ? `${line.slice(0, 117)}…` : line;
}
