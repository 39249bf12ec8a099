// Where English sentences end, for screenplays (stage directions, speech) and subtitles alike: one
// rule and one abbreviation list, so that a sentence mined from a script and one mined from a
// movie's captions are cut the same way. A sentence ends at . ! ? or … (closing quotes and
// brackets stay with it) followed by the end of the text, or by a space and an upper-case letter,
// a digit or an opening quote. Not after a title (Mr., Dr., Capt.), an initial (J. Edgar), a dotted
// acronym (U.S.A.) or a month (Jan.); an ellipsis or a dash followed by lower case goes on.

/** Words that end with a period without ending the sentence (lower case, without the final dot). */
const ABBREVIATIONS = new Set([
  // titles and ranks
  'mr',
  'mrs',
  'ms',
  'dr',
  'st',
  'jr',
  'sr',
  'prof',
  'lt',
  'col',
  'gen',
  'sgt',
  'capt',
  'cpt',
  'maj',
  'cmdr',
  'adm',
  'rev',
  'fr',
  'hon',
  'gov',
  'sen',
  'rep',
  'pres',
  'supt',
  'det',
  'insp',
  'messrs',
  'mme',
  'mlle',
  'esq',
  // places and organisations
  'mt',
  'ft',
  'ave',
  'blvd',
  'rd',
  'apt',
  'dept',
  'inc',
  'ltd',
  'co',
  'corp',
  // months
  'jan',
  'feb',
  'aug',
  'sept',
  'oct',
  'nov',
  'dec',
  // everything else
  'no',
  'vs',
  'etc',
  'approx',
  'vol',
  'fig',
  'ext',
  'int',
  'a.m',
  'p.m',
  'u.s',
  'u.k',
  'e.g',
  'i.e',
  'o.k',
  // screenplay extensions: (O.S.), (V.O.), P.O.V.
  'o.s',
  'v.o',
  'p.o.v',
]);

function isLetter(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c > 127 && /\p{L}/u.test(String.fromCharCode(c)));
}

/** Whether the period at `dot` closes an abbreviation, an initial or an acronym (looking back no further than `from`). */
export function isAbbreviation(text: string, dot: number, from = 0): boolean {
  let k = dot;
  while (k > from && (isLetter(text.charCodeAt(k - 1)) || text.charCodeAt(k - 1) === 46)) k--;
  if (k === dot) return false;
  const token = text.slice(k, dot).toLowerCase().replace(/^\.+/, '');
  if (ABBREVIATIONS.has(token)) return true;
  // A single initial ("J. Edgar") or a dotted acronym ("U.S.A", "F.B.I").
  if (token.length === 1) return true;
  return /^(?:\p{L}\.)+\p{L}$/u.test(token);
}

/** One sentence end: `mark` (terminators and closing quotes) ends at `end`; the next sentence starts at `next`. */
export interface SentenceEnd {
  /** Index of the first terminator. */
  at: number;
  /** Index just after the terminators and closing quotes. */
  end: number;
  /** Where the next sentence starts (after the spaces), `text.length` at the end of the text. */
  next: number;
  /** The terminators and closing quotes, e.g. `."` or `...`. */
  mark: string;
}

// Terminators, closing quotes and brackets, then the end of the text or spaces and what can start
// a sentence (an opening quote or bracket, an upper-case letter, a digit).
const BOUNDARY = /[.!?…]+["'”’»)\]]*(?:$|\s+(?=["'“‘«([]?[\p{Lu}\p{N}]))/gu;

/** The sentence ends in one piece of text (spaces already collapsed or not), in order. */
export function* sentenceEnds(text: string): Generator<SentenceEnd> {
  let start = 0;
  const re = new RegExp(BOUNDARY);
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const mark = m[0].trimEnd();
    if (mark === '.' && isAbbreviation(text, m.index, start)) continue;
    const end = m.index + mark.length;
    start = m.index + m[0].length;
    yield { at: m.index, end, next: start, mark };
  }
}

/** Splits text into sentences; line breaks and runs of spaces become one space. */
export function splitSentences(text: string): string[] {
  const t = /\s\s|[\t\n\r]/.test(text) ? text.replace(/\s+/g, ' ').trim() : text.trim();
  if (!t) return [];
  const out: string[] = [];
  let start = 0;
  for (const e of sentenceEnds(t)) {
    const s = t.slice(start, e.end).trim();
    if (s) out.push(s);
    start = e.next;
  }
  const last = t.slice(start).trim();
  if (last) out.push(last);
  return out;
}
