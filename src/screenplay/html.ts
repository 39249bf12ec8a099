// IMSDb pages and scraped text with HTML leftovers → plain text with the SAME line numbering
// (line tags refer to the original file split on \n): tags are removed but the newlines inside
// them are kept, and lines outside the page's <pre> block are blanked.

const ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  '#39': "'",
  mdash: '—',
  ndash: '–',
  hellip: '…',
  rsquo: '’',
  lsquo: '‘',
  rdquo: '”',
  ldquo: '“',
};

function decodeEntities(s: string): string {
  if (s.indexOf('&') < 0) return s;
  return s.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]{2,8}|#39);/g, (m, name: string) => {
    if (name[0] === '#') {
      const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : m;
    }
    return ENTITIES[name.toLowerCase()] ?? m;
  });
}

const keepNewlines = (m: string): string => m.replace(/[^\n]/g, '');

const TAG_RE = /<!--[\s\S]*?-->|<(script|style)\b[\s\S]*?<\/\1\s*>|<\/?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?\/?>/gi;

/** True when the text carries HTML markup (tags or an IMSDb page skeleton). */
export function hasHtml(text: string): boolean {
  return /<(pre|b|html|body|br|p|div|script|!--)[\s>]/i.test(text);
}

export interface PlainText {
  /** Lines of the original text (split on \n), tags removed, \r dropped, entities decoded. */
  lines: string[];
  /** Whether the text was an HTML page with a <pre> block (lines outside it blanked). */
  fromPre: boolean;
  /** Whether the text looked like an HTML page but had no <pre> block. */
  htmlWithoutPre: boolean;
}

/** Splits text into lines (on \n, as line indices are defined) and removes HTML leftovers. */
export function toPlainLines(text: string): PlainText {
  // Old Mac files use lone CRs: only then do they count as line breaks.
  if (text.indexOf('\n') < 0 && text.indexOf('\r') >= 0) text = text.replace(/\r/g, '\n');
  let fromPre = false;
  let htmlWithoutPre = false;
  if (hasHtml(text)) {
    const lower = text.toLowerCase();
    const preStart = lower.indexOf('<pre');
    const preEnd = lower.lastIndexOf('</pre');
    if (preStart >= 0) {
      fromPre = true;
      const end = preEnd > preStart ? preEnd : text.length;
      text = keepNewlines(text.slice(0, preStart)) + text.slice(preStart, end) + keepNewlines(text.slice(end));
    } else if (/<(html|body)[\s>]/i.test(text)) {
      htmlWithoutPre = true;
    }
    text = text.replace(TAG_RE, keepNewlines);
  }
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let l = lines[i]!;
    if (l.length > 0 && l.charCodeAt(l.length - 1) === 13) l = l.slice(0, -1);
    if (l.indexOf('\r') >= 0) l = l.replace(/\r/g, '');
    lines[i] = decodeEntities(l);
  }
  return { lines, fromPre, htmlWithoutPre };
}
