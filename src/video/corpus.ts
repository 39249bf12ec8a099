// A movie corpus: videos and their subtitles. Either a folder of videos with sidecar subtitles
// (same base name: `Film.srt`, `Film.en.srt`, `Film.vtt`, `Film.sbv`), or a manifest (CSV with a
// header, or JSONL) with `id`, `video`, `subtitles` (paths relative to the manifest). A video
// without a sidecar gets its embedded text subtitle stream extracted with ffmpeg; a movie with no
// subtitles at all is reported and skipped, as is a missing video or subtitle file. Every video is
// checked before it is used (checkVideoFile: empty, truncated, unreadable, not a video, no video
// stream): a bad one is skipped with its path and the reason, and the rest of the corpus goes on.
// So are a folder named like a video and a subtitle file with no video beside it.
import { existsSync } from 'node:fs';
import os from 'node:os';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ExpError, isExpError } from '../errors.ts';
import { checkVideoFile, extractSubtitleStream, probe } from './ffmpeg.ts';

export const VIDEO_EXTENSIONS = [
  '.mp4',
  '.mkv',
  '.avi',
  '.mov',
  '.webm',
  '.m4v',
  '.mpg',
  '.mpeg',
  '.wmv',
  '.flv',
  '.ts',
  '.ogv',
];
export const SUBTITLE_EXTENSIONS = ['.srt', '.vtt', '.sbv'];
const TEXT_SUBTITLE_CODECS = new Set(['subrip', 'srt', 'ass', 'ssa', 'mov_text', 'webvtt', 'text']);

export interface Movie {
  id: string;
  /** Absolute path of the video. */
  video: string;
  /** Absolute path of the subtitle file (a sidecar, the manifest's, or one extracted from the video). */
  subtitles: string;
  subtitleSource: 'sidecar' | 'manifest' | 'embedded';
}

export interface SkippedMovie {
  id: string;
  /** The file that was skipped (the video, or a subtitle file / folder that is not a movie). */
  video?: string;
  reason: string;
}

export interface MovieCorpus {
  movies: Movie[];
  skipped: SkippedMovie[];
}

export interface CorpusOptions {
  /** Where subtitles extracted from videos are written (required to use embedded streams). */
  extractDir?: string;
  /** Check every video before use (default true; see checkVideoFile). */
  checkVideos?: boolean;
  /** ffprobe/ffmpeg checks at once (default: the number of cores). */
  concurrency?: number;
  signal?: AbortSignal;
}

/** A movie as the corpus lists it, before its files are checked. */
export interface MovieEntry {
  id: string;
  video: string;
  subtitles: string | null;
  /** Manifest line (manifests only). */
  line?: number;
  /** Another entry before this one has the same id: this one is skipped. */
  duplicate?: boolean;
}

/** The corpus's movies in order (no file is opened), and what the listing itself passed over. */
export interface MovieListing {
  entries: MovieEntry[];
  skipped: SkippedMovie[];
  /** A folder of videos with sidecars (else a manifest). */
  folder: boolean;
}

/** Lists a corpus (a folder or a manifest): cheap, so that shards can be planned from it. */
export async function listMovieCorpus(source: string): Promise<MovieListing> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(source);
  } catch (e) {
    throw new ExpError('EXP_INPUT_MISSING', `movie corpus ${source} does not exist`, {
      hint: 'give a folder of videos with sidecar .srt files, or a manifest (.csv / .jsonl with id, video, subtitles)',
      cause: e,
      detail: { file: source },
    });
  }
  const skipped: SkippedMovie[] = [];
  const entries = st.isDirectory()
    ? await scanFolder(path.resolve(source), skipped)
    : await readManifest(path.resolve(source), skipped);
  // The first entry of an id is the movie; later ones are duplicates (a manifest listing one twice).
  const ids = new Set<string>();
  for (const e of entries) {
    if (ids.has(e.id)) e.duplicate = true;
    ids.add(e.id);
  }
  return { entries, skipped, folder: st.isDirectory() };
}

export async function loadMovieCorpus(source: string, opts: CorpusOptions = {}): Promise<MovieCorpus> {
  const listing = await listMovieCorpus(source);
  const resolved = await resolveMovieEntries(listing.entries, listing.folder, opts);
  return { movies: resolved.movies, skipped: [...listing.skipped, ...resolved.skipped] };
}

/**
 * Checks listed movies (video readable, subtitles there or extracted from the video) in order:
 * the usable movies and the others with the reason.
 */
export async function resolveMovieEntries(
  entries: readonly MovieEntry[],
  folder: boolean,
  opts: CorpusOptions = {},
): Promise<MovieCorpus> {
  const skipped: SkippedMovie[] = [];
  const checks = opts.checkVideos === false ? new Map<string, string | null>() : await checkVideos(entries, opts);
  const movies: Movie[] = [];
  for (const e of entries) {
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
    if (e.duplicate) {
      skipped.push({
        id: e.id,
        video: e.video,
        reason: `duplicate movie id "${e.id}"${e.line ? ` (manifest line ${e.line})` : ''}`,
      });
      continue;
    }
    if (!existsSync(e.video)) {
      skipped.push({ id: e.id, video: e.video, reason: `video ${e.video} does not exist` });
      continue;
    }
    const bad = checks.get(e.video);
    if (bad) {
      skipped.push({ id: e.id, video: e.video, reason: bad });
      continue;
    }
    if (e.subtitles !== null) {
      if (!existsSync(e.subtitles)) {
        skipped.push({ id: e.id, video: e.video, reason: `subtitle file ${e.subtitles} does not exist` });
        continue;
      }
      movies.push({
        id: e.id,
        video: e.video,
        subtitles: e.subtitles,
        subtitleSource: folder ? 'sidecar' : 'manifest',
      });
      continue;
    }
    const embedded = await embeddedSubtitles(e, opts);
    if (typeof embedded === 'string') {
      movies.push({ id: e.id, video: e.video, subtitles: embedded, subtitleSource: 'embedded' });
    } else {
      skipped.push({ id: e.id, video: e.video, reason: embedded.reason });
    }
  }
  return { movies, skipped };
}

/** Video path → why it cannot be used (null: fine), checked `concurrency` at a time. */
async function checkVideos(entries: readonly MovieEntry[], opts: CorpusOptions): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  const todo = [...new Set(entries.map((e) => e.video))].filter((v) => existsSync(v));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < todo.length) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
      const video = todo[next++]!;
      try {
        await checkVideoFile(video, { signal: opts.signal });
        out.set(video, null);
      } catch (err) {
        if (!isExpError(err) || opts.signal?.aborted) throw err;
        out.set(video, err.message);
      }
    }
  };
  const n = Math.max(1, Math.min(todo.length, Math.floor(opts.concurrency ?? os.availableParallelism())));
  await Promise.all(Array.from({ length: n }, worker));
  return out;
}

async function embeddedSubtitles(e: MovieEntry, opts: CorpusOptions): Promise<string | { reason: string }> {
  let info: Awaited<ReturnType<typeof probe>>;
  try {
    info = await probe(e.video, { signal: opts.signal });
  } catch (err) {
    if (isExpError(err)) return { reason: err.message };
    throw err;
  }
  const text = info.subtitleStreams.filter((s) => TEXT_SUBTITLE_CODECS.has(s.codec));
  if (text.length === 0) {
    const images = info.subtitleStreams.length
      ? ` (its ${info.subtitleStreams.length} subtitle stream(s) are images, not text)`
      : '';
    return {
      reason: `${e.video} has no subtitles: no sidecar .srt/.vtt/.sbv and no embedded text subtitle stream${images}`,
    };
  }
  if (!opts.extractDir)
    return { reason: `${e.video} has only embedded subtitles and no folder was given to extract them to` };
  const stream = text.find((s) => /^(en|eng)$/i.test(s.language ?? '')) ?? text[0]!;
  const out = path.join(opts.extractDir, `${safeName(e.id)}.srt`);
  try {
    await extractSubtitleStream(e.video, out, { streamIndex: stream.index, signal: opts.signal });
  } catch (err) {
    if (isExpError(err)) return { reason: err.message };
    throw err;
  }
  return out;
}

/** Movie id → a file name (no separators, no leading dot or dash). */
export function safeName(id: string): string {
  return id.replace(/[^\p{L}\p{N}._-]+/gu, '_').replace(/^[.-]+/, '_') || '_';
}

async function walk(dir: string, out: string[], folders: string[] = []): Promise<void> {
  const items = await readdir(dir, { withFileTypes: true });
  items.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const it of items) {
    if (it.name.startsWith('.')) continue;
    const p = path.join(dir, it.name);
    if (it.isDirectory()) {
      folders.push(p);
      await walk(p, out, folders);
    } else if (it.isFile() || it.isSymbolicLink()) out.push(p);
  }
}

/** Sidecar choice: `Film.srt` first, then an English one (`Film.en.srt`), then any `Film.<tag>.srt`. */
export function pickSidecar(videoPath: string, siblings: readonly string[]): string | null {
  const base = path.basename(videoPath, path.extname(videoPath));
  const dir = path.dirname(videoPath);
  const cands = siblings.filter(
    (f) => path.dirname(f) === dir && SUBTITLE_EXTENSIONS.includes(path.extname(f).toLowerCase()),
  );
  const stemOf = (f: string): string => path.basename(f, path.extname(f));
  const exact = cands.filter((f) => stemOf(f) === base);
  if (exact.length) return exact.sort(bySubtitleExt)[0]!;
  const tagged = cands.filter((f) => stemOf(f).startsWith(`${base}.`));
  const english = tagged.filter((f) => /^(en|eng|english)([._-].*)?$/i.test(stemOf(f).slice(base.length + 1)));
  if (english.length) return english.sort(bySubtitleExt)[0]!;
  return tagged.sort(bySubtitleExt)[0] ?? null;
}

function bySubtitleExt(a: string, b: string): number {
  return (
    SUBTITLE_EXTENSIONS.indexOf(path.extname(a).toLowerCase()) -
      SUBTITLE_EXTENSIONS.indexOf(path.extname(b).toLowerCase()) || (a < b ? -1 : 1)
  );
}

async function scanFolder(dir: string, skipped: SkippedMovie[]): Promise<MovieEntry[]> {
  const files: string[] = [];
  const folders: string[] = [];
  await walk(dir, files, folders);
  const isVideoName = (f: string): boolean => VIDEO_EXTENSIONS.includes(path.extname(f).toLowerCase());
  const idOf = (f: string): string => {
    const rel = path.relative(dir, f);
    return rel
      .slice(0, rel.length - path.extname(rel).length)
      .split(path.sep)
      .join('/');
  };
  // A folder named like a video (`Film.mp4/`): its files are still scanned, but it is no movie.
  for (const f of folders.filter(isVideoName))
    skipped.push({ id: idOf(f), video: f, reason: `${f} is a directory, not a video file` });
  const videos = files.filter(isVideoName);
  // A subtitle file with no video of its name beside it: its movie is missing.
  const stems = new Set(videos.map((v) => path.join(path.dirname(v), path.basename(v, path.extname(v)))));
  for (const f of files.filter((x) => SUBTITLE_EXTENSIONS.includes(path.extname(x).toLowerCase()))) {
    const stem = path.join(path.dirname(f), path.basename(f, path.extname(f)));
    const parts = path.basename(stem).split('.');
    const owners = parts.map((_, i) => path.join(path.dirname(f), parts.slice(0, i + 1).join('.')));
    if (!owners.some((o) => stems.has(o)))
      skipped.push({
        id: idOf(f),
        video: f,
        reason: `${f} has no video beside it (no ${path.basename(owners[0]!)}.mp4, .mkv, ...): its movie is missing`,
      });
  }
  const used = new Map<string, number>();
  return videos.map((v) => {
    let id = idOf(v);
    const n = used.get(id) ?? 0;
    used.set(id, n + 1);
    if (n > 0) id = `${id}~${path.extname(v).slice(1)}`; // Film.mp4 and Film.mkv side by side
    return { id, video: v, subtitles: pickSidecar(v, files) };
  });
}

async function readManifest(file: string, skipped: SkippedMovie[]): Promise<MovieEntry[]> {
  const text = (await readFile(file, 'utf8')).replace(/^\ufeff/, '');
  const base = path.dirname(file);
  const rows: { rec: Record<string, string>; line: number }[] = [];
  const ext = path.extname(file).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson' || (ext !== '.csv' && ext !== '.tsv' && text.trimStart().startsWith('{'))) {
    text.split(/\r?\n/).forEach((l, i) => {
      if (!l.trim()) return;
      try {
        const o = JSON.parse(l) as Record<string, unknown>;
        const rec: Record<string, string> = {};
        for (const [k, v] of Object.entries(o)) if (typeof v === 'string' || typeof v === 'number') rec[k] = String(v);
        rows.push({ rec, line: i + 1 });
      } catch {
        skipped.push({
          id: `${path.basename(file)}:${i + 1}`,
          reason: `${file}:${i + 1}: not a JSON object; line skipped`,
        });
      }
    });
  } else {
    const table = parseDelimited(text, ext === '.tsv' ? '\t' : ',');
    const header = (table[0]?.cells ?? []).map((h) => h.trim().toLowerCase());
    if (!header.includes('video')) {
      throw new ExpError(
        'EXP_DATA_INVALID',
        `${file}: the first line must be a header with a "video" column (and "id", "subtitles")`,
        {
          hint: 'e.g. `id,video,subtitles` then `film1,videos/film1.mp4,subs/film1.srt`',
          detail: { file, line: 1 },
        },
      );
    }
    for (const r of table.slice(1)) {
      const rec: Record<string, string> = {};
      header.forEach((h, j) => (rec[h] = (r.cells[j] ?? '').trim()));
      rows.push({ rec, line: r.line });
    }
  }
  const out: MovieEntry[] = [];
  for (const { rec, line } of rows) {
    const video = rec.video ?? rec.path ?? '';
    if (!video) {
      skipped.push({
        id: rec.id || `${path.basename(file)}:${line}`,
        reason: `${file}:${line}: no "video" value; row skipped`,
      });
      continue;
    }
    const subs = rec.subtitles ?? rec.subtitle ?? rec.captions ?? '';
    const videoAbs = path.resolve(base, video);
    const id = rec.id || path.basename(video, path.extname(video));
    out.push({ id, video: videoAbs, subtitles: subs ? path.resolve(base, subs) : null, line });
  }
  // A row without subtitles may still have a sidecar next to its video.
  for (const e of out) {
    if (e.subtitles !== null) continue;
    try {
      const siblings = (await readdir(path.dirname(e.video))).map((f) => path.join(path.dirname(e.video), f));
      e.subtitles = pickSidecar(e.video, siblings);
    } catch {
      /* the missing video is reported by the caller */
    }
  }
  return out;
}

/** CSV/TSV with quoted fields ("a, b" and "" escapes); returns cells and the 1-based line of each row. */
function parseDelimited(text: string, sep: string): { cells: string[]; line: number }[] {
  const rows: { cells: string[]; line: number }[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else {
        if (ch === '\n') line++;
        cell += ch;
      }
    } else if (ch === '"' && cell === '') quoted = true;
    else if (ch === sep) {
      cells.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      cells.push(cell);
      if (cells.some((c) => c.trim() !== '')) rows.push({ cells, line: rowLine });
      cells = [];
      cell = '';
      line++;
      rowLine = line;
    } else cell += ch;
  }
  cells.push(cell);
  if (cells.some((c) => c.trim() !== '')) rows.push({ cells, line: rowLine });
  return rows;
}
