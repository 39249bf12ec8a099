// Stage `s2a.evaluate` (§4.2): scores the validation movies' sentences with the trained classifier
// and, on exactly the same sentences, with keyword spotting (§4.2.2); writes per-class AP, PR
// curves (JSON + PNG), mining thresholds and the most confident sentences per class (Fig. 2).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ExpError } from '../errors.ts';
import type { JsonSchema, JsonValue, StageContext, StageKind } from '../plan/stage-kind.ts';
import { apTableMarkdown, evaluateClassifier, topSentencesMarkdown } from '../text/evaluate.ts';
import { outputPath, requirePort } from './ports.ts';
import { readPairsInput } from './s2a-data.ts';

export interface S2aEvaluateParams {
  target_precision: number;
  ap_threshold: number;
  threshold_overrides: Record<string, number>;
  top_k: number;
  batch_size: number;
}

const paramsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    target_precision: {
      type: 'number',
      minimum: 0,
      maximum: 1,
      default: 0.3,
      description:
        'Mining threshold of a class = the lowest score at which validation precision reaches this (paper: 0.3).',
    },
    ap_threshold: {
      type: 'number',
      minimum: 0,
      maximum: 1,
      default: 0.01,
      description: 'Verbs whose validation AP is below this are not kept for mining (paper: 0.01).',
    },
    threshold_overrides: {
      type: 'object',
      additionalProperties: { type: 'number', minimum: 0, maximum: 1 },
      default: {},
      description:
        'Per-verb thresholds replacing the computed ones (the paper raised phone, run and open), e.g. {phone: 0.6}.',
    },
    top_k: {
      type: 'integer',
      minimum: 1,
      maximum: 1000,
      default: 10,
      description: 'Most confident validation sentences kept per class (paper Fig. 2).',
    },
    batch_size: {
      type: 'integer',
      minimum: 1,
      maximum: 65536,
      default: 1024,
      description: 'Sentences per classifier call.',
    },
  },
};

const MAX_PLOTTED = 40;
const MAX_CURVES = 12;

async function run(ctx: StageContext<S2aEvaluateParams>): Promise<{ outputs: Record<string, JsonValue> }> {
  // The classifier (tfjs, ONNX) and the chart code (pngjs) load when the node runs, not with the CLI.
  const { loadSentenceClassifier } = await import('../text/classifier/index.ts');
  const { renderBarChart, renderLineChart } = await import('../ml/plot.ts');
  const p = ctx.params;
  const trainInput = requirePort(ctx, 'model', 's2a.evaluate: needs an s2a.train node upstream', 'needs: [s2a, pairs]');
  const modelDir = outputPath(trainInput, 'model', 'model');
  const { pairs, classes: verbClasses } = await readPairsInput(ctx, 's2a.evaluate');
  const val = pairs.filter((r) => r.split === 'val');
  if (val.length === 0) {
    throw new ExpError('EXP_DATA_INVALID', 's2a.evaluate: pairs.jsonl has no "val" pairs to evaluate on', {
      hint: 'set pairs.build val_fraction > 0 or val_movies',
    });
  }
  const classifier = await loadSentenceClassifier(modelDir);
  const formsOf = new Map(verbClasses.map((c) => [c.verb, c]));
  const unknown = Object.keys(p.threshold_overrides).filter((v) => !classifier.classes.includes(v));
  if (unknown.length) {
    throw new ExpError(
      'EXP_PARAMS_INVALID',
      `s2a.evaluate: threshold_overrides names unknown verb(s) ${unknown.join(', ')}`,
      {
        hint: `the classifier's classes: ${classifier.classes.slice(0, 30).join(', ')}`,
        detail: { key: 'threshold_overrides' },
      },
    );
  }
  const classes = classifier.classes.map((v) => formsOf.get(v) ?? { verb: v, forms: [v] });
  const K = classes.length;
  const scores = new Float32Array(val.length * K);
  for (let start = 0; start < val.length; start += p.batch_size) {
    if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('aborted');
    const batch = val.slice(start, start + p.batch_size).map((r) => r.speech);
    scores.set(await classifier.predict(batch), start * K);
    ctx.progress(Math.min(val.length, start + p.batch_size), val.length, 'sentences');
  }
  await (classifier as { dispose?: () => Promise<void> }).dispose?.();
  const ev = evaluateClassifier(val, classes, scores, {
    targetPrecision: p.target_precision,
    apThreshold: p.ap_threshold,
    thresholdOverrides: p.threshold_overrides,
    topK: p.top_k,
  });

  for (const c of ev.classes) {
    if (c.ap !== null) ctx.metric(`s2a.ap.${c.verb}`, c.ap);
    if (c.keyword_ap !== null) ctx.metric(`keyword.ap.${c.verb}`, c.keyword_ap);
  }
  if (Number.isFinite(ev.s2a_mean_ap)) ctx.metric('s2a.mean_ap', ev.s2a_mean_ap);
  if (Number.isFinite(ev.keyword_mean_ap)) ctx.metric('keyword.mean_ap', ev.keyword_mean_ap);
  const kept = ev.classes.filter((c) => c.kept).map((c) => c.verb);
  ctx.metric('s2a.kept_classes', kept.length);

  const out = (f: string) => path.join(ctx.outDir, f);
  const thresholds = {
    method: 's2a',
    target_precision: p.target_precision,
    ap_threshold: p.ap_threshold,
    classes: ev.classes.map((c) => ({
      verb: c.verb,
      ap: c.ap,
      threshold: c.threshold,
      val_count: c.val_count,
      kept: c.kept,
      precision_reached: c.precision_reached,
      overridden: c.overridden,
    })),
  };
  await writeFile(out('thresholds.json'), `${JSON.stringify(thresholds, null, 2)}\n`);
  const ap = {
    sentences: ev.sentences,
    s2a_mean_ap: Number.isFinite(ev.s2a_mean_ap) ? ev.s2a_mean_ap : null,
    keyword_mean_ap: Number.isFinite(ev.keyword_mean_ap) ? ev.keyword_mean_ap : null,
    mean_over: ev.mean_over,
    classes: ev.classes.map((c) => ({
      verb: c.verb,
      val_count: c.val_count,
      s2a_ap: c.ap,
      keyword_ap: c.keyword_ap,
      kept: c.kept,
    })),
  };
  await writeFile(out('ap.json'), `${JSON.stringify(ap, null, 2)}\n`);
  await writeFile(out('ap.md'), `${apTableMarkdown(ev)}\n`);
  await writeFile(out('pr_curves.json'), `${JSON.stringify(ev.curves)}\n`);
  // With hundreds of verbs a plot of all is unreadable: the verbs with most validation sentences.
  const plotted = ev.classes
    .filter((c) => c.val_count > 0)
    .sort((a, b) => b.val_count - a.val_count || a.verb.localeCompare(b.verb))
    .slice(0, MAX_PLOTTED);
  await writeFile(
    out('pr_curves.png'),
    renderLineChart({
      title: `S2A precision-recall (${ev.sentences} val sentences${Math.min(MAX_CURVES, plotted.length) < ev.mean_over.length ? `, ${Math.min(MAX_CURVES, plotted.length)} most frequent verbs` : ''})`,
      xLabel: 'recall',
      yLabel: 'precision',
      xRange: [0, 1],
      yRange: [0, 1],
      width: 900,
      height: 560,
      series: plotted.slice(0, MAX_CURVES).map((c) => ({
        name: c.verb,
        x: ev.curves.s2a[c.verb]!.map((q) => q.recall),
        y: ev.curves.s2a[c.verb]!.map((q) => q.precision),
      })),
    }),
  );
  await writeFile(
    out('ap_bars.png'),
    renderBarChart({
      title: `AP per verb${plotted.length < ev.mean_over.length ? ` (${plotted.length} most frequent)` : ''}: S2A mean ${ev.s2a_mean_ap.toFixed(3)}, keyword mean ${ev.keyword_mean_ap.toFixed(3)}`,
      yLabel: 'AP',
      categories: plotted.map((c) => c.verb),
      series: [
        { name: 'S2A', values: plotted.map((c) => c.ap ?? Number.NaN) },
        { name: 'keyword', values: plotted.map((c) => c.keyword_ap ?? Number.NaN) },
      ],
    }),
  );
  await writeFile(out('top_sentences.json'), `${JSON.stringify(ev.top, null, 2)}\n`);
  await writeFile(out('top_sentences.md'), `${topSentencesMarkdown(ev)}\n`);
  for (const f of [
    'thresholds.json',
    'ap.json',
    'ap.md',
    'pr_curves.json',
    'pr_curves.png',
    'ap_bars.png',
    'top_sentences.json',
    'top_sentences.md',
  ])
    ctx.artifact(f);
  ctx.log(
    `s2a mean AP ${ev.s2a_mean_ap.toFixed(4)} vs keyword ${ev.keyword_mean_ap.toFixed(4)} over ${ev.mean_over.length} verbs; kept ${kept.length}/${K}`,
  );
  return {
    outputs: {
      thresholds: 'thresholds.json',
      ap: 'ap.json',
      pr_curves: 'pr_curves.json',
      top_sentences: 'top_sentences.json',
      model_dir: modelDir,
      kept,
      val_sentences: ev.sentences,
      s2a_mean_ap: Number.isFinite(ev.s2a_mean_ap) ? ev.s2a_mean_ap : null,
      keyword_mean_ap: Number.isFinite(ev.keyword_mean_ap) ? ev.keyword_mean_ap : null,
    },
  };
}

export const kind: StageKind<S2aEvaluateParams> = {
  name: 's2a.evaluate',
  version: '1',
  description:
    'Per-class AP, PR curves, mining thresholds and Fig. 2 sentences of the S2A classifier vs keyword spotting on the validation pairs.',
  paramsSchema,
  inputs: {
    model: { accepts: ['s2a-model'], description: 'the trained classifier (s2a.train)' },
    pairs: { accepts: ['pairs'], description: 'speech/verb pairs with the validation split (pairs.build)' },
  },
  produces: ['s2a-thresholds'],
  summaryMetrics: ['keyword.mean_ap', 's2a.mean_ap'],
  resources: { cpus: 1, memoryMb: 2048 },
  runIn: 'process',
  module: import.meta.url,
  run,
};
