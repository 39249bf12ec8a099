// Reading and writing `screenplays.jsonl` (the screenplay.parse output): one movie per line.
import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { ExpError } from '../errors.ts';
import type { ScreenplayRecord } from '../screenplay/types.ts';

/** Streams the records of a `screenplays.jsonl` file; `who` names the reader in errors. */
export async function* readScreenplayRecords(file: string, who: string): AsyncGenerator<ScreenplayRecord> {
  if (!existsSync(file)) {
    throw new ExpError('EXP_INPUT_MISSING', `${who}: ${file} does not exist`, {
      hint: 're-run the screenplay.parse stage',
      detail: { file },
    });
  }
  const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  for await (const line of rl) {
    n++;
    if (!line.trim()) continue;
    let rec: ScreenplayRecord;
    try {
      rec = JSON.parse(line) as ScreenplayRecord;
    } catch (e) {
      throw new ExpError('EXP_DATA_INVALID', `${who}: ${file}:${n} is not JSON: ${(e as Error).message}`, {
        detail: { file, line: n },
      });
    }
    if (typeof rec.movie !== 'string' || !Array.isArray(rec.elements)) {
      throw new ExpError('EXP_DATA_INVALID', `${who}: ${file}:${n} lacks "movie" or "elements"`, {
        detail: { file, line: n },
      });
    }
    yield rec;
  }
}
