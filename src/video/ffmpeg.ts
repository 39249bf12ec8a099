// The one module that talks to ffmpeg and ffprobe.
//
// Why a spawn wrapper and not fluent-ffmpeg: fluent-ffmpeg 2.1.3 works, but upstream archived it
// in May 2025, so its bugs will not be fixed and it may stop matching newer ffmpeg releases. What
// we need from ffmpeg is small (probe as JSON, decode a window to raw RGB on a pipe, encode raw
// RGB from a pipe, copy a subtitle stream), and `child_process.spawn` with an argument array does
// all of it in a page, with no shell anywhere (file names with spaces, quotes, unicode or a leading
// '-' are passed as single arguments; every input path is made absolute, so ffmpeg never reads one
// as an option or a protocol), with backpressure on the pipes, and with AbortSignal to kill a
// process. ffmpeg/ffprobe are found on PATH or through FFMPEG_PATH / FFPROBE_PATH; when missing,
// EXP_FFMPEG_MISSING says how to install them (`apt-get install ffmpeg` or `make deps`).
import { mkdir, mkdtemp, open, readFile, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { findOnPath, isExecutable, spawnChild } from '../children.ts';
import { ExpError, isExpError } from '../errors.ts';

export interface FfmpegTools {
  ffmpeg: string;
  ffprobe: string;
}

/** ffmpeg/ffprobe's leading flags everywhere: no banner, no stdin, errors only. */
const QUIET = ['-hide_banner', '-nostdin', '-v', 'error'];

let cachedTools: FfmpegTools | null = null;
let cachedKey = '';

/** Locates ffmpeg and ffprobe (env vars first, then PATH); throws EXP_FFMPEG_MISSING. */
export function findFfmpeg(): FfmpegTools {
  const key = `${process.env.FFMPEG_PATH ?? ''}|${process.env.FFPROBE_PATH ?? ''}|${process.env.PATH ?? ''}`;
  if (cachedTools && key === cachedKey) return cachedTools;
  const locate = (name: 'ffmpeg' | 'ffprobe', envVar: string): string => {
    const fromEnv = process.env[envVar];
    if (fromEnv) {
      if (isExecutable(fromEnv)) return fromEnv;
      throw new ExpError('EXP_FFMPEG_MISSING', `${envVar}=${fromEnv} is not an executable file`, {
        hint: `point ${envVar} at the ${name} binary, or unset it to use the one on PATH`,
      });
    }
    const found = findOnPath(name);
    if (found) return found;
    throw new ExpError('EXP_FFMPEG_MISSING', `${name} was not found on PATH`, {
      hint: `install it (Debian/Ubuntu: \`apt-get install ffmpeg\`, or \`make deps\`), or set ${envVar} to its path`,
    });
  };
  cachedTools = { ffmpeg: locate('ffmpeg', 'FFMPEG_PATH'), ffprobe: locate('ffprobe', 'FFPROBE_PATH') };
  cachedKey = key;
  return cachedTools;
}

/** An input path ffmpeg cannot mistake for an option ('-x.mp4') or a protocol ('a:b.mp4'). */
export function mediaArg(file: string): string {
  return path.resolve(file);
}

interface RunResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

interface RunOptions {
  signal?: AbortSignal;
  /** Frames or bytes to feed to stdin; the process's stdin is closed at the end. */
  stdin?: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  /** Keep stdout (decoding); otherwise it is discarded. */
  collectStdout?: boolean;
}

function run(bin: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    // Started through children.ts: ffmpeg dies with the thread that started it, even under SIGKILL.
    const child = spawnChild(bin, args, {
      stdio: [opts.stdin ? 'pipe' : 'ignore', opts.collectStdout ? 'pipe' : 'ignore', 'pipe'],
      signal: opts.signal,
      windowsHide: true,
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => {
      if (err.length < 64_000) err += b.toString('utf8');
    });
    let settled = false;
    child.on('error', (e) => {
      if (settled) return;
      settled = true;
      reject(e);
    });
    child.on('close', (code) => {
      if (settled) return;
      settled = true;
      resolve({ code, stdout: Buffer.concat(out), stderr: err });
    });
    if (opts.stdin && child.stdin) {
      const stdin = child.stdin;
      stdin.on('error', () => {
        /* EPIPE when ffmpeg stops early: its exit code and stderr tell the story */
      });
      void (async () => {
        try {
          for await (const chunk of opts.stdin as AsyncIterable<Uint8Array>) {
            if (child.exitCode !== null || stdin.destroyed) break;
            if (!stdin.write(chunk)) {
              // Wait for drain or close, and remove the other listener (else they pile up on long encodes).
              await new Promise<void>((r) => {
                const done = (): void => {
                  stdin.off('drain', done);
                  stdin.off('close', done);
                  r();
                };
                stdin.on('drain', done);
                stdin.on('close', done);
              });
            }
          }
        } catch (e) {
          child.kill('SIGKILL');
          if (!settled) {
            settled = true;
            reject(e);
          }
        } finally {
          stdin.end();
        }
      })();
    }
  });
}

function lastLines(stderr: string, n = 3): string {
  // Without ffmpeg's "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x5607c14b5180] " context prefixes: noise to a user.
  return stderr
    .replace(/\[[^\]\n]* @ 0x[0-9a-f]+\] /g, '')
    .trim()
    .split('\n')
    .slice(-n)
    .join(' | ')
    .slice(0, 400);
}

// ---------------------------------------------------------------------------------------------
// probe

export interface MediaStream {
  index: number;
  type: 'video' | 'audio' | 'subtitle' | 'data' | 'attachment' | 'unknown';
  codec: string;
  language?: string;
}

export interface ProbeResult {
  file: string;
  /** Seconds; null when the container says nothing usable. */
  duration: number | null;
  /** Displayed size: rotation by ±90° already swaps width and height. */
  width: number;
  height: number;
  /** Stored (coded) size of the first video stream. */
  codedWidth: number;
  codedHeight: number;
  /** Degrees clockwise the frames must be turned to show upright (0, 90, 180, 270). */
  rotation: number;
  fps: number | null;
  streams: MediaStream[];
  subtitleStreams: MediaStream[];
  hasVideo: boolean;
  hasAudio: boolean;
}

function parseRate(r: unknown): number | null {
  if (typeof r !== 'string') return null;
  const [a, b] = r.split('/').map(Number);
  if (!a || !Number.isFinite(a)) return null;
  const v = b ? a / b : a;
  return Number.isFinite(v) && v > 0 && v < 1000 ? v : null;
}

type Json = Record<string, unknown>;

/** Duration, size, rotation, fps and streams of a media file; EXP_MEDIA_UNREADABLE when ffprobe fails. */
export async function probe(file: string, opts: { signal?: AbortSignal } = {}): Promise<ProbeResult> {
  const { ffprobe } = findFfmpeg();
  const r = await run(ffprobe, ['-v', 'error', '-show_format', '-show_streams', '-of', 'json', mediaArg(file)], {
    collectStdout: true,
    signal: opts.signal,
  });
  if (r.code !== 0) {
    throw new ExpError(
      'EXP_MEDIA_UNREADABLE',
      `ffprobe cannot read ${file}: ${lastLines(r.stderr) || `exit code ${r.code}`}`,
      {
        hint: 'check that the file exists and is a complete video',
        detail: { file },
      },
    );
  }
  let doc: { streams?: Json[]; format?: Json };
  try {
    doc = JSON.parse(r.stdout.toString('utf8')) as typeof doc;
  } catch {
    throw new ExpError('EXP_MEDIA_UNREADABLE', `ffprobe gave no readable answer for ${file}`, { detail: { file } });
  }
  const streams: MediaStream[] = (doc.streams ?? []).map((s) => {
    const t = String(s.codec_type ?? 'unknown');
    const tags = (s.tags ?? {}) as Json;
    return {
      index: Number(s.index),
      type: (['video', 'audio', 'subtitle', 'data', 'attachment'].includes(t) ? t : 'unknown') as MediaStream['type'],
      codec: String(s.codec_name ?? 'unknown'),
      ...(typeof tags.language === 'string' ? { language: tags.language } : {}),
    };
  });
  // The first video stream that is not a cover picture.
  const raw = (doc.streams ?? []).find(
    (s) => s.codec_type === 'video' && !((s.disposition as Json | undefined)?.attached_pic === 1),
  );
  let rotation = 0;
  if (raw) {
    const side = (raw.side_data_list as Json[] | undefined)?.find((d) => typeof d.rotation === 'number');
    const tagRotate = Number(((raw.tags ?? {}) as Json).rotate);
    // Display-matrix rotation is counter-clockwise; the old `rotate` tag is clockwise.
    const deg = side ? -(side.rotation as number) : Number.isFinite(tagRotate) ? tagRotate : 0;
    rotation = (((Math.round(deg / 90) * 90) % 360) + 360) % 360;
  }
  const codedWidth = Number(raw?.width ?? 0);
  const codedHeight = Number(raw?.height ?? 0);
  const swap = rotation === 90 || rotation === 270;
  const durations = [Number(doc.format?.duration), Number(raw?.duration)].filter((d) => Number.isFinite(d) && d > 0);
  return {
    file,
    duration: durations.length ? durations[0]! : null,
    width: swap ? codedHeight : codedWidth,
    height: swap ? codedWidth : codedHeight,
    codedWidth,
    codedHeight,
    rotation,
    fps: parseRate(raw?.avg_frame_rate) ?? parseRate(raw?.r_frame_rate),
    streams,
    subtitleStreams: streams.filter((s) => s.type === 'subtitle'),
    hasVideo: raw !== undefined,
    hasAudio: streams.some((s) => s.type === 'audio'),
  };
}

// ---------------------------------------------------------------------------------------------
// is this file a usable video?

/**
 * Checks that a file is a video that can be worked with, before any work is spent on it: a
 * regular, non-empty, readable file that ffprobe reads, with a video stream, whose data does not
 * end before its video does (a truncated mp4 whose index sits at the front probes fine and fails
 * only when a late window is decoded). Returns the probe; throws EXP_MEDIA_UNREADABLE naming
 * the file and what is wrong with it.
 */
export async function checkVideoFile(file: string, opts: { signal?: AbortSignal } = {}): Promise<ProbeResult> {
  const bad = (reason: string, hint: string): ExpError =>
    new ExpError('EXP_MEDIA_UNREADABLE', `${file} ${reason}`, { hint, detail: { file } });
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(file);
  } catch (e) {
    throw bad(`does not exist (${(e as NodeJS.ErrnoException).code ?? 'stat failed'})`, 'check the path');
  }
  if (st.isDirectory()) throw bad('is a directory, not a video file', 'rename the folder or move the videos out of it');
  if (!st.isFile()) throw bad('is not a regular file (a device, FIFO or socket)', 'give a video file');
  if (st.size === 0) throw bad('is empty (0 bytes)', 'the copy or download did not finish: fetch the file again');
  try {
    await (await open(file, 'r')).close();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'open failed';
    throw bad(`cannot be read (${code})`, 'give the user running exp read permission on it (chmod a+r)');
  }
  const info = await probe(file, opts);
  if (!info.hasVideo) {
    const kinds = [...new Set(info.streams.map((s) => s.type))];
    throw bad(
      `has no video stream (${kinds.length ? `only ${kinds.join(', ')}` : 'no streams at all'})`,
      'give the video file itself, not its audio track or subtitles',
    );
  }
  if (info.duration !== null && info.duration > 0) await checkTail(file, info.duration, opts.signal);
  return info;
}

/** Decodes the last second: a file cut short says "partial file" (or fails) there. */
async function checkTail(file: string, duration: number, signal?: AbortSignal): Promise<void> {
  const { ffmpeg } = findFfmpeg();
  const from = Math.max(0, duration - 1);
  const r = await run(
    ffmpeg,
    [...QUIET, '-ss', from.toFixed(3), '-i', mediaArg(file), '-map', '0:v:0', '-an', '-sn', '-dn', '-f', 'null', '-'],
    { signal },
  );
  if (r.code !== 0 || /partial file|end of file|truncat/i.test(r.stderr)) {
    throw new ExpError(
      'EXP_MEDIA_UNREADABLE',
      `${file} is truncated or corrupt near its end (${duration.toFixed(1)} s): ${lastLines(r.stderr, 2) || `ffmpeg exit code ${r.code}`}`,
      { hint: 'the copy or download did not finish: fetch the file again, or re-encode it', detail: { file } },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// decoding

export interface DecodeOptions {
  /** Window start, seconds (default 0). */
  start?: number;
  /** Window length, seconds (required: a clip is a window). */
  duration: number;
  /** Exactly this many frames, spread uniformly over the window. */
  frames?: number;
  /** Or frames at this rate (all of them, or resampled to `frames` when both are given). */
  fps?: number;
  /** Output side S: frames are scaled to cover S×S and centre-cropped, RGB. */
  size: number;
  /** Decoder threads per process (default 1: extraction runs one process per core). */
  threads?: number;
  /**
   * Cheaper decoding (default true): skip the deblocking filter and frames no other frame refers
   * to (most B-frames). Invisible at clip sizes like 112×112, about twice as fast for H.264; a
   * sampled frame may then come from a neighbour up to a few frames away. Falls back to full
   * decoding when this yields no frame.
   */
  fast?: boolean;
  signal?: AbortSignal;
}

export interface DecodedFrames {
  /** frames × size × size × 3 bytes, frame-major, RGB. */
  data: Uint8Array;
  frames: number;
  /** Frames ffmpeg produced before resampling to `frames`. */
  decoded: number;
}

function decodeArgs(file: string, start: number, duration: number, fast: boolean, threads: number): string[] {
  return [
    '-threads',
    String(threads),
    ...(fast ? ['-skip_loop_filter', 'all', '-skip_frame', 'noref'] : []),
    ...(start > 0 ? ['-ss', start.toFixed(3)] : []),
    '-t',
    duration.toFixed(3),
    '-i',
    mediaArg(file),
  ];
}

function frameFilter(rate: number | undefined, S: number): string {
  return `${rate === undefined ? '' : `fps=${rate.toFixed(6)},`}scale=${S}:${S}:force_original_aspect_ratio=increase:flags=bilinear,crop=${S}:${S}`;
}

function checkDecodeOptions(opts: { size: number; frames?: number; fps?: number }, duration: number): void {
  if (!(opts.size > 0) || !(duration > 0))
    throw new Error(`decodeFrames: size and duration must be positive (got ${opts.size}, ${duration})`);
  if (opts.frames === undefined && opts.fps === undefined) throw new Error('decodeFrames: give frames or fps');
}

/** The frames ffmpeg gave → exactly `want` (fps rounding gives N±1, a short video fewer: pick uniformly). */
function toFrames(raw: Uint8Array, frameBytes: number, want: number | undefined): DecodedFrames {
  const decoded = Math.floor(raw.length / frameBytes);
  const n = want ?? decoded;
  if (n === decoded) return { data: raw.subarray(0, decoded * frameBytes), frames: decoded, decoded };
  const data = new Uint8Array(n * frameBytes);
  for (let i = 0; i < n; i++) {
    const src = Math.min(decoded - 1, Math.floor(((i + 0.5) * decoded) / n));
    data.set(raw.subarray(src * frameBytes, (src + 1) * frameBytes), i * frameBytes);
  }
  return { data, frames: n, decoded };
}

function noFrames(file: string, start: number, duration: number): ExpError {
  return new ExpError(
    'EXP_MEDIA_UNREADABLE',
    `no frames in ${file} between ${start.toFixed(2)} and ${(start + duration).toFixed(2)} s`,
    {
      hint: 'the window may lie past the end of the video',
      detail: { file, start },
    },
  );
}

function decodeFailed(file: string, start: number, stderr: string, code: number | null): ExpError {
  return new ExpError(
    'EXP_MEDIA_UNREADABLE',
    `ffmpeg cannot decode ${file} at ${start.toFixed(2)} s: ${lastLines(stderr) || `exit code ${code}`}`,
    {
      hint: 'the file may be corrupted or truncated; re-encode or remove it',
      detail: { file, start },
    },
  );
}

/**
 * Decodes a window of a video to S×S RGB frames. ffmpeg applies rotation metadata itself
 * (autorotate), so rotated phone videos come out upright. A decoding error (a corrupted stream)
 * fails the call (-xerror) rather than giving grey frames; so does a window with no frames.
 */
export async function decodeFrames(file: string, opts: DecodeOptions): Promise<DecodedFrames> {
  return decodeWindow(file, opts, false);
}

/**
 * `nativeRate`: every frame of the window, no fps resampling (then picked uniformly). The fps
 * filter can yield nothing for a clip shorter than one output period (a 0.1 s phone video):
 * such a window is decoded again this way before it counts as empty.
 */
async function decodeWindow(file: string, opts: DecodeOptions, nativeRate: boolean): Promise<DecodedFrames> {
  const { ffmpeg } = findFfmpeg();
  checkDecodeOptions(opts, opts.duration);
  const S = Math.round(opts.size);
  const rate = opts.fps ?? opts.frames! / opts.duration;
  const start = Math.max(0, opts.start ?? 0);
  const fast = opts.fast ?? true;
  const args = [
    ...QUIET,
    '-xerror',
    ...decodeArgs(file, start, opts.duration, fast, opts.threads ?? 1),
    '-map',
    '0:v:0',
    '-an',
    '-sn',
    '-dn',
    '-vf',
    frameFilter(nativeRate ? undefined : rate, S),
    '-pix_fmt',
    'rgb24',
    '-f',
    'rawvideo',
    'pipe:1',
  ];
  const r = await run(ffmpeg, args, { collectStdout: true, signal: opts.signal });
  if (r.code !== 0) throw decodeFailed(file, start, r.stderr, r.code);
  const frameBytes = S * S * 3;
  if (r.stdout.length < frameBytes) {
    if (fast) return decodeWindow(file, { ...opts, fast: false }, nativeRate);
    if (!nativeRate && opts.frames !== undefined) return decodeWindow(file, opts, true);
    throw noFrames(file, start, opts.duration);
  }
  return toFrames(new Uint8Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.length), frameBytes, opts.frames);
}

export interface ClipWindow {
  start: number;
  duration: number;
}

/**
 * Several windows of one video in one ffmpeg process (one input and one output per window):
 * starting ffmpeg costs about as much CPU as decoding a 10-second 360p window, so batching the
 * clips of a movie nearly halves the cost of extraction. Each result is the frames or the
 * ExpError of that window; when the batch fails as a whole, each window is retried on its own
 * so that one bad window does not take the others with it.
 */
export async function decodeClips(
  file: string,
  windows: readonly ClipWindow[],
  opts: Omit<DecodeOptions, 'start' | 'duration'>,
): Promise<(DecodedFrames | ExpError)[]> {
  const one = async (w: ClipWindow): Promise<DecodedFrames | ExpError> => {
    try {
      return await decodeFrames(file, { ...opts, start: w.start, duration: w.duration });
    } catch (e) {
      if (isExpError(e) && !opts.signal?.aborted) return e as ExpError;
      throw e;
    }
  };
  if (windows.length <= 1) return Promise.all(windows.map(one));
  const { ffmpeg } = findFfmpeg();
  for (const w of windows) checkDecodeOptions(opts, w.duration);
  const S = Math.round(opts.size);
  const fast = opts.fast ?? true;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'exp-decode-'));
  try {
    const args = [...QUIET, '-xerror', '-y'];
    windows.forEach((w) => args.push(...decodeArgs(file, Math.max(0, w.start), w.duration, fast, opts.threads ?? 1)));
    windows.forEach((w, k) => {
      const rate = opts.fps ?? opts.frames! / w.duration;
      args.push(
        '-map',
        `${k}:v:0`,
        '-vf',
        frameFilter(rate, S),
        '-pix_fmt',
        'rgb24',
        '-f',
        'rawvideo',
        path.join(dir, `${k}.raw`),
      );
    });
    const r = await run(ffmpeg, args, { signal: opts.signal });
    if (r.code !== 0) return await Promise.all(windows.map(one)); // find the bad window(s)
    const frameBytes = S * S * 3;
    const out: (DecodedFrames | ExpError)[] = [];
    for (let k = 0; k < windows.length; k++) {
      const raw = await readFile(path.join(dir, `${k}.raw`)).catch(() => Buffer.alloc(0));
      out.push(
        raw.length < frameBytes
          ? await one(windows[k]!)
          : toFrames(new Uint8Array(raw.buffer, raw.byteOffset, raw.length), frameBytes, opts.frames),
      );
    }
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// subtitles, encoding

/** Copies a subtitle stream (default: the first) of a video to an .srt file. */
export async function extractSubtitleStream(
  video: string,
  outSrt: string,
  opts: { streamIndex?: number; signal?: AbortSignal } = {},
): Promise<void> {
  const { ffmpeg } = findFfmpeg();
  await mkdir(path.dirname(path.resolve(outSrt)), { recursive: true });
  const tmp = tmpBeside(outSrt, '.srt');
  const map = opts.streamIndex === undefined ? '0:s:0' : `0:${opts.streamIndex}`;
  const r = await run(ffmpeg, [...QUIET, '-y', '-i', mediaArg(video), '-map', map, '-c:s', 'srt', '-f', 'srt', tmp], {
    signal: opts.signal,
  });
  if (r.code !== 0) {
    await rm(tmp, { force: true });
    throw new ExpError(
      'EXP_MEDIA_UNREADABLE',
      `cannot extract subtitles from ${video}: ${lastLines(r.stderr) || `exit code ${r.code}`}`,
      {
        hint: 'image-based subtitles (PGS, DVD) cannot become text; give a sidecar .srt instead',
        detail: { video },
      },
    );
  }
  await rename(tmp, outSrt);
}

export interface EncodeOptions {
  width: number;
  height: number;
  fps: number;
  outPath: string;
  /** x264 quality (default 23; lower is better). */
  crf?: number;
  /** An .srt to mux in as a text subtitle stream (mov_text). */
  subtitles?: string;
  /** Rotation metadata to store (degrees clockwise to display), as phones do. */
  rotation?: 0 | 90 | 180 | 270;
  signal?: AbortSignal;
}

/** Encodes raw rgb24 frames (width×height×3 bytes each) to an H.264 mp4, written atomically. */
export async function encodeRawVideo(
  frames: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  opts: EncodeOptions,
): Promise<{ frames: number }> {
  const { ffmpeg } = findFfmpeg();
  const { width, height } = opts;
  if (!(width > 0 && height > 0 && opts.fps > 0))
    throw new Error(`encodeRawVideo: width, height and fps must be positive`);
  const frameBytes = width * height * 3;
  let count = 0;
  async function* checked(): AsyncIterable<Uint8Array> {
    for await (const f of frames as AsyncIterable<Uint8Array>) {
      if (f.length !== frameBytes)
        throw new Error(
          `encodeRawVideo: frame ${count} has ${f.length} bytes, expected ${width}×${height}×3 = ${frameBytes}`,
        );
      count++;
      yield f;
    }
  }
  await mkdir(path.dirname(path.resolve(opts.outPath)), { recursive: true });
  const tmp = tmpBeside(opts.outPath, '.mp4');
  const args = [
    ...QUIET,
    '-y',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    '-s',
    `${width}x${height}`,
    '-r',
    String(opts.fps),
    '-i',
    'pipe:0',
    ...(opts.subtitles ? ['-i', mediaArg(opts.subtitles)] : []),
    '-map',
    '0:v:0',
    ...(opts.subtitles ? ['-map', '1:s:0', '-c:s', 'mov_text'] : []),
    // yuv420p needs even sides.
    '-vf',
    'pad=ceil(iw/2)*2:ceil(ih/2)*2',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-crf',
    String(opts.crf ?? 23),
    '-pix_fmt',
    'yuv420p',
    '-movflags',
    '+faststart',
    '-f',
    'mp4',
    tmp,
  ];
  let r: RunResult;
  try {
    r = await run(ffmpeg, args, { stdin: checked(), signal: opts.signal });
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  if (r.code !== 0 || count === 0) {
    await rm(tmp, { force: true });
    throw new ExpError(
      'EXP_FFMPEG_FAILED',
      `ffmpeg could not encode ${opts.outPath}: ${count === 0 ? 'no frames given' : lastLines(r.stderr) || `exit code ${r.code}`}`,
      {
        detail: { file: opts.outPath },
      },
    );
  }
  await finishWithRotation(tmp, opts.outPath, opts.rotation ?? 0, opts.signal);
  return { frames: count };
}

/** A synthetic test-pattern video (ffmpeg's lavfi testsrc2), for benchmarks and tests. */
export async function generateTestPattern(
  outPath: string,
  opts: {
    width: number;
    height: number;
    durationS: number;
    fps?: number;
    rotation?: 0 | 90 | 180 | 270 /** keyframe interval in frames (x264's default: 250) */;
    gop?: number;
    signal?: AbortSignal;
  },
): Promise<void> {
  const { ffmpeg } = findFfmpeg();
  await mkdir(path.dirname(path.resolve(outPath)), { recursive: true });
  const ext = path.extname(outPath) || '.mp4';
  const tmp = tmpBeside(outPath, ext);
  const src = `testsrc2=size=${opts.width}x${opts.height}:rate=${opts.fps ?? 25}:duration=${opts.durationS}`;
  const args = [
    ...QUIET,
    '-y',
    '-f',
    'lavfi',
    '-i',
    src,
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-pix_fmt',
    'yuv420p',
    '-g',
    String(opts.gop ?? 250),
    tmp,
  ];
  const r = await run(ffmpeg, args, { signal: opts.signal });
  if (r.code !== 0) {
    await rm(tmp, { force: true });
    throw new ExpError('EXP_FFMPEG_FAILED', `ffmpeg could not write ${outPath}: ${lastLines(r.stderr)}`, {
      detail: { file: outPath },
    });
  }
  await finishWithRotation(tmp, outPath, opts.rotation ?? 0, opts.signal);
}

/**
 * Moves a finished temporary file into place, first tagging its rotation when asked: ffmpeg
 * 5.1 drops the `rotate` tag when encoding and keeps it only on a stream copy.
 */
async function finishWithRotation(tmp: string, outPath: string, rotation: number, signal?: AbortSignal): Promise<void> {
  if (!rotation) {
    await rename(tmp, outPath);
    return;
  }
  const { ffmpeg } = findFfmpeg();
  const tagged = tmpBeside(outPath, path.extname(outPath) || '.mp4');
  // The tag is clockwise degrees (the display matrix stores the counter-clockwise angle).
  const r = await run(
    ffmpeg,
    [
      ...QUIET,
      '-y',
      '-i',
      tmp,
      '-map',
      '0',
      '-c',
      'copy',
      '-metadata:s:v:0',
      `rotate=${(360 - rotation) % 360}`,
      tagged,
    ],
    { signal },
  );
  await rm(tmp, { force: true });
  if (r.code !== 0) {
    await rm(tagged, { force: true });
    throw new ExpError('EXP_FFMPEG_FAILED', `ffmpeg could not tag the rotation of ${outPath}: ${lastLines(r.stderr)}`, {
      detail: { file: outPath },
    });
  }
  await rename(tagged, outPath);
}

function tmpBeside(file: string, ext: string): string {
  const abs = path.resolve(file);
  return path.join(
    path.dirname(abs),
    `.${path.basename(abs)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}${ext}`,
  );
}
