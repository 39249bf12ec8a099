// Worker thread of parseCorpusFiles: parses the chunks of files it is sent.
import { parentPort } from 'node:worker_threads';
import { parseFilesChunk } from './corpus-parse.ts';

parentPort?.on('message', (m: { index: number; files: string[] }) => {
  parentPort!.postMessage({ index: m.index, result: parseFilesChunk(m.files) });
});
