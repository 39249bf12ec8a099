// Cue text → plain text: HTML/WebVTT tags (<i>, <font ...>, <c.color>, <v Name>, <00:17.500>),
// ASS override blocks ({\an8}) and SubRip escapes (\N, \h), HTML entities. Text that merely
// looks like a comparison ("2<3,5>1") is kept: a tag starts with a letter, '/', or a timestamp.

const TAG = /<\/?[A-Za-z][^<>]*>|<\d{1,2}(?::\d{2}){1,2}\.\d{1,3}>/g;
const ASS_BLOCK = /\{\\[^{}]*\}|\{[A-Za-z]:[^{}]*\}/g;
const ENTITY = /&(amp|lt|gt|quot|apos|nbsp|lrm|rlm|#\d+|#x[0-9a-fA-F]+);/g;

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', lrm: '', rlm: '' };

function entity(_m: string, name: string): string {
  if (name[0] === '#') {
    const cp = name[1] === 'x' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
    return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : '';
  }
  return NAMED[name] ?? '';
}

// Most lines hold none of these: they only need trimming (the fast path of a 50 MB/s parser).
const SPECIAL = /[<{\\&\t\u00a0\u200b\ufeff\f\v]| {2}/;

/** Does this text hold markup, entities or odd whitespace (else trimming its lines suffices)? */
export function needsCleaning(text: string): boolean {
  return SPECIAL.test(text);
}

/** Removes markup from one line of cue text; whitespace runs collapse to one space. */
export function stripMarkup(line: string): string {
  if (!SPECIAL.test(line)) return line.trim();
  let s = line;
  if (s.includes('<')) s = s.replace(TAG, '');
  if (s.includes('{')) s = s.replace(ASS_BLOCK, '');
  if (s.includes('\\')) s = s.replace(/\\[Nn]/g, ' ').replace(/\\h/g, ' ');
  if (s.includes('&')) s = s.replace(ENTITY, entity);
  return s.replace(/[\s\u00a0\u200b\ufeff]+/g, ' ').trim();
}
