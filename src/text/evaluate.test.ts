import { describe, expect, it } from 'vitest';
import { apTableMarkdown, evaluateClassifier, miningThreshold, thinCurve, topSentencesMarkdown } from './evaluate.ts';

const classes = [
  { verb: 'run', forms: ['run', 'runs', 'ran', 'running'] },
  { verb: 'open', forms: ['open', 'opens', 'opened', 'opening'] },
  { verb: 'kiss', forms: ['kiss', 'kissed'] },
];
const sentences = [
  { speech: 'Run now!', labels: ['run'] },
  { speech: 'Do not run away', labels: [] },
  { speech: 'Hurry up', labels: ['run'] },
  { speech: 'Open it', labels: ['open'] },
  { speech: '', labels: [] },
  { speech: 'He ran', labels: ['run'] },
];
// columns run, open, kiss
const runCol = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4];
const openCol = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
const scores = new Float32Array(sentences.flatMap((_, i) => [runCol[i]!, openCol[i]!, 0.05]));
const opts = { targetPrecision: 0.6, apThreshold: 0.01, topK: 2 };

describe('evaluateClassifier', () => {
  const ev = evaluateClassifier(sentences, classes, scores, opts);
  const byVerb = Object.fromEntries(ev.classes.map((c) => [c.verb, c]));

  it('computes sklearn AP for S2A scores (hand-computed)', () => {
    // run: P=1 at R=1/3, P=2/3 at R=2/3, P=1/2 at R=1 → 1/3 + 2/9 + 1/6
    expect(byVerb.run!.ap).toBeCloseTo(13 / 18, 5);
    expect(byVerb.open!.ap).toBeCloseTo(1 / 3, 5);
  });

  it('evaluates keyword spotting on the same sentences (score 1/0)', () => {
    // run hits sentences 0, 1, 5: P=2/3 at R=2/3, then all sentences: P=1/2 at R=1
    expect(byVerb.run!.keyword_ap).toBeCloseTo(4 / 9 + 1 / 6, 5);
    expect(byVerb.open!.keyword_ap).toBeCloseTo(1, 5);
  });

  it('means run over the verbs that have validation sentences', () => {
    expect(ev.mean_over).toEqual(['run', 'open']);
    expect(ev.s2a_mean_ap).toBeCloseTo((13 / 18 + 1 / 3) / 2, 5);
    expect(ev.keyword_mean_ap).toBeCloseTo((11 / 18 + 1) / 2, 5);
    expect(byVerb.kiss).toMatchObject({ val_count: 0, ap: null, keyword_ap: null, kept: false });
  });

  it('picks the lowest score reaching the target precision', () => {
    expect(byVerb.run!.threshold).toBeCloseTo(0.7, 6);
    expect(byVerb.run!.kept).toBe(true);
    // open never reaches 0.6 precision: not kept, threshold 1
    expect(byVerb.open).toMatchObject({ precision_reached: false, kept: false, threshold: 1 });
  });

  it('applies per-class overrides and the AP threshold', () => {
    const ev2 = evaluateClassifier(sentences, classes, scores, {
      ...opts,
      apThreshold: 0.5,
      thresholdOverrides: { open: 0.55 },
    });
    const open = ev2.classes.find((c) => c.verb === 'open')!;
    expect(open).toMatchObject({ threshold: 0.55, overridden: true, kept: false }); // AP 1/3 < 0.5
    expect(ev2.classes.find((c) => c.verb === 'run')!.kept).toBe(true);
  });

  it('lists the most confident sentences per class (Fig. 2)', () => {
    expect(ev.top.run!.map((t) => [t.speech, t.correct])).toEqual([
      ['Run now!', true],
      ['Do not run away', false],
    ]);
    expect(topSentencesMarkdown(ev)).toContain('| 0.900 | ✓ | Run now! | run |');
    expect(apTableMarkdown(ev)).toMatch(/\| run \| 3 \| \*\*0\.722\*\* \| 0\.611 \|/);
  });

  it('rejects a score matrix of the wrong size', () => {
    expect(() => evaluateClassifier(sentences, classes, new Float32Array(5), opts)).toThrow(/6 sentences × 3 classes/);
  });
});

describe('miningThreshold', () => {
  const curve = [
    { threshold: 0.9, precision: 1, recall: 0.2 },
    { threshold: 0.5, precision: 0.25, recall: 0.4 },
    { threshold: 0.3, precision: 0.35, recall: 0.8 },
    { threshold: 0.1, precision: 0.2, recall: 1 },
  ];
  it('takes the lowest threshold whose precision reaches the target, even past a dip', () => {
    expect(miningThreshold(curve, 0.3)).toBe(0.3);
    expect(miningThreshold(curve, 0.5)).toBe(0.9);
    expect(miningThreshold(curve, 0.2)).toBe(0.1);
    expect(miningThreshold(curve, 1.1)).toBeNull();
    expect(miningThreshold([], 0.3)).toBeNull();
  });
  it('thins long curves but keeps both ends', () => {
    const long = Array.from({ length: 1000 }, (_, i) => ({ threshold: 1 - i / 1000, precision: 1, recall: i / 999 }));
    const thin = thinCurve(long, 10);
    expect(thin).toHaveLength(10);
    expect(thin[0]).toBe(long[0]);
    expect(thin[9]).toBe(long[999]);
  });
});
