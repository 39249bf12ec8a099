// The action verbs of the world: the paper's 18 classes (Speech2Action §4.1, Fig. 3) with their
// conjugations and what they act on, plus the frequent verbs whose speech says nothing about them
// (sit, stand, look, walk, turn: the paper drops the most frequent verbs for exactly this reason)
// and a long tail of rare filler verbs that stay under any sensible mining threshold.

export interface VerbForms {
  base: string;
  s: string;
  ing: string;
  past: string;
  pp: string;
}

export interface StageVerb {
  verb: string;
  forms: VerbForms;
  /** What follows the verb in a stage direction; `{other}` is another character. */
  rests: readonly string[];
}

function forms(base: string, s: string, ing: string, past: string, pp = past): VerbForms {
  return { base, s, ing, past, pp };
}

/** The 18 action classes of the paper, in its order. */
export const ACTION_CLASSES = [
  'phone',
  'open',
  'kiss',
  'hug',
  'push',
  'point',
  'dance',
  'drink',
  'run',
  'count',
  'cook',
  'shoot',
  'drive',
  'enter',
  'fall',
  'follow',
  'hit',
  'eat',
] as const;
export type ActionClass = (typeof ACTION_CLASSES)[number];

/** Verbs that are frequent in stage directions but that speech cannot tell apart. */
export const NEUTRAL_VERBS = ['sit', 'stand', 'look', 'walk', 'turn'] as const;
export type NeutralVerb = (typeof NEUTRAL_VERBS)[number];

export const CLASS_VERBS: Record<ActionClass, StageVerb> = {
  phone: {
    verb: 'phone',
    forms: forms('phone', 'phones', 'phoning', 'phoned'),
    rests: ['{other}', 'the office', 'her mother', 'the police', 'home', 'his lawyer'],
  },
  open: {
    verb: 'open',
    forms: forms('open', 'opens', 'opening', 'opened'),
    rests: [
      'the door',
      'the window',
      'the fridge',
      'the car door',
      'a drawer',
      'the envelope',
      'the briefcase',
      'the gate',
    ],
  },
  kiss: {
    verb: 'kiss',
    forms: forms('kiss', 'kisses', 'kissing', 'kissed'),
    rests: ['{other}', '{other} on the cheek', '{other} gently', '{other} on the forehead'],
  },
  hug: {
    verb: 'hug',
    forms: forms('hug', 'hugs', 'hugging', 'hugged'),
    rests: ['{other}', '{other} tightly', 'her son', '{other} for a long moment'],
  },
  push: {
    verb: 'push',
    forms: forms('push', 'pushes', 'pushing', 'pushed'),
    rests: ['the cart', 'the wheelchair', 'the box aside', '{other} away', 'the heavy crate', 'the button'],
  },
  point: {
    verb: 'point',
    forms: forms('point', 'points', 'pointing', 'pointed'),
    rests: ['at the map', 'at {other}', 'to the window', 'at the screen', 'toward the exit', 'down the road'],
  },
  dance: {
    verb: 'dance',
    forms: forms('dance', 'dances', 'dancing', 'danced'),
    rests: ['with {other}', 'alone in the kitchen', 'across the floor', 'to the music', 'slowly'],
  },
  drink: {
    verb: 'drink',
    forms: forms('drink', 'drinks', 'drinking', 'drank', 'drunk'),
    rests: ['the coffee', 'a glass of water', 'from the bottle', 'his whisky', 'the rest of the wine'],
  },
  run: {
    verb: 'run',
    forms: forms('run', 'runs', 'running', 'ran', 'run'),
    rests: ['down the street', 'across the parking lot', 'toward the car', 'for the exit', 'up the stairs'],
  },
  count: {
    verb: 'count',
    forms: forms('count', 'counts', 'counting', 'counted'),
    rests: ['the money', 'the bills', 'the bullets', 'the pills', 'under her breath'],
  },
  cook: {
    verb: 'cook',
    forms: forms('cook', 'cooks', 'cooking', 'cooked'),
    rests: ['dinner', 'eggs', 'a pot of pasta', 'at the stove', 'breakfast for the kids'],
  },
  shoot: {
    verb: 'shoot',
    forms: forms('shoot', 'shoots', 'shooting', 'shot'),
    rests: ['{other}', 'at the car', 'twice', 'the lock', 'into the air'],
  },
  drive: {
    verb: 'drive',
    forms: forms('drive', 'drives', 'driving', 'drove', 'driven'),
    rests: ['through the night', 'down the highway', 'the truck', 'toward the city', 'in silence'],
  },
  enter: {
    verb: 'enter',
    forms: forms('enter', 'enters', 'entering', 'entered'),
    rests: ['the room', 'the bar', 'the kitchen', 'the house', 'the office'],
  },
  fall: {
    verb: 'fall',
    forms: forms('fall', 'falls', 'falling', 'fell', 'fallen'),
    rests: ['to the floor', 'down the stairs', 'backwards', 'off the ladder', 'to his knees'],
  },
  follow: {
    verb: 'follow',
    forms: forms('follow', 'follows', 'following', 'followed'),
    rests: ['{other}', '{other} down the hall', 'the car', 'at a distance', 'the footprints'],
  },
  hit: {
    verb: 'hit',
    forms: forms('hit', 'hits', 'hitting', 'hit'),
    rests: ['the table', 'the wall', '{other}', 'the wheel with his fist', 'the alarm button'],
  },
  eat: {
    verb: 'eat',
    forms: forms('eat', 'eats', 'eating', 'ate', 'eaten'),
    rests: ['a sandwich', 'his cereal', 'in silence', 'the soup', 'an apple'],
  },
};

export const NEUTRAL_STAGE_VERBS: Record<NeutralVerb, StageVerb> = {
  sit: {
    verb: 'sit',
    forms: forms('sit', 'sits', 'sitting', 'sat'),
    rests: ['down', 'on the bed', 'at the table', 'in the car', 'beside {other}'],
  },
  stand: {
    verb: 'stand',
    forms: forms('stand', 'stands', 'standing', 'stood'),
    rests: ['up', 'by the window', 'in the doorway', 'at the counter', 'alone'],
  },
  look: {
    verb: 'look',
    forms: forms('look', 'looks', 'looking', 'looked'),
    rests: ['at {other}', 'around', 'out the window', 'away', 'up'],
  },
  walk: {
    verb: 'walk',
    forms: forms('walk', 'walks', 'walking', 'walked'),
    rests: ['to the window', 'into the hall', 'along the corridor', 'over to {other}', 'away'],
  },
  turn: {
    verb: 'turn',
    forms: forms('turn', 'turns', 'turning', 'turned'),
    rests: ['to {other}', 'away', 'around', 'back', 'toward the window'],
  },
};

/** Rare verbs: each appears a few times per corpus, so that mining has a realistic long tail. */
export const FILLER_VERBS: readonly StageVerb[] = [
  ['smile', 'smiles', 'smiling', 'smiled', 'at {other}'],
  ['nod', 'nods', 'nodding', 'nodded', 'slowly'],
  ['pause', 'pauses', 'pausing', 'paused', 'for a moment'],
  ['wait', 'waits', 'waiting', 'waited', 'by the door'],
  ['sigh', 'sighs', 'sighing', 'sighed', 'heavily'],
  ['laugh', 'laughs', 'laughing', 'laughed', 'out loud'],
  ['shrug', 'shrugs', 'shrugging', 'shrugged', 'it off'],
  ['frown', 'frowns', 'frowning', 'frowned', 'at the letter'],
  ['hesitate', 'hesitates', 'hesitating', 'hesitated', 'in the doorway'],
  ['listen', 'listens', 'listening', 'listened', 'carefully'],
  ['lean', 'leans', 'leaning', 'leaned', 'against the wall'],
  ['reach', 'reaches', 'reaching', 'reached', 'for the lamp'],
  ['grab', 'grabs', 'grabbing', 'grabbed', 'his coat'],
  ['stare', 'stares', 'staring', 'stared', 'at the ceiling'],
  ['watch', 'watches', 'watching', 'watched', '{other} closely'],
  ['glance', 'glances', 'glancing', 'glanced', 'at the clock'],
  ['kneel', 'kneels', 'kneeling', 'knelt', 'beside the bed'],
  ['climb', 'climbs', 'climbing', 'climbed', 'the fence'],
  ['throw', 'throws', 'throwing', 'threw', 'the keys on the table'],
  ['close', 'closes', 'closing', 'closed', 'her eyes'],
  ['read', 'reads', 'reading', 'read', 'the note'],
  ['write', 'writes', 'writing', 'wrote', 'something down'],
  ['sleep', 'sleeps', 'sleeping', 'slept', 'on the couch'],
  ['cry', 'cries', 'crying', 'cried', 'quietly'],
  ['whisper', 'whispers', 'whispering', 'whispered', 'to {other}'],
  ['shiver', 'shivers', 'shivering', 'shivered', 'in the cold'],
  ['yawn', 'yawns', 'yawning', 'yawned', 'loudly'],
  ['wave', 'waves', 'waving', 'waved', 'goodbye'],
  ['clean', 'cleans', 'cleaning', 'cleaned', 'the counter'],
  ['hide', 'hides', 'hiding', 'hid', 'behind the curtain'],
].map(([b, s, ing, past, rest]) => ({
  verb: b as string,
  forms: forms(b as string, s as string, ing as string, past as string),
  rests: [rest as string],
}));

/** Every inflected form of a verb, for keyword-style checks on the world's own text. */
export function allForms(v: VerbForms): string[] {
  return [...new Set([v.base, v.s, v.ing, v.past, v.pp])];
}
