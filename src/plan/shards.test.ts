import { describe, expect, it } from 'vitest';
import { assignShards, itemsDigest, shardKey, shardStarts } from './shards.ts';
import type { ShardItem } from './stage-kind.ts';

const items = (ids: string[]): ShardItem[] => ids.map((id) => ({ id, digest: `d-${id}` }));
const corpus = (n: number, prefix = 'movie'): string[] =>
  Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(6, '0')}`);

/** Shard contents as strings, to compare which shards an edit changed. */
function contents(ids: string[], how: { count: number } | { size: number }): Set<string> {
  return new Set(assignShards(items(ids), how).map((s) => s.map((i) => i.id).join(',')));
}
function changed(before: Set<string>, after: Set<string>): number {
  return [...after].filter((s) => !before.has(s)).length;
}

describe('shard assignment', () => {
  it('gives exactly N shards in listing order, fewer only when there are fewer items', () => {
    const ids = corpus(1000);
    for (const n of [1, 3, 7, 100]) {
      const shards = assignShards(items(ids), { count: n });
      expect(shards).toHaveLength(n);
      expect(shards.flat().map((i) => i.id)).toEqual(ids);
      expect(shards.every((s) => s.length > 0)).toBe(true);
    }
    expect(assignShards(items(corpus(3)), { count: 7 })).toHaveLength(3);
    // an empty corpus is one empty shard: the stage's own code handles it as unsharded
    expect(assignShards([], { count: 7 })).toEqual([[]]);
    expect(shardStarts([], { size: 10 })).toEqual([0]);
  });

  it('shards: N — inserting or removing one item changes at most three shards, never renumbers', () => {
    const ids = corpus(5000);
    const before = contents(ids, { count: 100 });
    let worst = 0;
    for (let k = 0; k < 200; k++) {
      const at = (k * 7919) % ids.length;
      const inserted = [...ids.slice(0, at), `new-${k}`, ...ids.slice(at)];
      worst = Math.max(worst, changed(before, contents(inserted, { count: 100 })));
      const removed = ids.filter((_, i) => i !== at);
      worst = Math.max(worst, changed(before, contents(removed, { count: 100 })));
    }
    expect(worst).toBeGreaterThan(0);
    expect(worst).toBeLessThanOrEqual(3);
  });

  it('shard_size: M — the count follows the corpus, an insertion changes at most two shards', () => {
    const ids = corpus(20_000);
    const shards = assignShards(items(ids), { size: 200 });
    expect(shards.length).toBeGreaterThan(60);
    expect(shards.length).toBeLessThan(160);
    expect(Math.max(...shards.map((s) => s.length))).toBeLessThanOrEqual(600);
    expect(Math.min(...shards.slice(0, -1).map((s) => s.length))).toBeGreaterThanOrEqual(100);
    const before = new Set(shards.map((s) => s.map((i) => i.id).join(',')));
    let worst = 0;
    for (let k = 0; k < 100; k++) {
      const at = (k * 104_729) % ids.length;
      const inserted = [...ids.slice(0, at), `new-${k}`, ...ids.slice(at)];
      worst = Math.max(worst, changed(before, contents(inserted, { size: 200 })));
    }
    expect(worst).toBeLessThanOrEqual(2);
  });

  it('a batch of new items in one folder (adjacent in the listing) touches few shards', () => {
    const ids = corpus(10_000);
    const batch = corpus(100, 'zz-new'); // 1 % more, listed after the rest
    const before = contents(ids, { count: 200 });
    const after = contents([...ids, ...batch], { count: 200 });
    expect(changed(before, after)).toBeLessThanOrEqual(Math.ceil(0.03 * 200));
  });
});

describe('shard keys', () => {
  const base = { kind: 'k.x', version: '1', params: { a: 1 }, seed: 3, upstream: ['u1'] };
  it('depend on the items (ids and digests), not on where the shard lies', () => {
    const a = items(['x', 'y']);
    expect(shardKey({ ...base, items: a })).toBe(shardKey({ ...base, items: items(['x', 'y']) }));
    expect(shardKey({ ...base, items: a })).not.toBe(shardKey({ ...base, items: items(['x', 'z']) }));
    expect(shardKey({ ...base, items: a })).not.toBe(
      shardKey({ ...base, items: [{ id: 'x', digest: 'changed' }, a[1]!] }),
    );
    expect(shardKey({ ...base, items: a })).not.toBe(shardKey({ ...base, params: { a: 2 }, items: a }));
    expect(shardKey({ ...base, items: a })).not.toBe(shardKey({ ...base, upstream: ['u2'], items: a }));
    expect(itemsDigest([{ id: 'a', digest: 'b', data: [1, 2] }])).toBe(itemsDigest([{ id: 'a', digest: 'b' }]));
  });
});
