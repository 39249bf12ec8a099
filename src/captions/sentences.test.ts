import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../test/helpers/repo.ts';
import { readCaptionFile } from './read.ts';
import { splitSentences } from './sentences.ts';
import type { Cue } from './types.ts';

describe('sentence spans', () => {
  it('joins a sentence over several cues and splits one cue by characters', async () => {
    const t = await readCaptionFile(path.join(repoRoot, 'test/fixtures/captions/spans.srt'));
    const s = splitSentences(t.cues);
    expect(s.map((x) => x.text)).toEqual([
      'I was going to... open the door.',
      'Then we ran.',
      'Drive!',
      'Where to?',
      'Short.',
      'A much longer one here.',
    ]);
    // Sentence 1: all of cue 1 and the first part of cue 2 ("...open the door. Then" → dots dropped).
    expect(s[0]!.start).toBe(1);
    expect(s[0]!.end).toBeGreaterThan(3.5);
    expect(s[0]!.end).toBeLessThan(5);
    expect(s[1]!.end).toBe(6);
    // "Short. A much longer one here." over 10 s: "Short." is characters 0-6 of 30 → 20-22 s;
    // the second sentence starts after the space, at character 7.
    expect(s[4]!.start).toBe(20);
    expect(s[4]!.end).toBeCloseTo(22, 2);
    expect(s[5]!.start).toBeCloseTo(20 + (10 * 7) / 30, 2);
    expect(s[5]!.end).toBe(30);
  });

  it('keeps abbreviations and initials inside the sentence; drops sound descriptions', () => {
    const cues: Cue[] = [
      { start: 0, end: 4, text: 'Mr. Smith met J. Edgar at 3.30 today. [door slams]' },
      { start: 4.5, end: 5, text: '♪ la la ♪' },
      { start: 10, end: 11, text: '# Singing in the rain # (LAUGHS)' },
      { start: 20, end: 21, text: "We're #1!" },
    ];
    expect(splitSentences(cues).map((s) => s.text)).toEqual([
      'Mr. Smith met J. Edgar at 3.30 today.',
      'la la',
      'Singing in the rain',
      "We're #1!",
    ]);
  });

  it('cuts cues with the same abbreviations and rule as screenplays', () => {
    const cues: Cue[] = [
      { start: 0, end: 4, text: 'Capt. Miller, Lt. Reed... and Dr. Kim. We sail on Jan. 5!' },
      { start: 4, end: 6, text: 'Not on the U.S.A. coast. he said.' },
    ];
    expect(splitSentences(cues).map((s) => s.text)).toEqual([
      'Capt. Miller, Lt. Reed... and Dr. Kim.',
      'We sail on Jan. 5!',
      'Not on the U.S.A. coast. he said.',
    ]);
  });

  it('ends an unfinished sentence at a long pause and orders cues by time', () => {
    const cues: Cue[] = [
      { start: 50, end: 51, text: 'later words' },
      { start: 0, end: 1, text: 'no full stop here' },
      { start: 1.2, end: 2, text: 'still the same sentence' },
    ];
    const s = splitSentences(cues);
    expect(s).toEqual([
      { text: 'no full stop here still the same sentence', start: 0, end: 2 },
      { text: 'later words', start: 50, end: 51 },
    ]);
  });

  it('does not carry an ellipsis over into a cue that starts a new sentence', () => {
    const cues: Cue[] = [
      { start: 0, end: 1, text: 'Well...' },
      { start: 1.1, end: 2, text: 'Run!' },
    ];
    expect(splitSentences(cues).map((s) => s.text)).toEqual(['Well...', 'Run!']);
  });
});
