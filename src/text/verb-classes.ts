// §3.1 verb mining: tag every stage-direction sentence, lemmatise its verbs, count them, drop
// verbs seen fewer than `minCount` times and the `dropTop` most frequent (generic verbs such
// as "look", "turn", "walk"), and keep each class with its conjugations.
import type { Element } from '../screenplay/types.ts';
import type { Lexicon } from './lexicon.ts';
import { splitSentences } from '../sentences.ts';
import { findVerbs } from './verbs.ts';

export interface VerbClass {
  verb: string;
  count: number;
  /** Conjugations (lexicon forms plus forms seen in the corpus), lower case, sorted. */
  forms: string[];
}

/** The `verbs.json` shape. */
export interface MinedVerbs {
  classes: VerbClass[];
  dropped_top: string[];
  min_count: number;
  drop_top: number;
}

export class VerbCounter {
  readonly counts = new Map<string, number>();
  readonly seenForms = new Map<string, Set<string>>();
  sentences = 0;

  constructor(private readonly lex: Lexicon) {}

  /** Counts the verbs of one stage direction; returns its verb lemmas (once each). */
  addText(text: string): string[] {
    const lemmas = new Set<string>();
    for (const sentence of splitSentences(text)) {
      this.sentences++;
      for (const hit of findVerbs(sentence, this.lex)) {
        this.counts.set(hit.lemma, (this.counts.get(hit.lemma) ?? 0) + 1);
        let forms = this.seenForms.get(hit.lemma);
        if (!forms) this.seenForms.set(hit.lemma, (forms = new Set()));
        forms.add(hit.form);
        lemmas.add(hit.lemma);
      }
    }
    return [...lemmas];
  }

  addElements(elements: readonly Element[]): void {
    for (const e of elements) if (e.type === 'action') this.addText(e.text);
  }

  /** Adds counts gathered elsewhere (e.g. by a worker thread). */
  merge(counts: Record<string, number>, forms: Record<string, string[]>, sentences = 0): void {
    for (const [k, v] of Object.entries(counts)) this.counts.set(k, (this.counts.get(k) ?? 0) + v);
    for (const [k, fs] of Object.entries(forms)) {
      let set = this.seenForms.get(k);
      if (!set) this.seenForms.set(k, (set = new Set()));
      for (const f of fs) set.add(f);
    }
    this.sentences += sentences;
  }

  toJSON(): { counts: Record<string, number>; forms: Record<string, string[]>; sentences: number } {
    return {
      counts: Object.fromEntries(this.counts),
      forms: Object.fromEntries([...this.seenForms].map(([k, v]) => [k, [...v]])),
      sentences: this.sentences,
    };
  }
}

export interface MineOptions {
  minCount: number;
  dropTop: number;
  /** Verbs never dropped as too frequent (still need `minCount`). */
  keep?: readonly string[];
  /** Restrict the classes to these verbs (frequency dropping does not apply to them). */
  only?: readonly string[];
}

/** `minCount` scaled from a reference corpus size (paper: 50 for 1,070 scripts), at least 1. */
export function scaleMinCount(minCount: number, movies: number, referenceMovies: number): number {
  return Math.max(1, Math.round((minCount * movies) / referenceMovies));
}

/** Turns counts into verb classes (sorted by count, then name). */
export function mineVerbs(
  counter: Pick<VerbCounter, 'counts' | 'seenForms'>,
  lex: Lexicon,
  options: MineOptions,
): MinedVerbs {
  const ranked = [...counter.counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const keep = new Set((options.keep ?? []).map((v) => v.toLowerCase()));
  const only = options.only ? new Set(options.only.map((v) => v.toLowerCase())) : null;
  const droppedTop: string[] = [];
  const classes: VerbClass[] = [];
  ranked.forEach(([verb, count], rank) => {
    if (only) {
      if (only.has(verb) && count >= options.minCount) classes.push(makeClass(verb, count));
      return;
    }
    if (rank < options.dropTop && !keep.has(verb)) {
      droppedTop.push(verb);
      return;
    }
    if (count >= options.minCount) classes.push(makeClass(verb, count));
  });
  return { classes, dropped_top: droppedTop, min_count: options.minCount, drop_top: options.dropTop };

  function makeClass(verb: string, count: number): VerbClass {
    const forms = new Set(lex.conjugations.get(verb) ?? [verb]);
    for (const f of counter.seenForms.get(verb) ?? []) forms.add(f);
    return { verb, count, forms: [...forms].sort() };
  }
}

/** Counts the stage-direction verbs of several movies and mines the classes in one call. */
export function mineVerbClasses(
  movies: Iterable<readonly Element[]>,
  lex: Lexicon,
  options: MineOptions,
): MinedVerbs & { sentences: number } {
  const counter = new VerbCounter(lex);
  for (const elements of movies) counter.addElements(elements);
  return { ...mineVerbs(counter, lex, options), sentences: counter.sentences };
}
