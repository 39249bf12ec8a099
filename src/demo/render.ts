// Turns a timeline of actions into RGB24 frames, lazily (one frame in memory at a time), for any
// encoder with the signature of src/video/ffmpeg.ts's encodeRawVideo (injected: src/demo must not
// depend on the video room).
import { Canvas } from './canvas.ts';
import type { Rng } from './rng.ts';
import { drawBackdrop, drawSignature, type Placement, type SignatureKind } from './signatures.ts';

export interface EncodeVideoOptions {
  width: number;
  height: number;
  fps: number;
  outPath: string;
  crf?: number;
  signal?: AbortSignal;
}

/** rgb24 frames (width*height*3 bytes each) → an encoded video file at opts.outPath. */
export type EncodeVideo = (
  frames: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  opts: EncodeVideoOptions,
) => Promise<unknown>;

export interface ActionInterval {
  kind: SignatureKind;
  /** Seconds. */
  start: number;
  end: number;
  place: Placement;
}

export interface VideoPlan {
  width: number;
  height: number;
  fps: number;
  seconds: number;
  actions: ActionInterval[];
  /** A passer-by drifting across the frame: motion that is no action (as in real footage). */
  drift: boolean;
}

/** The frames of a planned video; each yielded buffer is fresh (encoders may queue them). */
export function* renderFrames(plan: VideoPlan, rng: Rng): Generator<Uint8Array> {
  const { width, height, fps } = plan;
  const backdrop = new Canvas(width, height);
  drawBackdrop(backdrop, rng);
  const driftY = height * rng.range(0.15, 0.85);
  const driftSpeed = rng.range(4, 10) * (rng.chance(0.5) ? 1 : -1);
  const actions = [...plan.actions].sort((a, b) => a.start - b.start);
  const total = Math.round(plan.seconds * fps);
  for (let i = 0; i < total; i++) {
    const t = i / fps;
    const frame = new Canvas(width, height, backdrop.data.slice());
    if (plan.drift) {
      const x = ((((t * driftSpeed) % (width + 20)) + width + 20) % (width + 20)) - 10;
      frame.disc(x, driftY, height * 0.05, [120, 120, 120]);
    }
    for (const a of actions) {
      if (a.start > t) break;
      if (t < a.end) drawSignature(frame, a.kind, (t - a.start) / (a.end - a.start), t - a.start, a.place);
    }
    yield frame.data;
  }
}
