// A labelled evaluation set in AVA's formats (Gu et al. 2018): keyframes at integer seconds, one
// row per (person box, action) with normalised boxes, the official action ids and names, and an
// action list .pbtxt. The actions present are the world's classes that AVA has, the person-pose
// classes, and a long tail of rare classes, as in the real data set's skewed distribution.
import type { ActionInterval, VideoPlan } from './render.ts';
import type { Rng } from './rng.ts';
import { actorBox, drawPlacement, type SignatureKind } from './signatures.ts';
import type { ActionClass } from './verbs.ts';

export interface AvaClass {
  id: number;
  /** The official AVA v2.2 name. */
  name: string;
  /** How it is drawn. */
  draw: SignatureKind;
  /** The mined verb class it corresponds to (§4.3: the paper evaluates the overlapping classes). */
  verb?: ActionClass;
  /** Relative frequency as a keyframe's main action. */
  weight: number;
}

/** Official AVA v2.2 ids and names (ava_action_list_v2.2.pbtxt). */
export const AVA_CLASSES: readonly AvaClass[] = [
  { id: 15, name: 'answer phone', draw: 'phone', verb: 'phone', weight: 8 },
  { id: 38, name: 'open (e.g., a window, a car door)', draw: 'open', verb: 'open', weight: 7 },
  { id: 72, name: 'kiss (a person)', draw: 'kiss', verb: 'kiss', weight: 5 },
  { id: 70, name: 'hug (a person)', draw: 'hug', verb: 'hug', weight: 6 },
  { id: 46, name: 'push (an object)', draw: 'push', verb: 'push', weight: 4 },
  { id: 43, name: 'point to (an object)', draw: 'point', verb: 'point', weight: 5 },
  { id: 4, name: 'dance', draw: 'dance', verb: 'dance', weight: 5 },
  { id: 27, name: 'drink', draw: 'drink', verb: 'drink', weight: 7 },
  { id: 10, name: 'run/jog', draw: 'run', verb: 'run', weight: 6 },
  { id: 23, name: 'cook', draw: 'cook', verb: 'cook', weight: 3 },
  { id: 52, name: 'shoot', draw: 'shoot', verb: 'shoot', weight: 4 },
  { id: 28, name: 'drive (e.g., a car, a truck)', draw: 'drive', verb: 'drive', weight: 6 },
  { id: 30, name: 'enter', draw: 'enter', verb: 'enter', weight: 5 },
  { id: 5, name: 'fall down', draw: 'fall', verb: 'fall', weight: 3 },
  { id: 34, name: 'hit (an object)', draw: 'hit', verb: 'hit', weight: 4 },
  { id: 29, name: 'eat', draw: 'eat', verb: 'eat', weight: 6 },
  { id: 11, name: 'sit', draw: 'sit', weight: 10 },
  { id: 12, name: 'stand', draw: 'stand', weight: 12 },
  { id: 14, name: 'walk', draw: 'walk', weight: 8 },
  // The long tail: rare classes none of the mined verbs covers.
  { id: 17, name: 'carry/hold (an object)', draw: 'misc', weight: 2 },
  { id: 79, name: 'talk to (e.g., self, a person, a group)', draw: 'misc', weight: 2 },
  { id: 48, name: 'read', draw: 'misc', weight: 1 },
  { id: 54, name: 'smoke', draw: 'misc', weight: 1 },
  { id: 58, name: 'throw', draw: 'misc', weight: 0.6 },
  { id: 63, name: 'write', draw: 'misc', weight: 0.5 },
  { id: 22, name: 'close (e.g., a door, a box)', draw: 'misc', weight: 0.5 },
  { id: 68, name: 'hand shake', draw: 'misc', weight: 0.4 },
  { id: 69, name: 'hand wave', draw: 'misc', weight: 0.3 },
  { id: 7, name: 'jump/leap', draw: 'misc', weight: 0.2 },
  { id: 8, name: 'lie/sleep', draw: 'misc', weight: 0.2 },
  { id: 2, name: 'crawl', draw: 'misc', weight: 0.1 },
  { id: 13, name: 'swim', draw: 'misc', weight: 0.1 },
];

const POSE_IDS = [11, 12, 14];
const TALK_ID = 79;

export interface AvaRow {
  video_id: string;
  timestamp: number;
  box: [number, number, number, number];
  action_id: number;
  person_id: number;
}

export interface AvaVideoPlan {
  id: string;
  split: 'train' | 'val';
  plan: VideoPlan;
  rows: AvaRow[];
}

export interface AvaOptions {
  keyframes: number;
  /** Length of one AVA video, seconds. */
  videoSeconds: number;
  /** Seconds between keyframes; each keyframe's action fills its segment. */
  segmentSeconds: number;
  valShare: number;
  width: number;
  height: number;
  fps: number;
}

const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** An 11-character id like a YouTube video id (AVA's video ids). */
function videoId(rng: Rng, taken: Set<string>): string {
  for (;;) {
    let id = '';
    for (let i = 0; i < 11; i++) id += ID_CHARS[rng.int(0, ID_CHARS.length - 1)];
    if (!taken.has(id)) {
      taken.add(id);
      return id;
    }
  }
}

export function planAva(rng: Rng, o: AvaOptions): AvaVideoPlan[] {
  const perVideo = Math.max(1, Math.floor(o.videoSeconds / o.segmentSeconds));
  const nVideos = Math.max(2, Math.ceil(o.keyframes / perVideo));
  const nVal = Math.max(1, Math.round(nVideos * o.valShare));
  const weights = AVA_CLASSES.map((c) => c.weight);
  const taken = new Set<string>();
  const videos: AvaVideoPlan[] = [];
  let left = o.keyframes;
  for (let v = 0; v < nVideos; v++) {
    const id = videoId(rng, taken);
    const n = Math.min(perVideo, Math.max(1, Math.ceil(left / (nVideos - v))));
    left -= n;
    const actions: ActionInterval[] = [];
    const rows: AvaRow[] = [];
    for (let k = 0; k < n; k++) {
      const cls = AVA_CLASSES[rng.weighted(weights)]!;
      const start = k * o.segmentSeconds;
      const timestamp = Math.round(start + o.segmentSeconds / 2);
      const place = drawPlacement(rng, o.width, o.height);
      actions.push({ kind: cls.draw, start: start + 0.1, end: start + o.segmentSeconds - 0.1, place });
      const [x1, y1, x2, y2] = actorBox(place, o.width, o.height);
      const box: AvaRow['box'] = [x1 / o.width, y1 / o.height, x2 / o.width, y2 / o.height];
      const person = k % 3;
      const ids = [cls.id];
      // AVA labels a person's pose and interactions besides the main action.
      if (!POSE_IDS.includes(cls.id) && rng.chance(0.5)) ids.push(rng.chance(0.7) ? 12 : 11);
      if (cls.id !== TALK_ID && rng.chance(0.2)) ids.push(TALK_ID);
      for (const action_id of ids.sort((a, b) => a - b))
        rows.push({ video_id: id, timestamp, box, action_id, person_id: person });
    }
    videos.push({
      id,
      split: v < nVideos - nVal ? 'train' : 'val',
      plan: {
        width: o.width,
        height: o.height,
        fps: o.fps,
        seconds: n * o.segmentSeconds,
        actions,
        drift: rng.chance(0.4),
      },
      rows,
    });
  }
  return videos;
}

/** AVA CSV: `video_id,timestamp,x1,y1,x2,y2,action_id,person_id`, timestamps 4-digit like the official files. */
export function formatAvaCsv(rows: readonly AvaRow[]): string {
  return `${rows
    .map((r) =>
      [
        r.video_id,
        String(r.timestamp).padStart(4, '0'),
        ...r.box.map((x) => x.toFixed(3)),
        r.action_id,
        r.person_id,
      ].join(','),
    )
    .join('\n')}\n`;
}

/** The action list in the ActivityNet-2019 pbtxt form: `item { name: "..." id: N }`. */
export function formatActionList(classes: readonly AvaClass[]): string {
  return [...classes]
    .sort((a, b) => a.id - b.id)
    .map((c) => `item {\n  name: "${c.name}"\n  id: ${c.id}\n}\n`)
    .join('');
}
