// The synthetic world of `make demo` (issue 8): screenplays, unlabelled movies with subtitles, and
// labelled AVA / HMDB51-style evaluation sets, all drawn from one seed, plus manifest.json with
// the truth behind every caption so that mining precision can be measured.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AVA_CLASSES, formatActionList, formatAvaCsv, planAva } from './ava.ts';
import type { DialogueNoise } from './dialogue.ts';
import { formatSplits, HMDB_CLASSES, planHmdb } from './hmdb.ts';
import { type CaptionTruth, planMovie } from './movies.ts';
import { type EncodeVideo, renderFrames, type VideoPlan } from './render.ts';
import { ExpError } from '../errors.ts';
import { Rng } from './rng.ts';
import { generateScreenplay, type ScreenplayTruth } from './screenplay.ts';
import { formatSrt } from './srt.ts';
import { ACTION_CLASSES, NEUTRAL_VERBS } from './verbs.ts';

/** The four data sets of the world; each is generated only when asked for. */
export const WORLD_PARTS = ['screenplays', 'movies', 'ava', 'hmdb51'] as const;
export type WorldPart = (typeof WORLD_PARTS)[number];

export interface WorldOptions {
  seed: number;
  /** Which data sets to write (the others are left out; each part's content does not depend on the others). */
  parts: readonly WorldPart[];
  screenplays: number;
  elementsPerScript: number;
  movies: number;
  movieSeconds: number;
  width: number;
  height: number;
  fps: number;
  avaKeyframes: number;
  avaVideoSeconds: number;
  hmdbPerClass: number;
  hmdbSeconds: number;
  hmdbExt: 'avi' | 'mp4';
  pGenericLine: number;
  pAmbiguous: number;
  pPolysemous: number;
  pHeldOut: number;
  pActionBeat: number;
  pActionEvent: number;
  pActionOnScreen: number;
  pActionInWindow: number;
  actionSeconds: number;
  outOfWindowSeconds: number;
  /** Videos encoded at once. */
  concurrency: number;
}

/** Sizes for a `make demo` that fits in 10 minutes on 2 cores. */
export const DEFAULT_WORLD: WorldOptions = {
  seed: 0,
  parts: WORLD_PARTS,
  screenplays: 80,
  elementsPerScript: 300,
  movies: 16,
  movieSeconds: 180,
  width: 160,
  height: 120,
  fps: 8,
  avaKeyframes: 480,
  avaVideoSeconds: 60,
  hmdbPerClass: 8,
  hmdbSeconds: 2,
  hmdbExt: 'mp4',
  pGenericLine: 0.3,
  pAmbiguous: 0.12,
  pPolysemous: 0.2,
  pHeldOut: 0.4,
  pActionBeat: 0.45,
  pActionEvent: 0.7,
  pActionOnScreen: 0.85,
  pActionInWindow: 0.9,
  actionSeconds: 3,
  outOfWindowSeconds: 8,
  concurrency: 2,
};

export interface WorldPaths {
  root: string;
  screenplays: string;
  movies: string;
  ava: string;
  hmdb51: string;
  manifest: string;
}

export interface MovieManifest {
  id: string;
  video: string;
  subtitles: string;
  seconds: number;
  captions: CaptionTruth[];
}

export interface WorldManifest {
  generator: 'exp demo.world';
  format: 1;
  seed: number;
  /** The options the world was drawn from (how many videos were encoded at once is left out: it changes nothing). */
  options: Omit<WorldOptions, 'concurrency'>;
  classes: string[];
  neutral_verbs: string[];
  screenplays: {
    dir: string;
    files: {
      file: string;
      title: string;
      elements: number;
      action_directions: ScreenplayTruth['actionDirections'];
      neutral_directions: number;
      lines: ScreenplayTruth['lines'];
    }[];
  };
  movies: MovieManifest[];
  ava: {
    dir: string;
    train_csv: string;
    val_csv: string;
    action_list: string;
    classes: { id: number; name: string; verb?: string }[];
    videos: { id: string; split: 'train' | 'val'; file: string; seconds: number; keyframes: number }[];
    rows: { train: number; val: number };
  };
  hmdb51: { dir: string; classes: { name: string; videos: number }[]; splits: string };
}

export interface GenerateHooks {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, label: string) => void;
}

/** Runs jobs with at most `limit` in flight, in order of start; rejects on the first failure. */
async function runLimited(
  jobs: (() => Promise<unknown>)[],
  limit: number,
  signal?: AbortSignal,
  onDone?: (n: number) => void,
): Promise<void> {
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < jobs.length) {
      signal?.throwIfAborted();
      const job = jobs[next++]!;
      await job();
      onDone?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, jobs.length)) }, worker));
}

const COUNTS: readonly (keyof WorldOptions)[] = [
  'screenplays',
  'elementsPerScript',
  'movies',
  'movieSeconds',
  'fps',
  'avaKeyframes',
  'avaVideoSeconds',
  'hmdbPerClass',
  'hmdbSeconds',
  'concurrency',
];
const PROBABILITIES: readonly (keyof WorldOptions)[] = [
  'pGenericLine',
  'pAmbiguous',
  'pPolysemous',
  'pHeldOut',
  'pActionBeat',
  'pActionEvent',
  'pActionOnScreen',
  'pActionInWindow',
];

/** Throws EXP_PARAMS_INVALID naming the first option a world cannot be built from. */
export function validateWorldOptions(o: WorldOptions): void {
  const bad = (key: string, what: string, got: unknown) =>
    new ExpError('EXP_PARAMS_INVALID', `demo.world: ${key} must be ${what} (got ${JSON.stringify(got)})`, {
      hint: `fix \`${key}\` in the stage's \`with:\``,
      detail: { key },
    });
  if (!Number.isInteger(o.seed) || o.seed < 0) throw bad('seed', 'a non-negative integer', o.seed);
  for (const k of COUNTS) if (!Number.isInteger(o[k]) || (o[k] as number) < 1) throw bad(k, 'a positive integer', o[k]);
  for (const k of PROBABILITIES)
    if (typeof o[k] !== 'number' || !((o[k] as number) >= 0 && (o[k] as number) <= 1))
      throw bad(k, 'a probability in [0, 1]', o[k]);
  for (const k of ['width', 'height'] as const)
    if (!Number.isInteger(o[k]) || o[k] < 32 || o[k] % 2 !== 0)
      throw bad(k, 'an even integer of at least 32 pixels', o[k]);
  if (o.pGenericLine + o.pAmbiguous > 1)
    throw bad('pGenericLine + pAmbiguous', 'at most 1', o.pGenericLine + o.pAmbiguous);
  if (o.avaVideoSeconds < 8) throw bad('avaVideoSeconds', 'at least 8 (one keyframe per 4 s)', o.avaVideoSeconds);
  if (o.movieSeconds < 20) throw bad('movieSeconds', 'at least 20', o.movieSeconds);
  if (o.hmdbPerClass < 3) throw bad('hmdbPerClass', 'at least 3 (train and test in every split)', o.hmdbPerClass);
  if (!(o.actionSeconds > 0) || !(o.outOfWindowSeconds > 0))
    throw bad('actionSeconds / outOfWindowSeconds', 'positive', [o.actionSeconds, o.outOfWindowSeconds]);
  if (o.hmdbExt !== 'avi' && o.hmdbExt !== 'mp4') throw bad('hmdbExt', '"avi" or "mp4"', o.hmdbExt);
  if (!Array.isArray(o.parts) || o.parts.some((x) => !(WORLD_PARTS as readonly string[]).includes(x)))
    throw bad('parts', `a list of ${WORLD_PARTS.join(', ')}`, o.parts);
}

export function worldPaths(root: string): WorldPaths {
  return {
    root,
    screenplays: path.join(root, 'screenplays'),
    movies: path.join(root, 'movies'),
    ava: path.join(root, 'ava'),
    hmdb51: path.join(root, 'hmdb51'),
    manifest: path.join(root, 'manifest.json'),
  };
}

/**
 * Writes the world under `root` (created if missing). Same options → byte-identical text files
 * and manifest (video bytes depend only on the encoder's determinism).
 */
export async function generateWorld(
  root: string,
  options: Partial<WorldOptions>,
  encodeVideo: EncodeVideo,
  hooks: GenerateHooks = {},
): Promise<{ paths: WorldPaths; manifest: WorldManifest }> {
  const o: WorldOptions = { ...DEFAULT_WORLD, ...options };
  validateWorldOptions(o);
  const p = worldPaths(root);
  const rng = new Rng(o.seed);
  const noise: DialogueNoise = { pGeneric: o.pGenericLine, pAmbiguous: o.pAmbiguous, pHeldOut: o.pHeldOut };
  const want = new Set<WorldPart>(o.parts);
  const dirs: Record<WorldPart, string> = {
    screenplays: p.screenplays,
    movies: p.movies,
    ava: path.join(p.ava, 'videos'),
    hmdb51: path.join(p.hmdb51, 'splits'),
  };
  await Promise.all(WORLD_PARTS.filter((part) => want.has(part)).map((part) => mkdir(dirs[part], { recursive: true })));

  // Screenplays: each from its own stream, so that changing the count keeps the others.
  const spRng = rng.fork('screenplays');
  const scripts: WorldManifest['screenplays']['files'] = [];
  for (let i = 0; i < (want.has('screenplays') ? o.screenplays : 0); i++) {
    const sp = generateScreenplay(spRng.fork(`script-${i}`), {
      elements: o.elementsPerScript,
      noise,
      pPolysemous: o.pPolysemous,
      pActionBeat: o.pActionBeat,
    });
    const file = `demo-${String(i + 1).padStart(3, '0')}-${sp.title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.txt`;
    await writeFile(path.join(p.screenplays, file), sp.text);
    const t = sp.truth;
    scripts.push({
      file: `screenplays/${file}`,
      title: sp.title,
      elements: t.elements,
      action_directions: t.actionDirections,
      neutral_directions: t.neutralDirections,
      lines: t.lines,
    });
  }

  const videoJobs: { plan: VideoPlan; out: string; seed: Rng }[] = [];

  const mvRng = rng.fork('movies');
  const movies: MovieManifest[] = [];
  for (let i = 0; i < (want.has('movies') ? o.movies : 0); i++) {
    const r = mvRng.fork(`movie-${i}`);
    const plan = planMovie(r, {
      seconds: o.movieSeconds,
      width: o.width,
      height: o.height,
      fps: o.fps,
      noise,
      pPolysemous: o.pPolysemous,
      pActionEvent: o.pActionEvent,
      pActionOnScreen: o.pActionOnScreen,
      pActionInWindow: o.pActionInWindow,
      actionSeconds: o.actionSeconds,
      outOfWindowSeconds: o.outOfWindowSeconds,
      slotSeconds: [3.5, 6],
    });
    const id = `demo_movie_${String(i + 1).padStart(2, '0')}`;
    await writeFile(path.join(p.movies, `${id}.srt`), formatSrt(plan.cues));
    videoJobs.push({ plan: plan.video, out: path.join(p.movies, `${id}.mp4`), seed: r.fork('render') });
    movies.push({
      id,
      video: `movies/${id}.mp4`,
      subtitles: `movies/${id}.srt`,
      seconds: o.movieSeconds,
      captions: plan.truth,
    });
  }

  const avaRng = rng.fork('ava');
  const ava = want.has('ava')
    ? planAva(avaRng, {
        keyframes: o.avaKeyframes,
        videoSeconds: o.avaVideoSeconds,
        segmentSeconds: 4,
        valShare: 0.3,
        width: o.width,
        height: o.height,
        fps: o.fps,
      })
    : [];
  const trainRows = ava.filter((v) => v.split === 'train').flatMap((v) => v.rows);
  const valRows = ava.filter((v) => v.split === 'val').flatMap((v) => v.rows);
  if (want.has('ava')) {
    await writeFile(path.join(p.ava, 'ava_train.csv'), formatAvaCsv(trainRows));
    await writeFile(path.join(p.ava, 'ava_val.csv'), formatAvaCsv(valRows));
    await writeFile(path.join(p.ava, 'action_list.pbtxt'), formatActionList(AVA_CLASSES));
  }
  for (const v of ava)
    videoJobs.push({
      plan: v.plan,
      out: path.join(p.ava, 'videos', `${v.id}.mp4`),
      seed: avaRng.fork(`render-${v.id}`),
    });

  const hmRng = rng.fork('hmdb51');
  const hmdb = want.has('hmdb51')
    ? planHmdb(hmRng, {
        perClass: o.hmdbPerClass,
        seconds: o.hmdbSeconds,
        width: o.width,
        height: o.height,
        fps: o.fps,
        ext: o.hmdbExt,
      })
    : [];
  for (const c of want.has('hmdb51') ? HMDB_CLASSES : []) {
    const files = hmdb.filter((h) => h.className === c.name).map((h) => h.file);
    await mkdir(path.join(p.hmdb51, c.name), { recursive: true });
    const splits = formatSplits(hmRng.fork(`splits-${c.name}`), files);
    for (let s = 0; s < 3; s++)
      await writeFile(path.join(p.hmdb51, 'splits', `${c.name}_test_split${s + 1}.txt`), splits[s]!);
  }
  for (const h of hmdb)
    videoJobs.push({
      plan: h.plan,
      out: path.join(p.hmdb51, h.className, h.file),
      seed: hmRng.fork(`render-${h.file}`),
    });

  const { concurrency: _concurrency, ...worldOnly } = o;
  const manifest: WorldManifest = {
    generator: 'exp demo.world',
    format: 1,
    seed: o.seed,
    options: worldOnly,
    classes: [...ACTION_CLASSES],
    neutral_verbs: [...NEUTRAL_VERBS],
    screenplays: { dir: 'screenplays', files: scripts },
    movies,
    ava: {
      dir: 'ava',
      train_csv: 'ava/ava_train.csv',
      val_csv: 'ava/ava_val.csv',
      action_list: 'ava/action_list.pbtxt',
      classes: AVA_CLASSES.map((c) => (c.verb ? { id: c.id, name: c.name, verb: c.verb } : { id: c.id, name: c.name })),
      videos: ava.map((v) => ({
        id: v.id,
        split: v.split,
        file: `ava/videos/${v.id}.mp4`,
        seconds: v.plan.seconds,
        keyframes: new Set(v.rows.map((r) => r.timestamp)).size,
      })),
      rows: { train: trainRows.length, val: valRows.length },
    },
    hmdb51: {
      dir: 'hmdb51',
      classes: want.has('hmdb51') ? HMDB_CLASSES.map((c) => ({ name: c.name, videos: o.hmdbPerClass })) : [],
      splits: 'hmdb51/splits',
    },
  };

  const total = videoJobs.length;
  hooks.onProgress?.(0, total, 'videos');
  await runLimited(
    videoJobs.map(
      (j) => () =>
        encodeVideo(renderFrames(j.plan, j.seed), {
          width: j.plan.width,
          height: j.plan.height,
          fps: j.plan.fps,
          outPath: j.out,
          signal: hooks.signal,
        }),
    ),
    o.concurrency,
    hooks.signal,
    (n) => hooks.onProgress?.(n, total, 'videos'),
  );
  await writeFile(p.manifest, `${JSON.stringify(manifest, null, 1)}\n`);
  return { paths: p, manifest };
}
