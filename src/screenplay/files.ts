// Reading screenplay files from disk: a folder of .txt/.html files or a single file.
import { closeSync, type Dirent, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { decodeScreenplayBytes, type ScreenplayEncoding } from './decode.ts';
import { toPlainLines } from './html.ts';
import { missingScreenplayStructure, parseScreenplay } from './parse.ts';

export const SCREENPLAY_EXTENSIONS = ['.txt', '.html', '.htm'];

export type ReadScreenplayResult =
  | { ok: true; movie: string; file: string; text: string; encoding: ScreenplayEncoding }
  | { ok: false; file: string; reason: string };

/** "'Aliens.txt" → "aliens"; the movie id is the file's base name, lower-case, without extension. */
export function movieIdFromFile(file: string): string {
  const base = path.basename(file).replace(/\.(txt|html?|)$/i, '');
  return base
    .replace(/^['’]+/, '')
    .trim()
    .toLowerCase()
    .replace(/\s+/g, '-');
}

/** Screenplay files of a folder (sorted by name) or the file itself. Throws ENOENT-style errors. */
export function listScreenplayFiles(corpus: string): string[] {
  const st = statSync(corpus);
  if (st.isFile()) return [corpus];
  return screenplaysAmong(corpus, readdirSync(corpus, { withFileTypes: true }));
}

/** The screenplay files among a folder's entries, sorted by name (a listing made once, used twice). */
function screenplaysAmong(corpus: string, entries: Dirent[]): string[] {
  // The entry types come with the listing: only links need a stat of their own.
  return entries
    .filter((e) => SCREENPLAY_EXTENSIONS.includes(path.extname(e.name).toLowerCase()))
    .filter((e) => e.isFile() || (e.isSymbolicLink() && statSync(path.join(corpus, e.name)).isFile()))
    .map((e) => e.name)
    .sort()
    .map((f) => path.join(corpus, f));
}

/**
 * The same files with their size and modification time: one stat per file (a symbolic link is
 * followed), so a listing of 10^5 screenplays costs 10^5 stats, not two per file.
 */
export function listScreenplayStats(corpus: string): { file: string; size: number; mtimeMs: number }[] {
  const st = statSync(corpus);
  if (st.isFile()) return [{ file: corpus, size: st.size, mtimeMs: st.mtimeMs }];
  const out: { file: string; size: number; mtimeMs: number }[] = [];
  const names = readdirSync(corpus, { withFileTypes: true })
    .filter(
      (d) => (d.isFile() || d.isSymbolicLink()) && SCREENPLAY_EXTENSIONS.includes(path.extname(d.name).toLowerCase()),
    )
    .map((d) => d.name)
    .sort();
  for (const name of names) {
    const file = path.join(corpus, name);
    let s: ReturnType<typeof statSync>;
    try {
      s = statSync(file);
    } catch {
      continue; // a dangling link: not a file
    }
    if (s.isFile()) out.push({ file, size: s.size, mtimeMs: s.mtimeMs });
  }
  return out;
}

/** Reads and decodes one file; problems come back as a reason (the corpus skips the file). */
export function readScreenplayFile(file: string): ReadScreenplayResult {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    return { ok: false, file, reason: `unreadable: ${(e as Error).message}` };
  }
  const decoded = decodeScreenplayBytes(buf);
  if (!decoded.ok) return { ok: false, file, reason: decoded.reason };
  const plain = toPlainLines(decoded.text);
  if (plain.htmlWithoutPre && !plain.lines.some((l) => /\S/.test(l))) {
    return { ok: false, file, reason: 'HTML page without a <pre> block or screenplay text' };
  }
  return { ok: true, movie: movieIdFromFile(file), file, text: decoded.text, encoding: decoded.encoding };
}

/** What is wrong with a corpus, for the user: what was found against what was expected. */
export interface CorpusProblem {
  message: string;
  hint: string;
}

/** Bytes read from each sampled file: the first pages show speech and stage directions. */
const SAMPLE_BYTES = 128 * 1024;
/** Files sampled from a folder (first, middle, last, ...). */
const SAMPLE_FILES = 3;

const EXPECTED =
  'a folder of screenplays (.txt or .html, IMSDb style: scene headings, stage directions, character names over dialogue) or one such file';

/**
 * A quick look at a screenplay corpus before anything runs: the folder lists screenplay files,
 * and a sample of them (their first pages only) holds screenplay structure. Undefined when it
 * looks usable; the full parse still skips single bad files, as it always did.
 */
export function inspectScreenplayCorpus(corpus: string): CorpusProblem | undefined {
  const st = statSync(corpus);
  if (st.isFile()) {
    const why = sampleProblem(corpus);
    return why ? { message: `${corpus} is not a screenplay: ${why}`, hint: `expected ${EXPECTED}` } : undefined;
  }
  const listing = readdirSync(corpus, { withFileTypes: true });
  const entries = listing.filter((e) => !e.name.startsWith('.'));
  const files = screenplaysAmong(corpus, listing);
  if (files.length === 0) {
    const folders = entries.filter((e) => e.isDirectory()).length;
    const others = entries.filter((e) => !e.isDirectory()).map((e) => e.name);
    const found =
      entries.length === 0
        ? 'the folder is empty'
        : `found ${others.length} other file(s)${others.length ? ` (e.g. ${others.slice(0, 3).join(', ')})` : ''}${folders ? ` and ${folders} sub-folder(s), which are not read` : ''}`;
    return {
      message: `no screenplay file (${SCREENPLAY_EXTENSIONS.join(', ')}) in ${corpus}: 0 screenplay files, ${found}`,
      hint: `expected ${EXPECTED}`,
    };
  }
  const picks = [
    ...new Set(
      Array.from(
        { length: Math.min(SAMPLE_FILES, files.length) },
        (_, i) => files[Math.round((i * (files.length - 1)) / Math.max(1, Math.min(SAMPLE_FILES, files.length) - 1))]!,
      ),
    ),
  ];
  const reasons: string[] = [];
  for (const file of picks) {
    const why = sampleProblem(file);
    if (!why) return undefined;
    reasons.push(`${path.basename(file)}: ${why}`);
  }
  return {
    message: `no screenplay-like file in ${corpus}: ${files.length} ${SCREENPLAY_EXTENSIONS.join('/')} file(s), and none of the ${picks.length} sampled looks like a screenplay (${reasons.join('; ')})`,
    hint: `expected ${EXPECTED}`,
  };
}

/** Why the first pages of a file are no screenplay (undefined when they are one). */
function sampleProblem(file: string): string | undefined {
  let bytes: Buffer;
  try {
    const fd = openSync(file, 'r');
    try {
      bytes = Buffer.alloc(Math.min(SAMPLE_BYTES, statSync(file).size));
      bytes = bytes.subarray(0, readSync(fd, bytes, 0, bytes.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    return `unreadable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
  if (bytes.length === 0) return 'empty';
  // Cut at the last line end, so that no character is cut in two (UTF-16 keeps whole code units).
  const cut = bytes.length === SAMPLE_BYTES ? bytes.lastIndexOf(0x0a) : -1;
  if (cut > 0) bytes = bytes.subarray(0, cut + 1 + (bytes[cut + 1] === 0 ? 1 : 0));
  const decoded = decodeScreenplayBytes(bytes);
  if (!decoded.ok) return decoded.reason;
  return missingScreenplayStructure(parseScreenplay(decoded.text).elements);
}
