// Clip extraction throughput (issue 6). Target: >= 10 clips/s on 2 cores for 10-second 360p
// clips → 16 frames at 112×112. Makes its own 360p H.264 test video (lavfi testsrc2, keyframe
// every 250 frames as x264 does by default) in a temp dir, then extracts clips at spread-out
// offsets with 2 ffmpeg processes at a time. Besides wall time it reports CPU seconds (ours and
// the ffmpeg children's, from /proc), since a shared machine's wall time says little.
// Run: npx tsx bench/extract.ts [clips=60] [concurrency=2]
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { extractClipsToShards } from '../src/video/extract.ts';
import type { ClipRequest } from '../src/video/extract.ts';
import { generateTestPattern, probe } from '../src/video/ffmpeg.ts';

const nClips = Number(process.argv[2] ?? 60);
const concurrency = Number(process.argv[3] ?? 2);

/** CPU seconds of this process plus its finished children (Linux /proc/self/stat; 0 elsewhere). */
function cpuSeconds(): { self: number; children: number } {
  const u = process.cpuUsage();
  let children = 0;
  try {
    const f = readFileSync('/proc/self/stat', 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    const hz = 100; // USER_HZ on Linux
    children = (Number(fields[13]) + Number(fields[14])) / hz; // cutime + cstime
  } catch {
    /* not Linux */
  }
  return { self: (u.user + u.system) / 1e6, children };
}

const tmp = await mkdtemp(path.join(os.tmpdir(), 'exp-bench-extract-'));
try {
  const video = path.join(tmp, 'testsrc 360p.mp4');
  const g0 = performance.now();
  await generateTestPattern(video, { width: 640, height: 360, durationS: 180, fps: 25 });
  const genS = (performance.now() - g0) / 1000;
  const info = await probe(video);
  // Deterministic, spread-out windows (golden-ratio steps), each 10 s inside the video.
  const span = (info.duration ?? 180) - 10;
  const clips: ClipRequest[] = Array.from({ length: nClips }, (_, i) => {
    const start = ((i * 0.6180339887) % 1) * span;
    return { id: `c${i}`, video, start, end: start + 10, labels: ['x'] };
  });
  const c0 = cpuSeconds();
  const t0 = performance.now();
  const { index, skipped } = await extractClipsToShards(clips, path.join(tmp, 'shards'), {
    frames: 16,
    size: 112,
    concurrency,
  });
  const wall = (performance.now() - t0) / 1000;
  const c1 = cpuSeconds();
  const cpu = c1.self - c0.self + (c1.children - c0.children);
  const perSecWall = index.clips.length / wall;
  // On 2 otherwise idle cores the work takes at least cpu/2 seconds.
  const perSecCpu2 = cpu > 0 ? index.clips.length / (cpu / 2) : NaN;
  const rows: [string, string][] = [
    ['test video', `${info.width}x${info.height}, ${info.duration?.toFixed(0)} s, made in ${genS.toFixed(1)} s`],
    ['clips', `${index.clips.length} extracted, ${skipped.length} skipped (10 s → 16×112×112)`],
    ['concurrency', String(concurrency)],
    ['wall', `${wall.toFixed(2)} s → ${perSecWall.toFixed(1)} clips/s (target >= 10)`],
    [
      'cpu',
      `${cpu.toFixed(2)} s (ffmpeg ${(c1.children - c0.children).toFixed(2)} s) → ${perSecCpu2.toFixed(1)} clips/s on 2 idle cores`,
    ],
    [
      'load average',
      os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' '),
    ],
  ];
  for (const [k, v] of rows) console.log(`${k.padEnd(14)} ${v}`);
  console.log(
    JSON.stringify({
      bench: 'extract',
      clips: index.clips.length,
      skipped: skipped.length,
      concurrency,
      wall_s: +wall.toFixed(3),
      clips_per_s_wall: +perSecWall.toFixed(2),
      cpu_s: +cpu.toFixed(3),
      clips_per_s_2cores_cpu: +perSecCpu2.toFixed(2),
      loadavg_1m: +os.loadavg()[0]!.toFixed(2),
    }),
  );
} finally {
  await rm(tmp, { recursive: true, force: true });
}
