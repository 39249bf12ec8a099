// Screenplay text (IMSDb plain text or HTML page) → line tags → elements.
import { groupElements } from './elements.ts';
import { toPlainLines } from './html.ts';
import { describeLine } from './lines.ts';
import { inferLayout, tagDescribedLines } from './tagger.ts';
import type { Element, LineTag, ParsedScreenplay } from './types.ts';

/**
 * The title page (title, "Written by", drafts) precedes the first scene heading or FADE IN:
 * when that comes early, everything before it is page furniture (O).
 */
function blankTitlePage(tags: LineTag[]): void {
  const limit = Math.min(tags.length, Math.max(80, Math.floor(tags.length * 0.1)));
  let first = -1;
  for (let i = 0; i < limit; i++) {
    if (tags[i] === 'S' || tags[i] === 'T') {
      first = i;
      break;
    }
  }
  if (first <= 0) return;
  let speech = 0;
  for (let i = 0; i < first; i++) if (tags[i] === 'C') speech++;
  if (speech > 2) return; // the script opens with dialogue before any heading: keep it
  for (let i = 0; i < first; i++) tags[i] = 'O';
}

export interface ParseOptions {
  /** Treat the title page as O (default true). */
  titlePage?: boolean;
}

/** Parses screenplay text: one tag per line of `text.split('\n')`, and the element stream. */
export function parseScreenplay(text: string, options: ParseOptions = {}): ParsedScreenplay {
  const { lines } = toPlainLines(text);
  const info = lines.map(describeLine);
  const tags = tagDescribedLines(info, inferLayout(info));
  if (options.titlePage !== false) blankTitlePage(tags);
  return { tags, elements: groupElements(lines, tags, info) };
}

/**
 * Why parsed elements are no screenplay (undefined when they are one): a screenplay has speech
 * (character cues with dialogue) and stage directions.
 */
export function missingScreenplayStructure(elements: readonly Element[]): string | undefined {
  if (elements.some((e) => e.type === 'speech') && elements.some((e) => e.type === 'action')) return undefined;
  return 'no screenplay structure found (no character cues with dialogue, or no stage directions)';
}
