// Sentence splitting for stage directions and speech: abbreviations (Mr., Dr., St., a.m.,
// initials), ellipses, dashes and all-caps names ("MR. SMITH enters.") do not end sentences.

const ABBREVIATIONS = new Set([
  'mr',
  'mrs',
  'ms',
  'dr',
  'st',
  'jr',
  'sr',
  'lt',
  'col',
  'gen',
  'sgt',
  'capt',
  'cpt',
  'prof',
  'rev',
  'fr',
  'sen',
  'rep',
  'gov',
  'pres',
  'supt',
  'det',
  'insp',
  'maj',
  'cmdr',
  'adm',
  'hon',
  'mt',
  'ft',
  'no',
  'vs',
  'etc',
  'approx',
  'dept',
  'inc',
  'ltd',
  'co',
  'corp',
  'ave',
  'blvd',
  'rd',
  'apt',
  'vol',
  'fig',
  'ext',
  'int',
  'mme',
  'mlle',
  'messrs',
  'esq',
  'a.m',
  'p.m',
  'u.s',
  'u.k',
  'e.g',
  'i.e',
  'o.s',
  'v.o',
  'p.o.v',
  'o.k',
]);

/** Words: letters/digits with inner apostrophes ("don't", "O'Neil"). */
export const WORD_RE = /[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu;

export function countWords(text: string): number {
  let n = 0;
  forEachWord(text, () => n++);
  return n;
}

function isWordChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) ||
    (c >= 65 && c <= 90) ||
    (c >= 48 && c <= 57) ||
    (c > 127 && /[\p{L}\p{N}]/u.test(String.fromCharCode(c)))
  );
}

/** Calls `fn` with each word (same definition as WORD_RE), without a regex per word. */
export function forEachWord(text: string, fn: (word: string) => void): void {
  const n = text.length;
  let i = 0;
  while (i < n) {
    while (i < n && !isWordChar(text.charCodeAt(i))) i++;
    if (i >= n) break;
    const start = i;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (isWordChar(c)) i++;
      else if ((c === 39 || c === 0x2019) && i + 1 < n && isLetter(text.charCodeAt(i + 1))) i += 2;
      else break;
    }
    fn(text.slice(start, i));
  }
}

export function words(text: string): string[] {
  return text.match(WORD_RE) ?? [];
}

function isLetter(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c > 127 && /\p{L}/u.test(String.fromCharCode(c)));
}

/** Whether the token ending at `end` (exclusive, just before a period) is an abbreviation. */
function isAbbreviation(text: string, from: number, end: number): boolean {
  let k = end;
  while (k > from && (isLetter(text.charCodeAt(k - 1)) || text.charCodeAt(k - 1) === 46)) k--;
  if (k === end) return false;
  const token = text.slice(k, end).toLowerCase().replace(/^\.+/, '');
  if (ABBREVIATIONS.has(token)) return true;
  // A single initial ("J. Edgar") or a dotted acronym ("U.S.A", "F.B.I").
  if (token.length === 1) return true;
  if (/^(?:\p{L}\.)+\p{L}$/u.test(token)) return true;
  return false;
}

/**
 * Splits text into sentences. A sentence ends at . ! ? (or an ellipsis) followed by space and an
 * upper-case letter, digit or opening quote; not after abbreviations or initials. Dashes and
 * an ellipsis followed by lower case continue the sentence.
 */
export function splitSentences(text: string): string[] {
  const out: string[] = [];
  const t = /\s\s|[\t\n\r]/.test(text) ? text.replace(/\s+/g, ' ').trim() : text.trim();
  if (!t) return out;
  let start = 0;
  const re = /([.!?]+|…)(["'”’)\]]*)\s+(?=["'“‘([]?[\p{Lu}\p{N}])/gu;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t)) !== null) {
    const end = m.index + m[1]!.length + m[2]!.length;
    if (m[1] === '.' && !m[2] && isAbbreviation(t, start, m.index)) continue;
    const s = t.slice(start, end).trim();
    if (s) out.push(s);
    start = m.index + m[0].length;
  }
  const last = t.slice(start).trim();
  if (last) out.push(last);
  return out;
}
