export * from './types.ts';
export { decodeScreenplayBytes, decodeWindows1252, type DecodeResult, type ScreenplayEncoding } from './decode.ts';
export { toPlainLines, hasHtml, type PlainText } from './html.ts';
export { describeLine, splitCue, type LineInfo, type LineKind } from './lines.ts';
export { tagLines, inferLayout, type ScriptLayout } from './tagger.ts';
export { groupElements } from './elements.ts';
export { parseScreenplay, type ParseOptions } from './parse.ts';
export { readScreenplayFile, listScreenplayFiles, movieIdFromFile, type ReadScreenplayResult } from './files.ts';
