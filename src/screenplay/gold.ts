// Line-tag accuracy against the MICA / MovieParse gold (three annotators, majority vote):
// accuracy over the gold lines that are not O, overall and per tag.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseScreenplay } from './parse.ts';
import type { LineTag } from './types.ts';

export interface GoldAccuracy {
  /** Correct / total over gold lines whose tag is not O. */
  accuracy: number;
  lines: number;
  correct: number;
  perTag: Record<string, { lines: number; correct: number; accuracy: number }>;
  perMovie: Record<string, { lines: number; correct: number; accuracy: number }>;
  /** Gold tag → predicted tag → count, errors only. */
  confusions: Record<string, Record<string, number>>;
}

/** Scores the parser on a folder laid out like screenplay_parse_gold/mica (raw/, gold/*.jsonl). */
export function scoreAgainstGold(goldRoot: string): GoldAccuracy {
  const result: GoldAccuracy = { accuracy: 0, lines: 0, correct: 0, perTag: {}, perMovie: {}, confusions: {} };
  for (const f of readdirSync(path.join(goldRoot, 'gold'))
    .filter((f) => f.endsWith('.jsonl'))
    .sort()) {
    const movie = f.slice(0, -'.jsonl'.length);
    const { tags } = parseScreenplay(readFileSync(path.join(goldRoot, 'raw', `${movie}.txt`), 'utf8'));
    const m = (result.perMovie[movie] = { lines: 0, correct: 0, accuracy: 0 });
    for (const line of readFileSync(path.join(goldRoot, 'gold', f), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const row = JSON.parse(line) as { line_no: number; gold: LineTag | 'M' };
      if (row.gold === 'O') continue;
      const predicted = tags[row.line_no] ?? 'O';
      const t = (result.perTag[row.gold] ??= { lines: 0, correct: 0, accuracy: 0 });
      t.lines++;
      m.lines++;
      result.lines++;
      if (predicted === row.gold) {
        t.correct++;
        m.correct++;
        result.correct++;
      } else {
        const c = (result.confusions[row.gold] ??= {});
        c[predicted] = (c[predicted] ?? 0) + 1;
      }
    }
  }
  for (const r of [...Object.values(result.perTag), ...Object.values(result.perMovie)])
    r.accuracy = r.lines ? r.correct / r.lines : 0;
  result.accuracy = result.lines ? result.correct / result.lines : 0;
  return result;
}
