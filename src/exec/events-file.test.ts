import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventsFileTail, EventsFileWriter } from './events-file.ts';

const file = (): string => path.join(mkdtempSync(path.join(os.tmpdir(), 'exp-events-')), 'node.events.jsonl');

describe('events file', () => {
  it('a tail returns each complete line once, waiting for the rest of a half-written one', () => {
    const f = file();
    const tail = new EventsFileTail(f);
    expect(tail.read()).toEqual([]); // not created yet
    const line = `${JSON.stringify({ type: 'log', message: 'café ✓' })}\n`;
    const bytes = Buffer.from(line);
    // Cut inside the multi-byte "é": neither half is a line yet.
    const cut = bytes.indexOf(Buffer.from('é')) + 1;
    appendFileSync(f, bytes.subarray(0, cut));
    expect(tail.read()).toEqual([]);
    appendFileSync(f, bytes.subarray(cut));
    appendFileSync(f, '{"type":"progress","done":1,"total":2}\n{"type":"metric"');
    expect(tail.read()).toEqual([
      { type: 'log', message: 'café ✓' },
      { type: 'progress', done: 1, total: 2 },
    ]);
    appendFileSync(f, ',"key":"k","value":1,"timestamp":5}\n');
    expect(tail.read()).toEqual([{ type: 'metric', key: 'k', value: 1, timestamp: 5 }]);
    expect(tail.read()).toEqual([]);
  });

  it('the writer keeps events in order, non-finite metric values included, all written by close', () => {
    const f = file();
    const w = new EventsFileWriter(f, 60_000);
    w.push({ type: 'started', attempt: 1 });
    w.push({ type: 'metric', key: 'loss', value: Number.NaN, step: 0, timestamp: 1 });
    w.push({ type: 'metric', key: 'loss', value: Number.POSITIVE_INFINITY, step: 1, timestamp: 2 });
    expect(readFileSync(f, 'utf8')).toBe(''); // buffered
    w.close();
    expect(new EventsFileTail(f).read()).toEqual([
      { type: 'started', attempt: 1 },
      { type: 'metric', key: 'loss', value: Number.NaN, step: 0, timestamp: 1 },
      { type: 'metric', key: 'loss', value: Number.POSITIVE_INFINITY, step: 1, timestamp: 2 },
    ]);
  });
});
