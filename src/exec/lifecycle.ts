// Lifecycle events of one execution, fanned out to reporters (progress display, tracker,
// summary): the scheduler never prints or tracks anything itself.
import type { Plan, PlanNode } from '../plan/dag.ts';
import type { NodeDecision } from '../plan/diff.ts';
import type { NodeManifest } from '../store/store.ts';
import type { TaskEvent } from './task.ts';

export type NodeOutcomeStatus = 'done' | 'cached' | 'failed' | 'skipped' | 'cancelled';

export interface NodeOutcome {
  key: string;
  status: NodeOutcomeStatus;
  /** The finished node's manifest (done or cached). */
  manifest?: NodeManifest;
  /** Absolute folder of the node's outputs (done or cached). */
  dir?: string;
  error?: { message: string; code?: string; hint?: string; stack?: string };
  /** For skipped: the failed upstream stage. */
  reason?: string;
  attempts: number;
  durationMs: number;
  logFile?: string;
}

export interface ExecSummary {
  outcomes: Map<string, NodeOutcome>;
  interrupted: boolean;
  wallMs: number;
}

export interface Lifecycle {
  planned?(plan: Plan, decisions: Map<string, NodeDecision>): void;
  /** Nodes added while the run is in progress (decided by a finished node, e.g. shards). */
  nodesAdded?(nodes: PlanNode[], decisions: Map<string, NodeDecision>): void;
  nodeStarted?(node: PlanNode, attempt: number): void;
  nodeEvent?(node: PlanNode, event: TaskEvent): void;
  /** Called once per node, cached ones included. May return a promise (trackers write files). */
  nodeFinished?(node: PlanNode, outcome: NodeOutcome): void | Promise<void>;
  finished?(summary: ExecSummary): void | Promise<void>;
}

export class CompositeLifecycle implements Lifecycle {
  constructor(private readonly parts: Lifecycle[]) {}
  planned(plan: Plan, d: Map<string, NodeDecision>): void {
    for (const p of this.parts) p.planned?.(plan, d);
  }
  nodesAdded(nodes: PlanNode[], d: Map<string, NodeDecision>): void {
    for (const p of this.parts) p.nodesAdded?.(nodes, d);
  }
  nodeStarted(node: PlanNode, attempt: number): void {
    for (const p of this.parts) p.nodeStarted?.(node, attempt);
  }
  nodeEvent(node: PlanNode, e: TaskEvent): void {
    for (const p of this.parts) p.nodeEvent?.(node, e);
  }
  async nodeFinished(node: PlanNode, o: NodeOutcome): Promise<void> {
    for (const p of this.parts) await p.nodeFinished?.(node, o);
  }
  async finished(s: ExecSummary): Promise<void> {
    for (const p of this.parts) await p.finished?.(s);
  }
}
