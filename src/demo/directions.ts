// Stage directions: sentences built around a verb in the conjugations screenplays use (third
// person present mostly, some -ing, plural, past and "starts to" forms).
import { NAMES } from './lines.ts';
import type { Rng } from './rng.ts';
import { FILLER_VERBS, NEUTRAL_STAGE_VERBS, NEUTRAL_VERBS, type StageVerb } from './verbs.ts';

const DESCRIPTIONS = [
  'The room is dark.',
  'Rain against the windows.',
  'A clock ticks somewhere.',
  'Silence.',
  'Traffic hums outside.',
  'The place is a mess.',
  'Late afternoon light.',
  'A dog barks in the distance.',
  'Nobody else is around.',
  'Papers everywhere.',
  'The radio plays softly.',
  'A long beat.',
];

function rest(verb: StageVerb, other: string, rng: Rng, plural = false): string {
  const r = rng.pick(verb.rests);
  return r.replace(/\{other\}/g, plural ? 'each other' : other);
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function neutralVerb(rng: Rng): StageVerb {
  return NEUTRAL_STAGE_VERBS[rng.pick(NEUTRAL_VERBS)];
}

/** A short sentence with a neutral or rare verb ("Mary sits down."). */
export function neutralSentence(who: string, other: string, rng: Rng): string {
  const v = rng.chance(0.12) ? rng.pick(FILLER_VERBS) : neutralVerb(rng);
  return `${who} ${v.forms.s} ${rest(v, other, rng)}.`;
}

export function description(rng: Rng): string {
  return rng.pick(DESCRIPTIONS);
}

/** One stage direction whose main verb is `verb`, in a conjugation drawn like real scripts. */
export function directionSentence(verb: StageVerb, who: string, other: string, rng: Rng): string {
  const f = verb.forms;
  const n = neutralVerb(rng);
  const r = rng.next();
  if (r < 0.55) return `${who} ${f.s} ${rest(verb, other, rng)}.`;
  if (r < 0.65) return `${who} ${n.forms.s} ${rest(n, other, rng)}, then ${f.s} ${rest(verb, other, rng)}.`;
  if (r < 0.73) return `${cap(f.ing)} ${rest(verb, other, rng)}, ${who} ${n.forms.s} ${rest(n, other, rng)}.`;
  if (r < 0.81) return `${who} is ${f.ing} ${rest(verb, other, rng)}.`;
  if (r < 0.88) return `${who} and ${other} ${f.base} ${rest(verb, other, rng, true)}.`;
  if (r < 0.94) return `${who} ${f.past} ${rest(verb, other, rng)}.`;
  return `${who} ${rng.pick(['starts', 'tries', 'begins'])} to ${f.base} ${rest(verb, other, rng)}.`;
}

/** A character's name as stage directions write it (CAPS on first appearance, then plain). */
export function castName(rng: Rng, taken: ReadonlySet<string>): string {
  const free = NAMES.filter((n) => !taken.has(n));
  return rng.pick(free.length > 0 ? free : NAMES);
}
