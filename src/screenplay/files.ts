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
  const st = statSync(corpus);
  if (st.isFile()) return [corpus];
  return readdirSync(corpus)
    .filter((f) => SCREENPLAY_EXTENSIONS.includes(path.extname(f).toLowerCase()))
    .sort()
    .map((f) => path.join(corpus, f))
    .filter((f) => statSync(f).isFile());
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
