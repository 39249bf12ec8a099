// A small tracked grid (3 points of an `ava-fewshot` experiment) written through the tracker,
// and captured stdout/stderr: the fixture of the `exp compare` and `exp sync` command tests.
import { PassThrough } from 'node:stream';
import { openTracker } from '../../src/track/tracker.ts';

export function captureIo() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on('data', (d: Buffer) => out.push(d.toString()));
  stderr.on('data', (d: Buffer) => err.push(d.toString()));
  return { io: { stdout, stderr }, out: () => out.join(''), err: () => err.join('') };
}

export async function writeTrackedGrid(runsDir: string): Promise<void> {
  const tracker = await openTracker({ runsDir, experimentName: 'ava-fewshot', log: () => {} });
  const inv = await tracker.startInvocation({
    invocationId: 'inv-1',
    specFile: 'x.yaml',
    specName: 'ava-fewshot',
    resolvedSpecYaml: '',
    user: 'u',
    sourceName: 'exp',
  });
  for (const k of [0, 20, 50]) {
    const run = await inv.startPoint({
      pointId: `p${k}`,
      name: `k=${k}`,
      params: { 'finetune.k': k, 'video.arch': 's3dg' },
    });
    await run.logMetrics([
      { key: 'video.ap.drive', value: k / 100 },
      { key: 'video.ap.phone', value: 0.5 },
      { key: 's2a.ap.phone', value: 0.9 },
    ]);
    await run.end('FINISHED');
  }
  await inv.end('FINISHED');
  await tracker.close();
}
