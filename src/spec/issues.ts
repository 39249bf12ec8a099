// Every problem found in a spec becomes a SpecIssue; all of them are thrown together in one
// SpecError and printed by formatSpecIssues (Zod's "✖ message / → at path" layout).
import { ExpError } from '../errors.ts';
import type { SpecIssue } from './types.ts';

export class SpecError extends ExpError {
  readonly issues: SpecIssue[];

  constructor(issues: SpecIssue[]) {
    const first = issues[0];
    const summary = issues.length === 1 && first ? first.message : `${issues.length} problems in the spec`;
    super('EXP_SPEC_INVALID', summary, {
      hint: 'fix the spec (see each problem above); nothing was run',
      detail: { issues },
    });
    this.name = 'ExpError';
    this.issues = issues;
  }

  override format(): string {
    return formatSpecIssues(this.issues);
  }
}

export function formatPlace(issue: Pick<SpecIssue, 'file' | 'line' | 'col'>): string {
  return issue.line > 0 ? `${issue.file}:${issue.line}:${issue.col}` : issue.file;
}

/**
 * ```
 * ✖ unknown key "min_cout" in stages.parse.with
 *   → at stages.parse.with.min_cout (experiments/x.yaml:12:5)
 *   did you mean "min_count"?
 * ```
 */
export function formatSpecIssues(issues: readonly SpecIssue[]): string {
  const blocks = issues.map((issue) => {
    const lines = [`✖ ${issue.message}`, `  → at ${issue.path || '(top level)'} (${formatPlace(issue)})`];
    if (issue.hint) lines.push(`  ${issue.hint}`);
    return lines.join('\n');
  });
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  return `${blocks.join('\n')}\n${count} in the spec; nothing was run.`;
}

/** Collects issues, dropping exact repeats (the same error found in many grid points). */
export class IssueList {
  readonly items: SpecIssue[] = [];
  private readonly seen = new Set<string>();

  add(issue: SpecIssue): void {
    const key = `${issue.code}\u0000${issue.path}\u0000${issue.message}\u0000${issue.file}:${issue.line}:${issue.col}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.items.push(issue);
  }

  get size(): number {
    return this.items.length;
  }
}

export function hintFor(suggestion: string | undefined): string | undefined {
  return suggestion === undefined ? undefined : `did you mean "${suggestion}"?`;
}
