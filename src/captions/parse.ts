// One reader for SRT, WebVTT and SBV. A cue begins at a timing line and runs to the next blank
// line (or the next timing line: youtube-dl's VTT omits the blank). What precedes a timing line
// in its block is an index/identifier and is dropped, so missing indexes are fine. A cue with an
// unreadable or backwards timing, or without text, is skipped with a warning that names its line;
// text outside any cue is skipped the same way. The rest of the file goes on.
//
// Speed (issue 6 asks for >= 50 MB/s): the text is walked line by line with indexOf, without
// splitting it; only cue text lines become strings, and '-->' is found once per occurrence.
import { needsCleaning, stripMarkup } from './markup.ts';
import { formatTimestamp, parseArrowTimingIn, parseSbvTiming } from './timestamps.ts';
import type { CaptionFormat, CaptionWarning, Cue } from './types.ts';

export interface ParsedCaptions {
  cues: Cue[];
  warnings: CaptionWarning[];
}

/** Is text[from, to) only whitespace? */
function isBlank(text: string, from: number, to: number): boolean {
  for (let k = from; k < to; k++)
    if (text.charCodeAt(k) > 32 && text.charCodeAt(k) !== 0xa0 && text.charCodeAt(k) !== 0xfeff) return false;
  return true;
}

/** Is text[from, to) a number (an SRT index), spaces allowed around it? */
function isIndex(text: string, from: number, to: number): boolean {
  let digits = 0;
  for (let k = from; k < to; k++) {
    const c = text.charCodeAt(k);
    if (c >= 48 && c <= 57) digits++;
    else if (c > 32) return false;
  }
  return digits > 0;
}

function hasLoneCR(text: string): boolean {
  for (let k = text.indexOf('\r'); k >= 0; k = text.indexOf('\r', k + 2))
    if (text.charCodeAt(k + 1) !== 10) return true;
  return false;
}

/** A WebVTT NOTE / STYLE / REGION block starts at `pos`. */
function isVttBlock(text: string, pos: number, end: number): boolean {
  for (const w of ['NOTE', 'STYLE', 'REGION']) {
    if (text.startsWith(w, pos) && (pos + w.length === end || text.charCodeAt(pos + w.length) <= 32)) return true;
  }
  return false;
}

export function parseCaptions(input: string, format: CaptionFormat): ParsedCaptions {
  const cues: Cue[] = [];
  const warnings: CaptionWarning[] = [];
  let text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  if (hasLoneCR(text)) text = text.replace(/\r\n?/g, '\n'); // old Mac line ends
  const n = text.length;

  // The line being read: [pos, lineEnd), lineNo is 1-based; next starts at nextPos.
  let pos = 0;
  let lineNo = 0;
  let lineEnd = 0;
  let nextPos = 0;
  const readLine = (): boolean => {
    if (nextPos > n) return false;
    pos = nextPos;
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = n;
    nextPos = nl + 1;
    lineEnd = nl > pos && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
    lineNo++;
    return true;
  };

  if (format === 'vtt') {
    const hasHeader = text.startsWith('WEBVTT') && (n === 6 || text.charCodeAt(6) <= 32);
    if (hasHeader) {
      while (readLine() && !isBlank(text, pos, lineEnd)); // header block (Kind:, Language:, Style:)
    } else if (!isBlank(text, 0, n)) {
      warnings.push({ line: 1, message: 'no "WEBVTT" header; reading the cues anyway' });
    }
  }

  // The open cue: its timing and its text [textFrom, textTo) (text lines are contiguous).
  // Lines before a timing line that belong to no cue are "orphans": the last is an index or
  // identifier, any others are text without timing.
  let open = false;
  let cueStart = 0;
  let cueEnd = 0;
  let cueLine = 0;
  let cueBad: string | null = null;
  let textFrom = 0;
  let textTo = 0;
  let lastTextLine = 0;
  let orphanFrom = -1;
  let orphanLine = 0;
  let lastOrphan = 0;
  let orphanTo = 0;
  let skipping = false;
  let blockStart = true;
  let arrow = text.indexOf('-->');

  const endCue = (): void => {
    if (!open) return;
    open = false;
    if (cueBad) {
      warnings.push({ line: cueLine, message: `${cueBad}; cue skipped` });
      return;
    }
    let body = '';
    const chunk = text.slice(textFrom, textTo);
    const plain = !needsCleaning(chunk); // one test per cue instead of one per line
    let k = 0;
    while (k < chunk.length) {
      let e = chunk.indexOf('\n', k);
      if (e < 0) e = chunk.length;
      const line = chunk.slice(k, e);
      const clean = plain ? line.trim() : stripMarkup(line);
      if (clean) body = body ? `${body}\n${clean}` : clean;
      k = e + 1;
    }
    if (!body) {
      warnings.push({ line: cueLine, message: `cue at ${formatTimestamp(cueStart)} has no text; skipped` });
      return;
    }
    cues.push({ start: cueStart, end: cueEnd, text: body });
  };
  const dropOrphans = (keepLast: boolean): void => {
    if (orphanFrom < 0) return;
    const to = keepLast ? lastOrphan : orphanTo;
    if (to > orphanFrom) {
      const sample = text.slice(orphanFrom, to).replace(/\s+/g, ' ').trim().slice(0, 60);
      warnings.push({ line: orphanLine, message: `text outside any cue ("${sample}"): no timing line; skipped` });
    }
    orphanFrom = -1;
  };

  while (readLine()) {
    if (pos === lineEnd || isBlank(text, pos, lineEnd)) {
      endCue();
      dropOrphans(false);
      skipping = false;
      blockStart = true;
      continue;
    }
    if (skipping) continue;
    if (blockStart && format === 'vtt' && isVttBlock(text, pos, lineEnd)) {
      skipping = true; // comments and style sheets
      continue;
    }
    let timing: { start: number; end: number } | 'bad' | null = null;
    if (format === 'sbv') {
      const t = parseSbvTiming(text.slice(pos, lineEnd));
      if (t !== 'bad' || blockStart) timing = t;
    } else {
      while (arrow >= 0 && arrow < pos) arrow = text.indexOf('-->', pos);
      if (arrow >= 0 && arrow < lineEnd) timing = parseArrowTimingIn(text, pos, arrow, lineEnd);
    }
    if (timing !== null) {
      if (open) {
        // In SRT a number right before a timing line is the next cue's index.
        if (format === 'srt' && textTo > textFrom && isIndex(text, lastTextLine, textTo))
          textTo = Math.max(textFrom, lastTextLine - 1);
        endCue();
      }
      dropOrphans(true);
      blockStart = false;
      if (timing === 'bad') {
        warnings.push({
          line: lineNo,
          message: `unreadable timing "${text.slice(pos, lineEnd).trim().slice(0, 60)}"; cue skipped`,
        });
        skipping = true;
        continue;
      }
      cueBad =
        timing.end < timing.start
          ? `cue ends (${formatTimestamp(timing.end)}) before it starts (${formatTimestamp(timing.start)})`
          : timing.end === timing.start
            ? `cue at ${formatTimestamp(timing.start)} lasts zero seconds (hidden text)`
            : null;
      open = true;
      cueStart = timing.start;
      cueEnd = timing.end;
      cueLine = lineNo;
      textFrom = textTo = nextPos;
      continue;
    }
    blockStart = false;
    if (open) {
      lastTextLine = pos;
      textTo = lineEnd;
    } else {
      if (orphanFrom < 0) {
        orphanFrom = pos;
        orphanLine = lineNo;
      }
      lastOrphan = pos;
      orphanTo = lineEnd;
    }
  }
  endCue();
  dropOrphans(false);
  return { cues, warnings };
}

/** Format from the file name, else from the content. */
export function detectFormat(text: string, fileName?: string): CaptionFormat {
  const ext = fileName?.toLowerCase().match(/\.(srt|vtt|webvtt|sbv)$/)?.[1];
  if (ext === 'srt' || ext === 'sbv') return ext;
  if (ext === 'vtt' || ext === 'webvtt') return 'vtt';
  const head = text.slice(0, 4096);
  if (/^\ufeff?WEBVTT/.test(head)) return 'vtt';
  if (head.includes('-->')) return 'srt';
  if (/^\s*\d+:\d{2}:\d{2}\.\d{3},\d+:\d{2}:\d{2}\.\d{3}\s*$/m.test(head)) return 'sbv';
  return 'srt';
}
