// Line tagging: each script's own indentation levels are inferred from the script (cue,
// dialogue and action columns differ per script and even per page), then a small state machine
// walks the lines using those levels, capitalisation, punctuation and context.
import { describeLine, type LineInfo } from './lines.ts';
import type { LineTag } from './types.ts';

export interface ScriptLayout {
  /** Most common column of character cues (null when the script has none). */
  cueIndent: number | null;
  /** Most common column of the first dialogue line after a cue. */
  dialogIndent: number | null;
  /** Most common column of stage-direction paragraphs. */
  actionIndent: number | null;
  /** A cue must start at or right of this column (null: cues sit at the margin with the rest). */
  cueMinIndent: number | null;
  /** Dialogue and action are told apart by their columns. */
  splitByIndent: boolean;
  /** Most cues are followed by a blank line before their dialogue. */
  blankAfterCue: boolean;
  /** Nearly every line is followed by a blank line (a blank line then separates nothing). */
  doubleSpaced: boolean;
  /** Longest usual dialogue line (95th percentile of characters). */
  dialogWidth: number;
}

function mode(values: number[]): number | null {
  if (values.length === 0) return null;
  const counts = new Map<number, number>();
  let best = values[0]!;
  let bestCount = 0;
  for (const v of values) {
    const c = (counts.get(v) ?? 0) + 1;
    counts.set(v, c);
    if (c > bestCount || (c === bestCount && v < best)) {
      best = v;
      bestCount = c;
    }
  }
  return best;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function nextNonBlank(info: LineInfo[], i: number, maxBlank: number): number {
  let blanks = 0;
  for (let j = i + 1; j < info.length; j++) {
    if (info[j]!.kind !== 'blank') return j;
    if (++blanks > maxBlank) return -1;
  }
  return -1;
}

/**
 * The dialogue wrap width: from the 90th percentile of wrapped first dialogue lines, extended
 * upward while lengths stay contiguous (a gap separates the few action lines that slip in).
 */
function wrapWidth(lengths: number[]): number {
  if (lengths.length === 0) return 0;
  const sorted = [...lengths].sort((a, b) => a - b);
  let w = percentile(sorted, 0.9);
  for (const v of sorted) if (v > w && v <= w + 3) w = v;
  return w;
}

/** Infers the script's columns from lines that can only be read one way. */
export function inferLayout(info: LineInfo[]): ScriptLayout {
  const cueIndents: number[] = [];
  const dialogIndents: number[] = [];
  const dialogLengths: number[] = [];
  const actionIndents: number[] = [];
  let cuesWithBlank = 0;
  for (let i = 0; i < info.length; i++) {
    const l = info[i]!;
    if (l.kind === 'cue') {
      const j = nextNonBlank(info, i, 1);
      if (j < 0) continue;
      const n = info[j]!;
      if (n.kind !== 'text' && n.kind !== 'paren') continue;
      if (n.kind === 'text' && n.upper) continue;
      cueIndents.push(l.indent);
      if (j > i + 1) cuesWithBlank++;
      // The dialogue that follows (skipping parentheticals) up to the next blank.
      let k = j;
      let inParen = false;
      for (; k < info.length; k++) {
        const d = info[k]!;
        if (d.kind === 'blank' || d.kind === 'cue' || d.kind === 'heading') break;
        if (d.kind === 'paren' || inParen) {
          inParen = !d.text.includes(')');
          continue;
        }
        if (d.kind !== 'text') break;
        dialogIndents.push(d.indent);
        // A first dialogue line that wraps onto the next line shows the script's dialogue width.
        const after = info[k + 1];
        if (after && after.kind === 'text' && Math.abs(after.indent - d.indent) <= 1) dialogLengths.push(d.text.length);
        break;
      }
    } else if (l.kind === 'text' && i > 0 && (info[i - 1]!.kind === 'blank' || info[i - 1]!.kind === 'heading')) {
      actionIndents.push(l.indent);
    }
  }
  const cueIndent = mode(cueIndents);
  const dialogIndent = mode(dialogIndents);
  const actionIndent = mode(actionIndents);
  const body =
    cueIndent !== null && dialogIndent !== null && cueIndent - dialogIndent >= 4
      ? Math.max(dialogIndent, actionIndent ?? 0)
      : (actionIndent ?? 0);
  const cueMinIndent = cueIndent !== null && cueIndent - body >= 4 ? Math.ceil((body + cueIndent) / 2) : null;
  const splitByIndent = dialogIndent !== null && actionIndent !== null && Math.abs(dialogIndent - actionIndent) >= 3;
  let nonBlank = 0;
  let runs = 0;
  for (let i = 0; i < info.length; i++) {
    if (info[i]!.kind === 'blank') continue;
    nonBlank++;
    if (i + 1 < info.length && info[i + 1]!.kind !== 'blank') runs++;
  }
  const doubleSpaced = nonBlank > 0 && runs / nonBlank < 0.15;
  const blankAfterCue = cuesWithBlank > cueIndents.length / 2;
  return {
    cueIndent,
    dialogIndent,
    actionIndent,
    cueMinIndent,
    splitByIndent,
    doubleSpaced,
    blankAfterCue,
    dialogWidth: Math.max(20, wrapWidth(dialogLengths)),
  };
}

/** Tags every line of a screenplay (lines as split on \n, HTML already removed). */
export function tagLines(lines: string[]): LineTag[] {
  const info = lines.map(describeLine);
  return tagDescribedLines(info, inferLayout(info));
}

export function tagDescribedLines(info: LineInfo[], layout: ScriptLayout): LineTag[] {
  const tags: LineTag[] = new Array<LineTag>(info.length).fill('O');
  type State = 'none' | 'speech' | 'action';
  let state: State = 'none';
  let lastSpeechTag: LineTag = 'C';
  let blockDialogIndent = -1;
  let cueIndent = -1;
  let inParen = false;
  let gap = false; // a blank line since the last tagged line
  let pageBreak = false; // page furniture since the last tagged line
  let prevIndent = -1;
  let prevText = '';

  const isCue = (i: number, l: LineInfo): boolean => {
    if (l.kind !== 'cue') return false;
    const j = nextNonBlank(info, i, 1);
    if (j < 0) return false;
    const n = info[j]!;
    if (n.kind !== 'text' && n.kind !== 'paren') return false;
    // Capitals over a line as wide as action ("A BACKPACK / viciously sideswipes him...") start
    // a stage direction, not a speech.
    if (
      n.kind === 'text' &&
      /^(?:A|AN|THE|TWO|THREE|FOUR|FIVE|SOME|SEVERAL|DOZENS|HIS|HER|THEIR|ITS)\s/.test(l.text) &&
      n.text.length > layout.dialogWidth + 6 &&
      !layout.splitByIndent
    )
      return false;
    if (layout.cueMinIndent !== null && l.indent >= layout.cueMinIndent) return true;
    // Cues at the margin: a capitalised name after a blank line, with speech right under it.
    if (!(gap || pageBreak || state === 'none' || (prevIndent >= 0 && l.indent >= prevIndent + 4))) return false;
    if (j !== i + 1 && !layout.doubleSpaced && !layout.blankAfterCue) return false;
    return !(n.kind === 'text' && n.upper && n.text.length > 12);
  };

  let currentIndex = 0;
  for (let i = 0; i < info.length; i++) {
    const l = info[i]!;
    currentIndex = i;
    if (l.kind === 'blank') {
      // In a double-spaced script only two blank lines in a row separate paragraphs.
      if (!layout.doubleSpaced || (i > 0 && info[i - 1]!.kind === 'blank')) gap = true;
      continue;
    }
    if (l.kind === 'junk') {
      pageBreak = true;
      continue;
    }
    let tag: LineTag;
    if (tags[i - 1] === 'S' && !gap && l.upper && (/[-,–—]$/.test(info[i - 1]!.text) || l.kind === 'heading')) {
      tag = 'S';
    } else if (inParen && state === 'speech' && (!gap || (/\)\W*$/.test(l.text) && !l.text.includes('(')))) {
      // An open parenthetical continues, even across a blank line the scraper inserted; the
      // line that closes it is dialogue when speech follows the bracket.
      const close = l.text.lastIndexOf(')');
      tag = close >= 0 && /[A-Za-z]{2}/.test(l.text.slice(close + 1)) ? 'D' : 'E';
      inParen = close < 0 || l.text.lastIndexOf('(') > close;
    } else if (l.kind === 'heading') {
      tag = 'S';
    } else if (l.kind === 'transition') {
      tag = 'T';
    } else if (isCue(i, l)) {
      tag = 'C';
    } else if (
      state === 'speech' &&
      (!gap ||
        lastSpeechTag === 'C' ||
        (lastSpeechTag === 'E' && l.kind === 'text') ||
        continuesAcrossPage(l) ||
        parenInSpeech(l))
    ) {
      if (l.kind === 'paren' && /^\([^)]*\)\s*[A-Za-z'"]{2,}/.test(l.text)) {
        // "(beat) No! You don't..." is dialogue that opens with an aside.
        tag = 'D';
      } else if (l.kind === 'paren') {
        tag = 'E';
        inParen = !l.text.includes(')');
      } else if (lastSpeechTag === 'C' || (lastSpeechTag === 'E' && blockDialogIndent < 0)) {
        tag = 'D';
      } else if (endsSpeech(l)) {
        tag = 'N';
      } else {
        tag = 'D';
      }
    } else if (
      l.kind === 'paren' &&
      layout.actionIndent !== null &&
      l.indent > layout.actionIndent + 3 &&
      state === 'speech'
    ) {
      tag = 'E';
      inParen = !l.text.includes(')');
    } else {
      tag = 'N';
    }

    tags[i] = tag;
    // "Shut your noise... (pause, stares at" opens an aside that runs over the next lines.
    if (tag === 'D' && l.text.lastIndexOf('(') > l.text.lastIndexOf(')')) inParen = true;
    if (tag === 'C') {
      state = 'speech';
      blockDialogIndent = -1;
      cueIndent = l.indent;
      inParen = false;
    } else if (tag === 'D') {
      if (blockDialogIndent < 0 || pageBreak) blockDialogIndent = l.indent;
    } else if (tag === 'N') {
      state = 'action';
    } else if (tag === 'S' || tag === 'T') {
      state = 'none';
    }
    if (state === 'speech') lastSpeechTag = tag;
    gap = false;
    pageBreak = false;
    prevIndent = l.indent;
    prevText = l.text;
  }
  return tags;

  // A parenthetical between the action and cue columns stays inside the speech after a blank.
  function parenInSpeech(l: LineInfo): boolean {
    if (l.kind !== 'paren' || layout.actionIndent === null) return false;
    return l.indent > layout.actionIndent + 3 && (layout.dialogIndent === null || l.indent > layout.dialogIndent);
  }

  // After a page break, dialogue resumes at the dialogue column.
  function continuesAcrossPage(l: LineInfo): boolean {
    if (l.kind !== 'text' || !layout.splitByIndent) return false;
    if (
      !pageBreak &&
      !(layout.cueMinIndent !== null && l.indent < layout.cueMinIndent && l.indent > layout.actionIndent! + 3)
    )
      return false;
    const d = layout.dialogIndent!;
    const a = layout.actionIndent!;
    return Math.abs(l.indent - blockDialogIndent) <= 1 || Math.abs(l.indent - d) < Math.abs(l.indent - a);
  }

  // Inside a speech block, a line that starts left of the dialogue column, or (when dialogue and
  // action share a column) that is wider than dialogue ever is, is a stage direction.
  function endsSpeech(l: LineInfo): boolean {
    if (blockDialogIndent >= 0 && l.indent < blockDialogIndent - 2) return true;
    if (blockDialogIndent >= 0 && l.indent >= cueIndent - 2 && cueIndent > blockDialogIndent + 4) return false;
    if (layout.splitByIndent) return false;
    if (l.text.length > layout.dialogWidth + 2) return true;
    // The first word would have fitted on the previous line, which ended a sentence: the
    // dialogue ended there and this is a new (stage-direction) paragraph.
    const _firstWord = l.text.split(' ', 1)[0]!.length;
    if (lastSpeechTag !== 'D' || !/[.!?"'”)]$/.test(prevText) || !/^[A-Z]/.test(l.text)) return false;
    const room = layout.dialogWidth - prevText.length - 1 - l.text.split(' ', 1)[0]!.length;
    if (room < 0) return false;
    // A stage direction when the paragraph holds a line wider than dialogue ever is, or when it
    // is a single line whose first word would easily have fitted on the previous line.
    let run = 0;
    for (let k = currentIndex; k < info.length && info[k]!.kind === 'text'; k++, run++) {
      if (info[k]!.text.length > layout.dialogWidth + 2) return true;
    }
    if (run === 1 && room > 6) return true;
    return false;
  }
}
