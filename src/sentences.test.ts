import { describe, expect, it } from 'vitest';
import { sentenceEnds, splitSentences } from './sentences.ts';

// The one sentence splitter, as screenplays use it (src/text, src/stages/pairs-build.ts); the
// captions room's use over timed cues is tested in src/captions/sentences.test.ts.
describe('splitSentences', () => {
  it('splits on sentence ends but not after titles, initials or acronyms', () => {
    expect(
      splitSentences('Mr. Smith enters. Dr. Jones waves at MRS. PEEL. J. Edgar Hoover reads the U.S. papers.'),
    ).toEqual(['Mr. Smith enters.', 'Dr. Jones waves at MRS. PEEL.', 'J. Edgar Hoover reads the U.S. papers.']);
  });

  it('keeps ellipses and dashes inside a sentence unless a new one starts', () => {
    expect(splitSentences('He waits... and waits. Then -- nothing. Wait... What?')).toEqual([
      'He waits... and waits.',
      'Then -- nothing.',
      'Wait...',
      'What?',
    ]);
  });

  it('splits before all-caps names and after closing quotes', () => {
    expect(splitSentences('The door opens. JOHN enters. She says "Hi." He nods!')).toEqual([
      'The door opens.',
      'JOHN enters.',
      'She says "Hi."',
      'He nods!',
    ]);
  });

  it('knows the abbreviations of scripts and subtitles alike (titles, months, script extensions)', () => {
    expect(
      splitSentences(
        'Capt. Miller salutes Lt. Col. Reed. On Jan. 5 they sail. JOHN (V.O.) speaks. Dept. of Defense, Inc. calls.',
      ),
    ).toEqual([
      'Capt. Miller salutes Lt. Col. Reed.',
      'On Jan. 5 they sail.',
      'JOHN (V.O.) speaks.',
      'Dept. of Defense, Inc. calls.',
    ]);
  });

  it('ends a sentence at the end of the text and keeps closing quotes and brackets', () => {
    expect([...sentenceEnds('He said «Go.» Then (he left.)')].map((e) => e.mark)).toEqual(['.»', '.)']);
    expect(splitSentences('Wait. then what?')).toEqual(['Wait. then what?']);
  });

  it('joins line breaks and ignores empty text', () => {
    expect(splitSentences('  He runs\n  to the car.  ')).toEqual(['He runs to the car.']);
    expect(splitSentences('   ')).toEqual([]);
  });
});
