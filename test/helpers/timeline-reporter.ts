// A vitest reporter that keeps a timeline of the run in coverage/test-timeline.log: when each test
// file starts and ends (with its state), with the load average and free memory at that moment.
// When a run dies without vitest's own summary (killed, out of memory, a crashed pool), this file
// and scripts/test-summary.cjs still say which files were running and how loaded the machine was.
import { appendFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

const file = path.resolve('coverage/test-timeline.log');

function line(text: string): void {
  const load = os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
  const free = Math.round(os.freemem() / 2 ** 20);
  appendFileSync(file, `${new Date().toISOString()} load ${load} free ${free}MB ${text}\n`);
}

const rel = (m: TestModule): string => path.relative(process.cwd(), m.moduleId);

export default class TimelineReporter implements Reporter {
  private readonly started = new Map<string, number>();

  onInit(): void {
    mkdirSync(path.dirname(file), { recursive: true });
    line(`run start pid ${process.pid} cores ${os.cpus().length}`);
  }

  onTestModuleStart(m: TestModule): void {
    this.started.set(m.moduleId, Date.now());
    line(`start ${rel(m)}`);
  }

  onTestModuleEnd(m: TestModule): void {
    const t0 = this.started.get(m.moduleId) ?? Date.now();
    line(`end ${rel(m)} ${m.state()} ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  }

  onTestRunEnd(_modules: unknown, errors: ReadonlyArray<unknown>, reason: string): void {
    line(`run end ${reason}${errors.length ? ` with ${errors.length} unhandled error(s)` : ''}`);
  }
}
