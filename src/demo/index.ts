// The demo world generator (issue 8): a synthetic, seeded stand-in for IMSDb screenplays, movies
// with subtitles, AVA and HMDB51, written in the real formats so the pipeline reads it as real data.
export { generateWorld, validateWorldOptions, worldPaths, DEFAULT_WORLD, WORLD_PARTS } from './world.ts';
export type { GenerateHooks, MovieManifest, WorldManifest, WorldOptions, WorldPart, WorldPaths } from './world.ts';
export type { CaptionTruth } from './movies.ts';
export type { EncodeVideo, EncodeVideoOptions } from './render.ts';
export { AVA_CLASSES } from './ava.ts';
export { HMDB_CLASSES } from './hmdb.ts';
export { ACTION_CLASSES, NEUTRAL_VERBS, allForms, CLASS_VERBS } from './verbs.ts';
export type { ActionClass, NeutralVerb } from './verbs.ts';
