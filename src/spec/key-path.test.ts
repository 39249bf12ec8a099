import { describe, expect, it } from 'vitest';
import { absolutePath, formatPath, getAt, parseKeyPath, setAt } from './key-path.ts';

describe('key paths', () => {
  it('splits dotted paths and quoted segments', () => {
    expect(parseKeyPath('finetune.k')).toEqual(['finetune', 'k']);
    expect(parseKeyPath('vars.`a.b`.c')).toEqual(['vars', 'a.b', 'c']);
    expect(parseKeyPath('vars["a.b"].c')).toEqual(['vars', 'a.b', 'c']);
    expect(parseKeyPath('stages.video.needs[0]')).toEqual(['stages', 'video', 'needs', '0']);
  });

  it('rejects malformed paths with a reason', () => {
    expect(() => parseKeyPath('a..b')).toThrow(/empty segment/);
    expect(() => parseKeyPath('a.')).toThrow(/ends with/);
    expect(() => parseKeyPath('a.`b')).toThrow(/unclosed backquote/);
    expect(() => parseKeyPath('a[x]')).toThrow(/neither a list index/);
  });

  it('expands a stage-short path to stages.<stage>.with', () => {
    expect(absolutePath(['finetune', 'k'])).toEqual(['stages', 'finetune', 'with', 'k']);
    expect(absolutePath(['settings', 'seed'])).toEqual(['settings', 'seed']);
    expect(absolutePath(['vars', 'x'])).toEqual(['vars', 'x']);
  });

  it('formats paths for messages', () => {
    expect(formatPath(['stages', 'parse', 'with', 'min_count'])).toBe('stages.parse.with.min_count');
    expect(formatPath(['stages', 'video', 'needs', '1'])).toBe('stages.video.needs[1]');
    expect(formatPath(['matrix', 'finetune.k'])).toBe('matrix.`finetune.k`');
  });

  it('sets a value by copying only the containers on the way', () => {
    const doc = { a: { b: 1 }, c: { d: 2 } };
    const out = setAt(doc, ['a', 'b'], 5) as typeof doc;
    expect(out.a.b).toBe(5);
    expect(doc.a.b).toBe(1);
    expect(out.c).toBe(doc.c);
    expect(getAt(out, ['a', 'b'])).toEqual({ found: true, value: 5 });
    expect(getAt(out, ['a', 'x']).found).toBe(false);
  });
});
