// Plain data of the captions room: cues as read from a file, sentences with time spans.

export type CaptionFormat = 'srt' | 'vtt' | 'sbv';

export type CaptionEncoding = 'utf-8' | 'utf-8-bom' | 'utf-16le' | 'utf-16be' | 'utf-32le' | 'utf-32be' | 'cp1252';

/** One cue: a time span (seconds) and its text with markup removed; lines joined by '\n'. */
export interface Cue {
  start: number;
  end: number;
  text: string;
}

/** A sentence of speech with the time span it occupies on screen (seconds). */
export interface CaptionSentence {
  text: string;
  start: number;
  end: number;
}

/** A problem with one part of a file: the cue is skipped, the file goes on. */
export interface CaptionWarning {
  line: number;
  message: string;
}

export interface CaptionTrack {
  format: CaptionFormat;
  encoding: CaptionEncoding;
  cues: Cue[];
  warnings: CaptionWarning[];
}
