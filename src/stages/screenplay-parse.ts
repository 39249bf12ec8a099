// Stage `screenplay.parse` (§3.1): read a folder of IMSDb screenplays (plain text or HTML), tag
// their lines, group them into elements and write one JSON line per movie. Files that cannot be
// read or hold no screenplay are skipped with a warning naming them; corpus statistics like the
// paper's Table 1 are logged as metrics.
import { closeSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ExpError } from '../errors.ts';
import type {
  JsonSchema,
  JsonValue,
  ShardItem,
  ShardSource,
  StageContext,
  StageKind,
  StageSharding,
} from '../plan/stage-kind.ts';
import { inspectScreenplayCorpus, listScreenplayStats } from '../screenplay/files.ts';
import { parseCorpusFiles } from '../text/corpus-parse.ts';
import { type CorpusStats, CorpusStatsCounter } from '../text/corpus-stats.ts';
import { outputPath, requirePort } from './ports.ts';
import { fileDigest, textLines } from './shard-io.ts';

export interface ScreenplayParseParams {
  corpus?: string;
  limit?: number;
  workers?: number;
}

const paramsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    corpus: {
      type: 'string',
      'x-exp-path': 'any',
      description:
        'A folder of .txt/.html screenplays (IMSDb style) or a single file. Optional when an upstream node outputs `screenplays` (e.g. demo.world).',
    },
    limit: {
      type: 'integer',
      minimum: 1,
      description: 'Parse at most this many files (in name order). All when absent.',
    },
    workers: {
      type: 'integer',
      minimum: 1,
      maximum: 64,
      description:
        'Worker threads for parsing (default: the cores available, at most 4; 1 parses in the stage thread).',
    },
  },
};

export const SCREENPLAYS_FILE = 'screenplays.jsonl';

function findCorpus(ctx: Pick<StageContext<ScreenplayParseParams>, 'params' | 'ports'>): string {
  if (ctx.params.corpus) return ctx.params.corpus;
  const input = requirePort(
    ctx,
    'screenplays',
    'screenplay.parse: no corpus: set `corpus` or depend on a node that outputs `screenplays` (e.g. demo.world)',
    'with: { corpus: path/to/screenplays }',
  );
  return outputPath(input, 'screenplays');
}

function listCorpus(corpus: string): string[] {
  return listCorpusStats(corpus).map((f) => f.file);
}

function listCorpusStats(corpus: string): ReturnType<typeof listScreenplayStats> {
  try {
    return listScreenplayStats(corpus);
  } catch (e) {
    throw new ExpError('EXP_INPUT_MISSING', `screenplay.parse: cannot read corpus ${corpus}: ${(e as Error).message}`, {
      hint: 'point `corpus` at a folder of .txt/.html screenplays or a single screenplay file',
      cause: e,
      detail: { key: 'corpus', file: corpus },
    });
  }
}

function noFiles(corpus: string): ExpError {
  return new ExpError('EXP_DATA_INVALID', `screenplay.parse: no .txt/.html files in ${corpus}`, {
    hint: 'screenplays must end in .txt, .html or .htm',
    detail: { file: corpus },
  });
}

function nothingParsed(total: number, corpus: string, skipped: { file: string; reason: string }[]): ExpError {
  return new ExpError(
    'EXP_DATA_INVALID',
    `screenplay.parse: none of the ${total} files in ${corpus} could be parsed as a screenplay`,
    {
      hint: `first problems: ${skipped
        .slice(0, 3)
        .map((s) => `${s.file}: ${s.reason}`)
        .join('; ')}`,
      detail: { file: corpus },
    },
  );
}

/** Metrics, log line and outputs of a parsed corpus (the same for a run and a gather). */
function finish(
  ctx: StageContext<ScreenplayParseParams>,
  movies: number,
  skipped: { file: string; reason: string }[],
  s: CorpusStats,
): { outputs: Record<string, JsonValue> } {
  for (const [k, v] of Object.entries(s)) ctx.metric(`corpus.${k}`, v);
  ctx.log(
    `parsed ${movies} screenplays (${skipped.length} skipped): ${s.scene_descriptions} stage directions, ${s.speech_segments} speech segments`,
  );
  ctx.artifact(SCREENPLAYS_FILE);
  return { outputs: { screenplays_file: SCREENPLAYS_FILE, movies, skipped, stats: { ...s } } };
}

async function run(ctx: StageContext<ScreenplayParseParams>): Promise<{ outputs: Record<string, JsonValue> }> {
  const corpus = findCorpus(ctx);
  let files = listCorpus(corpus);
  if (files.length === 0) throw noFiles(corpus);
  if (ctx.params.limit !== undefined) files = files.slice(0, ctx.params.limit);

  const skipped: { file: string; reason: string }[] = [];
  const seen = new Set<string>();
  const out = openSync(path.join(ctx.outDir, SCREENPLAYS_FILE), 'w');
  let movies = 0;
  let duplicateStats = false;
  let stats: CorpusStats;
  try {
    stats = await parseCorpusFiles(files, {
      workers: ctx.params.workers,
      signal: ctx.signal,
      onFile: (r, done, total) => {
        const name = path.basename(r.file);
        if (!r.ok || seen.has(r.movie)) {
          const reason = r.ok ? `duplicate movie id "${r.movie}" (another file has the same name)` : r.reason;
          if (r.ok) duplicateStats = true;
          skipped.push({ file: name, reason });
          ctx.log(`⚠ skipped ${r.file}: ${reason}`);
        } else {
          seen.add(r.movie);
          writeSync(out, `${r.line}\n`);
          movies++;
        }
        ctx.progress(done, total, name);
      },
    });
  } finally {
    closeSync(out);
  }
  if (duplicateStats) ctx.log('⚠ corpus statistics include the skipped duplicate files');
  if (movies === 0) throw nothingParsed(files.length, corpus, skipped);
  return finish(ctx, movies, skipped, stats);
}

// Sharded: each shard parses its files and keeps every parsed movie with the status of each file
// and its share of the statistics (with its vocabulary, so unique words add up); the gather drops
// duplicate movie ids across the whole corpus, in file order, exactly as one node does.
const SHARD_FILES = 'files.jsonl';
const SHARD_STATS = 'stats.json';

type ShardFileEntry = { file: string; path: string; movie: string } | { file: string; path: string; reason: string };

function listItems(source: ShardSource<ScreenplayParseParams>): ShardItem[] {
  const corpus = source.params.corpus || (source.input ? outputPath(source.input, 'screenplays') : '');
  if (!corpus) throw new Error('screenplay.parse: no corpus to list (neither `corpus` nor an upstream node)');
  let files = listCorpusStats(corpus);
  if (source.params.limit !== undefined) files = files.slice(0, source.params.limit);
  return files.map((f) => ({ id: path.basename(f.file), digest: fileDigest(f.file, source, f) }));
}

async function runShard(ctx: StageContext<ScreenplayParseParams>): Promise<{ outputs: Record<string, JsonValue> }> {
  const corpus = findCorpus(ctx);
  const single = statSync(corpus).isFile();
  const files = (ctx.shard?.items ?? []).map((it) => (single ? corpus : path.join(corpus, it.id)));
  const counter = new CorpusStatsCounter();
  const out = openSync(path.join(ctx.outDir, SCREENPLAYS_FILE), 'w');
  const list = openSync(path.join(ctx.outDir, SHARD_FILES), 'w');
  try {
    await parseCorpusFiles(files, {
      workers: ctx.params.workers,
      signal: ctx.signal,
      counter,
      onFile: (r, done, total) => {
        const base = { file: path.basename(r.file), path: r.file };
        const entry: ShardFileEntry = r.ok ? { ...base, movie: r.movie } : { ...base, reason: r.reason };
        if (r.ok) writeSync(out, `${r.line}\n`);
        writeSync(list, `${JSON.stringify(entry)}\n`);
        ctx.progress(done, total, base.file);
      },
    });
  } finally {
    closeSync(out);
    closeSync(list);
  }
  writeFileSync(path.join(ctx.outDir, SHARD_STATS), `${JSON.stringify(counter.snapshot())}\n`);
  return { outputs: { files: files.length } };
}

async function gather(ctx: StageContext<ScreenplayParseParams>): Promise<{ outputs: Record<string, JsonValue> }> {
  const corpus = findCorpus(ctx);
  const shards = ctx.shards ?? [];
  const total = shards.reduce((n, s) => n + (typeof s.outputs.files === 'number' ? s.outputs.files : 0), 0);
  if (total === 0) throw noFiles(corpus);
  const counter = new CorpusStatsCounter();
  const skipped: { file: string; reason: string }[] = [];
  const seen = new Set<string>();
  let movies = 0;
  let done = 0;
  let duplicateStats = false;
  const out = openSync(path.join(ctx.outDir, SCREENPLAYS_FILE), 'w');
  try {
    for (const shard of shards) {
      counter.merge(JSON.parse(readFileSync(path.join(shard.dir, SHARD_STATS), 'utf8')));
      const lines = textLines(path.join(shard.dir, SCREENPLAYS_FILE));
      for await (const text of textLines(path.join(shard.dir, SHARD_FILES))) {
        if (!text) continue;
        if (ctx.signal.aborted) throw new Error('interrupted');
        const e = JSON.parse(text) as ShardFileEntry;
        if ('reason' in e || seen.has(e.movie)) {
          const reason = 'reason' in e ? e.reason : `duplicate movie id "${e.movie}" (another file has the same name)`;
          if (!('reason' in e)) {
            duplicateStats = true;
            await lines.next();
          }
          skipped.push({ file: e.file, reason });
          ctx.log(`⚠ skipped ${e.path}: ${reason}`);
        } else {
          const line = await lines.next();
          if (line.done) throw new Error(`${shard.stage}: ${SCREENPLAYS_FILE} has fewer lines than ${SHARD_FILES}`);
          seen.add(e.movie);
          writeSync(out, `${line.value}\n`);
          movies++;
        }
        ctx.progress(++done, total, e.file);
      }
    }
  } finally {
    closeSync(out);
  }
  if (duplicateStats) ctx.log('⚠ corpus statistics include the skipped duplicate files');
  if (movies === 0) throw nothingParsed(total, corpus, skipped);
  return finish(ctx, movies, skipped, counter.result());
}

const sharding: StageSharding<ScreenplayParseParams> = {
  port: 'screenplays',
  autoShardSize: 50,
  listItems,
  run: runShard,
  gather,
};

export const kind: StageKind<ScreenplayParseParams> = {
  name: 'screenplay.parse',
  version: '1',
  description:
    'Parse IMSDb screenplays (text or HTML) into scene headings, stage directions and speech segments (§3.1).',
  paramsSchema,
  inputs: {
    screenplays: { accepts: ['screenplays'], param: 'corpus', description: 'the screenplay folder (or set `corpus`)' },
  },
  produces: ['parsed-screenplays'],
  resources: (p) => ({ cpus: Math.min(p.workers ?? 2, 4), memoryMb: 1536 }),
  shard: sharding,
  // An empty folder, or one with no screenplay-like file: said before any node starts.
  async checkInputs(params, look) {
    const corpus = params.corpus;
    if (!corpus) return [];
    const problem = await look.once(`screenplays:${corpus}`, async () => inspectScreenplayCorpus(corpus));
    return problem ? [{ param: 'corpus', ...problem }] : [];
  },
  run,
};
