// A reference BERT-cased tokeniser written here from the spec (basic tokenizer without
// lower-casing or accent stripping, then greedy longest-match-first WordPiece), shared by the
// unit test on the tiny fixture and the real-vocabulary check in eval/.
import { readFile } from 'node:fs/promises';

function isPunct(ch: string): boolean {
  const c = ch.codePointAt(0)!;
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return true;
  return /\p{P}/u.test(ch);
}

function isCjk(c: number): boolean {
  return (
    (c >= 0x4e00 && c <= 0x9fff) ||
    (c >= 0x3400 && c <= 0x4dbf) ||
    (c >= 0x20000 && c <= 0x2a6df) ||
    (c >= 0xf900 && c <= 0xfaff)
  );
}

/** Reference: BERT (cased) basic tokenisation + WordPiece. */
export function referenceWordPiece(text: string, vocab: Map<string, number>): number[] {
  let clean = '';
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c === 0 || c === 0xfffd || (/\p{C}/u.test(ch) && !/[\t\n\r]/.test(ch))) continue;
    clean += isCjk(c) ? ` ${ch} ` : /\s/u.test(ch) ? ' ' : ch;
  }
  const words: string[] = [];
  for (const w of clean.split(' ').filter(Boolean)) {
    let cur = '';
    for (const ch of w) {
      if (isPunct(ch)) {
        if (cur) words.push(cur);
        words.push(ch);
        cur = '';
      } else cur += ch;
    }
    if (cur) words.push(cur);
  }
  const unk = vocab.get('[UNK]')!;
  const ids = [vocab.get('[CLS]')!];
  for (const w of words) {
    const chars = [...w];
    if (chars.length > 100) {
      ids.push(unk);
      continue;
    }
    const pieces: number[] = [];
    let start = 0;
    let bad = false;
    while (start < chars.length) {
      let end = chars.length;
      let found: number | undefined;
      while (start < end) {
        const sub = (start > 0 ? '##' : '') + chars.slice(start, end).join('');
        found = vocab.get(sub);
        if (found !== undefined) break;
        end--;
      }
      if (found === undefined) {
        bad = true;
        break;
      }
      pieces.push(found);
      start = end;
    }
    ids.push(...(bad ? [unk] : pieces));
  }
  ids.push(vocab.get('[SEP]')!);
  return ids;
}

export async function readVocab(file: string): Promise<Map<string, number>> {
  const lines = (await readFile(file, 'utf8')).split('\n');
  if (lines.at(-1) === '') lines.pop();
  return new Map(lines.map((t, i) => [t, i]));
}

export const SENTENCES = [
  'Hello, my dog is cute',
  "I don't think he's running — he's SPRINTING!!!",
  'Café au lait, naïve résumé; Zoë & Chloé.',
  'Call 911... now? (Quickly) [please] {ok} 3.14159 $20',
  'supercalifragilisticexpialidocious antidisestablishmentarianism',
  '東京 is in Japan 日本',
  '',
  '   spaces\tand\nnewlines  ',
  'emoji 😀 here',
  'a'.repeat(150),
];
