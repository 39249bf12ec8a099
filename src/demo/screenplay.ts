// One screenplay in IMSDb text layout: scene headings, action paragraphs at the script's action
// margin, CHARACTER cues indented in caps, dialogue indented less than cues, parentheticals,
// transitions, page numbers and (CONTINUED) lines. Each script draws its own margins, indentation
// (spaces or tabs), scene numbering and line endings, as real scripts differ in all of these.
import { type DialogueNoise, genericLine, lineNearAction, polysemousLine, type SpokenLine } from './dialogue.ts';
import { castName, description, directionSentence, neutralSentence, neutralVerb } from './directions.ts';
import type { Rng } from './rng.ts';
import { ACTION_CLASSES, type ActionClass, CLASS_VERBS } from './verbs.ts';

export interface ScreenplayOptions {
  elements: number;
  noise: DialogueNoise;
  /** Probability that a line away from any action uses an action verb in another sense. */
  pPolysemous: number;
  /** Share of beats built around one of the 18 actions. */
  pActionBeat: number;
}

export interface ScreenplayLayout {
  actionIndent: number;
  dialogueIndent: number;
  parentheticalIndent: number;
  cueIndent: number;
  transitionIndent: number;
  tabs: boolean;
  crlf: boolean;
  sceneNumbers: boolean;
  continued: boolean;
  actionWidth: number;
  dialogueWidth: number;
}

export interface ScreenplayTruth {
  /** Stage directions per action class (the verb is the main verb of the sentence). */
  actionDirections: Partial<Record<ActionClass, number>>;
  neutralDirections: number;
  lines: Record<SpokenLine['kind'], number>;
  elements: number;
}

export interface Screenplay {
  title: string;
  text: string;
  layout: ScreenplayLayout;
  truth: ScreenplayTruth;
}

const LOCATIONS = [
  'KITCHEN',
  'LIVING ROOM',
  'POLICE STATION',
  'DINER',
  'APARTMENT',
  'OFFICE',
  'PARKING LOT',
  'HIGHWAY',
  'BAR',
  'HOTEL ROOM',
  'WAREHOUSE',
  'HOSPITAL CORRIDOR',
  'BEDROOM',
  'STREET',
  'CAR',
  'ROOFTOP',
  'SCHOOL GYM',
  'MOTEL',
];
const TIMES = ['DAY', 'NIGHT', 'MORNING', 'EVENING', 'CONTINUOUS', 'LATER'];
const TRANSITIONS = ['CUT TO:', 'DISSOLVE TO:', 'SMASH CUT TO:', 'MATCH CUT TO:'];
const PARENTHETICALS = [
  '(quietly)',
  '(beat)',
  '(smiling)',
  '(angry)',
  '(to himself)',
  '(whispering)',
  '(off her look)',
  '(pause)',
];
const TITLE_WORDS_A = [
  'THE LONG',
  'BROKEN',
  'LAST',
  'SILENT',
  'CROOKED',
  'DISTANT',
  'BLUE',
  'MIDNIGHT',
  'HOLLOW',
  'GOLDEN',
];
const TITLE_WORDS_B = ['WINTER', 'HARBOR', 'PROMISE', 'CITY', 'ROAD', 'SUMMER', 'GAME', 'HOUSE', 'RIVER', 'SIGNAL'];

/** Relative frequency of each action in stage directions (uneven, as in real scripts). */
const CLASS_WEIGHTS: Record<ActionClass, number> = {
  phone: 9,
  open: 9,
  kiss: 7,
  hug: 7,
  push: 5,
  point: 7,
  dance: 5,
  drink: 7,
  run: 8,
  count: 3,
  cook: 3,
  shoot: 6,
  drive: 6,
  enter: 7,
  fall: 5,
  follow: 5,
  hit: 6,
  eat: 6,
};
const CLASS_WEIGHT_LIST = ACTION_CLASSES.map((c) => CLASS_WEIGHTS[c]);

export function drawLayout(rng: Rng): ScreenplayLayout {
  const tabs = rng.chance(0.3);
  if (tabs) {
    // Tab-indented scripts (8 columns): action one tab, dialogue two or three, cues four or five.
    const a = rng.int(0, 1) * 8;
    const d = a + 16;
    return {
      actionIndent: a,
      dialogueIndent: d,
      parentheticalIndent: d + 8,
      cueIndent: a + 32,
      transitionIndent: a + 56,
      tabs,
      crlf: rng.chance(0.6),
      sceneNumbers: rng.chance(0.3),
      continued: rng.chance(0.6),
      actionWidth: rng.int(56, 62),
      dialogueWidth: rng.int(32, 36),
    };
  }
  const a = rng.pick([0, 0, 4, 10, 15]);
  const d = a + rng.int(10, 15);
  const c = Math.max(25, d + rng.int(8, 12));
  return {
    actionIndent: a,
    dialogueIndent: d,
    parentheticalIndent: d + rng.int(3, 6),
    cueIndent: Math.min(c, Math.max(37, d + 8)),
    transitionIndent: Math.max(c + 15, 55),
    tabs,
    crlf: rng.chance(0.6),
    sceneNumbers: rng.chance(0.3),
    continued: rng.chance(0.6),
    actionWidth: rng.int(56, 62),
    dialogueWidth: rng.int(32, 36),
  };
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line.length > 0 && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line.length > 0 ? `${line} ${word}` : word;
  }
  if (line.length > 0) out.push(line);
  return out;
}

/** Accumulates lines with the script's indentation and inserts page breaks. */
class Page {
  readonly lines: string[] = [];
  private onPage = 0;
  private page = 1;

  constructor(
    private readonly layout: ScreenplayLayout,
    private readonly rng: Rng,
  ) {}

  indent(n: number): string {
    if (!this.layout.tabs) return ' '.repeat(n);
    return '\t'.repeat(Math.floor(n / 8)) + ' '.repeat(n % 8);
  }

  /** Emits one element (a block of lines) followed by a blank line, breaking the page before it if full. */
  block(lines: string[]): void {
    if (this.onPage + lines.length > 54) this.breakPage();
    this.lines.push(...lines, '');
    this.onPage += lines.length + 1;
  }

  private breakPage(): void {
    const L = this.layout;
    if (L.continued) this.lines.push(`${this.indent(L.transitionIndent)}(CONTINUED)`);
    this.page += 1;
    this.lines.push('', `${' '.repeat(L.transitionIndent + this.rng.int(8, 14))}${this.page}.`, '');
    if (L.continued) this.lines.push(`${this.indent(L.actionIndent)}CONTINUED:`, '');
    this.onPage = 0;
  }
}

export function generateScreenplay(rng: Rng, opts: ScreenplayOptions): Screenplay {
  const L = drawLayout(rng);
  const page = new Page(L, rng);
  const title = `${rng.pick(TITLE_WORDS_A)} ${rng.pick(TITLE_WORDS_B)}`;
  const truth: ScreenplayTruth = {
    actionDirections: {},
    neutralDirections: 0,
    lines: { typical: 0, ambiguous: 0, polysemous: 0, generic: 0 },
    elements: 0,
  };

  // Title page (not counted as elements: parsers treat it as preamble).
  const centre = (s: string) => ' '.repeat(Math.max(0, 30 - Math.floor(s.length / 2)) + L.actionIndent) + s;
  page.block([centre(title)]);
  page.block([
    centre('Written by'),
    '',
    centre(`${rng.pick(['Alan', 'Joan', 'Peter', 'Ruth'])} ${rng.pick(['Marsh', 'Keller', 'Osborne', 'Vance'])}`),
  ]);
  page.block([`${page.indent(L.actionIndent)}FADE IN:`]);

  const action = (text: string) => {
    page.block(wrap(text, L.actionWidth).map((l) => page.indent(L.actionIndent) + l));
    truth.elements += 1;
  };
  let lastSpeaker = '';
  const speak = (who: string, line: SpokenLine) => {
    const ext = rng.chance(0.05) ? rng.pick([' (V.O.)', ' (O.S.)']) : who === lastSpeaker ? " (CONT'D)" : '';
    const lines = [page.indent(L.cueIndent) + who.toUpperCase() + ext];
    if (rng.chance(0.1)) lines.push(page.indent(L.parentheticalIndent) + rng.pick(PARENTHETICALS));
    lines.push(...wrap(line.text, L.dialogueWidth).map((l) => page.indent(L.dialogueIndent) + l));
    page.block(lines);
    truth.lines[line.kind] += 1;
    truth.elements += 1;
    lastSpeaker = who;
  };
  const offLine = (): SpokenLine =>
    rng.chance(opts.pPolysemous) ? polysemousLine('script', opts.noise, rng) : genericLine('script', opts.noise, rng);

  let scene = 0;
  while (truth.elements < opts.elements) {
    scene += 1;
    const heading = `${rng.chance(0.75) ? 'INT.' : 'EXT.'} ${rng.pick(LOCATIONS)} - ${rng.pick(TIMES)}`;
    page.block([page.indent(L.actionIndent) + (L.sceneNumbers ? `${scene} ${heading} ${scene}` : heading)]);
    truth.elements += 1;
    const taken = new Set<string>();
    const a = castName(rng, taken);
    taken.add(a);
    const b = castName(rng, taken);
    action(`${a.toUpperCase()} and ${b} are here. ${description(rng)}`);
    lastSpeaker = '';
    const sceneEnd = truth.elements + rng.int(8, 24);
    while (truth.elements < Math.min(sceneEnd, opts.elements)) {
      const [who, other] = rng.chance(0.5) ? [a, b] : [b, a];
      if (rng.chance(opts.pActionBeat)) {
        // §3.2: speech near a stage direction that names the action.
        const cls = ACTION_CLASSES[rng.weighted(CLASS_WEIGHT_LIST)]!;
        const before = rng.int(0, 2);
        for (let i = 0; i < before; i++)
          speak(i % 2 === 0 ? other : who, lineNearAction(cls, 'script', opts.noise, rng));
        let sentence = directionSentence(CLASS_VERBS[cls], who, other, rng);
        if (rng.chance(0.3))
          sentence = rng.chance(0.5)
            ? `${neutralSentence(who, other, rng)} ${sentence}`
            : `${sentence} ${description(rng)}`;
        action(sentence);
        truth.actionDirections[cls] = (truth.actionDirections[cls] ?? 0) + 1;
        if (before === 0 || rng.chance(0.5)) speak(who, lineNearAction(cls, 'script', opts.noise, rng));
      } else {
        const r = rng.next();
        if (r < 0.6) {
          const v = neutralVerb(rng);
          action(rng.chance(0.7) ? neutralSentence(who, other, rng) : directionSentence(v, who, other, rng));
          truth.neutralDirections += 1;
        } else if (r < 0.7) action(description(rng));
        const n = rng.int(1, 3);
        for (let i = 0; i < n; i++) speak(i % 2 === 0 ? who : other, offLine());
      }
    }
    if (rng.chance(0.35)) {
      page.block([page.indent(L.transitionIndent) + rng.pick(TRANSITIONS)]);
      truth.elements += 1;
    }
  }
  page.block([`${page.indent(L.transitionIndent)}FADE OUT.`]);
  page.block([centre('THE END')]);
  const eol = L.crlf ? '\r\n' : '\n';
  return { title, text: page.lines.join(eol) + eol, layout: L, truth };
}
