import { describe, expect, it } from 'vitest';
import { chunks, DispatchBatch } from './remote.ts';

describe('DispatchBatch', () => {
  it('flushes once, after the last run of a dispatch pass has prepared, with every submission', async () => {
    const flushed: number[][] = [];
    const batch = new DispatchBatch<number>((items) => flushed.push(items));
    // Three runs enter in one pass; they finish preparing at different times.
    for (let i = 0; i < 3; i++) batch.enter();
    batch.leave(1);
    await new Promise((r) => setImmediate(r));
    expect(flushed).toEqual([]); // two still preparing
    await new Promise((r) => setTimeout(r, 5));
    batch.leave(); // one had nothing to submit (re-attached)
    batch.leave(3);
    await new Promise((r) => setImmediate(r));
    expect(flushed).toEqual([[1, 3]]);
    // A later pass is a batch of its own.
    batch.enter();
    batch.leave(4);
    await new Promise((r) => setImmediate(r));
    expect(flushed).toEqual([[1, 3], [4]]);
  });

  it('takes runs that enter in the same turn into one batch even when each prepares at once', async () => {
    const flushed: string[][] = [];
    const batch = new DispatchBatch<string>((items) => flushed.push(items));
    for (const s of ['a', 'b', 'c']) {
      batch.enter();
      batch.leave(s);
    }
    await new Promise((r) => setImmediate(r));
    expect(flushed).toEqual([['a', 'b', 'c']]);
  });
});

describe('chunks', () => {
  it('splits a group at the engine limit (Slurm: MaxArraySize)', () => {
    expect(chunks([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(
      chunks(
        Array.from({ length: 2500 }, (_, i) => i),
        1001,
      ).map((c) => c.length),
    ).toEqual([1001, 1001, 498]);
    expect(chunks([], 3)).toEqual([]);
  });
});
