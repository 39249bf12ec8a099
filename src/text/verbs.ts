// Finding verbs in stage directions without a statistical tagger: each word's readings come
// from the XTAG lexicon, and a few context rules (subject before, determiner before, auxiliary
// before) decide between the verb and the noun reading. Screenplays are written in the present
// tense ("John slams the door"), where 3rd-person verbs look like plural nouns; the rules are
// written for that. Checked against compromise on a corpus sample (bench/screenplay.ts).
import { lookup, POS, VF, type Lexicon, type LexEntry } from './lexicon.ts';

export interface VerbHit {
  /** Lemma (the verb class key), e.g. "run". */
  lemma: string;
  /** The word as written, lower case, e.g. "ran". */
  form: string;
  /** Token index in the sentence. */
  index: number;
}

const TOKEN_RE = /[\p{L}\p{N}]+(?:['’][\p{L}]+)*|[.,;:!?()"“”]|--|—/gu;

const DETERMINERS = new Set([
  'the',
  'a',
  'an',
  'this',
  'that',
  'these',
  'those',
  'his',
  'her',
  'its',
  'their',
  'my',
  'your',
  'our',
  'some',
  'any',
  'every',
  'each',
  'no',
  'another',
  'several',
  'many',
  'few',
  'all',
  'both',
  'whose',
  'which',
  'what',
  'one',
  'two',
  'three',
  'four',
  'five',
  'more',
  'most',
  'other',
  'such',
  'same',
]);
const SUBJECT_PRONOUNS = new Set([
  'he',
  'she',
  'it',
  'they',
  'we',
  'i',
  'you',
  'who',
  'everyone',
  'someone',
  'somebody',
  'everybody',
  'nobody',
  'no-one',
  'everything',
  'something',
  'nothing',
  'anyone',
  'both',
  'all',
  'this',
  'that',
  'which',
  'one',
  'others',
]);
const PLURAL_SUBJECTS = new Set(['they', 'we', 'i', 'you', 'both', 'all', 'others']);
const BE = new Set([
  'is',
  'are',
  'was',
  'were',
  'be',
  'been',
  'being',
  'am',
  "'s",
  "'re",
  'gets',
  'get',
  'got',
  'getting',
  'seems',
  'remains',
  'stays',
]);
const HAVE = new Set(['has', 'have', 'had', 'having', "'ve", "'d"]);
const INF_TRIGGERS = new Set([
  'to',
  'can',
  'could',
  'will',
  'would',
  'shall',
  'should',
  'may',
  'might',
  'must',
  "'ll",
  'does',
  'do',
  'did',
  "doesn't",
  "don't",
  "didn't",
  "can't",
  "won't",
  'cannot',
  "couldn't",
  "wouldn't",
  'let',
  "let's",
  'lets',
  'help',
  'helps',
  'make',
  'makes',
  'watch',
  'watches',
  'see',
  'sees',
  'hear',
  'hears',
]);
const COORD = new Set([
  'and',
  'then',
  'but',
  'or',
  'before',
  'after',
  'as',
  'while',
  'until',
  'when',
  'nor',
  'yet',
  'also',
  'again',
  'finally',
  'suddenly',
  'slowly',
  'quickly',
  'instead',
]);
const PREPOSITIONS_NOT_SUBJECT = new Set([
  'of',
  'in',
  'on',
  'at',
  'with',
  'from',
  'into',
  'onto',
  'by',
  'for',
  'about',
  'under',
  'over',
  'through',
  'across',
  'behind',
  'toward',
  'towards',
  'against',
  'between',
  'around',
  'like',
  'without',
  'upon',
  'inside',
  'outside',
  'near',
  'past',
  'beside',
  'along',
]);
// Contraction halves the lexicon does not hold.
const CONTRACTION = /['’](s|re|ve|ll|d|t)$/;

interface Token {
  text: string;
  lower: string;
  entry: LexEntry | undefined;
  capital: boolean;
  punct: boolean;
}

function tokenize(sentence: string, lex: Lexicon): Token[] {
  const out: Token[] = [];
  for (const m of sentence.matchAll(TOKEN_RE)) {
    const text = m[0];
    const c = text.charCodeAt(0);
    const punct = !/[\p{L}\p{N}]/u.test(text);
    const lower = text.toLowerCase().replace(/’/g, "'");
    out.push({ text, lower, entry: punct ? undefined : lookup(lex, lower), capital: c >= 65 && c <= 90, punct });
  }
  return out;
}

const isAdverb = (t: Token): boolean =>
  !t.punct &&
  t.entry !== undefined &&
  (t.entry.pos & POS.Adv) !== 0 &&
  (t.entry.pos & (POS.V | POS.N | POS.Det | POS.Pron | POS.Prep)) === 0;

/** A proper name, a capitalised word mid-sentence, or an all-caps NAME (screenplays introduce characters in caps). */
function isNameLike(t: Token, index: number): boolean {
  if (t.punct || !t.capital) return false;
  if (!t.entry) return true;
  if ((t.entry.pos & POS.PropN) !== 0) return true;
  if ((t.entry.pos & (POS.Det | POS.Prep | POS.Conj | POS.Pron | POS.Adv)) !== 0) return false;
  // Mid-sentence capitals are names; at the start only ALL-CAPS or non-verb words are.
  if (index > 0 || (t.text.length > 1 && /^[\p{Lu}]+$/u.test(t.text))) return true;
  return t.entry.verbs.length === 0;
}

function isNounOnly(t: Token): boolean {
  return !t.punct && t.entry !== undefined && (t.entry.pos & POS.N) !== 0 && (t.entry.pos & POS.V) === 0;
}

const _FUNCTION_WORDS = POS.Det | POS.Prep | POS.Pron | POS.Conj;

/** Verbs of one sentence, as lemmas. */
export function findVerbs(sentence: string, lex: Lexicon): VerbHit[] {
  const tokens = tokenize(sentence, lex);
  const hits: VerbHit[] = [];
  let lastVerbForms = 0;
  let lastHitIndex = -2;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.punct || !t.entry || t.entry.verbs.length === 0) continue;
    if (/^[\p{Lu}\d]+$/u.test(t.text) && t.text.length > 1 && i > 0) {
      // ALL-CAPS words in stage directions are names and sound effects ("BANG", "JOHN"),
      // except an emphasised verb right after a subject ("He SLAMS the door").
      const p = tokens[i - 1]!;
      if (!(SUBJECT_PRONOUNS.has(p.lower) || isNameLike(p, i - 1) || COORD.has(p.lower))) continue;
    }
    if (CONTRACTION.test(t.lower) && !t.entry) continue;
    // Effective previous token, skipping adverbs ("He slowly opens...").
    let j = i - 1;
    while (j >= 0 && isAdverb(tokens[j]!)) j--;
    const prev = j >= 0 ? tokens[j]! : undefined;
    const next = tokens[i + 1];
    const clauseStart = prev === undefined || (prev.punct && prev.lower !== ',');
    const verb =
      chooseAnalysis(t.entry, prev, next, j, lastVerbForms, clauseStart) && !adjectivePhrase(j)
        ? chooseAnalysis(t.entry, prev, next, j, lastVerbForms, clauseStart)
        : null;
    if (verb) {
      hits.push({ lemma: verb.lemma, form: t.lower, index: i });
      lastVerbForms = verb.forms;
      lastHitIndex = i;
    }
  }
  return hits;

  // "Hawkins and Leon": the subject is plural.
  function hasAndBefore(j: number): boolean {
    return j >= 2 && tokens[j - 1]!.lower === 'and' && !tokens[j - 2]!.punct;
  }

  // "the white cops", "a big old van": a determiner, then only adjectives, then this word.
  function adjectivePhrase(j: number): boolean {
    let k = j;
    let adjectives = 0;
    while (k >= 0) {
      const t = tokens[k]!;
      if (t.punct) return false;
      if (DETERMINERS.has(t.lower) || /'s$/.test(t.lower)) return adjectives > 0;
      // Pure adjectives only: XTAG gives most nouns an A reading too ("door handle").
      if (!t.entry || (t.entry.pos & POS.A) === 0 || (t.entry.pos & POS.N) !== 0 || hits.some((h) => h.index === k))
        return false;
      adjectives++;
      k--;
    }
    return false;
  }

  function chooseAnalysis(
    entry: LexEntry,
    prev: Token | undefined,
    next: Token | undefined,
    prevIndex: number,
    lastForms: number,
    clauseStart: boolean,
  ): { lemma: string; forms: number } | null {
    const pos = entry.pos;
    if ((pos & (POS.Det | POS.Pron | POS.Conj | POS.Prep)) !== 0) return null;
    const v = entry.verbs[0]!;
    let forms = 0;
    for (const a of entry.verbs) forms |= a.forms;
    // "steps back", "turns away": an adverb reading right after a verb is a particle.
    if ((pos & POS.Adv) !== 0 && prevIndex === lastHitIndex && prevIndex >= 0 && (forms & ~VF.INF) === 0) return null;
    const pureVerb = (pos & (POS.N | POS.A | POS.Adv | POS.Prep | POS.PropN)) === 0;
    const p = prev?.lower ?? '';
    // After a determiner, possessive or preposition the word heads or modifies a noun phrase.
    if (
      prev &&
      (DETERMINERS.has(p) ||
        /'s$/.test(p) ||
        (prev.entry && (prev.entry.pos & POS.Det) !== 0 && (prev.entry.pos & POS.Pron) === 0))
    ) {
      return null;
    }
    if (prev && BE.has(p) && forms & (VF.PROG | VF.PPART)) return v;
    if (prev && HAVE.has(p) && forms & VF.PPART) return v;
    if (prev && INF_TRIGGERS.has(p) && forms & VF.INF) return v;
    if (prev && PREPOSITIONS_NOT_SUBJECT.has(p)) {
      // "with a gun raised", "by running": -ing after a preposition is a gerund (a verb).
      return forms & VF.PROG ? v : null;
    }
    const subject = prev !== undefined && (SUBJECT_PRONOUNS.has(p) || isNameLike(prev, prevIndex));
    if (subject) {
      if (forms & (VF.S3 | VF.PAST)) return v;
      if (
        forms & VF.INF &&
        (PLURAL_SUBJECTS.has(p) ||
          hasAndBefore(prevIndex) ||
          (prev.entry !== undefined && (prev.entry.pos & POS.NPl) !== 0))
      )
        return v;
      if (forms & VF.PROG) return v;
      if (pureVerb) return v;
      return null;
    }
    if (prev && COORD.has(p) && lastForms !== 0 && forms & lastForms & (VF.S3 | VF.PAST | VF.PROG | VF.INF)) return v;
    if (prev && prev.lower === ',' && (forms & VF.PROG || (lastForms !== 0 && forms & lastForms & (VF.S3 | VF.PAST))))
      return v;
    // "Sunny, seated in the back, pokes a hole": a 3rd-person form after a comma, before an object.
    if (
      prev &&
      prev.lower === ',' &&
      forms & VF.S3 &&
      next &&
      (DETERMINERS.has(next.lower) || SUBJECT_PRONOUNS.has(next.lower) || PREPOSITIONS_NOT_SUBJECT.has(next.lower))
    )
      return v;
    // "starts washing", "keeps running".
    if (prevIndex >= 0 && prevIndex === lastHitIndex && forms & VF.PROG) return v;
    if (clauseStart) {
      // Stage directions drop the subject: "Looks around. Grabs the phone."
      if (forms & (VF.S3 | VF.PROG)) return v;
      return null;
    }
    // After a common noun: "The door opens", "The needle slides into..." (not "car keys jingle").
    // (A lower-case word the lexicon does not know is taken for a noun.)
    const prevNoun =
      prev !== undefined && !prev.punct && (prev.entry ? (prev.entry.pos & POS.N) !== 0 : /^[a-z]/.test(prev.text));
    if (prev && prevNoun && prevIndex !== lastHitIndex) {
      const nextOk =
        !next ||
        next.punct ||
        !next.entry ||
        isNameLike(next, 1) ||
        DETERMINERS.has(next.lower) ||
        PREPOSITIONS_NOT_SUBJECT.has(next.lower) ||
        SUBJECT_PRONOUNS.has(next.lower) ||
        (next.entry !== undefined &&
          ((next.entry.pos & (POS.Det | POS.Prep | POS.Adv | POS.Pron | POS.Conj)) !== 0 ||
            next.entry.verbs.some((a) => a.forms & VF.PROG)));
      if (forms & VF.S3 && nextOk) return v;
      if (forms & VF.PAST && nextOk && pureVerb) return v;
      // "Hawkins and Leon share a look", "the kids leap up": a plural subject.
      if (forms & VF.INF && nextOk && (((prev.entry?.pos ?? 0) & POS.NPl) !== 0 || hasAndBefore(prevIndex))) return v;
      if (forms & VF.PROG && !isNounOnly(next ?? prev)) return v;
      return null;
    }
    if (prev && isNameLike(prev, prevIndex) && forms & VF.INF && hasAndBefore(prevIndex)) return v;
    if (forms & VF.PROG && (!next || !isNounOnly(next))) return v;
    if (pureVerb && forms & (VF.S3 | VF.PAST | VF.PROG)) return v;
    return null;
  }
}
