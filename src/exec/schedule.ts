// What is left to run of a plan, and in which order: how many needs each node still waits for,
// the ready nodes (most dependents first, so long chains start early), which nodes wait on which,
// and what is running or finished. Nodes can be added while a run is in progress: a node whose
// outputs decide further nodes (the shards of a stage, known once their upstream node finished)
// adds them, with their edges onto nodes already known, and can re-point waiting dependents onto
// them. The executor holds one Schedule; it never decides where or how a node runs.
import type { PlanNode } from '../plan/dag.ts';

export type ScheduleState = 'waiting' | 'ready' | 'running' | 'finished';

export interface AddNodesOptions {
  /**
   * Re-point dependents: every known node that needs `from` (and is not one of the added nodes)
   * needs the `to` nodes in its place (`from` stays only when listed in `to`). Such a dependent
   * must not have started.
   */
  repoint?: { from: string; to: string[] }[];
  /**
   * Known nodes whose `needs` grew (a sharded stage's gather now needs its shards): their edges
   * and unmet counts are recomputed from the given node objects. Such a node must not have started.
   */
  relink?: PlanNode[];
}

export class Schedule {
  private readonly nodes = new Map<string, PlanNode>();
  private readonly states = new Map<string, ScheduleState>();
  /** Finished nodes, and whether their dependents may use them (done or cached). */
  private readonly results = new Map<string, boolean>();
  private readonly unmet = new Map<string, number>();
  private readonly dependents = new Map<string, Set<string>>();
  private readyKeys: string[] = [];
  private readySorted = true;
  private weights: Map<string, number> | undefined;

  constructor(nodes: Iterable<PlanNode> = []) {
    this.addNodes([...nodes]);
  }

  get(key: string): PlanNode | undefined {
    return this.nodes.get(key);
  }

  has(key: string): boolean {
    return this.nodes.has(key);
  }

  state(key: string): ScheduleState | undefined {
    return this.states.get(key);
  }

  /** Every node, in the order they were added (a topological order for a plan's nodes). */
  all(): PlanNode[] {
    return [...this.nodes.values()];
  }

  /** Nodes not finished yet (waiting, ready or running). */
  unfinished(): PlanNode[] {
    return this.all().filter((n) => this.states.get(n.key) !== 'finished');
  }

  count(state: ScheduleState): number {
    let n = 0;
    for (const s of this.states.values()) if (s === state) n++;
    return n;
  }

  /** The nodes that may start now, most transitive dependents first (ties: the order they became ready). */
  ready(): PlanNode[] {
    if (!this.readySorted) {
      const w = this.weightMap();
      const order = new Map(this.readyKeys.map((k, i) => [k, i]));
      this.readyKeys.sort((a, b) => (w.get(b) ?? 0) - (w.get(a) ?? 0) || order.get(a)! - order.get(b)!);
      this.readySorted = true;
    }
    return this.readyKeys.map((k) => this.nodes.get(k)!);
  }

  /** A ready node is handed to a runner. */
  start(key: string): void {
    if (this.states.get(key) !== 'ready') throw new Error(`node ${key} is not ready (${this.states.get(key)})`);
    this.readyKeys.splice(this.readyKeys.indexOf(key), 1);
    this.states.set(key, 'running');
  }

  /**
   * A node finished: `ok` when its dependents may use its outputs (done, cached). Returns the
   * dependents that became ready. A node not ok keeps its dependents waiting: skip them
   * (`waitingOn`) or leave them to the end of the run.
   */
  finish(key: string, ok: boolean): PlanNode[] {
    const was = this.states.get(key);
    if (was === undefined) throw new Error(`node ${key} is not in the schedule`);
    if (was === 'finished') return [];
    if (was === 'ready') this.readyKeys.splice(this.readyKeys.indexOf(key), 1);
    this.states.set(key, 'finished');
    this.results.set(key, ok);
    if (!ok) return [];
    const released: PlanNode[] = [];
    for (const d of this.dependents.get(key) ?? []) {
      const left = (this.unmet.get(d) ?? 0) - 1;
      this.unmet.set(d, left);
      if (left === 0 && this.states.get(d) === 'waiting') {
        this.makeReady(d);
        released.push(this.nodes.get(d)!);
      }
    }
    return released;
  }

  /** Did this finished node succeed (done or cached)? undefined while it has not finished. */
  succeeded(key: string): boolean | undefined {
    return this.results.get(key);
  }

  /** The direct dependents of a node. */
  dependentsOf(key: string): PlanNode[] {
    return [...(this.dependents.get(key) ?? [])].map((k) => this.nodes.get(k)!);
  }

  /** Every unfinished node downstream of `key` (dependents, their dependents, ...), each once. */
  waitingOn(key: string): PlanNode[] {
    const seen = new Set<string>();
    const out: PlanNode[] = [];
    const stack = [...(this.dependents.get(key) ?? [])];
    while (stack.length) {
      const k = stack.pop()!;
      if (seen.has(k)) continue;
      seen.add(k);
      if (this.states.get(k) !== 'finished') out.push(this.nodes.get(k)!);
      stack.push(...(this.dependents.get(k) ?? []));
    }
    return out;
  }

  /** Needs of a node that finished without a usable result: it can never become ready. */
  failedNeeds(key: string): string[] {
    return (this.nodes.get(key)?.needs ?? []).filter((k) => this.results.get(k) === false);
  }

  /** How many nodes transitively wait on this one (the ready order's weight). */
  weight(key: string): number {
    return this.weightMap().get(key) ?? 0;
  }

  /**
   * Adds nodes, during a run too. Their needs must be known (already in the schedule, or among
   * `nodes`); a key already known is the same node (content-addressed keys) and is not added
   * again. Returns the added nodes that are ready at once (every need already succeeded).
   */
  addNodes(nodes: PlanNode[], options: AddNodesOptions = {}): PlanNode[] {
    const addedKeys = new Set<string>();
    const added = nodes.filter((n) => {
      if (this.nodes.has(n.key) || addedKeys.has(n.key)) return false;
      addedKeys.add(n.key);
      return true;
    });
    for (const n of added) {
      for (const need of n.needs) {
        if (!this.nodes.has(need) && !addedKeys.has(need))
          throw new Error(`node ${n.key} (${n.stage}) needs ${need}, which is not in the schedule`);
      }
    }
    // Re-pointed dependents are checked before anything changes: a failed call changes nothing.
    const repoints = (options.repoint ?? []).map(({ from, to }) => {
      if (!this.nodes.has(from))
        throw new Error(`cannot re-point the dependents of ${from}: it is not in the schedule`);
      for (const t of to)
        if (!this.nodes.has(t) && !addedKeys.has(t))
          throw new Error(`cannot re-point onto ${t}: it is not in the schedule`);
      const moved = [...(this.dependents.get(from) ?? [])].filter((d) => !addedKeys.has(d));
      for (const d of moved) {
        const s = this.states.get(d);
        if (s === 'running' || s === 'finished')
          throw new Error(
            `cannot re-point ${this.nodes.get(d)!.stage} (${d}): it has ${s === 'running' ? 'started' : s}`,
          );
      }
      return { from, to, moved };
    });

    for (const n of added) {
      this.nodes.set(n.key, n);
      this.states.set(n.key, 'waiting');
    }
    for (const n of added) this.link(n);

    const stageOf = (key: string): string => this.nodes.get(key)!.stage;
    for (const { from, to, moved } of repoints) {
      for (const d of moved) {
        const node = this.nodes.get(d)!;
        const needs: string[] = [];
        const needStages: string[] = [];
        node.needs.forEach((k, i) => {
          for (const x of k === from ? to : [k]) {
            if (needs.includes(x)) continue;
            needs.push(x);
            needStages.push(k === from ? stageOf(x) : node.needStages[i]!);
          }
        });
        for (const k of node.needs) this.dependents.get(k)?.delete(d);
        const updated: PlanNode = { ...node, needs, needStages };
        this.nodes.set(d, updated);
        if (this.states.get(d) === 'ready') {
          this.readyKeys.splice(this.readyKeys.indexOf(d), 1);
          this.states.set(d, 'waiting');
        }
        this.link(updated);
      }
    }
    for (const n of options.relink ?? []) {
      const s = this.states.get(n.key);
      if (s === undefined) throw new Error(`cannot relink ${n.key}: it is not in the schedule`);
      if (s === 'running' || s === 'finished') throw new Error(`cannot relink ${n.stage} (${n.key}): it has ${s}`);
      for (const need of n.needs)
        if (!this.nodes.has(need))
          throw new Error(`node ${n.key} (${n.stage}) needs ${need}, which is not in the schedule`);
      this.nodes.set(n.key, n);
      if (s === 'ready') {
        this.readyKeys.splice(this.readyKeys.indexOf(n.key), 1);
        this.states.set(n.key, 'waiting');
      }
      this.link(n);
    }
    this.weights = undefined;
    this.readySorted = false;
    return added.filter((n) => this.states.get(n.key) === 'ready');
  }

  /** Records a node's edges and unmet count; ready when nothing is left to wait for. */
  private link(n: PlanNode): void {
    let unmet = 0;
    for (const need of n.needs) {
      let set = this.dependents.get(need);
      if (!set) this.dependents.set(need, (set = new Set()));
      set.add(n.key);
      if (this.results.get(need) !== true) unmet++;
    }
    this.unmet.set(n.key, unmet);
    if (unmet === 0 && this.states.get(n.key) === 'waiting') this.makeReady(n.key);
  }

  private makeReady(key: string): void {
    this.states.set(key, 'ready');
    this.readyKeys.push(key);
    this.readySorted = false;
  }

  /**
   * How many nodes wait on each node, computed once per shape of the graph (depth-first, without
   * recursion). Exact (sets of descendants) up to EXACT_WEIGHTS nodes; above, the sum of the
   * dependents' weights, which counts a node reachable by two paths twice: exact for trees (a
   * grid's fan-out), a close enough order for the rest, and linear in time and memory.
   */
  private weightMap(): Map<string, number> {
    if (this.weights) return this.weights;
    const exact = this.nodes.size <= EXACT_WEIGHTS;
    const sets = new Map<string, Set<string>>();
    const weights = new Map<string, number>();
    const visit = (root: string): void => {
      const stack: { key: string; expanded: boolean }[] = [{ key: root, expanded: false }];
      while (stack.length) {
        const top = stack[stack.length - 1]!;
        if (weights.has(top.key)) {
          stack.pop();
          continue;
        }
        const deps = this.dependents.get(top.key) ?? new Set<string>();
        if (!top.expanded) {
          top.expanded = true;
          for (const d of deps) if (!weights.has(d)) stack.push({ key: d, expanded: false });
          continue;
        }
        if (exact) {
          const below = new Set<string>();
          for (const d of deps) {
            below.add(d);
            for (const x of sets.get(d)!) below.add(x);
          }
          sets.set(top.key, below);
          weights.set(top.key, below.size);
        } else {
          let sum = 0;
          for (const d of deps) sum += 1 + weights.get(d)!;
          weights.set(top.key, Math.min(sum, Number.MAX_SAFE_INTEGER));
        }
        stack.pop();
      }
    };
    for (const k of this.nodes.keys()) visit(k);
    this.weights = weights;
    return weights;
  }
}

/** Up to this many nodes, weights are exact counts of distinct dependents (quadratic at worst). */
const EXACT_WEIGHTS = 2000;
