import { describe, expect, it } from 'vitest';
import { defaultNgramConfig, NgramHasher } from './hashing.ts';

const features = (h: NgramHasher, s: string) => {
  const f = h.extract(s);
  return {
    idx: Array.from(f.indices.subarray(0, f.length)).sort((a, b) => a - b),
    val: f.length ? f.values[0]! : 0,
    n: f.length,
  };
};

describe('NgramHasher', () => {
  const h = new NgramHasher(defaultNgramConfig);

  it('is deterministic and case-insensitive by default', () => {
    expect(features(h, 'Open the door!')).toEqual(features(h, 'open THE door'));
    expect(features(h, 'Open the door!').idx).not.toEqual(features(h, 'Open the window').idx);
  });

  it('keeps buckets in range and scales every feature to unit length overall', () => {
    const f = features(h, "Don't you dare run away from me, Johnny!");
    expect(f.n).toBeGreaterThan(10);
    expect(Math.max(...f.idx)).toBeLessThan(defaultNgramConfig.buckets);
    expect(f.val).toBeCloseTo(1 / Math.sqrt(f.n), 6);
  });

  it('treats word order through bigrams', () => {
    const hw = new NgramHasher({ ...defaultNgramConfig, charNgrams: [] });
    expect(features(hw, 'dog bites man').idx).not.toEqual(features(hw, 'man bites dog').idx);
    const uni = new NgramHasher({ ...defaultNgramConfig, charNgrams: [], wordNgrams: [1] });
    expect(features(uni, 'dog bites man').idx).toEqual(features(uni, 'man bites dog').idx);
  });

  it('gives no feature to an empty or punctuation-only sentence', () => {
    expect(h.extract('').length).toBe(0);
    expect(h.extract(' ... !? ').length).toBe(0);
  });

  it('truncates long sentences to maxTokens words', () => {
    const short = new NgramHasher({ ...defaultNgramConfig, maxTokens: 3 });
    expect(features(short, 'one two three four five six')).toEqual(features(short, 'one two three'));
    const long = Array.from({ length: 5000 }, (_, i) => `word${i}`).join(' ');
    expect(h.extract(long).length).toBeLessThan(64 * 20);
  });

  it('rejects a bucket count that is not a power of two', () => {
    expect(() => new NgramHasher({ ...defaultNgramConfig, buckets: 1000 })).toThrow(/power of two/);
  });
});
