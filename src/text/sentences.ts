// Words of stage directions and speech (sentences: src/sentences.ts, shared with subtitles).

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
