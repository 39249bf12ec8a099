// AVA (Gu et al. 2018) repurposed as the paper does (§5.2, Table 4): each annotated keyframe is a
// clip centred on it, whose label set is the union of the action labels of its person boxes; a
// clip classifier is scored per class by average precision over those clips. This clip-level AP
// ("video.ava_clip_ap.<class>", mean "video.ava_clip_map") is NOT AVA's official frame-level
// detection mAP (boxes matched at IoU 0.5), which is out of scope.
import { readFile } from 'node:fs/promises';
import { ExpError } from '../../errors.ts';
import { averagePrecision, meanOfFinite } from '../../ml/metrics.ts';

/** One row of an AVA annotation CSV (official 8 columns, or 7 without person_id). */
export interface AvaBox {
  videoId: string;
  /** Seconds from the start of the video (AVA keyframes are 1 s apart). */
  timestamp: number;
  box: [number, number, number, number];
  actionId: number;
  personId?: number;
  /** Detection score, in prediction files (the 8th column there). */
  score?: number;
}

export interface AvaKeyframe {
  videoId: string;
  timestamp: number;
  actionIds: number[];
}

/**
 * The 14 classes of the paper's Table 4 and the AVA v2.2 action ids they stand for (names as in
 * ava_action_list_v2.2.pbtxt; a test checks them). Where AVA splits a verb by its object, both
 * are taken: hit = "hit (an object)" + "fight/hit (a person)", push = "push (an object)" +
 * "push (another person)". "phone" is "answer phone" (the speech verb is calling, not texting).
 */
export const AVA_TABLE4_CLASSES: ReadonlyArray<{
  name: string;
  avaIds: readonly number[];
  avaNames: readonly string[];
}> = [
  { name: 'drive', avaIds: [28], avaNames: ['drive (e.g., a car, a truck)'] },
  { name: 'phone', avaIds: [15], avaNames: ['answer phone'] },
  { name: 'kiss', avaIds: [72], avaNames: ['kiss (a person)'] },
  { name: 'dance', avaIds: [4], avaNames: ['dance'] },
  { name: 'eat', avaIds: [29], avaNames: ['eat'] },
  { name: 'drink', avaIds: [27], avaNames: ['drink'] },
  { name: 'run', avaIds: [10], avaNames: ['run/jog'] },
  { name: 'point', avaIds: [43], avaNames: ['point to (an object)'] },
  { name: 'open', avaIds: [38], avaNames: ['open (e.g., a window, a car door)'] },
  { name: 'hit', avaIds: [34, 64], avaNames: ['hit (an object)', 'fight/hit (a person)'] },
  { name: 'shoot', avaIds: [52], avaNames: ['shoot'] },
  { name: 'push', avaIds: [46, 76], avaNames: ['push (an object)', 'push (another person)'] },
  { name: 'hug', avaIds: [70], avaNames: ['hug (a person)'] },
  { name: 'enter', avaIds: [30], avaNames: ['enter'] },
];

export const AVA_TABLE4_NAMES: readonly string[] = AVA_TABLE4_CLASSES.map((c) => c.name);

/** Parse a label map: `label { name: ".." label_id: N }` (v2.2) or `item { name: ".." id: N }`. */
export function parseAvaLabelMap(text: string, file = '<pbtxt>'): Map<number, string> {
  const out = new Map<number, string>();
  const blocks = text.match(/\b(?:label|item)\s*\{[^}]*\}/g) ?? [];
  for (const b of blocks) {
    const name = /name:\s*"([^"]*)"/.exec(b)?.[1];
    const id = /\b(?:label_id|id):\s*(\d+)/.exec(b)?.[1];
    if (name !== undefined && id !== undefined) out.set(Number(id), name);
  }
  if (out.size === 0)
    throw new ExpError('EXP_DATA_INVALID', `${file}: no label { name, label_id } or item { name, id } entries`, {
      hint: 'give an AVA .pbtxt action list',
      detail: { file },
    });
  return out;
}

/**
 * Parse AVA rows `video_id,timestamp,x1,y1,x2,y2,action_id[,person_id|score]`. A malformed row
 * is skipped with a warning naming file and line.
 */
export function parseAvaCsv(
  text: string,
  file = '<csv>',
  warn: (m: string) => void = () => undefined,
  lastColumn: 'person' | 'score' = 'person',
): AvaBox[] {
  const out: AvaBox[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const f = line.split(',').map((s) => s.trim());
    const nums = f.slice(1).map(Number);
    const ok =
      (f.length === 7 || f.length === 8) && f[0] && nums.every((v) => Number.isFinite(v)) && Number.isInteger(nums[5]);
    if (!ok) {
      // A header line is not worth a warning.
      if (i === 0 && /video/i.test(line)) return;
      warn(`${file}:${i + 1}: skipping malformed AVA row "${line.slice(0, 80)}"`);
      return;
    }
    const box: AvaBox = {
      videoId: f[0]!,
      timestamp: nums[0]!,
      box: [nums[1]!, nums[2]!, nums[3]!, nums[4]!],
      actionId: nums[5]!,
    };
    if (f.length === 8) {
      if (lastColumn === 'score') box.score = nums[6]!;
      else box.personId = nums[6]!;
    }
    out.push(box);
  });
  return out;
}

export async function readAvaCsv(
  file: string,
  warn?: (m: string) => void,
  lastColumn: 'person' | 'score' = 'person',
): Promise<AvaBox[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ExpError('EXP_INPUT_MISSING', `cannot read AVA annotations ${file}`, { cause: e, detail: { file } });
  }
  return parseAvaCsv(text, file, warn, lastColumn);
}

/** Group boxes into keyframes (video, second): the label set is the union of its boxes' labels. */
export function avaKeyframes(boxes: readonly AvaBox[]): AvaKeyframe[] {
  const map = new Map<string, AvaKeyframe>();
  for (const b of boxes) {
    const key = `${b.videoId}\u0000${b.timestamp}`;
    let k = map.get(key);
    if (!k) map.set(key, (k = { videoId: b.videoId, timestamp: b.timestamp, actionIds: [] }));
    if (!k.actionIds.includes(b.actionId)) k.actionIds.push(b.actionId);
  }
  return [...map.values()].sort((a, b) =>
    a.videoId < b.videoId ? -1 : a.videoId > b.videoId ? 1 : a.timestamp - b.timestamp,
  );
}

/** The Table-4 classes a keyframe carries. */
export function table4Labels(actionIds: readonly number[]): string[] {
  return AVA_TABLE4_CLASSES.filter((c) => c.avaIds.some((id) => actionIds.includes(id))).map((c) => c.name);
}

/** Clip id of a keyframe, stable and filesystem-safe. */
export function keyframeClipId(k: { videoId: string; timestamp: number }): string {
  return `${k.videoId}@${k.timestamp}`;
}

/** Clip window centred on the keyframe (seconds). */
export function keyframeWindow(timestamp: number, clipSeconds: number): { start: number; end: number } {
  return { start: Math.max(0, timestamp - clipSeconds / 2), end: timestamp + clipSeconds / 2 };
}

export interface ClassAp {
  class: string;
  ap: number;
  positives: number;
  clips: number;
}

/**
 * Per-class AP over clips: `scores[i][c]` is clip i's score for class c, `labels[i]` its label
 * set. A class with no positive clip gets AP NaN (left out of the mean).
 */
export function clipLevelAp(
  classes: readonly string[],
  scores: ArrayLike<number>[],
  labels: readonly (readonly string[])[],
): { perClass: ClassAp[]; mean: number } {
  const perClass = classes.map((c, j) => {
    const s = scores.map((row) => row[j]!);
    const y = labels.map((ls) => ls.includes(c));
    return { class: c, ap: averagePrecision(s, y), positives: y.filter(Boolean).length, clips: y.length };
  });
  return { perClass, mean: meanOfFinite(perClass.map((p) => p.ap)) };
}

/**
 * Clip-level AP of box detections: per keyframe, a class's score is its highest-scoring box
 * there (0 when none); the keyframe is positive when any ground-truth box carries the class.
 * Keyframes are those of the ground truth. `classes` are AVA action ids.
 */
export function clipLevelApFromBoxes(
  gt: readonly AvaBox[],
  pred: readonly AvaBox[],
  classes: readonly number[],
): { perClass: ClassAp[]; mean: number } {
  const frames = avaKeyframes(gt);
  const best = new Map<string, Map<number, number>>();
  for (const p of pred) {
    const key = keyframeClipId(p);
    let m = best.get(key);
    if (!m) best.set(key, (m = new Map()));
    m.set(p.actionId, Math.max(m.get(p.actionId) ?? -Infinity, p.score ?? 0));
  }
  const names = classes.map(String);
  const scores = frames.map((f) => classes.map((c) => best.get(keyframeClipId(f))?.get(c) ?? 0));
  const labels = frames.map((f) => f.actionIds.map(String));
  return clipLevelAp(names, scores, labels);
}
