// Tagged lines → elements: headings, stage-direction paragraphs, utterances (character +
// joined dialogue + parentheticals) and transitions.
import { describeLine, splitCue, type LineInfo } from './lines.ts';
import type { Element, LineTag, SpeechElement } from './types.ts';

const SCENE_NO_START = /^(?:[A-Z]{0,2}\d{1,4}[A-Z]{0,3}\.?)\s+/;
const SCENE_NO_END = /\s+(?:[A-Z]{0,2}\d{1,4}[A-Z]{0,3}\.?)$/;

function joinLines(parts: string[]): string {
  if (parts.length === 1) return parts[0]!.indexOf('  ') >= 0 ? parts[0]!.replace(/\s+/g, ' ') : parts[0]!;
  let out = '';
  for (const p of parts) {
    if (out.length === 0) out = p;
    // A word hyphenated across lines ("Dur-" + "ing") is joined without the break.
    else if (/[a-z]-$/.test(out) && /^[a-z]/.test(p)) out = out.slice(0, -1) + p;
    else out += ` ${p}`;
  }
  return out.indexOf('  ') >= 0 || out.indexOf('\t') >= 0 ? out.replace(/\s+/g, ' ') : out;
}

/** Groups tagged lines into elements; `lines` are the file's lines (HTML removed). */
export function groupElements(lines: string[], tags: LineTag[], info?: LineInfo[]): Element[] {
  const elements: Element[] = [];
  let speech: SpeechElement | null = null;
  let dialog: string[] = [];
  let paren: string[] = [];
  let block: { type: 'heading' | 'action' | 'transition'; parts: string[]; line: number } | null = null;
  let lastTaggedBlank = false;

  const flushSpeech = (): void => {
    if (!speech) return;
    if (paren.length)
      speech.parentheticals.push(
        joinLines(paren)
          .replace(/^\(|\)$/g, '')
          .trim(),
      );
    speech.text = joinLines(dialog);
    elements.push(speech);
    speech = null;
    dialog = [];
    paren = [];
  };
  const flushBlock = (): void => {
    if (!block) return;
    let text = joinLines(block.parts);
    if (block.type === 'heading') text = text.replace(SCENE_NO_START, '').replace(SCENE_NO_END, '').trim();
    if (text) elements.push({ type: block.type, text, line: block.line });
    block = null;
  };

  for (let i = 0; i < tags.length; i++) {
    const tag = tags[i]!;
    if (tag === 'O') {
      // A blank line ends a stage-direction paragraph; page furniture inside one does not.
      if (info ? info[i]!.kind === 'blank' : (lines[i] ?? '').trim() === '') lastTaggedBlank = true;
      continue;
    }
    const text = (info ? info[i]! : describeLine(lines[i] ?? '')).text;
    switch (tag) {
      case 'C': {
        flushSpeech();
        flushBlock();
        const cue = splitCue(text) ?? { name: text, extensions: [] };
        speech = {
          type: 'speech',
          character: cue.name,
          extensions: cue.extensions,
          text: '',
          parentheticals: [],
          line: i,
        };
        break;
      }
      case 'D':
        if (!speech) {
          flushBlock();
          speech = { type: 'speech', character: '', extensions: [], text: '', parentheticals: [], line: i };
        }
        if (paren.length) {
          speech.parentheticals.push(
            joinLines(paren)
              .replace(/^\(|\)$/g, '')
              .trim(),
          );
          paren = [];
        }
        dialog.push(text);
        break;
      case 'E':
        if (speech) {
          paren.push(text);
          if (text.includes(')')) {
            speech.parentheticals.push(
              joinLines(paren)
                .replace(/^\(|\)$/g, '')
                .trim(),
            );
            paren = [];
          }
        }
        break;
      default: {
        const type = tag === 'S' ? 'heading' : tag === 'N' ? 'action' : 'transition';
        flushSpeech();
        if (block && (block.type !== type || (type === 'action' && lastTaggedBlank) || type === 'transition'))
          flushBlock();
        if (!block) block = { type, parts: [], line: i };
        block.parts.push(text);
      }
    }
    lastTaggedBlank = false;
  }
  flushSpeech();
  flushBlock();
  return elements;
}
