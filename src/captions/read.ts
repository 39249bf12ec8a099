// Reading a caption file from disk: bytes → text → cues. A missing file is the user's error
// (ExpError naming it); an empty or cue-less file is a track with zero cues and a warning.
import { readFile } from 'node:fs/promises';
import { ExpError } from '../errors.ts';
import { decodeSubtitleBytes } from './decode.ts';
import { detectFormat, parseCaptions } from './parse.ts';
import type { CaptionFormat, CaptionTrack } from './types.ts';

export function parseCaptionBytes(bytes: Uint8Array, fileName?: string, format?: CaptionFormat): CaptionTrack {
  const { text, encoding } = decodeSubtitleBytes(bytes);
  const fmt = format ?? detectFormat(text, fileName);
  const { cues, warnings } = parseCaptions(text, fmt);
  if (text.trim() === '') warnings.push({ line: 0, message: 'file is empty' });
  else if (cues.length === 0) warnings.push({ line: 0, message: 'no readable cue in the file' });
  return { format: fmt, encoding, cues, warnings };
}

export async function readCaptionFile(file: string, format?: CaptionFormat): Promise<CaptionTrack> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ExpError('EXP_INPUT_MISSING', `cannot read subtitle file ${file}${code ? ` (${code})` : ''}`, {
      hint: 'check the path; subtitles must be .srt, .vtt or .sbv files',
      cause: e,
      detail: { file },
    });
  }
  return parseCaptionBytes(bytes, file, format);
}
