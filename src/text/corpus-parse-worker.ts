// Worker thread of parseCorpusFiles (a piscina task): parses the chunk of files it is given.
import { parseFilesChunk, type ParseChunkResult } from './corpus-parse.ts';

export default function parseChunk(files: string[]): ParseChunkResult {
  return parseFilesChunk(files);
}
