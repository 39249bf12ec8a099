// Draws what is said around an action, with the noise knobs of the world: a line near an action
// is typical of it, generic, ambiguous between two actions, or (away from actions) uses an
// action verb in another sense.
import { AMBIGUOUS_LINES, GENERIC_LINES, NAMES, PLACES, POLYSEMOUS_LINES, TYPICAL_LINES } from './lines.ts';
import type { Rng } from './rng.ts';
import type { ActionClass } from './verbs.ts';

/** Where a line will be read: screenplays use the `script` banks, subtitles mix in held-out lines. */
export type LineSource = 'script' | 'caption';

export type LineKind = 'typical' | 'ambiguous' | 'polysemous' | 'generic';

export interface SpokenLine {
  text: string;
  kind: LineKind;
  /** The action the line accompanies (null for generic / polysemous lines). */
  action: ActionClass | null;
  /** For a polysemous line: the action verb it uses in another sense. */
  verb?: ActionClass;
}

export interface DialogueNoise {
  /** Probability that a line next to an action is generic. */
  pGeneric: number;
  /** Probability that a line next to an action is ambiguous between it and another action. */
  pAmbiguous: number;
  /** Share of held-out wordings in subtitles (never used in screenplays). */
  pHeldOut: number;
}

const PREFIXES = ['Okay. ', 'Listen, ', '{Name}, ', 'Hey, ', 'Well, ', 'Oh, ', 'Wait. '];
const SUFFIXES = [' Okay?', ' Now.', ' Please.', ', {Name}.', ' I mean it.', ' Come on.'];

function fill(template: string, rng: Rng): string {
  return template
    .replace(/\{Name\}/g, () => rng.pick(NAMES))
    .replace(/\{place\}/g, () => rng.pick(PLACES))
    .replace(/\{num\}/g, () => String(rng.pick([2, 3, 5, 10, 12, 20, 40, 50, 100, 300])));
}

/** Small variations (a vocative, a tag) so that no template is seen verbatim too often. */
function vary(text: string, rng: Rng): string {
  let out = text;
  if (rng.chance(0.2) && !out.startsWith('{')) out = rng.pick(PREFIXES) + out.charAt(0).toLowerCase() + out.slice(1);
  if (rng.chance(0.15)) {
    const suffix = rng.pick(SUFFIXES);
    out = suffix.startsWith(',') ? out.replace(/[.!?]+$/, '') + suffix : out + suffix;
  }
  // Keep "I" capitalised after lower-casing the first letter.
  out = out.replace(/(^|[\s,])i(['\s])/g, '$1I$2');
  return fill(out, rng);
}

function fromBank(
  script: readonly string[],
  heldOut: readonly string[],
  source: LineSource,
  pHeldOut: number,
  rng: Rng,
): string {
  if (source === 'caption' && heldOut.length > 0 && rng.chance(pHeldOut)) return rng.pick(heldOut);
  return rng.pick(script);
}

export function typicalLine(action: ActionClass, source: LineSource, noise: DialogueNoise, rng: Rng): SpokenLine {
  const bank = TYPICAL_LINES[action];
  return { text: vary(fromBank(bank.script, bank.heldOut, source, noise.pHeldOut, rng), rng), kind: 'typical', action };
}

export function genericLine(source: LineSource, noise: DialogueNoise, rng: Rng): SpokenLine {
  return {
    text: vary(fromBank(GENERIC_LINES.script, GENERIC_LINES.heldOut, source, noise.pHeldOut, rng), rng),
    kind: 'generic',
    action: null,
  };
}

const POLYSEMOUS_WEIGHTS = POLYSEMOUS_LINES.map((p) => p.weight);

export function polysemousLine(source: LineSource, noise: DialogueNoise, rng: Rng): SpokenLine {
  const entry = POLYSEMOUS_LINES[rng.weighted(POLYSEMOUS_WEIGHTS)]!;
  return {
    text: vary(fromBank(entry.script, entry.heldOut, source, noise.pHeldOut, rng), rng),
    kind: 'polysemous',
    action: null,
    verb: entry.verb,
  };
}

/** A line spoken next to `action`: typical, or with the world's noise generic / ambiguous. */
export function lineNearAction(action: ActionClass, source: LineSource, noise: DialogueNoise, rng: Rng): SpokenLine {
  const r = rng.next();
  if (r < noise.pGeneric) return genericLine(source, noise, rng);
  if (r < noise.pGeneric + noise.pAmbiguous) {
    const groups = AMBIGUOUS_LINES.filter((g) => g.classes.includes(action));
    if (groups.length > 0) return { text: vary(rng.pick(rng.pick(groups).lines), rng), kind: 'ambiguous', action };
  }
  return typicalLine(action, source, noise, rng);
}
