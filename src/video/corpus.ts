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
import { open, readdir, readFile, stat } from 'node:fs/promises';
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

/** Entries an inspection lists before it stops (and then says nothing rather than guess). */
const MAX_LISTED = 1_000_000;

async function walk(
  dir: string,
  out: string[],
  folders: string[] = [],
  budget = { left: Number.POSITIVE_INFINITY },
): Promise<void> {
  const items = await readdir(dir, { withFileTypes: true });
  budget.left -= items.length;
  if (budget.left < 0) return;
  items.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const it of items) {
    if (it.name.startsWith('.')) continue;
    // `dir` is absolute and normalised: a plain join is enough (path.join costs ~1 µs a file).
    const p = `${dir}${path.sep}${it.name}`;
    if (it.isDirectory()) {
      folders.push(p);
      await walk(p, out, folders, budget);
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
  const listed = await listFolder(dir);
  skipped.push(...listed.skipped);
  return listed.entries;
}

/** A folder corpus listed (no file opened): its movies, what is no movie, and the counts. */
interface FolderListing {
  entries: MovieEntry[];
  skipped: SkippedMovie[];
  files: number;
  subtitleFiles: number;
}

/** `a.b.en.srt` → `a.b.en` (the name without its last extension). */
function stemOf(file: string): string {
  const slash = file.lastIndexOf(path.sep);
  const dot = file.lastIndexOf('.');
  return dot > slash + 1 ? file.slice(0, dot) : file;
}

/** The names a subtitle file may be the sidecar of, in its folder: `a.b.en.srt` → a, a.b, a.b.en. */
function sidecarOwners(file: string): string[] {
  const stem = stemOf(file);
  const slash = stem.lastIndexOf(path.sep);
  const owners: string[] = [];
  for (let dot = stem.indexOf('.', slash + 2); dot > 0; dot = stem.indexOf('.', dot + 1))
    owners.push(stem.slice(0, dot));
  owners.push(stem);
  return owners;
}

const extOf = (file: string): string => {
  const dot = file.lastIndexOf('.');
  return dot > file.lastIndexOf(path.sep) + 1 ? file.slice(dot).toLowerCase() : '';
};

async function listFolder(dir: string, budget?: { left: number }): Promise<FolderListing> {
  const skipped: SkippedMovie[] = [];
  const files: string[] = [];
  const folders: string[] = [];
  await walk(dir, files, folders, budget);
  const isVideoName = (f: string): boolean => VIDEO_EXTENSIONS.includes(extOf(f));
  // ids are paths below `dir` without extension, with / on every platform
  const idOf = (f: string): string =>
    stemOf(f)
      .slice(dir.length + 1)
      .split(path.sep)
      .join('/');
  // A folder named like a video (`Film.mp4/`): its files are still scanned, but it is no movie.
  for (const f of folders.filter(isVideoName))
    skipped.push({ id: idOf(f), video: f, reason: `${f} is a directory, not a video file` });
  const videos: string[] = [];
  const subtitles: string[] = [];
  for (const f of files) {
    const ext = extOf(f);
    if (VIDEO_EXTENSIONS.includes(ext)) videos.push(f);
    else if (SUBTITLE_EXTENSIONS.includes(ext)) subtitles.push(f);
  }
  // Subtitle files by the video stems they may belong to: one lookup per video, however large
  // the folder (a scan of every sibling per video would be quadratic).
  const byOwner = new Map<string, string[]>();
  const stems = new Set(videos.map(stemOf));
  for (const f of subtitles) {
    const owners = sidecarOwners(f);
    let owned = false;
    for (const owner of owners) {
      const list = byOwner.get(owner);
      if (list) list.push(f);
      else byOwner.set(owner, [f]);
      owned ||= stems.has(owner);
    }
    // A subtitle file with no video of its name beside it: its movie is missing.
    if (!owned)
      skipped.push({
        id: idOf(f),
        video: f,
        reason: `${f} has no video beside it (no ${path.basename(owners[0]!)}.mp4, .mkv, ...): its movie is missing`,
      });
  }
  const used = new Map<string, number>();
  const entries = videos.map((v) => {
    let id = idOf(v);
    const n = used.get(id) ?? 0;
    used.set(id, n + 1);
    if (n > 0) id = `${id}~${path.extname(v).slice(1)}`; // Film.mp4 and Film.mkv side by side
    return { id, video: v, subtitles: pickSidecar(v, byOwner.get(stemOf(v)) ?? []) };
  });
  return { entries, skipped, files: files.length, subtitleFiles: subtitles.length };
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

/** What is wrong with a data folder or file, for the user: what was found against what was expected. */
export interface CorpusProblem {
  message: string;
  hint: string;
}

const EXPECTED_CORPUS =
  'a folder of videos with their subtitles beside them (Film.mp4 + Film.srt or Film.en.srt), or a CSV/JSONL manifest with id, video, subtitles';
/** Videos probed for an embedded text subtitle stream when no video has a sidecar. */
const PROBE_SAMPLE = 3;
const SNIFF_BYTES = 64 * 1024;

const some = (list: readonly string[], n = 3): string =>
  `${list.slice(0, n).join(', ')}${list.length > n ? `, ... (${list.length} in all)` : ''}`;

/**
 * A quick look at a movie corpus before anything runs (listing, a manifest's rows, at most a few
 * ffprobe calls; no video is decoded): undefined when it can give movies. A corpus with no video,
 * videos none of which has subtitles (sidecar or embedded), or a manifest in the wrong format or
 * naming missing files is a problem. Single bad movies are still skipped by loadMovieCorpus.
 */
export async function inspectMovieCorpus(
  source: string,
  opts: { signal?: AbortSignal } = {},
): Promise<CorpusProblem | undefined> {
  const st = await stat(source);
  return st.isDirectory() ? inspectFolder(path.resolve(source), opts) : inspectManifest(path.resolve(source));
}

async function inspectFolder(dir: string, opts: { signal?: AbortSignal }): Promise<CorpusProblem | undefined> {
  const budget = { left: MAX_LISTED };
  const listed = await listFolder(dir, budget);
  if (budget.left < 0) return undefined;
  const videos = listed.entries.length;
  const found = `${videos} video(s) and ${listed.subtitleFiles} subtitle file(s) (${SUBTITLE_EXTENSIONS.join(', ')}) among ${listed.files} file(s)`;
  if (videos === 0)
    return {
      message: `no video (${VIDEO_EXTENSIONS.slice(0, 4).join(', ')}, ...) in ${dir}: found ${found}${listed.files === 0 ? ' (the folder is empty)' : ''}`,
      hint: `expected ${EXPECTED_CORPUS}`,
    };
  if (listed.entries.some((e) => e.subtitles !== null)) return undefined;
  // No sidecar at all: the movies can still carry their subtitles inside (ffprobe a few).
  const sample = listed.entries.slice(0, PROBE_SAMPLE);
  for (const e of sample) {
    try {
      const info = await probe(e.video, { signal: opts.signal });
      if (info.subtitleStreams.some((s) => TEXT_SUBTITLE_CODECS.has(s.codec))) return undefined;
    } catch (err) {
      // Without ffprobe nothing can be said about embedded subtitles: the run will say more.
      if (isExpError(err) && err.code === 'EXP_FFMPEG_MISSING') return undefined;
      if (!isExpError(err)) throw err;
    }
  }
  const orphans = listed.skipped
    .filter((x) => x.reason.includes('has no video beside it'))
    .map((x) => path.relative(dir, x.video ?? x.id));
  return {
    message: `no subtitles for the videos in ${dir}: found ${found}; no video has a subtitle file of its name${orphans.length ? ` (the subtitle files belong to no video: ${some(orphans)})` : ''}, and none of the ${sample.length} video(s) probed (${some(sample.map((e) => path.relative(dir, e.video)))}) has an embedded text subtitle stream`,
    hint: `expected ${EXPECTED_CORPUS}`,
  };
}

async function inspectManifest(file: string): Promise<CorpusProblem | undefined> {
  const hint = `expected ${EXPECTED_CORPUS} (paths relative to the manifest)`;
  if (VIDEO_EXTENSIONS.includes(path.extname(file).toLowerCase()))
    return {
      message: `${file} is a video file, not a movie corpus`,
      hint: `expected ${EXPECTED_CORPUS}: give the folder that holds it`,
    };
  const head = Buffer.alloc(SNIFF_BYTES);
  const fh = await open(file, 'r');
  let n: number;
  try {
    n = (await fh.read(head, 0, SNIFF_BYTES, 0)).bytesRead;
  } finally {
    await fh.close();
  }
  if (head.subarray(0, n).includes(0))
    return { message: `${file} is not a text manifest (it holds binary data)`, hint };
  const skipped: SkippedMovie[] = [];
  let entries: MovieEntry[];
  try {
    entries = await readManifest(file, skipped);
  } catch (err) {
    if (!isExpError(err)) throw err;
    const first = head.subarray(0, n).toString('utf8').split(/\r?\n/)[0]!.slice(0, 80);
    return { message: `${err.message}; its first line is ${JSON.stringify(first)}`, hint };
  }
  const rowProblems = skipped.map((x) => x.reason.replace(`${file}:`, 'line ').replace(/; (line|row) skipped$/, ''));
  if (rowProblems.length)
    return {
      message: `${file}: ${rowProblems.length} row(s) in the wrong format, of ${entries.length + rowProblems.length}: ${some(rowProblems)}`,
      hint,
    };
  if (entries.length === 0) return { message: `${file} lists no movie (0 rows after the header)`, hint };
  const missing: string[] = [];
  for (const e of entries) {
    if (!existsSync(e.video)) missing.push(`line ${e.line}: video ${path.relative(path.dirname(file), e.video)}`);
    else if (e.subtitles !== null && !existsSync(e.subtitles))
      missing.push(`line ${e.line}: subtitles ${path.relative(path.dirname(file), e.subtitles)}`);
  }
  if (missing.length)
    return {
      message: `${file} names files that do not exist: ${missing.length} of its ${entries.length} movie(s) (${some(missing)})`,
      hint,
    };
  return undefined;
}
