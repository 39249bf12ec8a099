// What one line says about itself, before context: indentation (tabs expanded), the text
// without revision marks, and whether it looks like a heading, transition, page furniture,
// a parenthetical or a character cue (The Hollywood Standard's conventions, as in
// Winer & Young's screenplay grammar).

export type LineKind = 'blank' | 'junk' | 'heading' | 'transition' | 'paren' | 'cue' | 'text';

export interface LineInfo {
  /** Columns of leading whitespace, tabs expanded to 8-column stops. */
  indent: number;
  /** Trimmed text without trailing revision asterisks. */
  text: string;
  kind: LineKind;
  /** No lowercase letters and at least one uppercase letter. */
  upper: boolean;
}

const TAB = 8;

export function expandIndent(line: string): { indent: number; start: number } {
  let col = 0;
  let i = 0;
  for (; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 32 || c === 0xa0) col++;
    else if (c === 9) col = (Math.floor(col / TAB) + 1) * TAB;
    else if (c !== 12 && c !== 11) break; // form feeds take no column
  }
  return { indent: col, start: i };
}

const SCENE_NO = /^(?:[A-Z]{0,2}\d{1,4}[A-Z]{0,3}\.?)(?=\s)/;
const SCENE_NO_END = /\s(?:[A-Z]{0,2}\d{1,4}[A-Z]{0,3}\.?)$/;
const HEADING_WORD = /^(?:INT|EXT|I\/E|E\/I|INTERIOR|EXTERIOR|EST)\b\.?(?:\s*\/\s*(?:INT|EXT)\b\.?)?(?=[\s.:/,-]|$)/i;
const INNER_HEADING = /(?:^|[\s-])(?:INT|EXT)\.\s+\S/;
const TIME_OF_DAY =
  /\s[-–—]+\s*(?:DAY|NIGHT|MORNING|EVENING|AFTERNOON|DUSK|DAWN|SUNSET|SUNRISE|CONTINUOUS|LATER|MOMENTS LATER|SAME TIME)\b\.?\)?$/;
const TRANSITION =
  /^(?:(?:(?:SMASH|MATCH|JUMP|HARD|QUICK|SHOCK|FAST|STRAIGHT|TIME)\s+)?CUT(?:\s+BACK)?(?:\s+TO\b.*)?|(?:FADE|DISSOLVE|WIPE|IRIS|FLASH)(?:\s+(?:IN|OUT|TO|UP|DOWN|BACK)\b.*)?|INTERCUT(?:\s+WITH\b.*)?|BACK\s+TO\b.*|.*\sTO)\s*[:.]?$/i;
const CONTINUED_WORDS = /^(?:CONTINUED|CONT'D|CONT’D|CONTD|CONT|MORE)$/i;
const NON_CUE =
  /^(?:ANGLE|CLOSE|CLOSEUP|CLOSE-UP|INSERT|WIDE|POV|SERIES|MONTAGE|LATER|MOMENTS|CONTINUOUS|THE END|END|SUPER|TITLE|BLACK|FLASHBACK|OMITTED|EXTREME|AERIAL|TIGHT|REVERSE|OVER|ON|UNDER|TITLES|CREDITS|SUBTITLE|MAIN TITLE|FREEZE|SLOW MOTION|SPLIT|INTERCUT|SCENE|SCENES|OPENING|ESTABLISHING|NIGHT|DAY|DAWN|DUSK|MORNING|EVENING)\b/;

function lettersUpperShare(s: string): { upper: number; lower: number } {
  let upper = 0;
  let lower = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) upper++;
    else if (c >= 97 && c <= 122) lower++;
    else if (c > 127) {
      const ch = s[i]!;
      if (ch !== ch.toLowerCase()) upper++;
      else if (ch !== ch.toUpperCase()) lower++;
    }
  }
  return { upper, lower };
}

/** "44   AT THE BAR - CONTINUING   44" → heading body without scene numbers, or null. */
function headingBody(text: string, upper: boolean, letters: { upper: number; lower: number }): boolean {
  const numbered = SCENE_NO.exec(text);
  const rest = numbered ? text.slice(numbered[0].length).trim() : text;
  const restNoTail = rest.replace(SCENE_NO_END, '').trim();
  if (HEADING_WORD.test(rest)) return letters.upper >= letters.lower * 2 && /[A-Z]{2}/.test(rest);
  if (!upper) return false;
  if (INNER_HEADING.test(rest) && rest.length < 90) return true;
  if (numbered && restNoTail.length > 1 && /[A-Z]{2}/.test(restNoTail)) {
    // A scene number plus capitals: a heading when the number is repeated at the end, set off
    // by a dot or by a wide gap, or when a time of day follows a dash.
    const tail = SCENE_NO_END.exec(rest);
    if (tail && tail[0].trim().replace(/\.$/, '') === numbered[0].replace(/\.$/, '')) return true;
    if (numbered[0].endsWith('.') || /^\s{2,}/.test(text.slice(numbered[0].length))) return true;
    if (TIME_OF_DAY.test(restNoTail)) return true;
  }
  return false;
}

function isJunk(text: string): boolean {
  // Page numbers: "23.", "(12)", "Page 4", "- 17 -".
  if (/^[-(\s]*\d{1,3}[A-Z]?\.?[)\s-]*$/.test(text)) return true;
  if (/^page\s+\d+\.?$/i.test(text)) return true;
  if (/imsdb|internet movie script database/i.test(text)) return true;
  // CONTINUED / (MORE) / CONT'D furniture, possibly with scene numbers around it.
  const words = /cont|more/i.test(text)
    ? text
        .replace(/[^A-Za-z'’]+/g, ' ')
        .trim()
        .split(' ')
    : [];
  if (words.length > 0 && words.length <= 3 && words[0] !== '' && words.every((w) => CONTINUED_WORDS.test(w))) {
    if (/^[\s\dA-Z().:*'’#-]*$/i.test(text)) return true;
  }
  // Revision headers: "MEMENTO Blue Revisions - 8/27/99", "Pink Revised 21st May 2008 73."
  if (
    text.length < 90 &&
    /\b(?:revisions?|revised|rev\.|draft)\b/i.test(text) &&
    /\d{1,2}\/\d{1,2}\/\d{2,4}|\b(?:19|20)\d\d\b|\d+\.$/.test(text)
  ) {
    return !/[a-z]{3,}[.!?]$/.test(text) || /\d\.$/.test(text);
  }
  // Rules and separators: "* * *", "-----".
  if (!/[A-Za-z0-9]/.test(text)) return true;
  return false;
}

/** Splits "LEONARD (V.O.) (cont'd)" into the name and its extensions; null when not a cue. */
export function splitCue(text: string): { name: string; extensions: string[] } | null {
  const extensions: string[] = [];
  let name = text;
  if (text.indexOf('(') >= 0) {
    name = text.replace(/\(([^()]*)\)?/g, (_m, inner: string) => {
      const e = inner.trim();
      if (e) extensions.push(e);
      return ' ';
    });
  }
  if (/\s\s|\t/.test(name) || name !== name.trim()) name = name.replace(/\s+/g, ' ').trim();
  if (name.length === 0 || name.length > 38) return null;
  if (!/[A-Z]/.test(name)) return null;
  if (/[a-z]/.test(name.replace(/\bMc(?=[A-Z])|\bMac(?=[A-Z])|\b(?:De|Di|La|Le|Van|Von|Da)(?=[A-Z]{2})/g, '')))
    return null;
  if (/[.!?,:;"“”\-–—]$/.test(name) && !/(?:\b[A-Z]|\bJR|\bSR|\bDR|\bMR|\bMRS|\bMS|\bST)\.$/.test(name)) return null;
  if (/^["'“‘(\-–—.]/.test(name) || /["“”]/.test(name)) return null;
  if (name.split(' ').length > 6) return null;
  if (NON_CUE.test(name)) return null;
  return { name, extensions };
}

export function describeLine(raw: string): LineInfo {
  const { indent, start } = expandIndent(raw);
  let end = raw.length;
  while (end > start && isSpace(raw.charCodeAt(end - 1))) end--;
  if (end === start) return { indent, text: '', kind: 'blank', upper: false };
  let text = start === 0 && end === raw.length ? raw : raw.slice(start, end);
  // Revision marks in the right margin ("... looking   *") and stray form feeds.
  if (text.charCodeAt(text.length - 1) === 42) text = text.replace(/\s*\*+$/, '');
  if (text.indexOf('\f') >= 0) text = text.replace(/\f/g, '');
  if (text.length === 0) return { indent, text, kind: 'blank', upper: false };
  const letters = lettersUpperShare(text);
  const upper = letters.upper > 0 && letters.lower === 0;
  return { indent, text, kind: classify(text, upper, letters), upper };
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 0xa0 || c === 12 || c === 11;
}

// Cheap tests first: most lines are lower-case prose that can only be text.
function classify(text: string, upper: boolean, letters: { upper: number; lower: number }): LineKind {
  const c0 = text.charCodeAt(0);
  const mostlyUpper = letters.upper >= letters.lower * 2;
  const short = text.length <= 90;
  if (
    short &&
    (!mostlyUpper ? /^[-(\s\d]|imsdb|revis|draft|rev\.|^page|^cont|^more|^[^A-Za-z]*$/i.test(text) : true) &&
    isJunk(text)
  )
    return 'junk';
  if ((mostlyUpper || (c0 >= 48 && c0 <= 57)) && headingBody(text, upper, letters)) return 'heading';
  // A bare word ("FLASH", "CUT") is a transition only with its colon or period (else a name).
  if (
    (upper || text.length <= 12) &&
    text.length <= 40 &&
    !/^[A-Za-z]+$/.test(text) &&
    TRANSITION.test(text) &&
    /[A-Za-z]/.test(text) &&
    !/^(?:BACK TO)$/i.test(text) &&
    (upper || /[:.]$/.test(text)) &&
    text.split(/\s+/).length <= 6
  ) {
    return 'transition';
  }
  if (c0 === 40) return 'paren';
  if (
    text.length <= 60 &&
    (upper || (letters.upper > 0 && text.indexOf('(') > 0) || text.indexOf('Mc') >= 0 || text.indexOf('Mac') >= 0) &&
    splitCue(text)
  )
    return 'cue';
  return 'text';
}
