// Timestamps of the three formats, leniently: hours optional (WebVTT), ',' or '.' before the
// fraction (real SRT files mix them), 1-3 fraction digits. Returns seconds or NaN.

/** Seconds of `[h:]mm:ss(,|.)f{1,3}`, or NaN. */
export function parseTimestamp(raw: string): number {
  return parseTimestampIn(raw, 0, raw.length);
}

/**
 * parseTimestamp over raw[from, to) without slicing: hand-rolled and allocation-free, since
 * timing lines are a quarter of a subtitle file and a regex here was the parser's hot spot.
 */
function parseTimestampIn(raw: string, from: number, to: number): number {
  let i = from;
  let end = to;
  while (i < end && raw.charCodeAt(i) <= 32) i++;
  while (end > i && raw.charCodeAt(end - 1) <= 32) end--;
  // Up to three ':'-separated integer fields (a, b, c), then a 1-3 digit fraction.
  let a = 0;
  let b = 0;
  let fields = 0;
  let digits = 0;
  let value = 0;
  for (; i < end; i++) {
    const c = raw.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
      digits++;
    } else if (c === 58 /* : */) {
      if (digits === 0 || fields === 2 || (fields === 1 && digits > 2)) return NaN;
      if (fields === 0) a = value;
      else b = value;
      fields++;
      value = 0;
      digits = 0;
    } else if (c === 44 /* , */ || c === 46 /* . */) break;
    else return NaN;
  }
  if (i >= end || digits === 0 || digits > 2 || fields === 0) return NaN;
  let frac = 0;
  let scale = 1;
  for (i++; i < end; i++) {
    const c = raw.charCodeAt(i);
    if (c < 48 || c > 57 || scale === 1000) return NaN;
    frac = frac * 10 + (c - 48);
    scale *= 10;
  }
  if (scale === 1) return NaN;
  const h = fields === 2 ? a : 0;
  const min = fields === 2 ? b : a;
  if (min >= 60 || value >= 60) return NaN;
  return h * 3600 + min * 60 + value + frac / scale;
}

/** The timing line text[lineStart, lineEnd) whose '-->' is at `arrow`. */
export function parseArrowTimingIn(
  text: string,
  lineStart: number,
  arrow: number,
  lineEnd: number,
): { start: number; end: number } | 'bad' {
  let j = arrow + 3;
  while (j < lineEnd && text.charCodeAt(j) <= 32) j++;
  let k = j;
  while (k < lineEnd && text.charCodeAt(k) > 32) k++;
  const start = parseTimestampIn(text, lineStart, arrow);
  const end = parseTimestampIn(text, j, k);
  if (Number.isNaN(start) || Number.isNaN(end)) return 'bad';
  return { start, end };
}

const SBV = /^\s*([\d:.]+),([\d:.]+)\s*$/;

/** `h:mm:ss.mmm,h:mm:ss.mmm` (SBV): times, 'bad' for a malformed timing line, null for text. */
export function parseSbvTiming(line: string): { start: number; end: number } | 'bad' | null {
  const m = SBV.exec(line);
  if (!m) return /^\s*\d+:[\w:.]*,\d*:[\w:.]*\s*$/.test(line) ? 'bad' : null;
  const start = parseTimestamp(m[1]!);
  const end = parseTimestamp(m[2]!);
  if (Number.isNaN(start) || Number.isNaN(end)) return 'bad';
  return { start, end };
}

/** 3725.5 → "01:02:05.500" (for messages). */
export function formatTimestamp(t: number): string {
  const ms = Math.round(t * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const f = ms % 1000;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}.${String(f).padStart(3, '0')}`;
}
