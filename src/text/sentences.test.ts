import { describe, expect, it } from 'vitest';
import { corpusStats } from './corpus-stats.ts';
import { countWords, words } from './sentences.ts';

describe('words and corpus statistics', () => {
  it('counts words with inner apostrophes as one', () => {
    expect(words("Don't stop, O'Neil -- it's 5 o'clock.")).toEqual(["Don't", 'stop', "O'Neil", "it's", '5', "o'clock"]);
    expect(countWords("Don't stop, O'Neil -- it's 5 o'clock.")).toBe(6);
  });

  it('computes Table 1 figures over stage directions and speech', () => {
    const stats = corpusStats([
      [
        { type: 'heading', text: 'INT. ROOM - DAY', line: 0 },
        { type: 'action', text: 'John enters. He sits.', line: 2 },
        { type: 'speech', character: 'JOHN', extensions: [], text: 'Hello there. Hello!', parentheticals: [], line: 4 },
      ],
      [{ type: 'action', text: 'Rain.', line: 0 }],
    ]);
    expect(stats).toEqual({
      movies: 2,
      scene_descriptions: 2,
      speech_segments: 1,
      sentences: 5,
      words: 8,
      unique_words: 7,
    });
  });
});
