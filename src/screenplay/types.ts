// Types of the screenplay room: line tags (the MICA / MovieParse tag set) and the element
// stream that the text room reads (paper §3.1: stage directions and speech segments).

/**
 * Line tags: S scene heading, N stage direction / action, C character cue, D dialogue,
 * E parenthetical (dialogue expression), T transition, O other or empty (page numbers,
 * CONTINUED, revision marks, title page, site junk).
 */
export type LineTag = 'S' | 'N' | 'C' | 'D' | 'E' | 'T' | 'O';

export const LINE_TAGS: readonly LineTag[] = ['S', 'N', 'C', 'D', 'E', 'T', 'O'];

/** A scene heading ("INT. KITCHEN - NIGHT"), scene numbers and revision marks removed. */
export interface HeadingElement {
  type: 'heading';
  text: string;
  /** 0-based index of the element's first line in the file (split on \n). */
  line: number;
}

/** A stage-direction paragraph (consecutive N lines joined with spaces). */
export interface ActionElement {
  type: 'action';
  text: string;
  line: number;
}

/** An utterance: a character cue, the joined dialogue and the parentheticals inside it. */
export interface SpeechElement {
  type: 'speech';
  /** Cue without extensions: "LEONARD" for "LEONARD (V.O.) (cont'd)". */
  character: string;
  /** Cue extensions such as "V.O.", "O.S.", "CONT'D". */
  extensions: string[];
  /** Dialogue lines joined with spaces (parentheticals left out). */
  text: string;
  /** Parentheticals in order, without the brackets ("smiling"). */
  parentheticals: string[];
  line: number;
}

/** A transition ("CUT TO:", "FADE OUT."). */
export interface TransitionElement {
  type: 'transition';
  text: string;
  line: number;
}

export type Element = HeadingElement | ActionElement | SpeechElement | TransitionElement;

export type ElementType = Element['type'];

export interface ParsedScreenplay {
  /** One tag per line of the text split on \n. */
  tags: LineTag[];
  elements: Element[];
}

/** One line of `screenplays.jsonl` (the `screenplay.parse` output). */
export interface ScreenplayRecord {
  movie: string;
  file: string;
  elements: Element[];
}
