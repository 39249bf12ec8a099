// The XTAG English morphology (UPenn, v1.4): word form → parts of speech and verb analyses
// (lemma + INF/3sg/PAST/PPART/PROG). The paper lemmatises and groups conjugations with it (§3.1).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

/** Part-of-speech bits of a word form (a form can have several). */
export const POS = {
  N: 1,
  V: 2,
  A: 4,
  Adv: 8,
  Prep: 16,
  Pron: 32,
  Det: 64,
  Conj: 128,
  PropN: 256,
  Part: 512,
  I: 1024,
  Other: 2048,
  /** A plural noun reading ("men", "doors"). */
  NPl: 4096,
} as const;

/** Verb-form bits. */
export const VF = { INF: 1, PRES: 2, S3: 4, PAST: 8, PPART: 16, PROG: 32 } as const;

export interface VerbAnalysis {
  lemma: string;
  /** VF bits. */
  forms: number;
}

export interface LexEntry {
  /** POS bits. */
  pos: number;
  /** Verb analyses (empty when the form is never a verb). */
  verbs: VerbAnalysis[];
}

export interface Lexicon {
  /** Lower-case form → entry. */
  entries: Map<string, LexEntry>;
  /** Lemma → every conjugated form (lower case), e.g. run → run, runs, ran, running. */
  conjugations: Map<string, string[]>;
  /** Where it came from ("xtag:<path>" or "rules"). */
  source: string;
}

const POS_NAMES: Record<string, number> = {
  N: POS.N,
  V: POS.V,
  A: POS.A,
  Adv: POS.Adv,
  Prep: POS.Prep,
  Pron: POS.Pron,
  Det: POS.Det,
  Conj: POS.Conj,
  PropN: POS.PropN,
  Part: POS.Part,
  I: POS.I,
};
const VF_NAMES: Record<string, number> = {
  INF: VF.INF,
  PRES: VF.PRES,
  '3sg': VF.S3,
  PAST: VF.PAST,
  PPART: VF.PPART,
  PROG: VF.PROG,
};

/** Parses `morph_english.flat` text ("form \t\tlemma\tPOS feats#lemma\tPOS feats..."). */
export function parseXtagFlat(text: string, source = 'xtag'): Lexicon {
  const entries = new Map<string, LexEntry>();
  const conj = new Map<string, Set<string>>();
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    if (line.length === 0 || line.charCodeAt(0) === 59 /* ; */) continue;
    const tab = line.indexOf('\t');
    if (tab < 0) continue;
    const form = line.slice(0, tab).trim().toLowerCase();
    if (!form) continue;
    let entry = entries.get(form);
    if (!entry) {
      entry = { pos: 0, verbs: [] };
      entries.set(form, entry);
    }
    for (const analysis of line.slice(tab).replace(/^\t+/, '').split('#')) {
      const t = analysis.indexOf('\t');
      if (t < 0) continue;
      const lemma = analysis.slice(0, t).trim().toLowerCase();
      const feats = analysis
        .slice(t + 1)
        .trim()
        .split(/\s+/);
      const pos = POS_NAMES[feats[0]!] ?? POS.Other;
      entry.pos |= pos;
      if (pos === POS.N && feats.includes('3pl')) entry.pos |= POS.NPl;
      if (pos !== POS.V) continue;
      let forms = 0;
      for (const f of feats) forms |= VF_NAMES[f] ?? 0;
      if (forms === 0 || feats.includes('NEG') || feats.includes('TO')) continue;
      const known = entry.verbs.find((v) => v.lemma === lemma);
      if (known) known.forms |= forms;
      else entry.verbs.push({ lemma, forms });
      let set = conj.get(lemma);
      if (!set) conj.set(lemma, (set = new Set()));
      set.add(form);
    }
  }
  // XTAG lists some lemmas twice, once hyphenated ("recedes": re-cede, recede): prefer the plain one.
  for (const e of entries.values())
    if (e.verbs.length > 1) e.verbs.sort((a, b) => Number(a.lemma.includes('-')) - Number(b.lemma.includes('-')));
  const conjugations = new Map<string, string[]>();
  for (const [lemma, set] of conj) conjugations.set(lemma, [...set].sort());
  return { entries, conjugations, source };
}

/** Loads the lexicon from a folder holding `xtag/morph_english.flat.gz` (or the file itself). */
export function loadLexicon(location: string): Lexicon {
  let file = location;
  if (!/\.(gz|flat)$/.test(location)) {
    const candidates = [
      path.join(location, 'xtag', 'morph_english.flat.gz'),
      path.join(location, 'morph_english.flat.gz'),
      path.join(location, 'xtag', 'morph_english.flat'),
    ];
    file = candidates.find((c) => existsSync(c)) ?? candidates[0]!;
  }
  const buf = readFileSync(file);
  const text = (file.endsWith('.gz') ? gunzipSync(buf) : buf).toString('latin1');
  return parseXtagFlat(text, `xtag:${file}`);
}

const derivedCache = new WeakMap<Lexicon, Map<string, LexEntry | undefined>>();

function verbStem(lex: Lexicon, stem: string): string | undefined {
  const e = lex.entries.get(stem);
  return e?.verbs.find((v) => v.forms & VF.INF && v.lemma === stem)?.lemma;
}

/**
 * A regular inflection the lexicon lacks ("honks" when only "honk" is listed): -s/-es/-ies,
 * -ed/-d/-ied and -ing with an optional e or doubled consonant, on a known verb.
 */
function deriveVerb(lex: Lexicon, form: string): VerbAnalysis | undefined {
  const tries: [string, number][] = [];
  if (form.endsWith('ies')) tries.push([`${form.slice(0, -3)}y`, VF.S3]);
  if (form.endsWith('es')) tries.push([form.slice(0, -2), VF.S3]);
  if (form.endsWith('s') && !form.endsWith('ss')) tries.push([form.slice(0, -1), VF.S3]);
  if (form.endsWith('ied')) tries.push([`${form.slice(0, -3)}y`, VF.PAST | VF.PPART]);
  if (form.endsWith('ed'))
    tries.push(
      [form.slice(0, -2), VF.PAST | VF.PPART],
      [form.slice(0, -1), VF.PAST | VF.PPART],
      [form.slice(0, -3), VF.PAST | VF.PPART],
    );
  if (form.endsWith('ing'))
    tries.push([form.slice(0, -3), VF.PROG], [`${form.slice(0, -3)}e`, VF.PROG], [form.slice(0, -4), VF.PROG]);
  for (const [stem, forms] of tries) {
    if (stem.length < 2) continue;
    const lemma = verbStem(lex, stem);
    if (lemma) return { lemma, forms };
  }
  return undefined;
}

/** The entry of a lower-case form, with a derived verb reading for regular forms the lexicon lacks. */
export function lookup(lex: Lexicon, form: string): LexEntry | undefined {
  const e = lex.entries.get(form);
  if (e && e.verbs.length > 0) return e;
  if (form.length < 4 || !/(?:s|ed|ing)$/.test(form)) return e;
  let memo = derivedCache.get(lex);
  if (!memo) derivedCache.set(lex, (memo = new Map()));
  if (memo.has(form)) return memo.get(form);
  const v = deriveVerb(lex, form);
  const out = v ? { pos: (e?.pos ?? 0) | POS.V, verbs: [v] } : e;
  memo.set(form, out);
  return out;
}

const cache = new Map<string, Lexicon>();

/** `loadLexicon` memoised per location (the file is 10 MB; load it once per process). */
export function getLexicon(location: string): Lexicon {
  let lex = cache.get(location);
  if (!lex) {
    lex = loadLexicon(location);
    cache.set(location, lex);
  }
  return lex;
}
