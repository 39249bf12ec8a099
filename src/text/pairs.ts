// §3.2 pairing: each stage direction that contains verb classes labels the nearest speech
// segment with every such verb. Direction, maximum distance (in elements) and the tie rule are
// configurable; splits are by movie.
import type { Element } from '../screenplay/types.ts';
import { mulberry32 } from '../random.ts';

export type PairDirection = 'nearest' | 'before' | 'after';
/** When the nearest speech before and after are equally far: label the one before, after, or both. */
export type PairTie = 'before' | 'after' | 'both';
export type Split = 'train' | 'val';

export interface PairOptions {
  /** `before`: the speech preceding the direction; `after`: the one following it; `nearest`: either. */
  direction: PairDirection;
  /** Largest allowed distance in elements (1 = adjacent). */
  maxDistance: number;
  tie: PairTie;
  /** Whether a pair may span a scene heading (default false). */
  crossScenes?: boolean;
}

export interface SpeechActionPair {
  movie: string;
  /** The speech segment's text. */
  speech: string;
  /** Verb classes of the stage directions that chose this speech (sorted). */
  labels: string[];
  /** Elements between the speech and its nearest labelling direction (1 = adjacent). */
  distance: number;
  /** Index of the speech element in the movie's element list. */
  element: number;
}

/**
 * Pairs one movie's speech segments with the verb classes of nearby stage directions.
 * `labelsOf(actionText, elementIndex)` returns the verb classes a direction contains.
 */
export function buildPairs(
  movie: string,
  elements: readonly Element[],
  labelsOf: (text: string, index: number) => string[],
  options: PairOptions,
): SpeechActionPair[] {
  const found = new Map<number, { labels: Set<string>; distance: number }>();
  for (let i = 0; i < elements.length; i++) {
    const e = elements[i]!;
    if (e.type !== 'action') continue;
    const labels = labelsOf(e.text, i);
    if (labels.length === 0) continue;
    const before = options.direction === 'after' ? -1 : search(i, -1);
    const after = options.direction === 'before' ? -1 : search(i, 1);
    const targets: number[] = [];
    if (before >= 0 && after >= 0) {
      const db = i - before;
      const da = after - i;
      if (db < da) targets.push(before);
      else if (da < db) targets.push(after);
      else if (options.tie === 'before') targets.push(before);
      else if (options.tie === 'after') targets.push(after);
      else targets.push(before, after);
    } else if (before >= 0) targets.push(before);
    else if (after >= 0) targets.push(after);
    for (const t of targets) {
      const d = Math.abs(t - i);
      let f = found.get(t);
      if (!f) found.set(t, (f = { labels: new Set(), distance: d }));
      for (const l of labels) f.labels.add(l);
      f.distance = Math.min(f.distance, d);
    }
  }
  const pairs: SpeechActionPair[] = [];
  for (const [index, f] of [...found].sort((a, b) => a[0] - b[0])) {
    const speech = elements[index]!;
    if (speech.type !== 'speech' || !speech.text) continue;
    pairs.push({ movie, speech: speech.text, labels: [...f.labels].sort(), distance: f.distance, element: index });
  }
  return pairs;

  function search(from: number, step: 1 | -1): number {
    for (let k = from + step, d = 1; k >= 0 && k < elements.length && d <= options.maxDistance; k += step, d++) {
      const e = elements[k]!;
      if (e.type === 'speech' && e.text) return k;
      if (e.type === 'heading' && !options.crossScenes) return -1;
    }
    return -1;
  }
}

export type SplitRule = { valFraction: number; seed: number } | { valMovies: readonly string[] };

/** Train/validation split by movie (paper: 850 train / 220 val of 1,070 movies). */
export function splitMovies(movies: readonly string[], rule: SplitRule): Map<string, Split> {
  const out = new Map<string, Split>();
  if ('valMovies' in rule) {
    const val = new Set(rule.valMovies);
    for (const m of movies) out.set(m, val.has(m) ? 'val' : 'train');
    return out;
  }
  const sorted = [...new Set(movies)].sort();
  const rand = mulberry32(rule.seed);
  for (let i = sorted.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [sorted[i], sorted[j]] = [sorted[j]!, sorted[i]!];
  }
  const nVal = Math.round(sorted.length * rule.valFraction);
  sorted.forEach((m, i) => out.set(m, i < nVal ? 'val' : 'train'));
  return out;
}
