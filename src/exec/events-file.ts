// A node's live events (log lines, progress, metrics, attempt starts) as JSON lines in a file of
// the shared runs folder: `exp node-run` inside a Slurm job appends, the driver (`exp run`) tails
// the file while the job runs and forwards each event to its reporters, as the local executor does.
import { appendFileSync, closeSync, openSync, readSync } from 'node:fs';
import type { TaskEvent } from './task.ts';

export type NodeEvent = TaskEvent | { type: 'started'; attempt: number };

/** JSON has no NaN/Infinity: a metric's non-finite value travels as a string. */
function encode(e: NodeEvent): string {
  if (e.type === 'metric' && !Number.isFinite(e.value)) return JSON.stringify({ ...e, value: String(e.value) });
  return JSON.stringify(e);
}

function decode(line: string): NodeEvent | undefined {
  try {
    const e = JSON.parse(line) as NodeEvent;
    if (e.type === 'metric' && typeof e.value === 'string') return { ...e, value: Number(e.value) };
    return e;
  } catch {
    return undefined; // a line that is not an event (never written by EventsFileWriter): not forwarded
  }
}

/** The writing side: events are buffered and appended every `flushMs` (and by `close`). */
export class EventsFileWriter {
  private buffer: string[] = [];
  private readonly timer: NodeJS.Timeout;
  private failed = false;

  constructor(
    private readonly file: string,
    flushMs = 200,
  ) {
    appendFileSync(file, '');
    this.timer = setInterval(() => this.flush(), flushMs);
    this.timer.unref();
  }

  push(e: NodeEvent): void {
    this.buffer.push(`${encode(e)}\n`);
    if (this.buffer.length >= 500) this.flush();
  }

  flush(): void {
    if (!this.buffer.length || this.failed) return;
    const text = this.buffer.join('');
    this.buffer = [];
    try {
      appendFileSync(this.file, text);
    } catch (e) {
      // Live events are a convenience: the manifest still carries the node's metrics. Said once.
      this.failed = true;
      process.stderr.write(
        `exp: live events stop here: ${this.file} cannot be written (${(e as Error).message}); the driver gets this node's metrics when it finishes\n`,
      );
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
  }
}

/** The reading side: each call returns the complete lines appended since the previous one. */
export class EventsFileTail {
  private offset = 0;
  /** Bytes after the last newline: a line still being written (maybe mid-character). */
  private partial = Buffer.alloc(0);

  constructor(private readonly file: string) {}

  read(): NodeEvent[] {
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []; // not created yet (the job has not started)
      throw e;
    }
    const chunks: Buffer[] = [];
    try {
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, this.offset);
        if (n <= 0) break;
        chunks.push(Buffer.from(buf.subarray(0, n)));
        this.offset += n;
      }
    } finally {
      closeSync(fd);
    }
    if (!chunks.length) return [];
    const bytes = Buffer.concat([this.partial, ...chunks]);
    const end = bytes.lastIndexOf(0x0a);
    this.partial = Buffer.from(bytes.subarray(end + 1));
    if (end < 0) return [];
    return bytes
      .subarray(0, end)
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .flatMap((l) => decode(l) ?? []);
  }
}
