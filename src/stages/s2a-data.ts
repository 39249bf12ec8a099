// Reading the pairs.build outputs (pairs.jsonl + classes.json) for the s2a.* stage kinds.
import { createReadStream, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { ExpError } from '../errors.ts';
import type { StageContext, StageInput } from '../plan/stage-kind.ts';
import type { VerbClass } from '../text/keyword.ts';
import { requirePort } from './ports.ts';

export interface PairRecord {
  movie: string;
  speech: string;
  labels: string[];
  split: 'train' | 'val';
}

export function findPairsInput(ctx: StageContext<unknown>, who: string): StageInput {
  return requirePort(
    ctx,
    'pairs',
    `${who}: needs a pairs.build node upstream (pairs.jsonl + classes.json)`,
    'add the pairs stage to `needs:`',
  );
}

function fileOf(input: StageInput, key: string, fallback: string): string {
  const rel = typeof input.outputs[key] === 'string' ? (input.outputs[key] as string) : fallback;
  return path.isAbsolute(rel) ? rel : path.join(input.dir, rel);
}

/** classes.json → verb classes (EXP_DATA_INVALID when unreadable or empty). */
export async function readClasses(file: string): Promise<VerbClass[]> {
  if (!existsSync(file))
    throw new ExpError('EXP_INPUT_MISSING', `${file} not found`, { hint: 'rerun the pairs.build node' });
  let doc: { classes?: unknown };
  try {
    doc = JSON.parse(await readFile(file, 'utf8')) as { classes?: unknown };
  } catch (e) {
    throw new ExpError('EXP_DATA_INVALID', `${file} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (!Array.isArray(doc.classes)) throw new ExpError('EXP_DATA_INVALID', `${file} has no "classes" list`);
  const classes = (doc.classes as Partial<VerbClass>[])
    .filter((c) => typeof c?.verb === 'string')
    .map((c) => ({
      verb: c.verb!,
      count: c.count,
      forms: Array.isArray(c.forms) ? c.forms.filter((f): f is string => typeof f === 'string') : [c.verb!],
    }));
  if (classes.length === 0) {
    throw new ExpError('EXP_DATA_INVALID', `${file} lists no verb classes: there is nothing to classify`, {
      hint: 'lower verbs.mine min_count or drop_top, or use a larger screenplay corpus',
    });
  }
  return classes;
}

/** pairs.jsonl → records; a bad line is skipped with a warning naming it. */
export async function readPairs(file: string, warn: (m: string) => void): Promise<PairRecord[]> {
  if (!existsSync(file))
    throw new ExpError('EXP_INPUT_MISSING', `${file} not found`, { hint: 'rerun the pairs.build node' });
  const out: PairRecord[] = [];
  const rl = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let line = 0;
  let bad = 0;
  for await (const text of rl) {
    line++;
    if (!text.trim()) continue;
    try {
      const r = JSON.parse(text) as Partial<PairRecord>;
      if (typeof r.speech !== 'string' || !Array.isArray(r.labels) || (r.split !== 'train' && r.split !== 'val'))
        throw new Error('needs speech, labels[] and split train|val');
      out.push({
        movie: String(r.movie ?? ''),
        speech: r.speech,
        labels: r.labels.filter((l): l is string => typeof l === 'string'),
        split: r.split,
      });
    } catch (e) {
      if (++bad <= 10) warn(`${file}:${line}: skipped (${(e as Error).message})`);
    }
  }
  if (bad > 10) warn(`${file}: ${bad} bad lines skipped in all`);
  return out;
}

export async function readPairsInput(
  ctx: StageContext<unknown>,
  who: string,
): Promise<{ input: StageInput; pairs: PairRecord[]; classes: VerbClass[] }> {
  const input = findPairsInput(ctx, who);
  const classes = await readClasses(fileOf(input, 'classes_file', 'classes.json'));
  const pairs = await readPairs(fileOf(input, 'pairs_file', 'pairs.jsonl'), (m) => ctx.log(`warning: ${m}`));
  return { input, pairs, classes };
}
