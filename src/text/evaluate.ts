// Evaluation of a Speech2Action classifier on the validation movies (§4.2) and of keyword
// spotting (§4.2.2) on exactly the same sentences: per-class AP (sklearn's definition), PR curves,
// the verbs whose AP passes a threshold, per-class mining thresholds and the most confident
// sentences per class (the paper's Fig. 2).
import { averagePrecision, meanOfFinite, precisionRecallCurve, type PrPoint } from '../ml/metrics.ts';
import { createKeywordSpotter, type VerbClass } from './keyword.ts';

export interface EvalSentence {
  speech: string;
  labels: string[];
  movie?: string;
}

export interface EvaluateOptions {
  /** Paper: 0.3. */
  targetPrecision: number;
  /** Paper: 0.01. */
  apThreshold: number;
  /** Verb → threshold replacing the computed one (the paper raised phone, run and open). */
  thresholdOverrides?: Record<string, number>;
  /** Sentences per class in the Fig. 2 artifact. */
  topK: number;
  /** Points kept per PR curve in the JSON/plot (the AP always uses every point). */
  maxCurvePoints?: number;
}

export interface ClassResult {
  verb: string;
  /** Validation sentences labelled with this verb. */
  val_count: number;
  /** S2A AP (null when the verb has no validation sentence). */
  ap: number | null;
  keyword_ap: number | null;
  /** Mining threshold: the lowest score whose precision reaches target_precision (or the override). */
  threshold: number;
  /** Whether some score reaches target_precision on validation (always true for an override). */
  precision_reached: boolean;
  overridden: boolean;
  /** AP ≥ ap_threshold and a threshold exists: the verb is used for mining. */
  kept: boolean;
}

export interface TopSentence {
  speech: string;
  score: number;
  /** Whether the sentence's own label includes the verb. */
  correct: boolean;
  labels: string[];
  movie?: string;
}

export interface Evaluation {
  classes: ClassResult[];
  s2a_mean_ap: number;
  keyword_mean_ap: number;
  /** Verbs the means run over (those with at least one validation sentence). */
  mean_over: string[];
  curves: { s2a: Record<string, PrPoint[]>; keyword: Record<string, PrPoint[]> };
  top: Record<string, TopSentence[]>;
  sentences: number;
}

/**
 * The lowest score threshold at which precision (of the sentences scoring ≥ it) reaches `target`,
 * i.e. the operating point with the most recall at that precision; null when none does.
 */
export function miningThreshold(curve: readonly PrPoint[], target: number): number | null {
  let best: number | null = null;
  for (const p of curve) if (p.precision >= target && (best === null || p.threshold < best)) best = p.threshold;
  return best;
}

/** At most `max` points, evenly spaced along the curve, keeping the first and the last. */
export function thinCurve(curve: PrPoint[], max: number): PrPoint[] {
  if (curve.length <= max) return curve;
  const out: PrPoint[] = [];
  for (let i = 0; i < max; i++) out.push(curve[Math.round((i * (curve.length - 1)) / (max - 1))]!);
  return out;
}

function roundPoint(p: PrPoint): PrPoint {
  const r = (v: number) => Math.round(v * 1e5) / 1e5;
  return { threshold: p.threshold, precision: r(p.precision), recall: r(p.recall) };
}

/** scores: row-major [sentences × classes] softmax of the S2A classifier. */
export function evaluateClassifier(
  sentences: readonly EvalSentence[],
  classes: readonly VerbClass[],
  scores: Float32Array,
  opts: EvaluateOptions,
): Evaluation {
  const K = classes.length;
  const N = sentences.length;
  if (scores.length !== N * K)
    throw new Error(`evaluateClassifier: ${scores.length} scores for ${N} sentences × ${K} classes`);
  const spot = createKeywordSpotter([...classes]);
  const hits = sentences.map((s) => new Set(spot(s.speech)));
  const labelSets = sentences.map((s) => new Set(s.labels));
  const overrides = opts.thresholdOverrides ?? {};
  const maxPoints = opts.maxCurvePoints ?? 100;
  const result: ClassResult[] = [];
  const curves: Evaluation['curves'] = { s2a: {}, keyword: {} };
  const top: Evaluation['top'] = {};
  for (let k = 0; k < K; k++) {
    const verb = classes[k]!.verb;
    const col = new Float32Array(N);
    const truth = new Uint8Array(N);
    const kw = new Float32Array(N);
    let count = 0;
    for (let i = 0; i < N; i++) {
      col[i] = scores[i * K + k]!;
      truth[i] = labelSets[i]!.has(verb) ? 1 : 0;
      count += truth[i]!;
      kw[i] = hits[i]!.has(verb) ? 1 : 0;
    }
    const ap = averagePrecision(col, truth);
    const kap = averagePrecision(kw, truth);
    const curve = precisionRecallCurve(col, truth);
    const computed = count > 0 ? miningThreshold(curve, opts.targetPrecision) : null;
    const override = overrides[verb];
    const overridden = typeof override === 'number';
    const threshold = overridden ? override : (computed ?? 1);
    const precisionReached = overridden || computed !== null;
    result.push({
      verb,
      val_count: count,
      ap: Number.isFinite(ap) ? ap : null,
      keyword_ap: Number.isFinite(kap) ? kap : null,
      threshold,
      precision_reached: precisionReached,
      overridden,
      kept: Number.isFinite(ap) && ap >= opts.apThreshold && precisionReached,
    });
    if (count > 0) {
      curves.s2a[verb] = thinCurve(curve, maxPoints).map(roundPoint);
      curves.keyword[verb] = precisionRecallCurve(kw, truth);
    }
    const order = Array.from({ length: N }, (_, i) => i)
      .sort((a, b) => col[b]! - col[a]!)
      .slice(0, opts.topK);
    top[verb] = order.map((i) => ({
      speech: sentences[i]!.speech,
      score: col[i]!,
      correct: truth[i] === 1,
      labels: sentences[i]!.labels,
      ...(sentences[i]!.movie !== undefined ? { movie: sentences[i]!.movie } : {}),
    }));
  }
  const withVal = result.filter((r) => r.val_count > 0);
  return {
    classes: result,
    s2a_mean_ap: meanOfFinite(withVal.map((r) => r.ap ?? Number.NaN)),
    keyword_mean_ap: meanOfFinite(withVal.map((r) => r.keyword_ap ?? Number.NaN)),
    mean_over: withVal.map((r) => r.verb),
    curves,
    top,
    sentences: N,
  };
}

function escapeMd(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\s+/g, ' ');
}

/** The paper's Fig. 2 as markdown: the most confident validation sentences per verb. */
export function topSentencesMarkdown(evaluation: Evaluation): string {
  const lines = ['# Most confident validation sentences per verb (Speech2Action, Fig. 2)', ''];
  for (const c of evaluation.classes) {
    const rows = evaluation.top[c.verb] ?? [];
    lines.push(
      `## ${c.verb}`,
      '',
      `AP ${c.ap === null ? 'n/a' : c.ap.toFixed(3)} · ${c.val_count} validation sentences · threshold ${c.threshold.toFixed(3)}${c.kept ? '' : ' · not kept'}`,
      '',
    );
    lines.push('| score | ok | sentence | labels |', '|---:|:-:|---|---|');
    for (const r of rows)
      lines.push(
        `| ${r.score.toFixed(3)} | ${r.correct ? '✓' : '✗'} | ${escapeMd(r.speech)} | ${escapeMd(r.labels.join(', '))} |`,
      );
    lines.push('');
  }
  return lines.join('\n');
}

/** The comparison table (verb, validation count, S2A AP, keyword AP) as markdown. */
export function apTableMarkdown(evaluation: Evaluation, minValCount = 0): string {
  const f = (v: number | null) => (v === null || !Number.isFinite(v) ? 'n/a' : v.toFixed(3));
  const rows = evaluation.classes.filter((c) => c.val_count >= minValCount).sort((a, b) => b.val_count - a.val_count);
  const lines = ['| verb | val sentences | S2A AP | keyword AP |', '|---|---:|---:|---:|'];
  for (const c of rows) {
    const win = c.ap !== null && c.keyword_ap !== null && c.ap > c.keyword_ap;
    lines.push(`| ${c.verb} | ${c.val_count} | ${win ? `**${f(c.ap)}**` : f(c.ap)} | ${f(c.keyword_ap)} |`);
  }
  lines.push(
    `| **mean** (${evaluation.mean_over.length} verbs) | | ${f(evaluation.s2a_mean_ap)} | ${f(evaluation.keyword_mean_ap)} |`,
  );
  return lines.join('\n');
}
