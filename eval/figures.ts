// `make eval`, second half: the figures the README quotes, measured on the real data, as a table
// and one JSON line. Each figure with a floor fails the run when it is missed (exit 1); without
// the data the script stops at once and says what to set (exit 2).
//   npx tsx eval/figures.ts [--quick]     (--quick: leave out the S2A-vs-keyword run, ~1-2 min)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { checkDataDir, dataDirFromEnv } from './data-dir.ts';

const dataDir = dataDirFromEnv();
const problem = checkDataDir(dataDir);
if (problem) {
  console.error(`✖ ${problem}`);
  process.exit(2);
}
const data = (...p: string[]): string => path.join(dataDir, ...p);
const quick = process.argv.includes('--quick');

interface Figure {
  name: string;
  value: number;
  unit?: string;
  /** The run fails when value < min. */
  min?: number;
  /** The run fails when value > max. */
  max?: number;
  note?: string;
}
const figures: Figure[] = [];
const add = (f: Figure): void => {
  figures.push(f);
  const ok = passes(f) ? '' : '  ✖ below its floor';
  console.error(`  ${f.name}: ${fmt(f.value)}${f.unit ?? ''}${ok}`);
};
const passes = (f: Figure): boolean =>
  Number.isFinite(f.value) && (f.min === undefined || f.value >= f.min) && (f.max === undefined || f.value <= f.max);
const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(3));
const timed = async <T>(label: string, fn: () => Promise<T> | T): Promise<T> => {
  const t0 = performance.now();
  console.error(`· ${label}`);
  const r = await fn();
  console.error(`  (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  return r;
};

// 1. Screenplay parser against the MICA gold (three annotators, majority vote).
await timed('screenplay parser vs MICA gold', async () => {
  const { scoreAgainstGold } = await import('../src/screenplay/gold.ts');
  const r = scoreAgainstGold(data('screenplay_parse_gold', 'mica'));
  add({
    name: 'parser.gold_accuracy',
    value: 100 * r.accuracy,
    unit: ' %',
    min: 97,
    note: `${r.lines} non-O gold lines, 25 scripts`,
  });
  for (const [tag, v] of Object.entries(r.perTag).sort())
    add({
      name: `parser.gold_accuracy.${tag}`,
      value: 100 * v.accuracy,
      unit: ' %',
      min: v.lines >= 30 ? 85 : undefined,
      note: `${v.lines} lines`,
    });
});

// 2. The 309 real screenplays: Table 1 statistics (every file must parse).
await timed('real screenplays: parse the corpus', async () => {
  const { listScreenplayFiles } = await import('../src/screenplay/files.ts');
  const { parseCorpusFiles } = await import('../src/text/corpus-parse.ts');
  const files = listScreenplayFiles(data('screenplays'));
  let failed = 0;
  const stats = await parseCorpusFiles(files, { workers: 2, onFile: (r) => void (r.ok ? 0 : failed++) });
  add({ name: 'screenplays.files', value: files.length, min: 1 });
  add({ name: 'screenplays.unparsed', value: failed, max: 0 });
  add({ name: 'screenplays.scene_descriptions', value: stats.scene_descriptions, min: 1 });
  add({ name: 'screenplays.speech_segments', value: stats.speech_segments, min: 1 });
  add({ name: 'screenplays.sentences', value: stats.sentences, min: 1 });
});

// 3. Subtitles: every real .srt read; cues counted against the manifest.
await timed('real subtitles', async () => {
  const { readCaptionFile } = await import('../src/captions/read.ts');
  const { splitSentences } = await import('../src/captions/sentences.ts');
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const f of readdirSync(d)) {
      const p = path.join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(srt|vtt|sbv)$/i.test(f)) files.push(p);
    }
  };
  walk(data('subtitles'));
  let cues = 0;
  let sentences = 0;
  let bytes = 0;
  const t0 = performance.now();
  for (const f of files) {
    const t = await readCaptionFile(f);
    cues += t.cues.length;
    sentences += splitSentences(t.cues).length;
    bytes += statSync(f).size;
  }
  const s = (performance.now() - t0) / 1000;
  add({ name: 'subtitles.files', value: files.length, min: 1 });
  add({ name: 'subtitles.cues', value: cues, min: 1 });
  add({ name: 'subtitles.sentences', value: sentences, min: 1 });
  add({
    name: 'subtitles.read_mb_per_s',
    value: bytes / 1e6 / s,
    unit: ' MB/s',
    note: 'read + sentence split, one thread',
  });
});

// 4. Benchmarks' official files: AVA label map and HMDB51 splits.
await timed('AVA and HMDB51 official files', async () => {
  const { parseAvaLabelMap, AVA_TABLE4_CLASSES } = await import('../src/video/datasets/ava.ts');
  const { loadHmdbSplits } = await import('../src/video/datasets/hmdb51.ts');
  const map = parseAvaLabelMap(readFileSync(data('ava/official_v2.2/ava_action_list_v2.2.pbtxt'), 'utf8'));
  add({ name: 'ava.label_map_classes', value: map.size, min: 80, max: 80 });
  const mapped = AVA_TABLE4_CLASSES.filter((c) => c.avaIds.every((id, i) => map.get(id) === c.avaNames[i])).length;
  add({ name: 'ava.table4_classes_mapped', value: mapped, min: 14, max: 14 });
  const h = await loadHmdbSplits(data('hmdb51'));
  add({ name: 'hmdb51.classes', value: h.classes.length, min: 51, max: 51 });
  add({ name: 'hmdb51.split1_train', value: h.splits[0]?.train.length ?? 0, min: 3570, max: 3570 });
  add({ name: 'hmdb51.split1_test', value: h.splits[0]?.test.length ?? 0, min: 1530, max: 1530 });
});

// 5. Real videos: probe every file of the manifest; the corrupted one must be refused.
await timed('real videos', async () => {
  const { probe, decodeFrames } = await import('../src/video/ffmpeg.ts');
  const rows = readFileSync(data('videos/manifest.tsv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split('\t')[0]!);
  let readable = 0;
  let refused = 0;
  for (const rel of rows) {
    const file = data('videos', rel);
    try {
      // the whole video: a corruption anywhere in it must be refused
      const info = await probe(file);
      await decodeFrames(file, { start: 0, duration: info.duration ?? 10, frames: 4, size: 32 });
      readable++;
    } catch {
      refused++;
    }
  }
  add({ name: 'videos.decoded', value: readable, min: rows.length - 1 });
  add({ name: 'videos.refused', value: refused, min: 1, max: 1, note: 'decord/corrupted.mp4' });
});

// 6. Speech2Action vs keyword spotting on the real screenplays (README table), through `exp run`.
if (!quick) {
  await timed('S2A vs keyword on the real screenplays (exp run s2a_text)', async () => {
    const { main } = await import('../src/cli/main.ts');
    const runs = await mkdtemp(path.join(os.tmpdir(), 'exp-eval-runs-'));
    try {
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      let out = '';
      let err = '';
      stdout.on('data', (b) => (out += b));
      stderr.on('data', (b) => (err += b));
      const args = [
        'run',
        'experiments/s2a_text.yaml',
        '--runs',
        runs,
        '--json',
        '--quiet',
        '--no-track',
        '--set',
        `data.screenplays=${data('screenplays')}`,
        '--set',
        'verbs.min_count_per_1000_scripts=45.31',
        '--set',
        'verbs.drop_top_per_1000_scripts=323.63', // 14 and 100 on 309 scripts
        '--set',
        'verbs.only=${vars.action_classes}',
        '--set',
        's2a.hidden=[0]',
      ];
      const code = await main(args, {
        stdout,
        stderr,
        env: process.env,
        cwd: process.cwd(),
        signal: new AbortController().signal,
      });
      if (code !== 0) throw new Error(`exp run failed (exit ${code}): ${err.trim().split('\n').slice(-5).join(' | ')}`);
      const result = JSON.parse(out.trim().split('\n').at(-1)!) as { points: { metrics: Record<string, number> }[] };
      const m = result.points[0]!.metrics;
      const s2a = m['s2a.mean_ap'] ?? NaN;
      const kw = m['keyword.mean_ap'] ?? NaN;
      add({ name: 's2a.mean_ap', value: s2a, min: kw, note: '18 verbs, validation movies, linear head' });
      add({ name: 'keyword.mean_ap', value: kw });
      const verbs = Object.keys(m)
        .filter((k) => k.startsWith('s2a.ap.'))
        .map((k) => k.slice('s2a.ap.'.length));
      const wins = verbs.filter((v) => (m[`s2a.ap.${v}`] ?? 0) > (m[`keyword.ap.${v}`] ?? 0)).length;
      add({ name: 's2a.verbs_won', value: wins, note: `of ${verbs.length} verbs, S2A AP > keyword AP` });
    } finally {
      await rm(runs, { recursive: true, force: true });
    }
  });
}

const failed = figures.filter((f) => !passes(f));
const w = Math.max(...figures.map((f) => f.name.length));
console.log(`\nexp eval on ${dataDir}\n`);
console.log(`${'figure'.padEnd(w)}  ${'value'.padStart(10)}  ${'floor'.padStart(8)}  note`);
for (const f of figures) {
  const bound =
    f.min !== undefined && f.max !== undefined && f.min === f.max
      ? `= ${fmt(f.min)}`
      : f.min !== undefined
        ? `≥ ${fmt(f.min)}`
        : f.max !== undefined
          ? `≤ ${fmt(f.max)}`
          : '';
  console.log(
    `${f.name.padEnd(w)}  ${(fmt(f.value) + (f.unit ?? '')).padStart(10)}  ${bound.padStart(8)}  ${passes(f) ? '' : '✖ '}${f.note ?? ''}`,
  );
}
console.log(`\n${figures.length - failed.length} of ${figures.length} figures within bounds`);
console.log(
  JSON.stringify({
    data: dataDir,
    ok: failed.length === 0,
    figures: Object.fromEntries(figures.map((f) => [f.name, f.value])),
  }),
);
process.exit(failed.length ? 1 : 0);
