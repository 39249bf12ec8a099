// A node's log file, written in batches: a line is buffered and appended within a second (or at
// once past 64 lines), so a no-op node costs one append while a long task's log stays live.
import { promises as fs } from 'node:fs';

export class NodeLog {
  private lines: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {}

  write(message: string): void {
    const ts = new Date().toISOString();
    for (const line of message.split('\n')) this.lines.push(`${ts} ${line}\n`);
    if (this.lines.length >= 64) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), 1000);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.lines.length) return;
    const text = this.lines.join('');
    this.lines = [];
    this.writing = this.writing.then(() => fs.appendFile(this.file, text));
  }

  /** Everything written so far is on disk when this resolves. */
  async close(): Promise<void> {
    this.flush();
    await this.writing;
  }
}
