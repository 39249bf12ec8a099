// Stage `demo.world`: writes the synthetic world of `make demo` (issue 8) into the node's folder.
// The world lives in `world/` because the store writes its own manifest.json at the node's root.
// Outputs are paths relative to the node's folder (CONTRACTS: consumers join them with
// input.dir): the folder is renamed into the store after run() resolves, so absolute paths into
// ctx.outDir would dangle.
import path from 'node:path';
import { DEFAULT_WORLD, generateWorld, WORLD_PARTS, type WorldOptions, type WorldPart } from '../demo/index.ts';
import type { JsonSchema, StageKind } from '../plan/stage-kind.ts';

export interface DemoWorldParams {
  seed: number;
  parts: WorldPart[];
  screenplays: number;
  elements_per_script: number;
  movies: number;
  movie_seconds: number;
  width: number;
  height: number;
  fps: number;
  ava_keyframes: number;
  ava_video_seconds: number;
  hmdb_per_class: number;
  hmdb_seconds: number;
  p_generic_line: number;
  p_ambiguous: number;
  p_polysemous: number;
  p_held_out: number;
  p_action_beat: number;
  p_action_event: number;
  p_action_on_screen: number;
  p_action_in_window: number;
  action_seconds: number;
  out_of_window_seconds: number;
}

const D = DEFAULT_WORLD;
const int = (description: string, def: number, minimum: number, maximum: number) => ({
  type: 'integer',
  description,
  default: def,
  minimum,
  maximum,
});
const prob = (description: string, def: number) => ({
  type: 'number',
  description,
  default: def,
  minimum: 0,
  maximum: 1,
});

const paramsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    parts: {
      type: 'array',
      items: { enum: [...WORLD_PARTS] },
      uniqueItems: true,
      default: [...WORLD_PARTS],
      description:
        "Which data sets to make. Set by the loader to what the spec's stages take from this stage (a stage whose data param points at real data takes nothing from the world).",
    },
    seed: int(
      'Seed of the world: the same seed and sizes give the same screenplays, subtitles, labels and manifest.',
      D.seed,
      0,
      2 ** 31 - 1,
    ),
    screenplays: int('Number of screenplays (IMSDb text layout).', D.screenplays, 1, 100_000),
    elements_per_script: int(
      'Elements per screenplay (scene headings, action paragraphs, dialogue blocks, transitions).',
      D.elementsPerScript,
      20,
      100_000,
    ),
    movies: int('Number of unlabelled movies (mp4 + sidecar .srt) to mine clips from.', D.movies, 1, 10_000),
    movie_seconds: int('Length of each unlabelled movie, seconds.', D.movieSeconds, 20, 36_000),
    width: {
      type: 'integer',
      description: 'Frame width of every video, pixels (even).',
      default: D.width,
      minimum: 32,
      maximum: 1920,
      multipleOf: 2,
    },
    height: {
      type: 'integer',
      description: 'Frame height of every video, pixels (even).',
      default: D.height,
      minimum: 32,
      maximum: 1080,
      multipleOf: 2,
    },
    fps: int('Frame rate of every video.', D.fps, 1, 60),
    ava_keyframes: int(
      'Keyframes (person boxes at integer seconds) in the AVA-style set, train and val together.',
      D.avaKeyframes,
      2,
      1_000_000,
    ),
    ava_video_seconds: int(
      'Length of each AVA-style video, seconds (one keyframe per 4 s).',
      D.avaVideoSeconds,
      8,
      36_000,
    ),
    hmdb_per_class: int('Clips per class in the HMDB51-style set.', D.hmdbPerClass, 3, 10_000),
    hmdb_seconds: int('Length of each HMDB51-style clip, seconds.', D.hmdbSeconds, 1, 600),
    p_generic_line: prob(
      'Probability that a line spoken next to an action is generic (says nothing about it).',
      D.pGenericLine,
    ),
    p_ambiguous: prob(
      'Probability that a line next to an action is shared with another action ("I love you": kiss or hug).',
      D.pAmbiguous,
    ),
    p_polysemous: prob(
      'Probability that a line away from any action uses an action verb in another sense ("you missed the point").',
      D.pPolysemous,
    ),
    p_held_out: prob('Share of subtitle lines drawn from wordings never used in the screenplays.', D.pHeldOut),
    p_action_beat: prob('Share of screenplay beats built around one of the 18 actions.', D.pActionBeat),
    p_action_event: prob('Share of subtitle slots that go with an action.', D.pActionEvent),
    p_action_on_screen: prob(
      'Probability that the action of such a subtitle is shown at all (else off screen).',
      D.pActionOnScreen,
    ),
    p_action_in_window: prob(
      'Probability that a shown action overlaps its subtitle (else it happens out of the window).',
      D.pActionInWindow,
    ),
    action_seconds: {
      type: 'number',
      description: 'Length of a shown action, seconds.',
      default: D.actionSeconds,
      minimum: 0.5,
      maximum: 30,
    },
    out_of_window_seconds: {
      type: 'number',
      description: 'Distance from a subtitle to an out-of-window action, seconds (at least).',
      default: D.outOfWindowSeconds,
      minimum: 2,
      maximum: 120,
    },
  },
};

export function worldOptions(p: DemoWorldParams): WorldOptions {
  return {
    ...D,
    seed: p.seed,
    parts: p.parts ?? WORLD_PARTS,
    screenplays: p.screenplays,
    elementsPerScript: p.elements_per_script,
    movies: p.movies,
    movieSeconds: p.movie_seconds,
    width: p.width,
    height: p.height,
    fps: p.fps,
    avaKeyframes: p.ava_keyframes,
    avaVideoSeconds: p.ava_video_seconds,
    hmdbPerClass: p.hmdb_per_class,
    hmdbSeconds: p.hmdb_seconds,
    pGenericLine: p.p_generic_line,
    pAmbiguous: p.p_ambiguous,
    pPolysemous: p.p_polysemous,
    pHeldOut: p.p_held_out,
    pActionBeat: p.p_action_beat,
    pActionEvent: p.p_action_event,
    pActionOnScreen: p.p_action_on_screen,
    pActionInWindow: p.p_action_in_window,
    actionSeconds: p.action_seconds,
    outOfWindowSeconds: p.out_of_window_seconds,
  };
}

export const kind: StageKind<DemoWorldParams> = {
  name: 'demo.world',
  version: '1',
  description: 'Synthetic world for the demo: screenplays, movies with subtitles, AVA- and HMDB51-style labelled sets',
  paramsSchema,
  produces: [...WORLD_PARTS],
  partsParam: 'parts',
  // ffmpeg encodes two videos at once beside the JavaScript that draws their frames.
  resources: { cpus: 2, memoryMb: 512 },
  runIn: 'inline',
  async run(ctx) {
    // The ffmpeg module loads when the node runs, not when the CLI starts.
    const { encodeRawVideo } = await import('../video/ffmpeg.ts');
    const root = path.join(ctx.outDir, 'world');
    const started = Date.now();
    const { manifest } = await generateWorld(root, { ...worldOptions(ctx.params), concurrency: 2 }, encodeRawVideo, {
      signal: ctx.signal,
      onProgress: (done, total, label) => ctx.progress(done, total, label),
    });
    const captions = manifest.movies.reduce((n, m) => n + m.captions.length, 0);
    ctx.metric('demo.screenplays', manifest.screenplays.files.length);
    ctx.metric('demo.movies', manifest.movies.length);
    ctx.metric('demo.captions', captions);
    ctx.metric('demo.ava_rows', manifest.ava.rows.train + manifest.ava.rows.val);
    const made = new Set<string>(ctx.params.parts ?? WORLD_PARTS);
    ctx.log(`parts: ${[...made].join(', ') || 'none'}`);
    ctx.log(
      `world written in ${((Date.now() - started) / 1000).toFixed(1)} s: ${manifest.screenplays.files.length} screenplays, ${manifest.movies.length} movies (${captions} captions), ${manifest.ava.videos.length} AVA videos, ${manifest.hmdb51.classes.length} HMDB51 classes`,
    );
    ctx.artifact('world/manifest.json');
    return {
      outputs: {
        ...(made.has('screenplays') ? { screenplays: 'world/screenplays' } : {}),
        ...(made.has('movies') ? { movies: 'world/movies' } : {}),
        ...(made.has('ava') ? { ava: 'world/ava' } : {}),
        ...(made.has('hmdb51') ? { hmdb51: 'world/hmdb51' } : {}),
        manifest: 'world/manifest.json',
        counts: {
          screenplays: manifest.screenplays.files.length,
          movies: manifest.movies.length,
          captions,
          ava_videos: manifest.ava.videos.length,
        },
      },
    };
  },
};
