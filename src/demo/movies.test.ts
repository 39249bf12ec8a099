import { describe, expect, it } from 'vitest';
import { parseCaptions } from '../captions/index.ts';
import { type CaptionTruth, type MovieOptions, planMovie } from './movies.ts';
import { Rng } from './rng.ts';
import { formatSrt } from './srt.ts';
import { ACTION_CLASSES, allForms, CLASS_VERBS, NEUTRAL_VERBS } from './verbs.ts';

const opts: MovieOptions = {
  seconds: 180,
  width: 160,
  height: 120,
  fps: 8,
  noise: { pGeneric: 0.3, pAmbiguous: 0.12, pHeldOut: 0.4 },
  pPolysemous: 0.2,
  pActionEvent: 0.7,
  pActionOnScreen: 0.8,
  pActionInWindow: 0.85,
  actionSeconds: 3,
  outOfWindowSeconds: 8,
  slotSeconds: [3.5, 6],
};

function corpus(seed: number, movies: number, o: MovieOptions = opts): CaptionTruth[] {
  const rng = new Rng(seed);
  return Array.from({ length: movies }, (_, i) => planMovie(rng.fork(`m${i}`), o).truth).flat();
}

describe('planMovie', () => {
  it('writes subtitles that an SRT reader gives back with the planned times and texts', () => {
    const plan = planMovie(new Rng(5), opts);
    const srt = formatSrt(plan.cues);
    expect(srt).toMatch(/^1\n00:00:0\d,\d{3} --> 00:00:0\d,\d{3}\n/);
    const parsed = parseCaptions(srt, 'srt');
    expect(parsed.cues).toHaveLength(plan.truth.length);
    parsed.cues.forEach((c, i) => {
      const t = plan.truth[i]!;
      expect(c.start).toBeCloseTo(t.start, 2);
      expect(c.end).toBeCloseTo(t.end, 2);
      expect(c.text.replace(/\n/g, ' ')).toBe(t.text);
    });
  });

  it('keeps captions in order without overlap, and actions where the truth says they are', () => {
    const plan = planMovie(new Rng(9), opts);
    for (let i = 1; i < plan.truth.length; i++)
      expect(plan.truth[i]!.start).toBeGreaterThanOrEqual(plan.truth[i - 1]!.end);
    const acts = [...plan.video.actions].sort((a, b) => a.start - b.start);
    for (let i = 1; i < acts.length; i++) expect(acts[i]!.start).toBeGreaterThanOrEqual(acts[i - 1]!.end);
    for (const c of plan.truth) {
      const centre = (c.start + c.end) / 2;
      if (!c.on_screen) {
        expect(c.action_start).toBeUndefined();
        continue;
      }
      const drawn = plan.video.actions.find((a) => Math.abs(a.start - c.action_start!) < 0.001);
      expect(drawn?.kind).toBe(c.class);
      if (c.in_window) expect(c.action_start! < centre && centre < c.action_end!).toBe(true);
      else
        expect(Math.min(Math.abs(c.action_start! - centre), Math.abs(c.action_end! - centre))).toBeGreaterThan(
          opts.outOfWindowSeconds - opts.actionSeconds,
        );
    }
    expect(plan.truth.some((c) => c.class && !c.on_screen)).toBe(true);
  });

  it('shows no action when p_action_on_screen is 0, only neutral business', () => {
    const plan = planMovie(new Rng(2), { ...opts, pActionOnScreen: 0 });
    expect(plan.truth.every((c) => !c.on_screen)).toBe(true);
    expect(plan.video.actions.every((a) => (NEUTRAL_VERBS as readonly string[]).includes(a.kind))).toBe(true);
  });

  it('is deterministic by seed', () => {
    expect(JSON.stringify(planMovie(new Rng(4), opts))).toBe(JSON.stringify(planMovie(new Rng(4), opts)));
    expect(formatSrt(planMovie(new Rng(4), opts).cues)).not.toBe(formatSrt(planMovie(new Rng(5), opts).cues));
  });

  it('makes keyword spotting less precise than the truth for the polysemous verbs point and open', () => {
    const caps = corpus(0, 24);
    for (const verb of ['point', 'open'] as const) {
      const re = new RegExp(`\\b(${allForms(CLASS_VERBS[verb].forms).join('|')})\\b`, 'i');
      const hits = caps.filter((c) => re.test(c.text));
      const correct = hits.filter((c) => c.class === verb && c.on_screen && c.in_window).length;
      const events = caps.filter((c) => c.class === verb);
      const truthPrecision = events.filter((c) => c.on_screen && c.in_window).length / events.length;
      expect(hits.length, verb).toBeGreaterThan(5);
      expect(hits.some((c) => c.kind === 'polysemous' && c.verb === verb)).toBe(true);
      expect(correct / hits.length, verb).toBeLessThan(truthPrecision - 0.2);
      // Most captions that go with the action never name it: keyword recall is low too.
      expect(events.filter((c) => re.test(c.text)).length).toBeLessThan(events.length / 2);
    }
  });

  it('gives every action class events, with typical, generic and ambiguous lines among them', () => {
    const caps = corpus(1, 16);
    for (const c of ACTION_CLASSES) expect(caps.filter((t) => t.class === c).length, c).toBeGreaterThan(3);
    const kinds = new Set(caps.filter((c) => c.class).map((c) => c.kind));
    expect([...kinds].sort()).toEqual(['ambiguous', 'generic', 'typical']);
    expect(caps.some((c) => c.class === null && c.kind === 'generic')).toBe(true);
  });
});
