import { describe, expect, it } from 'vitest';
import { canonicalJson, deepFreeze, shortHash } from '../canonical.ts';

describe('canonicalJson', () => {
  it('does not depend on key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[1,{"x":1,"y":2}]},"b":1}',
    );
    expect(canonicalJson({ x: 1, y: 2 })).toBe(canonicalJson({ y: 2, x: 1 }));
  });

  it('drops undefined members like JSON.stringify', () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
    expect(canonicalJson([undefined])).toBe('[null]');
  });

  it('gives the same text for a frozen object (memoised) as for a fresh one', () => {
    const frozen = deepFreeze({ z: { q: 1 }, a: [2] });
    expect(canonicalJson(frozen)).toBe(canonicalJson({ a: [2], z: { q: 1 } }));
    expect(canonicalJson(frozen)).toBe('{"a":[2],"z":{"q":1}}');
  });
});

describe('shortHash', () => {
  it('is a sha256 hex prefix of the requested length', () => {
    expect(shortHash('abc')).toBe('ba7816bf8f01');
    expect(shortHash('abc', 20)).toHaveLength(20);
  });
});
