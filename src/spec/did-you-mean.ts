// "did you mean …?" for unknown keys, stage kinds, stage names and key paths.

/** Optimal string alignment distance (Damerau-Levenshtein with adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const n = a.length;
  const m = b.length;
  if (n === 0) return m;
  if (m === 0) return n;
  let prev2: number[] = [];
  let prev: number[] = Array.from({ length: m + 1 }, (_, j) => j);
  for (let i = 1; i <= n; i++) {
    const cur: number[] = [i];
    for (let j = 1; j <= m; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur.push(d);
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[m]!;
}

/**
 * The closest candidate to `word`: at most 2 edits (1 for words of 3 letters or fewer, so that
 * `k` does not suggest `id`), or one being a prefix of the other (`finetun` → `finetune`).
 * Ties go to the candidate listed first. Case is ignored when comparing.
 */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestScore = Infinity;
  for (const candidate of candidates) {
    if (candidate === word) continue;
    const c = candidate.toLowerCase();
    const distance = editDistance(w, c);
    const limit = Math.min(w.length, c.length) <= 3 ? 1 : 2;
    let score = distance <= limit ? distance : Infinity;
    // A common prefix covering the shorter word counts as close (`min` → `min_count`).
    if (score === Infinity && Math.min(w.length, c.length) >= 3 && (c.startsWith(w) || w.startsWith(c)))
      score = limit + 0.5;
    if (score < bestScore) {
      bestScore = score;
      best = candidate;
    }
  }
  return best;
}
