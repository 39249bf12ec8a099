// SubRip (.srt) writing: numbered cues, `HH:MM:SS,mmm --> HH:MM:SS,mmm`, at most two lines.

export interface SrtCue {
  start: number;
  end: number;
  text: string;
}

function stamp(seconds: number): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)},${pad(ms % 1000, 3)}`;
}

/** Splits a subtitle over two lines near the middle when it is longer than `width` characters. */
export function subtitleLines(text: string, width = 42): string {
  if (text.length <= width) return text;
  const mid = Math.floor(text.length / 2);
  let cut = text.lastIndexOf(' ', mid);
  if (cut <= 0) cut = text.indexOf(' ', mid);
  return cut <= 0 ? text : `${text.slice(0, cut)}\n${text.slice(cut + 1)}`;
}

export function formatSrt(cues: readonly SrtCue[]): string {
  return cues.map((c, i) => `${i + 1}\n${stamp(c.start)} --> ${stamp(c.end)}\n${subtitleLines(c.text)}\n`).join('\n');
}
