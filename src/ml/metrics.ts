// Ranking and classification metrics shared by the text and video evaluations.

/**
 * Average precision as scikit-learn's `average_precision_score` defines it:
 * AP = Σ_n (R_n − R_{n−1}) · P_n over the distinct score thresholds, highest first
 * (tied scores enter together; no interpolation). Returns NaN when there is no positive.
 */
export function averagePrecision(scores: ArrayLike<number>, labels: ArrayLike<number | boolean>): number {
  const n = scores.length;
  if (labels.length !== n) throw new Error(`averagePrecision: ${n} scores but ${labels.length} labels`);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  let positives = 0;
  for (let i = 0; i < n; i++) if (labels[i]) positives++;
  if (positives === 0) return Number.NaN;
  let tp = 0;
  let fp = 0;
  let ap = 0;
  let prevRecall = 0;
  for (let i = 0; i < n; ) {
    const s = scores[order[i]!]!;
    while (i < n && scores[order[i]!] === s) {
      if (labels[order[i]!]) tp++;
      else fp++;
      i++;
    }
    const recall = tp / positives;
    ap += (recall - prevRecall) * (tp / (tp + fp));
    prevRecall = recall;
  }
  return ap;
}

export interface PrPoint {
  threshold: number;
  precision: number;
  recall: number;
}

/** Precision/recall at each distinct threshold, highest score first (like sklearn's curve, reversed). */
export function precisionRecallCurve(scores: ArrayLike<number>, labels: ArrayLike<number | boolean>): PrPoint[] {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  let positives = 0;
  for (let i = 0; i < n; i++) if (labels[i]) positives++;
  const out: PrPoint[] = [];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < n; ) {
    const s = scores[order[i]!]!;
    while (i < n && scores[order[i]!] === s) {
      if (labels[order[i]!]) tp++;
      else fp++;
      i++;
    }
    out.push({ threshold: s, precision: tp / (tp + fp), recall: positives ? tp / positives : 0 });
  }
  return out;
}

/** Mean of the finite values (NaN when none). */
export function meanOfFinite(values: Iterable<number>): number {
  let sum = 0;
  let count = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    sum += v;
    count++;
  }
  return count ? sum / count : Number.NaN;
}

/** Top-1 accuracy of score rows against integer labels. */
export function accuracy(predicted: ArrayLike<number>, truth: ArrayLike<number>): number {
  if (predicted.length !== truth.length) throw new Error('accuracy: length mismatch');
  if (predicted.length === 0) return Number.NaN;
  let ok = 0;
  for (let i = 0; i < predicted.length; i++) if (predicted[i] === truth[i]) ok++;
  return ok / predicted.length;
}
