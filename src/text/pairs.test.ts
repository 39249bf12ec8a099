import { describe, expect, it } from 'vitest';
import type { Element } from '../screenplay/types.ts';
import { buildPairs, splitMovies } from './pairs.ts';

const speech = (text: string): Element => ({
  type: 'speech',
  character: 'A',
  extensions: [],
  text,
  parentheticals: [],
  line: 0,
});
const action = (text: string): Element => ({ type: 'action', text, line: 0 });
const heading = (text: string): Element => ({ type: 'heading', text, line: 0 });
// A stand-in verb finder: every word in the list is a verb class.
const labelsOf = (text: string): string[] => text.split(/\W+/).filter((w) => ['phone', 'kiss', 'run'].includes(w));

describe('buildPairs (§3.2)', () => {
  const elements = [
    speech('s0'),
    action('he kiss her'),
    speech('s2'),
    action('nothing'),
    action('phone'),
    speech('s5'),
  ];

  it('labels the nearest speech with every verb of the direction', () => {
    const pairs = buildPairs('m', elements, labelsOf, { direction: 'nearest', maxDistance: 3, tie: 'after' });
    expect(pairs.map((p) => [p.speech, p.labels, p.distance])).toEqual([
      ['s2', ['kiss'], 1],
      ['s5', ['phone'], 1],
    ]);
  });

  it('breaks ties by the tie rule', () => {
    const before = buildPairs('m', elements, labelsOf, { direction: 'nearest', maxDistance: 3, tie: 'before' });
    expect(before.map((p) => p.speech)).toEqual(['s0', 's5']);
    const both = buildPairs('m', elements, labelsOf, { direction: 'nearest', maxDistance: 3, tie: 'both' });
    expect(both.map((p) => p.speech)).toEqual(['s0', 's2', 's5']);
  });

  it('follows the direction and the maximum distance', () => {
    const after = buildPairs('m', elements, labelsOf, { direction: 'before', maxDistance: 1, tie: 'after' });
    expect(after.map((p) => [p.speech, p.labels])).toEqual([['s0', ['kiss']]]);
    const far = buildPairs('m', elements, labelsOf, { direction: 'before', maxDistance: 3, tie: 'after' });
    expect(far.map((p) => [p.speech, p.labels, p.distance])).toEqual([
      ['s0', ['kiss'], 1],
      ['s2', ['phone'], 2],
    ]);
  });

  it('merges labels of several directions on one speech and keeps the smallest distance', () => {
    const els = [action('run'), action('phone'), speech('hello')];
    expect(buildPairs('m', els, labelsOf, { direction: 'nearest', maxDistance: 5, tie: 'after' })).toEqual([
      { movie: 'm', speech: 'hello', labels: ['phone', 'run'], distance: 1, element: 2 },
    ]);
  });

  it('does not cross a scene heading unless asked', () => {
    const els = [speech('hi'), heading('INT. X'), action('run')];
    expect(buildPairs('m', els, labelsOf, { direction: 'nearest', maxDistance: 5, tie: 'after' })).toEqual([]);
    expect(
      buildPairs('m', els, labelsOf, { direction: 'nearest', maxDistance: 5, tie: 'after', crossScenes: true }),
    ).toHaveLength(1);
  });
});

describe('splitMovies', () => {
  const movies = Array.from({ length: 100 }, (_, i) => `movie-${i}`);

  it('holds out a seeded fraction of movies, the same for the same seed', () => {
    const a = splitMovies(movies, { valFraction: 0.2, seed: 7 });
    const b = splitMovies([...movies].reverse(), { valFraction: 0.2, seed: 7 });
    const c = splitMovies(movies, { valFraction: 0.2, seed: 8 });
    expect([...a.values()].filter((s) => s === 'val')).toHaveLength(20);
    expect(movies.map((m) => a.get(m))).toEqual(movies.map((m) => b.get(m)));
    expect(movies.map((m) => a.get(m))).not.toEqual(movies.map((m) => c.get(m)));
  });

  it('uses an explicit validation list', () => {
    const s = splitMovies(['a', 'b', 'c'], { valMovies: ['b'] });
    expect([...s]).toEqual([
      ['a', 'train'],
      ['b', 'val'],
      ['c', 'train'],
    ]);
  });
});
