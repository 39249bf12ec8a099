// Parsing a whole screenplay corpus: files → `screenplays.jsonl` lines + Table 1 statistics,
// on a piscina thread pool when there are enough files (one thread per core; the work is
// CPU-bound, and the stage asks the scheduler for as many cores as it uses threads).
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { readScreenplayFile } from '../screenplay/files.ts';
import { missingScreenplayStructure, parseScreenplay } from '../screenplay/parse.ts';
import type { ScreenplayRecord } from '../screenplay/types.ts';
import { CorpusStatsCounter, type CorpusStats } from './corpus-stats.ts';

export type ParsedFile =
  | { file: string; ok: true; movie: string; line: string }
  | { file: string; ok: false; reason: string };

export interface ParseChunkResult {
  files: ParsedFile[];
  stats: CorpusStats;
  vocabulary: string[];
}

/** Reads and parses files in order; the JSON line of each movie and the chunk's statistics. */
export function parseFilesChunk(files: readonly string[]): ParseChunkResult {
  const stats = new CorpusStatsCounter();
  const out: ParsedFile[] = [];
  for (const file of files) {
    const read = readScreenplayFile(file);
    if (!read.ok) {
      out.push({ file, ok: false, reason: read.reason });
      continue;
    }
    const { elements } = parseScreenplay(read.text);
    const missing = missingScreenplayStructure(elements);
    if (missing) {
      out.push({ file, ok: false, reason: missing });
      continue;
    }
    const record: ScreenplayRecord = { movie: read.movie, file: path.basename(file), elements };
    out.push({ file, ok: true, movie: read.movie, line: JSON.stringify(record) });
    stats.addMovie(elements);
  }
  return { files: out, ...stats.snapshot() };
}

export interface ParseCorpusOptions {
  /** Worker threads (default: available cores, at most 4; 1 = parse in this thread). */
  workers?: number;
  signal?: AbortSignal;
  /** Called once per file in input order. */
  onFile?: (result: ParsedFile, done: number, total: number) => void;
  /** Counts into this counter (its vocabulary then holds the corpus's words, for merging elsewhere). */
  counter?: CorpusStatsCounter;
}

const CHUNK = 8;

/**
 * Parses files (on worker threads when there are more than a few), calling `onFile` in input
 * order, and returns the corpus statistics.
 */
export async function parseCorpusFiles(
  files: readonly string[],
  options: ParseCorpusOptions = {},
): Promise<CorpusStats> {
  const workers = Math.max(
    1,
    Math.min(options.workers ?? Math.min(4, availableParallelism()), Math.ceil(files.length / CHUNK)),
  );
  const stats = options.counter ?? new CorpusStatsCounter();
  const chunks: string[][] = [];
  for (let i = 0; i < files.length; i += CHUNK) chunks.push(files.slice(i, i + CHUNK));
  const results: (ParseChunkResult | undefined)[] = new Array(chunks.length);
  let emitted = 0;
  let done = 0;
  const flush = (): void => {
    while (emitted < chunks.length && results[emitted]) {
      const r = results[emitted]!;
      stats.merge(r);
      for (const f of r.files) options.onFile?.(f, ++done, files.length);
      results[emitted] = undefined;
      emitted++;
    }
  };

  if (workers === 1) {
    for (let i = 0; i < chunks.length; i++) {
      if (options.signal?.aborted) throw new Error('interrupted');
      results[i] = parseFilesChunk(chunks[i]!);
      flush();
    }
    return stats.result();
  }

  // The engine's thread pool library (piscina): one thread per worker, chunks queued in order;
  // results are emitted in input order whatever order the threads finish in.
  const { Piscina } = await import('piscina');
  const pool = new Piscina<string[], ParseChunkResult>({
    // compiled: the worker's .js; from the TypeScript sources: its .mjs shim that registers tsx first
    filename: new URL(
      import.meta.url.endsWith('.ts') ? './corpus-parse-worker.mjs' : './corpus-parse-worker.js',
      import.meta.url,
    ).href,
    minThreads: workers,
    maxThreads: workers,
    execArgv: [],
  });
  try {
    await Promise.all(
      chunks.map((chunk, index) =>
        pool.run(chunk, { signal: options.signal }).then((result) => {
          results[index] = result;
          flush();
        }),
      ),
    );
  } catch (e) {
    if (options.signal?.aborted) throw new Error('interrupted');
    throw e;
  } finally {
    await pool.destroy();
  }
  return stats.result();
}
