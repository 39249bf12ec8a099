// An unlabelled movie: a timeline of captions and of the actions they go with. An action event is
// a caption near which the action happens, with the paper's failure modes (§4.2, Fig. 5): the
// action may not be shown at all (off screen) or happen outside the window around the caption.
import {
  type DialogueNoise,
  genericLine,
  lineNearAction,
  type LineKind,
  polysemousLine,
  type SpokenLine,
} from './dialogue.ts';
import type { ActionInterval, VideoPlan } from './render.ts';
import type { Rng } from './rng.ts';
import { drawPlacement } from './signatures.ts';
import type { SrtCue } from './srt.ts';
import { ACTION_CLASSES, type ActionClass, NEUTRAL_VERBS } from './verbs.ts';

export interface MovieOptions {
  seconds: number;
  width: number;
  height: number;
  fps: number;
  noise: DialogueNoise;
  /** Probability that a caption away from any action uses an action verb in another sense. */
  pPolysemous: number;
  /** Share of caption slots that go with an action. */
  pActionEvent: number;
  /** Probability that an action event's action is shown at all. */
  pActionOnScreen: number;
  /** Probability that a shown action overlaps the caption (else it happens out of the window). */
  pActionInWindow: number;
  /** Length of a shown action, seconds. */
  actionSeconds: number;
  /** Distance from the caption to an out-of-window action's centre, seconds (at least). */
  outOfWindowSeconds: number;
  /** Gap between caption slots, seconds [min, max]. */
  slotSeconds: [number, number];
}

/** The truth about one caption of a movie (manifest.json). */
export interface CaptionTruth {
  /** 1-based cue number in the .srt. */
  index: number;
  start: number;
  end: number;
  text: string;
  kind: LineKind;
  /** The action happening around this caption (null: none), whatever the line says. */
  class: ActionClass | null;
  /** For a polysemous caption: the verb it uses in another sense. */
  verb?: ActionClass;
  /** The action was drawn in the video at all. */
  on_screen: boolean;
  /** The drawn action overlaps the caption's time (± actionSeconds / 2 around its centre). */
  in_window: boolean;
  action_start?: number;
  action_end?: number;
}

export interface MoviePlan {
  video: VideoPlan;
  cues: SrtCue[];
  truth: CaptionTruth[];
}

const CLASS_WEIGHTS = ACTION_CLASSES.map((c) =>
  c === 'count' || c === 'cook' ? 3 : c === 'phone' || c === 'open' || c === 'point' ? 7 : 5,
);

function captionSeconds(text: string): number {
  return Math.min(4, Math.max(1.2, 1 + 0.055 * text.length));
}

function overlaps(actions: readonly ActionInterval[], start: number, end: number, margin = 0.5): boolean {
  return actions.some((a) => start < a.end + margin && a.start - margin < end);
}

export function planMovie(rng: Rng, o: MovieOptions): MoviePlan {
  const actions: ActionInterval[] = [];
  const captions: {
    start: number;
    end: number;
    line: SpokenLine;
    cls: ActionClass | null;
    on_screen: boolean;
    in_window: boolean;
    action?: ActionInterval;
  }[] = [];
  const place = () => drawPlacement(rng, o.width, o.height);
  const offLine = () =>
    rng.chance(o.pPolysemous) ? polysemousLine('caption', o.noise, rng) : genericLine('caption', o.noise, rng);

  let t = rng.range(2, 4);
  while (t < o.seconds - 3) {
    const next = t + rng.range(o.slotSeconds[0], o.slotSeconds[1]);
    let line: SpokenLine;
    let onScreen = false;
    let inWindow = false;
    let shown: ActionInterval | undefined;
    let cls: ActionClass | null = null;
    if (rng.chance(o.pActionEvent)) {
      cls = ACTION_CLASSES[rng.weighted(CLASS_WEIGHTS)]!;
      const len = o.actionSeconds * rng.range(0.85, 1.15);
      const centre = t + rng.range(-0.4, 0.4);
      if (overlaps(actions, centre - len / 2, centre + len / 2)) {
        // An earlier out-of-window action occupies this time: try the slot later.
        t += 1;
        continue;
      }
      line = lineNearAction(cls, 'caption', o.noise, rng);
      const kind = cls;
      if (rng.chance(o.pActionOnScreen)) {
        if (rng.chance(o.pActionInWindow)) {
          shown = { kind, start: centre - len / 2, end: centre + len / 2, place: place() };
          inWindow = true;
        } else {
          const off = o.outOfWindowSeconds + rng.range(0, 2);
          const sides = rng.chance(0.5) ? [1, -1] : [-1, 1];
          for (const side of sides) {
            const c = t + side * off;
            if (c - len / 2 >= 0 && c + len / 2 <= o.seconds && !overlaps(actions, c - len / 2, c + len / 2)) {
              shown = { kind, start: c - len / 2, end: c + len / 2, place: place() };
              break;
            }
          }
        }
        onScreen = shown !== undefined;
      }
    } else {
      line = offLine();
      // Neutral on-screen business (someone walks, sits...) that no caption names.
      const len = o.actionSeconds * rng.range(0.8, 1.5);
      if (rng.chance(0.45) && !overlaps(actions, t - len / 2, t + len / 2)) {
        actions.push({ kind: rng.pick(NEUTRAL_VERBS), start: t - len / 2, end: t + len / 2, place: place() });
      }
    }
    if (shown) actions.push(shown);
    const dur = captionSeconds(line.text);
    captions.push({
      start: t - dur / 2,
      end: t + dur / 2,
      line,
      cls,
      on_screen: onScreen,
      in_window: inWindow,
      action: shown,
    });
    // Chatter between slots: generic lines, sometimes polysemous, never overlapping the next slot.
    let f = t + dur / 2 + rng.range(0.3, 1.2);
    while (rng.chance(0.6)) {
      const filler = offLine();
      const fd = captionSeconds(filler.text);
      if (f + fd > next - 2.5 || f + fd > o.seconds - 0.5) break;
      captions.push({ start: f, end: f + fd, line: filler, cls: null, on_screen: false, in_window: false });
      f += fd + rng.range(0.3, 1.2);
    }
    t = next;
  }

  const cues: SrtCue[] = [];
  const truth: CaptionTruth[] = [];
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  for (const c of captions) {
    cues.push({ start: c.start, end: c.end, text: c.line.text });
    const entry: CaptionTruth = {
      index: cues.length,
      start: r3(c.start),
      end: r3(c.end),
      text: c.line.text,
      kind: c.line.kind,
      class: c.cls,
      on_screen: c.on_screen,
      in_window: c.in_window,
    };
    if (c.line.verb) entry.verb = c.line.verb;
    if (c.action) {
      entry.action_start = r3(c.action.start);
      entry.action_end = r3(c.action.end);
    }
    truth.push(entry);
  }
  return {
    video: { width: o.width, height: o.height, fps: o.fps, seconds: o.seconds, actions, drift: rng.chance(0.6) },
    cues,
    truth,
  };
}
