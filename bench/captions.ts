// Caption parsing and mining throughput (issue 6). Target: parsing >= 50 MB/s; mining bounded by
// the scorer's throughput (keyword method here: the share of mining time spent in the scorer).
// Data: every subtitle file under $EXP_DATA/subtitles (default ../shared/data); a 3-hour 32×32 test-pattern video
// stands in for each movie (mining probes durations; clips are not decoded here).
// Run: npx tsx bench/captions.ts
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseCaptionBytes } from '../src/captions/read.ts';
import { splitSentences } from '../src/captions/sentences.ts';
import { createKeywordSpotter } from '../src/text/keyword.ts';
import type { VerbClass } from '../src/text/keyword.ts';
import { loadMovieCorpus } from '../src/video/corpus.ts';
import { generateTestPattern } from '../src/video/ffmpeg.ts';
import { keywordScorer, mineClips } from '../src/video/mining.ts';
import type { SentenceScorer } from '../src/video/mining.ts';
import { dataPath } from '../eval/data.ts';

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir)) {
    const p = path.join(dir, f);
    if (statSync(p).isDirectory()) out.push(...listFiles(p));
    else if (/\.(srt|vtt|sbv)$/i.test(f)) out.push(p);
  }
  return out.sort();
}

const files = listFiles(dataPath('subtitles'));
const blobs = files.map((f) => ({ file: f, bytes: readFileSync(f) }));
const totalBytes = blobs.reduce((s, b) => s + b.bytes.length, 0);
const MB = 1024 * 1024;

/** Wall and CPU seconds (this process): on a shared machine the CPU figure is the stable one. */
function timeLoop(
  minMs: number,
  body: () => number,
): { seconds: number; cpuSeconds: number; rounds: number; units: number } {
  body(); // warm-up
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let rounds = 0;
  let units = 0;
  while (performance.now() - t0 < minMs) {
    units += body();
    rounds++;
  }
  const c = process.cpuUsage(c0);
  return { seconds: (performance.now() - t0) / 1000, cpuSeconds: (c.user + c.system) / 1e6, rounds, units };
}

const parse = timeLoop(3000, () => {
  let cues = 0;
  for (const b of blobs) cues += parseCaptionBytes(b.bytes, b.file).cues.length;
  return cues;
});
const tracks = blobs.map((b) => parseCaptionBytes(b.bytes, b.file));
const split = timeLoop(3000, () => {
  let n = 0;
  for (const t of tracks) n += splitSentences(t.cues).length;
  return n;
});
const parseMBs = (totalBytes * parse.rounds) / MB / parse.seconds;
const parseMBcpu = (totalBytes * parse.rounds) / MB / parse.cpuSeconds;
const splitMBs = (totalBytes * split.rounds) / MB / split.seconds;
const splitMBcpu = (totalBytes * split.rounds) / MB / split.cpuSeconds;
const sentencesPerRound = split.units / split.rounds;

// Mining: the 69 movie subtitles against one long stand-in video each.
const VERBS: VerbClass[] = [
  ['phone', 'phones', 'phoned', 'phoning', 'call', 'calls', 'called', 'calling'],
  ['drive', 'drives', 'drove', 'driving', 'driven'],
  ['run', 'runs', 'ran', 'running'],
  ['kiss', 'kisses', 'kissed', 'kissing'],
  ['hug', 'hugs', 'hugged', 'hugging'],
  ['dance', 'dances', 'danced', 'dancing'],
  ['eat', 'eats', 'ate', 'eating', 'eaten'],
  ['drink', 'drinks', 'drank', 'drinking', 'drunk'],
  ['shoot', 'shoots', 'shot', 'shooting'],
  ['sing', 'sings', 'sang', 'singing', 'sung'],
  ['open', 'opens', 'opened', 'opening'],
  ['sit', 'sits', 'sat', 'sitting'],
  ['walk', 'walks', 'walked', 'walking'],
  ['fight', 'fights', 'fought', 'fighting'],
  ['read', 'reads', 'reading'],
  ['write', 'writes', 'wrote', 'writing', 'written'],
  ['point', 'points', 'pointed', 'pointing'],
  ['smoke', 'smokes', 'smoked', 'smoking'],
].map(([verb, ...forms]) => ({ verb: verb!, forms: [verb!, ...forms] }));

const tmp = await mkdtemp(path.join(os.tmpdir(), 'exp-bench-captions-'));
/** CPU seconds of this process plus its finished children (ffprobe), from /proc on Linux. */
function cpuWithChildren(): number {
  const u = process.cpuUsage();
  let children = 0;
  try {
    const f = readFileSync('/proc/self/stat', 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    children = (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    /* not Linux */
  }
  return (u.user + u.system) / 1e6 + children;
}

let mining: {
  movies: number;
  sentences: number;
  clips: number;
  seconds: number;
  cpu: number;
  scorerCpu: number;
  spotterOnly: number;
};
try {
  const video = path.join(tmp, 'stand-in.mp4');
  await generateTestPattern(video, { width: 32, height: 32, durationS: 4 * 3600, fps: 1 });
  const movieSubs = listFiles(dataPath('subtitles/movies_srt'));
  const manifest = path.join(tmp, 'movies.jsonl');
  writeFileSync(
    manifest,
    `${movieSubs.map((s, i) => JSON.stringify({ id: `m${i}`, video, subtitles: s })).join('\n')}\n`,
  );
  const corpus = await loadMovieCorpus(manifest);
  const spot = createKeywordSpotter(VERBS);
  const inner = keywordScorer(VERBS, spot);
  let scorerCpu = 0;
  const timed: SentenceScorer = {
    classes: inner.classes,
    async score(s) {
      const c = process.cpuUsage();
      const r = await inner.score(s);
      const d = process.cpuUsage(c);
      scorerCpu += (d.user + d.system) / 1e6;
      return r;
    },
  };
  const t0 = performance.now();
  const cpu0 = cpuWithChildren();
  const report = await mineClips(corpus.movies, timed, { windowS: 10 });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuWithChildren() - cpu0;
  // The spotter alone over the same sentences: the ceiling mining could reach.
  const allSentences = movieSubs.flatMap((f) =>
    splitSentences(parseCaptionBytes(readFileSync(f), f).cues).map((s) => s.text),
  );
  const s0 = performance.now();
  for (const s of allSentences) spot(s);
  const spotterOnly = allSentences.length / ((performance.now() - s0) / 1000);
  mining = {
    movies: report.movies,
    sentences: report.sentences,
    clips: report.clips.length,
    seconds,
    cpu,
    scorerCpu,
    spotterOnly,
  };
} finally {
  await rm(tmp, { recursive: true, force: true });
}

const rows: [string, string][] = [
  ['subtitle files', `${files.length} (${(totalBytes / MB).toFixed(1)} MB)`],
  [
    'parse (decode + cues)',
    `${parseMBcpu.toFixed(1)} MB per CPU-second, ${parseMBs.toFixed(1)} MB/s wall  (target >= 50)`,
  ],
  [
    'sentence split',
    `${splitMBcpu.toFixed(1)} MB per CPU-second, ${splitMBs.toFixed(1)} MB/s wall, ${((sentencesPerRound * split.rounds) / split.cpuSeconds / 1000).toFixed(0)}k sentences per CPU-second`,
  ],
  [
    'mining (keyword)',
    `${mining.movies} movies, ${mining.sentences} sentences, ${mining.clips} clips in ${mining.seconds.toFixed(2)} s wall, ${mining.cpu.toFixed(2)} CPU-s`,
  ],
  [
    'mining throughput',
    `${(mining.sentences / mining.cpu / 1000).toFixed(1)}k sentences per CPU-second (probe + parse + split + score), ${(mining.sentences / mining.seconds / 1000).toFixed(1)}k/s wall`,
  ],
  [
    'mining overhead',
    `${((1e6 * (mining.cpu - mining.scorerCpu)) / mining.sentences).toFixed(0)} µs CPU per sentence besides the scorer (the S2A classifier needs ~70-125 µs: FACTS.md)`,
  ],
  [
    'load average',
    os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' '),
  ],
  [
    'scorer share',
    `${((100 * mining.scorerCpu) / mining.cpu).toFixed(0)}% of mining CPU; spotter alone ${(mining.spotterOnly / 1000).toFixed(0)}k sentences/s`,
  ],
];
for (const [k, v] of rows) console.log(`${k.padEnd(24)} ${v}`);
console.log(
  JSON.stringify({
    bench: 'captions',
    files: files.length,
    mb: +(totalBytes / MB).toFixed(2),
    parse_mb_s_cpu: +parseMBcpu.toFixed(1),
    parse_mb_s_wall: +parseMBs.toFixed(1),
    split_mb_s_cpu: +splitMBcpu.toFixed(1),
    split_mb_s_wall: +splitMBs.toFixed(1),
    loadavg_1m: +os.loadavg()[0]!.toFixed(2),
    mining_movies: mining.movies,
    mining_sentences: mining.sentences,
    mining_clips: mining.clips,
    mining_sentences_s_wall: Math.round(mining.sentences / mining.seconds),
    mining_sentences_per_cpu_s: Math.round(mining.sentences / mining.cpu),
    mining_overhead_us_per_sentence: Math.round((1e6 * (mining.cpu - mining.scorerCpu)) / mining.sentences),
    mining_scorer_cpu_share: +(mining.scorerCpu / mining.cpu).toFixed(3),
    keyword_spotter_sentences_s: Math.round(mining.spotterOnly),
  }),
);
