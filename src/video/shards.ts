// Frame shards: clips of T frames of S×S RGB (uint8, frame-major) concatenated into
// `shard-NNNNN.bin` files of bounded size, plus `index.json` saying where each clip lies. The
// video trainer streams them without decoding video. Every file is written under a temporary
// name and renamed when complete, so a reader never sees half a shard or a stale index.
import { open, readFile, rename, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ExpError } from '../errors.ts';

export interface ClipRequest {
  id: string;
  video: string;
  start: number;
  end: number;
  labels: string[];
  meta?: Record<string, unknown>;
}

/** frames T, size S (S×S RGB). */
export interface ShardIndex {
  frames: number;
  size: number;
  clips: ShardClip[];
}

export interface ShardClip {
  id: string;
  labels: string[];
  shard: string;
  offset: number;
  bytes: number;
  meta?: Record<string, unknown>;
}

export const SHARD_INDEX = 'index.json';

/** Appends clips to numbered shard files, rolling over at `maxShardBytes`. */
export class ShardWriter {
  private handle: FileHandle | null = null;
  private shardNo = -1;
  private shardName = '';
  private offset = 0;
  readonly clips: ShardClip[] = [];

  constructor(
    readonly dir: string,
    readonly frames: number,
    readonly size: number,
    readonly maxShardBytes = 256 * 1024 * 1024,
  ) {}

  get clipBytes(): number {
    return this.frames * this.size * this.size * 3;
  }

  async add(id: string, labels: string[], data: Uint8Array, meta?: Record<string, unknown>): Promise<ShardClip> {
    if (data.length !== this.clipBytes) throw new Error(`clip ${id}: ${data.length} bytes, expected ${this.clipBytes}`);
    if (!this.handle || this.offset + data.length > this.maxShardBytes) await this.roll();
    await this.handle!.write(data, 0, data.length, this.offset);
    const clip: ShardClip = {
      id,
      labels: [...labels],
      shard: this.shardName,
      offset: this.offset,
      bytes: data.length,
      ...(meta ? { meta } : {}),
    };
    this.offset += data.length;
    this.clips.push(clip);
    return clip;
  }

  private async roll(): Promise<void> {
    await this.closeShard();
    this.shardNo++;
    this.shardName = `shard-${String(this.shardNo).padStart(5, '0')}.bin`;
    this.offset = 0;
    this.handle = await open(path.join(this.dir, `${this.shardName}.tmp`), 'w');
  }

  private async closeShard(): Promise<void> {
    if (!this.handle) return;
    await this.handle.close();
    this.handle = null;
    await rename(path.join(this.dir, `${this.shardName}.tmp`), path.join(this.dir, this.shardName));
  }

  /** Closes the last shard and writes the index; returns it. */
  async finish(): Promise<ShardIndex> {
    await this.closeShard();
    const index: ShardIndex = { frames: this.frames, size: this.size, clips: this.clips };
    const tmp = path.join(this.dir, `${SHARD_INDEX}.tmp`);
    await writeFile(tmp, `${JSON.stringify(index)}\n`);
    await rename(tmp, path.join(this.dir, SHARD_INDEX));
    return index;
  }

  /** Drops the open shard's handle (after an abort); temporary files stay for the caller to remove. */
  async abort(): Promise<void> {
    if (this.handle) await this.handle.close().catch(() => undefined);
    this.handle = null;
  }
}

export async function readShardIndex(dir: string): Promise<ShardIndex> {
  const file = path.join(dir, SHARD_INDEX);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ExpError('EXP_INPUT_MISSING', `no shard index at ${file}`, {
      hint: 'run the clips.extract stage first; its shards/ folder holds index.json',
      cause: e,
      detail: { file },
    });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ExpError('EXP_DATA_INVALID', `${file} is not valid JSON`, { cause: e, detail: { file } });
  }
  const d = doc as Partial<ShardIndex>;
  if (typeof d?.frames !== 'number' || typeof d.size !== 'number' || !Array.isArray(d.clips)) {
    throw new ExpError('EXP_DATA_INVALID', `${file} lacks frames, size or clips`, {
      hint: 're-run clips.extract',
      detail: { file },
    });
  }
  return d as ShardIndex;
}

/** T*S*S*3 bytes of one clip; EXP_DATA_INVALID when its shard is missing or truncated. */
export async function readClip(dir: string, clip: ShardClip): Promise<Uint8Array> {
  const file = path.join(dir, clip.shard);
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    throw new ExpError('EXP_DATA_INVALID', `clip ${clip.id}: shard ${file} is missing`, {
      cause: e,
      detail: { file, clip: clip.id },
    });
  }
  try {
    const out = new Uint8Array(clip.bytes);
    const { bytesRead } = await fh.read(out, 0, clip.bytes, clip.offset);
    if (bytesRead !== clip.bytes) {
      throw new ExpError(
        'EXP_DATA_INVALID',
        `clip ${clip.id}: shard ${file} is truncated (${bytesRead} of ${clip.bytes} bytes at offset ${clip.offset})`,
        {
          hint: 're-run clips.extract to rewrite the shards',
          detail: { file, clip: clip.id },
        },
      );
    }
    return out;
  } finally {
    await fh.close();
  }
}

/**
 * Every readable clip of a shard folder in index order; a clip whose shard is missing or
 * truncated is skipped and reported through `onWarning`, the rest go on.
 */
export async function* iterateClips(
  dir: string,
  opts: { index?: ShardIndex; onWarning?: (message: string) => void } = {},
): AsyncGenerator<{ clip: ShardClip; data: Uint8Array }> {
  const index = opts.index ?? (await readShardIndex(dir));
  for (const clip of index.clips) {
    try {
      yield { clip, data: await readClip(dir, clip) };
    } catch (e) {
      if (e instanceof ExpError && e.code === 'EXP_DATA_INVALID') opts.onWarning?.(e.message);
      else throw e;
    }
  }
}
