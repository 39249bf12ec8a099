import { describe, expect, it } from 'vitest';
import { didYouMean, editDistance } from './did-you-mean.ts';

describe('editDistance', () => {
  it('counts insertions, deletions, substitutions and adjacent swaps as one edit each', () => {
    expect(editDistance('min_count', 'min_cout')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('prase', 'parse')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
  });
});

describe('didYouMean', () => {
  it('suggests the closest candidate within two edits', () => {
    expect(didYouMean('min_cout', ['drop_top', 'min_count'])).toBe('min_count');
    expect(didYouMean('setings', ['name', 'settings', 'stages'])).toBe('settings');
    expect(didYouMean('screenplay.prase', ['screenplay.parse', 'verbs.mine'])).toBe('screenplay.parse');
  });

  it('suggests a candidate sharing a prefix', () => {
    expect(didYouMean('finetun', ['video', 'finetune'])).toBe('finetune');
    expect(didYouMean('min', ['drop_top', 'min_count'])).toBe('min_count');
  });

  it('suggests nothing for unrelated words or very short ones far away', () => {
    expect(didYouMean('banana', ['min_count', 'drop_top'])).toBeUndefined();
    expect(didYouMean('k', ['id', 'lr'])).toBeUndefined();
    expect(didYouMean('x', [])).toBeUndefined();
  });

  it('never suggests the word itself', () => {
    expect(didYouMean('parse', ['parse'])).toBeUndefined();
  });
});
