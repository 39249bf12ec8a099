// The visual signature of each action: a motion pattern of simple shapes, distinct enough that a
// tiny video network sees it in 8 frames of 64×64, varied in place, size and direction so that it
// must learn the pattern rather than a pixel position.
import type { Canvas, Rgb } from './canvas.ts';
import type { Rng } from './rng.ts';
import type { ActionClass, NeutralVerb } from './verbs.ts';

/** What can be drawn: an action class, a neutral verb, or `misc` (a rare AVA class). */
export type SignatureKind = ActionClass | NeutralVerb | 'misc';

export interface Placement {
  /** Centre and size of the actor's region, in pixels. */
  cx: number;
  cy: number;
  s: number;
  /** +1 or -1: the direction of horizontal motion. */
  dir: 1 | -1;
  clothes: Rgb;
  /** Colour of a `misc` signature. */
  tint: Rgb;
}

const SKIN: Rgb = [224, 180, 140];
const WHITE: Rgb = [240, 240, 240];
const CLOTHES: readonly Rgb[] = [
  [60, 60, 70],
  [90, 70, 60],
  [50, 70, 60],
  [80, 80, 100],
  [100, 60, 70],
];

export function drawPlacement(rng: Rng, width: number, height: number): Placement {
  const s = height * rng.range(0.6, 0.8);
  return {
    cx: width * rng.range(0.35, 0.65),
    cy: height * rng.range(0.45, 0.55),
    s,
    dir: rng.chance(0.5) ? 1 : -1,
    clothes: rng.pick(CLOTHES),
    tint: [rng.int(60, 250), rng.int(60, 250), rng.int(60, 250)],
  };
}

/** The box a person doing the action occupies, in pixels (x1, y1, x2, y2), clipped to the frame. */
export function actorBox(p: Placement, width: number, height: number): [number, number, number, number] {
  const h = p.s * 0.65;
  return [Math.max(0, p.cx - h), Math.max(0, p.cy - h), Math.min(width, p.cx + h), Math.min(height, p.cy + h)];
}

function person(c: Canvas, x: number, y: number, s: number, clothes: Rgb): void {
  c.rect(x - s * 0.12, y - s * 0.05, s * 0.24, s * 0.45, clothes);
  c.disc(x, y - s * 0.15, s * 0.11, SKIN);
}

const TAU = Math.PI * 2;

/**
 * Draws `kind` at progress `p` ∈ [0, 1] through the action, `t` seconds after it began.
 * Full-frame effects (a flash for shoot, a scrolling road for drive) ignore the placement's region.
 */
export function drawSignature(c: Canvas, kind: SignatureKind, p: number, t: number, g: Placement): void {
  const { cx, cy, s, dir } = g;
  switch (kind) {
    case 'phone': {
      person(c, cx, cy, s, g.clothes);
      // A handset at the ear, vibrating and flashing between two greens.
      const lit: Rgb = Math.floor(t * 6) % 2 === 0 ? [40, 230, 60] : [160, 255, 160];
      c.rect(cx + dir * s * 0.14 + Math.sin(t * 40) * 2 - s * 0.05, cy - s * 0.28, s * 0.11, s * 0.2, lit);
      break;
    }
    case 'open': {
      const hx = cx - dir * s * 0.4;
      const a = (Math.PI / 2) * Math.min(1, p * 1.6);
      c.rect(hx - 2, cy - s * 0.45, 4, s * 0.9, [120, 90, 40]);
      c.line(hx, cy, hx + dir * Math.sin(a) * s * 0.8, cy - Math.cos(a) * s * 0.4, s * 0.1, [245, 210, 40]);
      break;
    }
    case 'kiss':
    case 'hug': {
      const big = kind === 'hug';
      const r = big ? s * 0.28 : s * 0.16;
      const gap = Math.max(big ? r * 0.9 : r * 1.7, s * 0.9 * (1 - Math.min(1, p * 2)));
      const wobble = Math.sin(t * 4) * (big ? 1 : 2);
      c.disc(cx - gap / 2 + wobble, cy, r, big ? [40, 80, 225] : [225, 35, 60]);
      c.disc(cx + gap / 2 - wobble, cy, r, big ? [245, 140, 30] : [250, 150, 190]);
      break;
    }
    case 'push': {
      const x = cx + dir * s * (p - 0.5) * 1.2;
      c.rect(x - s * 0.15 + dir * s * 0.2, cy - s * 0.05, s * 0.3, s * 0.3, [150, 100, 45]);
      c.disc(x - dir * s * 0.12, cy, s * 0.14, [150, 60, 200]);
      break;
    }
    case 'point': {
      person(c, cx - dir * s * 0.25, cy, s, g.clothes);
      const len = s * 0.9 * Math.min(1, 0.25 + p * 1.5);
      c.line(cx - dir * s * 0.15, cy, cx - dir * s * 0.15 + dir * len, cy - len * 0.3, 3, WHITE);
      c.rect(cx + dir * s * 0.75 - 4, cy - s * 0.3 - 4, 8, 8, WHITE);
      break;
    }
    case 'dance': {
      const a = t * TAU * 1.2;
      const col: Rgb = Math.floor(t * 4) % 2 === 0 ? [225, 40, 225] : [40, 225, 225];
      c.disc(cx + Math.cos(a) * s * 0.3, cy + Math.sin(a) * s * 0.3, s * 0.14, col);
      break;
    }
    case 'drink': {
      person(c, cx, cy, s, g.clothes);
      const lift = Math.abs(Math.sin(Math.PI * t * 0.8));
      c.rect(cx + dir * s * 0.18 - s * 0.06, cy + s * 0.25 - lift * s * 0.4, s * 0.12, s * 0.16, [40, 220, 225]);
      break;
    }
    case 'run': {
      const span = c.width + s;
      const x = ((t * c.width * 0.9) % span) - s / 2;
      const px = dir === 1 ? x : c.width - x;
      person(c, px, cy + Math.abs(Math.sin(t * 12)) * s * -0.08, s, [235, 235, 235]);
      break;
    }
    case 'count': {
      const n = 1 + Math.floor(p * 8);
      for (let i = 0; i < Math.min(n, 8); i++)
        c.disc(cx - s * 0.5 + i * s * 0.14, cy + s * 0.2, s * 0.05, [180, 240, 60]);
      c.disc(cx - s * 0.5 + Math.min(n, 8) * s * 0.14, cy + s * 0.05, s * 0.07, SKIN);
      break;
    }
    case 'cook': {
      c.rect(cx - s * 0.35, cy + s * 0.15, s * 0.7, s * 0.1, [70, 70, 70]);
      for (let i = 0; i < 6; i++) {
        const phase = (t * 0.9 + i / 6) % 1;
        c.disc(cx - s * 0.3 + (i * s * 0.6) / 5, cy + s * 0.1 - phase * s * 0.5, s * 0.04, [255, 120, 0]);
      }
      break;
    }
    case 'shoot': {
      person(c, cx - dir * s * 0.35, cy, s, g.clothes);
      c.rect(dir === 1 ? cx - s * 0.25 : cx - s * 0.05, cy - s * 0.05, s * 0.3, s * 0.08, [30, 30, 30]);
      const k = (t * 2) % 1;
      if (k < 0.3) c.flash(0.6, [255, 250, 200]);
      c.line(cx + dir * (k * c.width), cy, cx + dir * (k * c.width + s * 0.2), cy, 2, [255, 40, 40]);
      break;
    }
    case 'drive': {
      const roadY = cy + s * 0.25;
      c.rect(0, roadY, c.width, s * 0.2, [70, 70, 75]);
      for (let i = -1; i < c.width / 30 + 1; i++) {
        const x = ((((i * 30 - dir * t * 90) % (c.width + 30)) + c.width + 30) % (c.width + 30)) - 30;
        c.rect(x, roadY + s * 0.08, 14, 3, WHITE);
      }
      c.rect(cx - s * 0.3, cy - s * 0.05 + Math.sin(t * 30), s * 0.6, s * 0.28, [205, 30, 30]);
      break;
    }
    case 'enter': {
      c.rect(cx - s * 0.2, cy - s * 0.45, s * 0.06, s * 0.9, WHITE);
      c.rect(cx + s * 0.14, cy - s * 0.45, s * 0.06, s * 0.9, WHITE);
      c.rect(cx - s * 0.2, cy - s * 0.45, s * 0.4, s * 0.06, WHITE);
      person(c, cx + dir * s * 0.8 * (1 - Math.min(1, p * 1.4)), cy + s * 0.05, s * (1 - 0.2 * p), g.clothes);
      break;
    }
    case 'fall': {
      const q = Math.min(1, p * 1.8);
      if (q < 1) c.disc(cx, cy - s * 0.45 + q * q * s * 0.8, s * 0.13, [0, 165, 145]);
      else c.ellipse(cx, cy + s * 0.38, s * 0.3, s * 0.07, [0, 165, 145]);
      break;
    }
    case 'follow': {
      const x = cx + dir * s * (((t * 0.5) % 1) - 0.5) * 1.4;
      c.disc(x, cy, s * 0.12, [20, 120, 40]);
      c.disc(x - dir * s * 0.35, cy, s * 0.12, [90, 200, 110]);
      break;
    }
    case 'hit': {
      const swing = Math.max(0, Math.sin(t * TAU * 2));
      const shake = swing > 0.9 ? 3 : 0;
      c.rect(cx + dir * s * 0.1 - s * 0.12 + shake, cy - s * 0.15, s * 0.24, s * 0.3, [200, 200, 210]);
      c.disc(cx - dir * s * (0.45 - 0.3 * swing), cy, s * 0.1, SKIN);
      if (swing > 0.9) c.disc(cx - dir * s * 0.05, cy, s * 0.06, [255, 30, 30]);
      break;
    }
    case 'eat': {
      person(c, cx, cy - s * 0.1, s, g.clothes);
      c.ellipse(cx, cy + s * 0.35, s * 0.25, s * 0.06, WHITE);
      const k = t % 1;
      c.disc(cx + dir * s * 0.1, cy + s * 0.3 - k * s * 0.5, s * 0.07, [170, 90, 20]);
      break;
    }
    case 'sit': {
      c.rect(cx - s * 0.2, cy + s * 0.25, s * 0.4, s * 0.08, [110, 80, 50]);
      person(c, cx, cy - s * 0.1 + Math.min(1, p * 2) * s * 0.15, s, g.clothes);
      break;
    }
    case 'stand':
      person(c, cx + Math.sin(t * 1.5) * 1.5, cy, s, g.clothes);
      break;
    case 'look': {
      person(c, cx, cy, s, g.clothes);
      c.disc(cx + Math.sin(t * 1.2) * s * 0.05, cy - s * 0.17, 1.5, [10, 10, 10]);
      break;
    }
    case 'walk':
      person(c, cx + dir * s * (p - 0.5) * 0.6, cy, s, g.clothes);
      break;
    case 'turn': {
      const w = Math.abs(Math.cos(t * 1.5));
      c.ellipse(cx, cy + s * 0.1, s * 0.04 + s * 0.12 * w, s * 0.22, g.clothes);
      c.disc(cx, cy - s * 0.15, s * 0.11, SKIN);
      break;
    }
    case 'misc': {
      person(c, cx, cy, s, g.clothes);
      c.disc(cx, cy + s * 0.25, s * (0.08 + 0.03 * Math.sin(t * 3)), g.tint);
      break;
    }
  }
}

/** A static textured backdrop, drawn once per video and copied into each frame. */
export function drawBackdrop(c: Canvas, rng: Rng): void {
  const base: Rgb = [rng.int(20, 70), rng.int(20, 70), rng.int(20, 70)];
  const d = c.data;
  for (let y = 0; y < c.height; y++) {
    const shade = 0.75 + (0.5 * y) / c.height;
    for (let x = 0; x < c.width; x++) {
      const n = ((x * 73856093) ^ (y * 19349663)) & 15;
      const i = (y * c.width + x) * 3;
      d[i] = Math.min(255, base[0] * shade + n);
      d[i + 1] = Math.min(255, base[1] * shade + n);
      d[i + 2] = Math.min(255, base[2] * shade + n);
    }
  }
  // Some furniture: a few static blocks.
  for (let i = 0; i < 3; i++) {
    c.rect(rng.int(0, c.width - 20), rng.int(0, c.height - 20), rng.int(10, c.width / 4), rng.int(8, c.height / 4), [
      rng.int(30, 110),
      rng.int(30, 110),
      rng.int(30, 110),
    ]);
  }
}
