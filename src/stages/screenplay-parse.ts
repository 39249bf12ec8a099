// Stage `screenplay.parse` (§3.1): read a folder of IMSDb screenplays (plain text or HTML), tag
// their lines, group them into elements and write one JSON line per movie. Files that cannot be
// read or hold no screenplay are skipped with a warning naming them; corpus statistics like the
// paper's Table 1 are logged as metrics.
import { closeSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ExpError } from '../errors.ts';
import type { JsonSchema, JsonValue, StageContext, StageKind } from '../plan/stage-kind.ts';
import { inspectScreenplayCorpus, listScreenplayFiles } from '../screenplay/files.ts';
import { parseCorpusFiles } from '../text/corpus-parse.ts';
import type { CorpusStats } from '../text/corpus-stats.ts';
import { outputPath, requirePort } from './ports.ts';

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

function findCorpus(ctx: StageContext<ScreenplayParseParams>): string {
  if (ctx.params.corpus) return ctx.params.corpus;
  const input = requirePort(
    ctx,
    'screenplays',
    'screenplay.parse: no corpus: set `corpus` or depend on a node that outputs `screenplays` (e.g. demo.world)',
    'with: { corpus: path/to/screenplays }',
  );
  return outputPath(input, 'screenplays');
}

async function run(ctx: StageContext<ScreenplayParseParams>): Promise<{ outputs: Record<string, JsonValue> }> {
  const corpus = findCorpus(ctx);
  let files: string[];
  try {
    files = listScreenplayFiles(corpus);
  } catch (e) {
    throw new ExpError('EXP_INPUT_MISSING', `screenplay.parse: cannot read corpus ${corpus}: ${(e as Error).message}`, {
      hint: 'point `corpus` at a folder of .txt/.html screenplays or a single screenplay file',
      cause: e,
      detail: { key: 'corpus', file: corpus },
    });
  }
  if (files.length === 0) {
    throw new ExpError('EXP_DATA_INVALID', `screenplay.parse: no .txt/.html files in ${corpus}`, {
      hint: 'screenplays must end in .txt, .html or .htm',
      detail: { file: corpus },
    });
  }
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
  if (movies === 0) {
    throw new ExpError(
      'EXP_DATA_INVALID',
      `screenplay.parse: none of the ${files.length} files in ${corpus} could be parsed as a screenplay`,
      {
        hint: `first problems: ${skipped
          .slice(0, 3)
          .map((s) => `${s.file}: ${s.reason}`)
          .join('; ')}`,
        detail: { file: corpus },
      },
    );
  }
  const s = stats;
  for (const [k, v] of Object.entries(s)) ctx.metric(`corpus.${k}`, v);
  ctx.log(
    `parsed ${movies} screenplays (${skipped.length} skipped): ${s.scene_descriptions} stage directions, ${s.speech_segments} speech segments`,
  );
  ctx.artifact(SCREENPLAYS_FILE);
  return { outputs: { screenplays_file: SCREENPLAYS_FILE, movies, skipped, stats: { ...s } } };
}

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
  // An empty folder, or one with no screenplay-like file: said before any node starts.
  async checkInputs(params, look) {
    const corpus = params.corpus;
    if (!corpus) return [];
    const problem = await look.once(`screenplays:${corpus}`, async () => inspectScreenplayCorpus(corpus));
    return problem ? [{ param: 'corpus', ...problem }] : [];
  },
  run,
};
