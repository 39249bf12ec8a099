import { describe, expect, it } from 'vitest';
import { accuracy, averagePrecision, precisionRecallCurve } from './metrics.ts';

describe('averagePrecision (sklearn definition)', () => {
  it('matches sklearn on the documented example', () => {
    // sklearn docs: average_precision_score([0,0,1,1], [0.1,0.4,0.35,0.8]) == 0.8333...
    expect(averagePrecision([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.8333333, 6);
  });
  it('is 1 for a perfect ranking and handles ties as one threshold', () => {
    expect(averagePrecision([0.9, 0.8, 0.1], [1, 1, 0])).toBe(1);
    // all tied: one threshold, precision = prevalence
    expect(averagePrecision([0.5, 0.5, 0.5, 0.5], [1, 0, 0, 0])).toBeCloseTo(0.25, 9);
  });
  it('hand-computed: ranks 1 and 3 positive', () => {
    // P@1 = 1 (R .5), P@3 = 2/3 (R 1) -> .5*1 + .5*2/3
    expect(averagePrecision([0.9, 0.8, 0.7, 0.1], [1, 0, 1, 0])).toBeCloseTo(0.5 + 1 / 3, 9);
  });
  it('is NaN without positives and rejects mismatched lengths', () => {
    expect(averagePrecision([0.2, 0.1], [0, 0])).toBeNaN();
    expect(() => averagePrecision([0.2], [0, 1])).toThrow(/1 scores but 2 labels/);
  });
  it('gives a PR curve from the highest threshold', () => {
    const c = precisionRecallCurve([0.9, 0.8, 0.7], [1, 0, 1]);
    expect(c.map((p) => p.precision)).toEqual([1, 0.5, 2 / 3]);
    expect(c.map((p) => p.recall)).toEqual([0.5, 0.5, 1]);
  });
  it('accuracy', () => {
    expect(accuracy([1, 2, 3], [1, 0, 3])).toBeCloseTo(2 / 3);
  });
});
