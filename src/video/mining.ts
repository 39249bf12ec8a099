// §4 of the paper: run a text model over the speech of unlabelled movies and keep the sentences
// it is confident about, each giving a 10-second clip centred on the sentence. The scorer is
// injected (`SentenceScorer`): the S2A classifier (softmax per class, kept above the class's
// threshold from s2a.evaluate) or the keyword baseline (1 for a class whose verb forms occur).
import os from 'node:os';
import { readCaptionFile } from '../captions/read.ts';
import { splitSentences } from '../captions/sentences.ts';
import type { CaptionTrack } from '../captions/types.ts';
import { isExpError } from '../errors.ts';
import type { Movie } from './corpus.ts';
import { probe } from './ffmpeg.ts';
import type { ProbeResult } from './ffmpeg.ts';

/** Scores sentences for each class: row-major [sentences × classes]. */
export interface SentenceScorer {
  classes: string[];
  score(sentences: string[]): Promise<Float32Array>;
}

/** The shape of docs/CONTRACTS.md's `VerbClass` (src/text/keyword.ts). */
export interface VerbClassLike {
  verb: string;
  count?: number;
  forms: string[];
}

/** Keyword baseline: score 1 for every class whose verb the spotter finds in the sentence. */
export function keywordScorer(classes: readonly VerbClassLike[], spot: (sentence: string) => string[]): SentenceScorer {
  const names = classes.map((c) => c.verb);
  const col = new Map(names.map((n, i) => [n, i]));
  return {
    classes: names,
    async score(sentences) {
      const out = new Float32Array(sentences.length * names.length);
      sentences.forEach((s, i) => {
        for (const v of spot(s)) {
          const j = col.get(v);
          if (j !== undefined) out[i * names.length + j] = 1;
        }
      });
      return out;
    },
  };
}

/** Adapts docs/CONTRACTS.md's `SentenceClassifier` (softmax rows) to a scorer. */
export function classifierScorer(model: {
  classes: string[];
  predict(sentences: string[]): Promise<Float32Array>;
}): SentenceScorer {
  return { classes: [...model.classes], score: (s) => model.predict(s) };
}

export interface MinedClip {
  id: string;
  movie: string;
  video: string;
  class: string;
  score: number;
  sentence: string;
  t_center: number;
  t_start: number;
  t_end: number;
}

export interface ClassYield {
  verb: string;
  threshold: number;
  /** Sentences over the threshold before the caps. */
  candidates: number;
  /** Clips kept after the per-movie and per-class caps. */
  clips: number;
}

export interface MiningReport {
  clips: MinedClip[];
  yield: ClassYield[];
  movies: number;
  sentences: number;
  /** Movies (or parts of them) left out, each with the reason. */
  skipped: { id: string; reason: string }[];
  warnings: string[];
}

export interface MiningOptions {
  /** Clip length in seconds, centred on the sentence midpoint (paper: 10). */
  windowS?: number;
  /** Threshold per class; a class without one uses `minScore`. */
  thresholds?: Record<string, number>;
  /** Threshold for classes without their own (default 0.5). */
  minScore?: number;
  /** Classes to mine (default: all the scorer's classes that have a threshold or minScore). */
  classes?: string[];
  maxPerClass?: number;
  maxPerMovie?: number;
  /** Sentences per scorer call (default 512). */
  batchSize?: number;
  /** Movies probed and read ahead of the one being scored (default: the number of cores). */
  prefetch?: number;
  signal?: AbortSignal;
  onProgress?: (moviesDone: number, total: number) => void;
  onWarning?: (message: string) => void;
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

export async function mineClips(
  movies: readonly Movie[],
  scorer: SentenceScorer,
  opts: MiningOptions = {},
): Promise<MiningReport> {
  const windowS = opts.windowS ?? 10;
  const minScore = opts.minScore ?? 0.5;
  const batchSize = Math.max(1, opts.batchSize ?? 512);
  const wanted = opts.classes ? new Set(opts.classes) : null;
  const C = scorer.classes.length;
  const thresholdOf = scorer.classes.map((c) => opts.thresholds?.[c] ?? minScore);
  const active = scorer.classes.map((c) => wanted === null || wanted.has(c));
  const warnings: string[] = [];
  const warn = (m: string): void => {
    warnings.push(m);
    opts.onWarning?.(m);
  };
  const skipped: MiningReport['skipped'] = [];
  const candidates: MinedClip[] = [];
  let sentenceCount = 0;
  let moviesMined = 0;

  // Probing a video (an ffprobe process) and reading its subtitles take about as long as
  // scoring a movie's sentences with a fast scorer: prepare the next movies while scoring this one.
  type Prepared = { info: ProbeResult } & ({ track: CaptionTrack } | { error: string });
  const prepare = async (movie: Movie): Promise<Prepared | { error: string }> => {
    let info: ProbeResult;
    try {
      info = await probe(movie.video, { signal: opts.signal });
    } catch (e) {
      if (!isExpError(e)) throw e;
      return { error: e.message };
    }
    try {
      return { info, track: await readCaptionFile(movie.subtitles) };
    } catch (e) {
      if (!isExpError(e)) throw e;
      return { info, error: e.message };
    }
  };
  const ahead = Math.max(1, opts.prefetch ?? os.availableParallelism());
  const pending = new Map<number, Promise<Prepared | { error: string }>>();
  const prefetch = (upTo: number): void => {
    for (let k = 0; k < Math.min(upTo, movies.length); k++) {
      if (!pending.has(k)) {
        const p = prepare(movies[k]!);
        p.catch(() => undefined); // awaited in order below
        pending.set(k, p);
      }
    }
  };

  for (let mi = 0; mi < movies.length; mi++) {
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
    const movie = movies[mi]!;
    prefetch(mi + 1 + ahead);
    const prepared = await pending.get(mi)!;
    pending.delete(mi);
    if (!('info' in prepared) || 'error' in prepared) {
      skipped.push({ id: movie.id, reason: prepared.error });
      opts.onProgress?.(mi + 1, movies.length);
      continue;
    }
    const { info, track } = prepared;
    if (!info.hasVideo) {
      skipped.push({ id: movie.id, reason: `${movie.video} has no video stream` });
      opts.onProgress?.(mi + 1, movies.length);
      continue;
    }
    const duration = info.duration;
    if (duration === null) warn(`${movie.video}: no duration known; clips are not clipped at the end`);
    if (track.warnings.length) {
      const first = track.warnings[0]!;
      warn(`${movie.subtitles}: ${track.warnings.length} problem(s), e.g. line ${first.line}: ${first.message}`);
    }
    let sentences = splitSentences(track.cues);
    if (sentences.length === 0) {
      skipped.push({ id: movie.id, reason: `${movie.subtitles}: no sentences (empty or unreadable subtitles)` });
      opts.onProgress?.(mi + 1, movies.length);
      continue;
    }
    if (duration !== null) {
      const d = duration;
      const inside = sentences.filter((s) => (s.start + s.end) / 2 <= d);
      if (inside.length < sentences.length) {
        warn(
          `${movie.subtitles}: ${sentences.length - inside.length} sentence(s) lie after the end of ${movie.video} (${d.toFixed(1)} s); dropped`,
        );
      }
      sentences = inside;
    }
    moviesMined++;
    sentenceCount += sentences.length;
    for (let b = 0; b < sentences.length; b += batchSize) {
      const batch = sentences.slice(b, b + batchSize);
      const scores = await scorer.score(batch.map((s) => s.text));
      if (scores.length !== batch.length * C)
        throw new Error(`scorer returned ${scores.length} scores for ${batch.length} sentences × ${C} classes`);
      for (let i = 0; i < batch.length; i++) {
        for (let j = 0; j < C; j++) {
          const sc = scores[i * C + j]!;
          if (!active[j] || !(sc >= thresholdOf[j]!) || sc <= 0) continue;
          const s = batch[i]!;
          const center = (s.start + s.end) / 2;
          const t0 = Math.max(0, center - windowS / 2);
          const t1 = duration === null ? center + windowS / 2 : Math.min(duration, center + windowS / 2);
          const cls = scorer.classes[j]!;
          candidates.push({
            id: `${movie.id}#${b + i}#${cls}`,
            movie: movie.id,
            video: movie.video,
            class: cls,
            score: round3(sc),
            sentence: s.text,
            t_center: round3(center),
            t_start: round3(t0),
            t_end: round3(t1),
          });
        }
      }
    }
    opts.onProgress?.(mi + 1, movies.length);
  }

  let kept = candidates;
  if (opts.maxPerMovie !== undefined) kept = capBy(kept, (c) => c.movie, opts.maxPerMovie, byConfidence);
  if (opts.maxPerClass !== undefined) kept = capBy(kept, (c) => c.class, opts.maxPerClass, byConfidence);
  const order = new Map(movies.map((m, i) => [m.id, i]));
  kept.sort(
    (a, b) => order.get(a.movie)! - order.get(b.movie)! || a.t_center - b.t_center || (a.class < b.class ? -1 : 1),
  );

  const yieldRows: ClassYield[] = scorer.classes
    .map((verb, j) => ({
      verb,
      threshold: thresholdOf[j]!,
      candidates: candidates.filter((c) => c.class === verb).length,
      clips: kept.filter((c) => c.class === verb).length,
      active: active[j]!,
    }))
    .filter((r) => r.active)
    .map(({ active: _a, ...r }) => r);
  return { clips: kept, yield: yieldRows, movies: moviesMined, sentences: sentenceCount, skipped, warnings };
}

/**
 * The order the caps keep clips in: most confident first; ties go to the earlier movie (by id) and
 * time, then the class name (deterministic, so shards capped apart and merged keep the same clips).
 */
export function byConfidence(a: MinedClipKey, b: MinedClipKey): number {
  return (
    b.score - a.score ||
    (a.movie < b.movie ? -1 : a.movie > b.movie ? 1 : 0) ||
    a.t_center - b.t_center ||
    (a.class < b.class ? -1 : 1)
  );
}

/** The fields of a mined clip the caps compare. */
export type MinedClipKey = Pick<MinedClip, 'score' | 'movie' | 't_center' | 'class'>;

function capBy(
  clips: MinedClip[],
  key: (c: MinedClip) => string,
  cap: number,
  cmp: (a: MinedClip, b: MinedClip) => number,
): MinedClip[] {
  const groups = new Map<string, MinedClip[]>();
  for (const c of clips) {
    const k = key(c);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(c);
  }
  const out: MinedClip[] = [];
  for (const g of groups.values()) out.push(...g.sort(cmp).slice(0, Math.max(0, cap)));
  return out;
}
