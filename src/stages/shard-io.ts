// Helpers the sharded kinds share: item digests without reading the items, line scans with byte
// offsets (so a shard reads only its own records of an upstream JSON-lines file), and streaming
// reads/copies for gathers (one shard's files at a time: memory never grows with the corpus).
import { createHash } from 'node:crypto';
import { createReadStream, type Stats, statSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { ShardSource } from '../plan/stage-kind.ts';

/** A file's digest from a stat: size and modification time (as the engine's data fingerprints). */
export function statDigest(st: Pick<Stats, 'size' | 'mtimeMs'>): string {
  return `${st.size}-${Math.floor(st.mtimeMs)}`;
}

/**
 * The digest of a file an item stands for: the sha256 the upstream node's manifest holds when the
 * file is one of its outputs (content, not mtime: a rebuilt world with the same screenplay keeps
 * its shard cached), else size and mtime.
 */
export function fileDigest(abs: string, source: ShardSource<unknown>, st?: Pick<Stats, 'size' | 'mtimeMs'>): string {
  const input = source.input;
  if (input) {
    const rel = path.relative(input.dir, abs);
    if (rel && !rel.startsWith('..') && !path.isAbsolute(rel)) {
      const known = input.files[rel.split(path.sep).join('/')];
      if (known) return `sha256:${known.sha256.slice(0, 24)}`;
    }
  }
  return statDigest(st ?? statSync(abs));
}

/** sha256 (24 hex) of a line's bytes: the digest of an item that is a record of a JSON-lines file. */
export function bytesDigest(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 24);
}

/**
 * Calls `onLine` for every non-empty line of a file with its bytes (without the newline), its byte
 * offset and its length, reading 1 MiB at a time.
 */
export async function scanLines(
  file: string,
  onLine: (line: Buffer, offset: number, length: number) => void,
): Promise<void> {
  const fh = await open(file, 'r');
  try {
    const chunk = Buffer.allocUnsafe(1 << 20);
    let carry: Buffer[] = [];
    let carryStart = 0;
    let pos = 0;
    for (;;) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, pos);
      if (bytesRead === 0) break;
      let from = 0;
      for (let i = chunk.indexOf(10, 0); i !== -1 && i < bytesRead; i = chunk.indexOf(10, i + 1)) {
        const piece = chunk.subarray(from, i);
        const line = carry.length ? Buffer.concat([...carry, piece]) : Buffer.from(piece);
        const start = carry.length ? carryStart : pos + from;
        if (line.length) onLine(line, start, line.length);
        carry = [];
        from = i + 1;
      }
      if (from < bytesRead) {
        if (!carry.length) carryStart = pos + from;
        carry.push(Buffer.from(chunk.subarray(from, bytesRead)));
      }
      pos += bytesRead;
    }
    if (carry.length) {
      const line = Buffer.concat(carry);
      if (line.length) onLine(line, carryStart, line.length);
    }
  } finally {
    await fh.close();
  }
}

/** The bytes at `[offset, length]` ranges of a file, in the order given. */
export async function* readRanges(
  file: string,
  ranges: readonly (readonly [number, number])[],
): AsyncGenerator<Buffer> {
  const fh: FileHandle = await open(file, 'r');
  try {
    for (const [offset, length] of ranges) {
      const buf = Buffer.allocUnsafe(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      if (bytesRead !== length) throw new Error(`${file}: expected ${length} bytes at ${offset}, read ${bytesRead}`);
      yield buf;
    }
  } finally {
    await fh.close();
  }
}

/** The lines of a text file, streamed. */
export async function* textLines(file: string): AsyncGenerator<string> {
  const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of rl) yield line;
}

/** Appends a whole file to an open file handle, streaming. */
export async function appendFileTo(out: FileHandle, file: string): Promise<void> {
  for await (const chunk of createReadStream(file)) await out.write(chunk as Buffer);
}
