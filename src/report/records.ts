// What a runs folder says about the runs of one spec: its invocation records, and for every node
// they name the manifest (kind, params, metrics with their history, artifacts, skipped inputs) or
// the failure record. Read-only; everything `exp compare` and `exp report` show comes from here.
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { ExpError } from '../errors.ts';
import { type InvocationPoint, type InvocationRecord, listInvocations } from '../store/invocations.ts';
import { ArtifactStore, type FailureRecord, type NodeManifest } from '../store/store.ts';

export interface NodeRecord {
  stage: string;
  key: string;
  /** The node's kind (from its manifest or failure record); undefined when neither exists. */
  kind?: string;
  manifest?: NodeManifest;
  failure?: FailureRecord;
  /** Folder of a finished node. */
  dir?: string;
  log: string;
}

/** One grid point as the latest invocation that had it recorded it. */
export interface PointRecord {
  id: string;
  name: string;
  assignment: Record<string, unknown>;
  overrides: Record<string, unknown>;
  status: InvocationPoint['status'];
  metrics: Record<string, number>;
  /** The invocation this record of the point comes from (the newest that had the point). */
  invocation: string;
  startedAt: number;
  /** Every invocation that had the point, newest first. */
  invocations: string[];
  nodes: NodeRecord[];
}

export interface RunSet {
  runsDir: string;
  /** The spec's name (the MLflow experiment). */
  name: string;
  /** The invocations covered, newest first. */
  invocations: InvocationRecord[];
  /** Distinct points: those of the newest invocation in its grid order, then older ones, newest first. */
  points: PointRecord[];
  /** Headline metric keys: what the kinds declared, over the invocations covered. */
  headline: string[];
}

export interface Selection {
  /** A spec file (its absolute path and its `name:`) or an experiment name. */
  spec?: { file?: string; name: string };
  /** One invocation (id or a prefix of it). */
  invocation?: string;
}

/** The invocation records a selection covers, newest first; an ExpError says what exists when none. */
export async function selectInvocations(runsDir: string, sel: Selection): Promise<InvocationRecord[]> {
  const all = await listInvocations(runsDir);
  let chosen = all;
  if (sel.spec) {
    const { file, name } = sel.spec;
    chosen = chosen.filter((i) => i.name === name || (file !== undefined && path.resolve(i.spec) === file));
  }
  if (sel.invocation !== undefined) {
    const prefix = sel.invocation;
    chosen = chosen.filter((i) => i.id === prefix || i.id.startsWith(prefix));
    if (chosen.length > 1) {
      throw new ExpError('EXP_ARGS_INVALID', `invocation "${prefix}" is ambiguous`, {
        hint: `it starts ${chosen.length} invocations: ${chosen
          .slice(0, 5)
          .map((i) => i.id)
          .join(', ')}`,
      });
    }
  }
  if (chosen.length === 0) {
    const names = [...new Set(all.map((i) => i.name))];
    const what = [sel.spec ? `of ${sel.spec.name}` : '', sel.invocation ? `matching ${sel.invocation}` : '']
      .filter(Boolean)
      .join(' ');
    throw new ExpError('EXP_NOT_FOUND', `no invocation ${what} in ${runsDir}`, {
      hint: all.length
        ? `invocations there are of: ${names.join(', ')} (exp ls lists them)`
        : 'run `exp run <spec.yaml>` first',
    });
  }
  return chosen;
}

/** key → kind of every node folder in the store (one readdir per kind). */
async function nodeKinds(store: ArtifactStore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const kind of await store.kinds()) {
    const names = await fs.readdir(path.join(store.cacheDir, kind)).catch(() => [] as string[]);
    for (const n of names) if (!n.startsWith('.')) out.set(n, kind);
  }
  return out;
}

/** Gathers the points of the given invocations (newest first) with their nodes' records. */
export async function readRunSet(runsDir: string, invocations: InvocationRecord[]): Promise<RunSet> {
  const store = new ArtifactStore(runsDir);
  const kinds = await nodeKinds(store);
  const manifests = new Map<string, NodeManifest | undefined>();
  const manifestOf = (key: string): NodeManifest | undefined => {
    if (!manifests.has(key)) {
      const kind = kinds.get(key);
      manifests.set(key, kind ? store.readManifest(kind, key) : undefined);
    }
    return manifests.get(key);
  };
  const byId = new Map<string, PointRecord>();
  const order: PointRecord[] = [];
  for (const inv of invocations) {
    for (const p of inv.points) {
      const seen = byId.get(p.id);
      if (seen) {
        seen.invocations.push(inv.id);
        continue;
      }
      const nodes: NodeRecord[] = Object.entries(p.nodes).map(([stage, key]) => {
        const manifest = manifestOf(key);
        const failure = manifest ? undefined : store.readFailure(key);
        const kind = manifest?.kind ?? failure?.kind;
        const dir = manifest ? store.nodeDir(manifest.kind, key) : undefined;
        return {
          stage,
          key,
          ...(kind ? { kind } : {}),
          ...(manifest ? { manifest } : {}),
          ...(failure ? { failure } : {}),
          ...(dir && existsSync(dir) ? { dir } : {}),
          log: store.logPath(key),
        };
      });
      const rec: PointRecord = {
        id: p.id,
        name: p.name,
        assignment: p.assignment,
        overrides: p.overrides ?? {},
        status: p.status,
        metrics: p.metrics,
        invocation: inv.id,
        startedAt: inv.startedAt,
        invocations: [inv.id],
        nodes,
      };
      byId.set(p.id, rec);
      order.push(rec);
    }
  }
  disambiguateNames(order);
  const headline = [...new Set(invocations.flatMap((i) => i.headlineMetrics ?? []))];
  return { runsDir, name: invocations[0]?.name ?? '', invocations, points: order, headline };
}

/** Two different points with one name (the spec changed between runs): each gets `#<id>` added. */
function disambiguateNames(points: PointRecord[]): void {
  const count = new Map<string, number>();
  for (const p of points) count.set(p.name, (count.get(p.name) ?? 0) + 1);
  for (const p of points) if ((count.get(p.name) ?? 0) > 1) p.name = `${p.name} #${p.id.slice(0, 6)}`;
}

/** `a.b=1 c=x`: the values that define a point, as `exp show` and the report print them. */
export function describeValues(values: Record<string, unknown>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
}
