import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../test/helpers/repo.ts';
import { parseScreenplay } from './parse.ts';
import type { SpeechElement } from './types.ts';

const fixture = (name: string): string => readFileSync(path.join(repoRoot, 'test/fixtures/screenplay', name), 'utf8');
const sample = fixture('sample.txt');
const expectedTags = fixture('sample.tags').trim().split('\n');

describe('parseScreenplay', () => {
  it('tags every line of an IMSDb-style script (hand-labelled fixture)', () => {
    const { tags } = parseScreenplay(sample);
    expect(tags).toHaveLength(sample.split('\n').length);
    expect(tags).toEqual(expectedTags.slice(0, tags.length));
  });

  it('groups lines into headings, stage directions, utterances and transitions', () => {
    const { elements } = parseScreenplay(sample);
    expect(elements.map((e) => e.type)).toEqual([
      'transition',
      'heading',
      'action',
      'speech',
      'action',
      'speech',
      'speech',
      'transition',
      'heading',
      'action',
      'speech',
      'speech',
      'action',
      'transition',
    ]);
    const heading = elements[1]!;
    expect(heading).toMatchObject({ type: 'heading', text: 'INT. TRAIN STATION - NIGHT', line: 6 });
    const speech = elements[5] as SpeechElement;
    expect(speech).toMatchObject({
      character: 'MAGGIE',
      extensions: ["CONT'D"],
      text: "Dr. Reyes? It's me. The train is late again.",
    });
    const withBeat = elements[11] as SpeechElement;
    expect(withBeat.text).toBe('I... I lost it. Can I pay here?');
    expect(withBeat.parentheticals).toEqual(['beat']);
    // Page furniture (CONTINUED, page numbers) neither splits nor joins paragraphs.
    expect(elements[12]).toMatchObject({
      type: 'action',
      text: 'The conductor shakes his head and points at the door.',
    });
  });

  it('reads the same script with CRLF endings and tab indentation', () => {
    const crlf = parseScreenplay(sample.replace(/\n/g, '\r\n'));
    expect(crlf.tags).toEqual(parseScreenplay(sample).tags);
    const tabbed = sample
      .replace(/^ {30}/gm, '\t\t\t\t')
      .replace(/^ {15}/gm, '\t\t')
      .replace(/^ {5}/gm, '');
    expect(parseScreenplay(tabbed).tags).toEqual(expectedTags.slice(0, tabbed.split('\n').length));
  });

  it('takes the <pre> text of an IMSDb HTML page and keeps line numbers', () => {
    const lines = sample.split('\n').map((l) => (/^ {30}[A-Z]/.test(l) ? l.replace(/^( +)(.*)$/, '$1<b>$2</b>') : l));
    const html = `<html><head><title>IMSDb</title></head><body>\n<a href="/">Back to IMSDb</a>\n<pre>${lines.join('\n')}</pre>\n<!-- writers\n genres -->\n</body></html>`;
    const { tags, elements } = parseScreenplay(html);
    expect(tags).toHaveLength(html.split('\n').length);
    // Line i of the sample is line i+2 of the page (two lines before <pre>).
    expect(tags.slice(2, 2 + expectedTags.length - 1)).toEqual(expectedTags.slice(0, expectedTags.length - 1));
    expect(tags[0]).toBe('O');
    expect(tags[1]).toBe('O');
    expect(elements.filter((e) => e.type === 'speech')).toHaveLength(5);
    expect(JSON.stringify(elements)).not.toMatch(/<b>|IMSDb/);
  });

  it('reads dialogue set at the left margin, cues found by capitals and context', () => {
    const text = [
      'INT. KITCHEN - DAY',
      '',
      'Tom pours coffee. He looks tired.',
      '',
      'TOM',
      'Morning.',
      '',
      'ANNA',
      '(without looking up)',
      'You look awful.',
      '',
      'He sits down and eats.',
      '',
    ].join('\n');
    const { tags, elements } = parseScreenplay(text);
    expect(tags.join('')).toBe('SONOCDOCEDONO');
    expect(elements.filter((e) => e.type === 'speech').map((e) => (e as SpeechElement).character)).toEqual([
      'TOM',
      'ANNA',
    ]);
  });

  it('reads numbered headings without INT./EXT. and headings with U+FFFD', () => {
    const text = [
      '44   AT THE BAR - CONTINUING                  44',
      '',
      'INT. COFFEE SHOP \uFFFD MORNING',
      '',
      'Nobody is here.',
    ].join('\n');
    expect(parseScreenplay(text).tags.join('')).toBe('SOSON');
  });

  it('splits dialogue from a stage direction at the same column by line width', () => {
    // The scraper lost the blank line between the speech and the action (as in many IMSDb files).
    const lines = ['          INT. HOUSE - DAY', ''];
    const want: string[] = ['S', 'O'];
    const add = (tag: string, ls: string[]): void => {
      lines.push(...ls);
      want.push(...ls.map(() => tag));
    };
    for (let i = 0; i < 6; i++) {
      add('C', ['                         ANNIE']);
      add(
        'D',
        wrap('Here we are, home sweet home, and I really do hope that you will like it here.', 34).map(
          (l) => `          ${l}`,
        ),
      );
      add(
        'N',
        wrap(
          'They scan the faded interior. The place is in desperate need of a makeover and a grandfather clock ticks.',
          60,
        ).map((l) => `          ${l}`),
      );
      add('O', ['']);
    }
    expect(parseScreenplay(lines.join('\n')).tags).toEqual(want);
  });

  it('returns no elements for text that is not a screenplay, without throwing', () => {
    expect(parseScreenplay('').elements).toEqual([]);
    expect(parseScreenplay('\n\n\n').tags).toEqual(['O', 'O', 'O', 'O']);
    const prose = parseScreenplay('It was a dark and stormy night.\nThe end.');
    expect(prose.elements.every((e) => e.type !== 'speech')).toBe(true);
  });
});

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const w of text.split(' ')) {
    if (line && line.length + 1 + w.length > width) {
      out.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) out.push(line);
  return out;
}
