import { describe, expect, it } from 'vitest';
import { createKeywordSpotter, keywordWords } from './keyword.ts';

const classes = [
  { verb: 'run', forms: ['run', 'runs', 'ran', 'running'] },
  { verb: 'open', forms: ['open', 'opens', 'opened', 'opening'] },
  { verb: 'pick up', forms: ['pick up', 'picks up', 'picked up'] },
  { verb: 'don', forms: ['don', 'dons', 'donned'] },
];

describe('createKeywordSpotter (§4.2.2)', () => {
  const spot = createKeywordSpotter(classes);

  it('finds a conjugation as a whole word, case-insensitively', () => {
    expect(spot('RUN, Forrest!')).toEqual(['run']);
    expect(spot('She Opened the door and ran.')).toEqual(['run', 'open']);
  });

  it('respects word boundaries', () => {
    expect(spot('The runner reopened the opener.')).toEqual([]);
    expect(spot('Brunswick is far')).toEqual([]);
  });

  it('keeps apostrophe words whole but sees through quotes', () => {
    expect(spot("I don't know")).toEqual([]);
    expect(spot("He said 'run' twice")).toEqual(['run']);
    expect(spot('It’s opening night')).toEqual(['open']);
  });

  it('matches multi-word forms only as consecutive words', () => {
    expect(spot('Pick up the phone')).toEqual(['pick up']);
    expect(spot('Pick it up')).toEqual([]);
  });

  it('handles empty and odd input', () => {
    expect(spot('')).toEqual([]);
    expect(spot('... !!! ')).toEqual([]);
    expect(createKeywordSpotter([])('run')).toEqual([]);
  });

  it('splits words like the spotter sees them', () => {
    expect(keywordWords("Don’t RUN -- 'now'!")).toEqual(["don't", 'run', 'now']);
  });
});
