// Tracker throughput on the file store: 10k metric points logged one call per epoch-like batch,
// and 10k in one batch; then reading them back. Run: npx tsx bench/track.ts
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listRuns, readMetricHistories } from '../src/track/file-store-read.ts';
import { openTracker } from '../src/track/tracker.ts';

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'exp-bench-track-'));
  try {
    const tracker = await openTracker({ runsDir: dir, experimentName: 'bench', log: () => {} });
    const inv = await tracker.startInvocation({
      invocationId: 'b',
      specFile: 'b.yaml',
      specName: 'bench',
      resolvedSpecYaml: '',
      user: 'bench',
      sourceName: 'bench',
    });

    let t0 = performance.now();
    const points = 50;
    for (let i = 0; i < points; i++) {
      const run = await inv.startPoint({
        pointId: `p${i}`,
        name: `p=${i}`,
        params: Object.fromEntries(Array.from({ length: 40 }, (_, j) => [`cfg.k${j}`, j * i])),
      });
      await run.end('FINISHED');
    }
    const createMs = performance.now() - t0;

    const run = await inv.startPoint({ pointId: 'm', name: 'metrics', params: {} });
    t0 = performance.now();
    for (let step = 0; step < 2000; step++) {
      await run.logMetrics([
        { key: 'train.loss', value: 1 / (step + 1), step },
        { key: 'train.acc', value: step / 2000, step },
        { key: 'val.loss', value: 1 / (step + 2), step },
        { key: 'val.acc', value: step / 2100, step },
        { key: 'lr', value: 0.01, step },
      ]);
    }
    const smallBatchesMs = performance.now() - t0;

    t0 = performance.now();
    await run.logMetrics(
      Array.from({ length: 10_000 }, (_, i) => ({
        key: `eval.ap.c${i % 20}`,
        value: Math.random(),
        step: Math.floor(i / 20),
      })),
    );
    const oneBatchMs = performance.now() - t0;
    await run.end('FINISHED');
    await inv.end('FINISHED');
    await tracker.close();

    t0 = performance.now();
    const hist = await readMetricHistories(tracker.storeRoot, tracker.experimentId, run.runId);
    const readHistMs = performance.now() - t0;
    t0 = performance.now();
    const runs = await listRuns(tracker.storeRoot, tracker.experimentId);
    const listMs = performance.now() - t0;
    const pointsRead = Object.values(hist).reduce((n, h) => n + h.length, 0);

    const rows: [string, string][] = [
      [
        `create ${points} point runs (40 params each)`,
        `${createMs.toFixed(0)} ms (${(createMs / points).toFixed(1)} ms/run)`,
      ],
      [
        '10k metric points, 2000 calls of 5',
        `${smallBatchesMs.toFixed(0)} ms (${((10_000 / smallBatchesMs) * 1000).toFixed(0)} points/s)`,
      ],
      [
        '10k metric points, 1 call',
        `${oneBatchMs.toFixed(0)} ms (${((10_000 / oneBatchMs) * 1000).toFixed(0)} points/s)`,
      ],
      [`read back ${pointsRead} points`, `${readHistMs.toFixed(0)} ms`],
      [`list ${runs.length} runs with params/tags/latest metrics`, `${listMs.toFixed(0)} ms`],
    ];
    for (const [k, v] of rows) console.log(`${k.padEnd(48)} ${v}`);
    console.log(
      JSON.stringify({
        createRunMs: +(createMs / points).toFixed(2),
        smallBatchPointsPerS: Math.round((10_000 / smallBatchesMs) * 1000),
        oneBatchPointsPerS: Math.round((10_000 / oneBatchMs) * 1000),
        readPoints: pointsRead,
        readMs: Math.round(readHistMs),
        listRuns: runs.length,
        listMs: Math.round(listMs),
      }),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
