// The stage graph of one point: `needs:` naming unknown stages, cycles, `settings.targets`, and
// pruning to the targets and their ancestors.
import { didYouMean } from './did-you-mean.ts';

export interface GraphProblem {
  code: 'unknown_stage' | 'cycle';
  /** Segments of the offending value (`stages.eval.needs.0`, `settings.targets.1`). */
  segments: string[];
  message: string;
  hint?: string;
}

export interface GraphResult {
  problems: GraphProblem[];
  /** Explicit targets, or the stages no other stage needs (spec order). */
  targets: string[];
  /** Targets and their ancestors, in spec order. */
  kept: string[];
}

export function checkGraph(
  needs: ReadonlyMap<string, readonly string[]>,
  explicitTargets: readonly string[] | undefined,
): GraphResult {
  const names = [...needs.keys()];
  const problems: GraphProblem[] = [];
  for (const [stage, list] of needs) {
    list.forEach((need, i) => {
      if (needs.has(need)) return;
      const match = didYouMean(
        need,
        names.filter((n) => n !== stage),
      );
      problems.push({
        code: 'unknown_stage',
        segments: ['stages', stage, 'needs', String(i)],
        message: `stage "${stage}" needs "${need}", which is not a stage of this spec`,
        hint: match ? `did you mean "${match}"?` : `stages: ${names.join(', ')}`,
      });
    });
  }

  // Depth-first search; a back edge closes a cycle, reported once per set of stages.
  const state = new Map<string, 1 | 2>();
  const path: string[] = [];
  const seenCycles = new Set<string>();
  const visit = (stage: string): void => {
    state.set(stage, 1);
    path.push(stage);
    for (const need of needs.get(stage) ?? []) {
      if (!needs.has(need)) continue;
      const s = state.get(need);
      if (s === 1) {
        const cycle = [...path.slice(path.indexOf(need)), need];
        const key = [...new Set(cycle)].sort().join('\u0000');
        if (!seenCycles.has(key)) {
          seenCycles.add(key);
          const from = cycle[0]!;
          const index = (needs.get(from) ?? []).indexOf(cycle[1]!);
          problems.push({
            code: 'cycle',
            segments: ['stages', from, 'needs', String(Math.max(index, 0))],
            message: `cycle in needs: ${cycle.join(' → ')}`,
            hint: 'a stage cannot need itself, directly or through other stages; remove one of these needs',
          });
        }
      } else if (s === undefined) {
        visit(need);
      }
    }
    path.pop();
    state.set(stage, 2);
  };
  for (const stage of names) if (!state.has(stage)) visit(stage);

  let targets: string[];
  if (explicitTargets && explicitTargets.length > 0) {
    targets = [];
    explicitTargets.forEach((target, i) => {
      if (needs.has(target)) targets.push(target);
      else {
        const match = didYouMean(target, names);
        problems.push({
          code: 'unknown_stage',
          segments: ['settings', 'targets', String(i)],
          message: `target "${target}" is not a stage of this spec`,
          hint: match ? `did you mean "${match}"?` : `stages: ${names.join(', ')}`,
        });
      }
    });
  } else {
    const needed = new Set<string>();
    for (const list of needs.values()) for (const need of list) needed.add(need);
    targets = names.filter((n) => !needed.has(n));
  }

  const keep = new Set<string>();
  const stack = [...targets];
  while (stack.length > 0) {
    const stage = stack.pop()!;
    if (keep.has(stage)) continue;
    keep.add(stage);
    for (const need of needs.get(stage) ?? []) if (needs.has(need)) stack.push(need);
  }
  return { problems, targets, kept: names.filter((n) => keep.has(n)) };
}
