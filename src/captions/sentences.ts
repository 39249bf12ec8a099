// Cues → sentences with time spans. Subtitles cut speech at display boundaries, not at
// sentences: a sentence running over several cues gets the union of its parts' spans, and
// several sentences in one cue share the cue's span in proportion to their characters.
// A sentence ends where src/sentences.ts says (as in screenplays), at a new speaker's dash
// ("- Hi.\n- Hello"), or at a pause longer than `maxGapS` between cues. An ellipsis that ends a
// cue and is taken up by the next ("I was going to..." / "...the store") does not end it.
// Sound descriptions ([door slams]) and music notes are not speech and are dropped.
import { sentenceEnds } from '../sentences.ts';
import type { CaptionSentence, Cue } from './types.ts';

export interface SentenceOptions {
  /** A pause longer than this between cues ends an unfinished sentence (default 2 s). */
  maxGapS?: number;
}

// [door slams], (LAUGHS), ♪ and the '#' that some files use for music (but not "#1").
const SOUND = /\[[^\]]*\]|\([A-Z][A-Z\s,'-]*\)|[♪♫]+|(?<!\w)#+(?!\w)/g;
const SPEAKER_DASH = /^\s*[-–—]+\s*/;

interface Piece {
  text: string;
  start: number;
  end: number;
}

export function splitSentences(cues: readonly Cue[], options: SentenceOptions = {}): CaptionSentence[] {
  const maxGap = options.maxGapS ?? 2;
  const out: CaptionSentence[] = [];
  let pieces: Piece[] = [];
  let pendingEllipsis = false;
  let prevEnd = -Infinity;

  const flush = (): void => {
    pendingEllipsis = false;
    if (pieces.length === 0) return;
    const text = pieces
      .map((p) => p.text)
      .join(' ')
      .replace(/\s+/g, ' ')
      .trim();
    if (/[\p{L}\p{N}]/u.test(text)) {
      let start = Infinity;
      let end = -Infinity;
      for (const p of pieces) {
        if (p.start < start) start = p.start;
        if (p.end > end) end = p.end;
      }
      out.push({ text, start: round3(start), end: round3(end) });
    }
    pieces = [];
  };

  // Files are not always in time order (an advert cue at the end timed 00:00:00.500).
  const ordered = [...cues].sort((a, b) => a.start - b.start);
  for (const cue of ordered) {
    if (cue.start - prevEnd > maxGap) flush();
    prevEnd = Math.max(prevEnd, cue.end);
    const lines = cue.text.split('\n').map((l) => l.replace(SOUND, ' ').replace(/\s+/g, ' ').trim());
    // Character positions over the cue's spoken text, for proportional time shares.
    let total = 0;
    for (const l of lines) total += l.replace(SPEAKER_DASH, '').length;
    if (total === 0) continue;
    const dur = cue.end - cue.start;
    let pos = 0;
    const span = (from: number, to: number): [number, number] => [
      cue.start + (dur * from) / total,
      cue.start + (dur * to) / total,
    ];

    for (let li = 0; li < lines.length; li++) {
      let line = lines[li]!;
      const dash = SPEAKER_DASH.exec(line);
      if (dash) {
        flush(); // a new speaker starts a new sentence
        line = line.slice(dash[0].length);
      }
      if (!line) continue;
      if (pendingEllipsis) {
        // Continue the sentence only when this cue picks it up ("...the store" or lower case).
        if (/^(\.\.\.|…)/.test(line)) line = line.replace(/^(\.\.\.|…)\s*/, '');
        else if (!/^\p{Ll}/u.test(line)) flush();
        pendingEllipsis = false;
      }
      let from = 0;
      for (const end of sentenceEnds(line)) {
        const [s, e] = span(pos + from, pos + end.end);
        pieces.push({ text: line.slice(from, end.end), start: s, end: e });
        const atCueEnd = li === lines.length - 1 && end.end >= line.length;
        if (atCueEnd && /(\.\.\.|…)["'”’»)\]]*$/.test(end.mark)) {
          pendingEllipsis = true; // decided by the next cue
        } else {
          flush();
        }
        from = end.next;
      }
      if (from < line.length) {
        const [s, e] = span(pos + from, pos + line.length);
        pieces.push({ text: line.slice(from), start: s, end: e });
      }
      pos += line.length;
    }
  }
  flush();
  return out;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
