// The captions room: SRT / WebVTT / SBV reading (any common encoding) and sentence spans.
export type { CaptionEncoding, CaptionFormat, CaptionSentence, CaptionTrack, CaptionWarning, Cue } from './types.ts';
export { decodeSubtitleBytes } from './decode.ts';
export { stripMarkup } from './markup.ts';
export { detectFormat, parseCaptions } from './parse.ts';
export { parseCaptionBytes, readCaptionFile } from './read.ts';
export { splitSentences, type SentenceOptions } from './sentences.ts';
export { formatTimestamp, parseTimestamp } from './timestamps.ts';
