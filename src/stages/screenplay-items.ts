// The items of the stages that read screenplay.parse's output (verbs.mine, pairs.build): one item
// per movie record of `screenplays.jsonl`, found by its byte range, so a shard reads only its own
// records. Listing scans the file once (ids and a hash of each line), never parsing a record whole.
import { ExpError } from '../errors.ts';
import type { ShardItem, ShardSource, StageInput } from '../plan/stage-kind.ts';
import type { ScreenplayRecord } from '../screenplay/types.ts';
import { outputPath } from './ports.ts';
import { bytesDigest, readRanges, scanLines } from './shard-io.ts';

// screenplay.parse writes `{"movie":"<id>","file":...`: the id is read from the head of the line.
const MOVIE_HEAD = /^\{"movie":("(?:[^"\\]|\\.)*")/;

function movieOf(line: Buffer, file: string, offset: number): string {
  const head = MOVIE_HEAD.exec(line.subarray(0, 4096).toString('utf8'));
  try {
    const id = head
      ? (JSON.parse(head[1]!) as unknown)
      : (JSON.parse(line.toString('utf8')) as { movie?: unknown }).movie;
    if (typeof id === 'string') return id;
  } catch {
    // reported below
  }
  throw new ExpError('EXP_DATA_INVALID', `${file} (byte ${offset}): a line that is not a screenplay record`, {
    hint: 're-run the screenplay.parse stage',
    detail: { file },
  });
}

/** The parsed-screenplays file of the upstream parse node. */
export function screenplaysFileOf(input: StageInput): string {
  return outputPath(input, 'screenplays_file', 'screenplays.jsonl');
}

/** One item per movie record: id = movie id, digest = hash of its line, data = [offset, length]. */
export async function screenplayRecordItems(source: ShardSource<unknown>, who: string): Promise<ShardItem[]> {
  if (!source.input) throw new Error(`${who}: its items come from a screenplay.parse node, and none was given`);
  const file = screenplaysFileOf(source.input);
  const items: ShardItem[] = [];
  await scanLines(file, (line, offset, length) => {
    items.push({ id: movieOf(line, file, offset), digest: bytesDigest(line), data: [offset, length] });
  });
  return items;
}

/** The records of a shard's items, in item order. */
export async function* recordsOfItems(
  file: string,
  items: readonly ShardItem[],
  who: string,
): AsyncGenerator<ScreenplayRecord> {
  const ranges = items.map((it) => {
    const at = it.data;
    if (!Array.isArray(at) || typeof at[0] !== 'number' || typeof at[1] !== 'number')
      throw new Error(`${who}: item ${it.id} has no byte range`);
    return [at[0], at[1]] as const;
  });
  let i = 0;
  for await (const bytes of readRanges(file, ranges)) {
    const rec = JSON.parse(bytes.toString('utf8')) as ScreenplayRecord;
    if (typeof rec.movie !== 'string' || !Array.isArray(rec.elements) || rec.movie !== items[i]!.id) {
      throw new ExpError(
        'EXP_DATA_INVALID',
        `${who}: ${file} changed since its shards were planned (${items[i]!.id})`,
        {
          hint: 'run again: the shards are planned anew from the current file',
          detail: { file },
        },
      );
    }
    i++;
    yield rec;
  }
}
