// Progress of a run: on a TTY a live block (overall counts with ETA, one line per running node
// with its own count and ETA); otherwise plain, timestamped log lines that read well in CI logs.
import type { Plan, PlanNode } from '../plan/dag.ts';
import type { NodeDecision } from '../plan/diff.ts';
import type { Lifecycle, NodeOutcome } from '../exec/lifecycle.ts';
import type { TaskEvent } from '../exec/task.ts';
import { nodeLabel } from '../plan/shards.ts';

interface Live {
  node: PlanNode;
  started: number;
  attempt: number;
  done?: number;
  total?: number;
  label?: string;
  lastPlain: number;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export class ProgressReporter implements Lifecycle {
  private total = 0;
  private toRun = 0;
  private finishedCount = 0;
  private ran = 0;
  private cached = 0;
  private failed = 0;
  private skipped = 0;
  private cancelled = 0;
  private readonly live = new Map<string, Live>();
  private readonly durations: number[] = [];
  private readonly started = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private drawnLines = 0;
  private stopped = false;

  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
    private readonly opts: { tty: boolean; quiet?: boolean; jobs: number },
  ) {}

  planned(plan: Plan, decisions: Map<string, NodeDecision>): void {
    this.total = plan.nodes.length;
    this.toRun = [...decisions.values()].filter((d) => d.status === 'run').length;
    this.line(
      `${plan.points.length} point(s), ${this.total} node(s): ${this.total - this.toRun} cached, ${this.toRun} to run`,
    );
    if (this.opts.tty) this.timer = setInterval(() => this.draw(), 100);
  }

  /** Nodes decided during the run (the shards of a stage whose items an upstream node made). */
  nodesAdded(nodes: PlanNode[], decisions: Map<string, NodeDecision>): void {
    this.total += nodes.length;
    const run = nodes.filter((n) => decisions.get(n.key)?.status === 'run').length;
    this.toRun += run;
    const stages = [...new Set(nodes.map((n) => n.stage))].join(', ');
    this.line(`+ ${nodes.length} shard node(s) of ${stages}: ${nodes.length - run} cached, ${run} to run`);
  }

  nodeStarted(node: PlanNode, attempt: number): void {
    this.live.set(node.key, { node, started: Date.now(), attempt, lastPlain: 0 });
    if (!this.opts.tty)
      this.line(
        `▶ ${nodeLabel(node)} (${node.kind}) ${node.key.slice(0, 8)}${attempt > 1 ? ` attempt ${attempt}` : ''}`,
      );
  }

  nodeEvent(node: PlanNode, e: TaskEvent): void {
    if (e.type !== 'progress') return;
    const l = this.live.get(node.key);
    if (!l) return;
    l.done = e.done;
    l.total = e.total;
    l.label = e.label;
    if (!this.opts.tty) {
      const now = Date.now();
      if (now - l.lastPlain > 5000 || (e.total !== undefined && e.done === e.total)) {
        l.lastPlain = now;
        this.line(`  ${nodeLabel(node)}: ${this.nodeProgress(l)}`);
      }
    }
  }

  nodeFinished(node: PlanNode, o: NodeOutcome): void {
    this.finishedCount++;
    const l = this.live.get(node.key);
    this.live.delete(node.key);
    switch (o.status) {
      case 'done':
        this.ran++;
        this.durations.push(o.durationMs);
        this.line(
          `✓ ${nodeLabel(node)} (${node.kind}) ${node.key.slice(0, 8)} in ${formatDuration(l ? Date.now() - l.started : o.durationMs)}`,
        );
        break;
      case 'cached':
        this.cached++;
        break;
      case 'failed':
        this.failed++;
        this.line(
          `✖ ${nodeLabel(node)} (${node.kind}) ${node.key.slice(0, 8)} FAILED: ${o.error?.message.split('\n')[0] ?? ''}${o.logFile ? `\n  log: ${o.logFile}` : ''}`,
        );
        break;
      case 'skipped':
        this.skipped++;
        this.line(`- ${nodeLabel(node)} skipped (${o.reason})`);
        break;
      case 'cancelled':
        this.cancelled++;
        break;
    }
  }

  finished(): void {
    if (this.timer) clearInterval(this.timer);
    this.stopped = true;
    this.clear();
    this.line(
      `${this.ran} ran, ${this.cached} cached, ${this.failed} failed, ${this.skipped} skipped${this.cancelled ? `, ${this.cancelled} not started` : ''} in ${formatDuration(Date.now() - this.started)}`,
    );
  }

  private nodeProgress(l: Live): string {
    const elapsed = Date.now() - l.started;
    if (l.done === undefined) return `${formatDuration(elapsed)}`;
    const count = l.total !== undefined ? `${l.done}/${l.total}` : `${l.done}`;
    const eta = l.total && l.done > 0 ? ` ETA ${formatDuration((elapsed * (l.total - l.done)) / l.done)}` : '';
    return `${count}${l.label ? ` ${l.label}` : ''} (${formatDuration(elapsed)}${eta})`;
  }

  private overallEta(): string {
    const remaining = this.toRun - this.ran - this.failed;
    if (!this.durations.length || remaining <= 0) return '';
    const mean = this.durations.reduce((a, b) => a + b, 0) / this.durations.length;
    return ` ETA ${formatDuration((mean * remaining) / Math.max(1, this.opts.jobs))}`;
  }

  private line(text: string): void {
    if (this.opts.quiet) return;
    if (this.opts.tty) {
      this.clear();
      this.out.write(`${text}\n`);
      this.draw();
    } else {
      this.out.write(`[${new Date().toISOString().slice(11, 19)}] ${text}\n`);
    }
  }

  private clear(): void {
    if (!this.opts.tty || !this.drawnLines) return;
    this.out.write(`\x1b[${this.drawnLines}A\x1b[0J`);
    this.drawnLines = 0;
  }

  private draw(): void {
    if (!this.opts.tty || this.opts.quiet || this.stopped) return;
    this.clear();
    const width = this.out.columns || 100;
    const lines = [
      `[${this.finishedCount}/${this.total}] running ${this.live.size} · done ${this.ran} · cached ${this.cached} · failed ${this.failed}${this.overallEta()}`,
    ];
    for (const l of [...this.live.values()].slice(0, 8)) {
      lines.push(`  ⏵ ${nodeLabel(l.node)} (${l.node.kind}) ${this.nodeProgress(l)}`);
    }
    if (this.live.size > 8) lines.push(`  … ${this.live.size - 8} more`);
    this.out.write(`${lines.map((x) => x.slice(0, width - 1)).join('\n')}\n`);
    this.drawnLines = lines.length;
  }
}
