// Reading screenplay files from disk: a folder of .txt/.html files or a single file.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { decodeScreenplayBytes, type ScreenplayEncoding } from './decode.ts';
import { toPlainLines } from './html.ts';

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
  return listScreenplayStats(corpus).map((f) => f.file);
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
