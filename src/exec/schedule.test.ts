import { describe, expect, it } from 'vitest';
import type { PlanNode } from '../plan/dag.ts';
import { Schedule } from './schedule.ts';

/** A node of stage `stage` (its key is its name) needing `needs`. */
function node(key: string, needs: string[] = [], stage = key.replace(/\d+$/, '')): PlanNode {
  return {
    key,
    stage,
    stages: [stage],
    kind: 'test.add',
    kindVersion: '1',
    params: {},
    runParams: {},
    needs,
    needStages: needs.map((n) => n.replace(/\d+$/, '')),
    ports: {},
    points: ['p'],
    resources: { cpus: 1, gpus: 0, memoryMb: 0 },
    retries: 0,
    seed: 0,
  };
}

const keys = (nodes: PlanNode[]): string[] => nodes.map((n) => n.key);

describe('Schedule', () => {
  it('makes a node ready once all its needs succeeded, most dependents first', () => {
    // a → b → c, a → d; e alone
    const s = new Schedule([node('a'), node('b', ['a']), node('c', ['b']), node('d', ['a']), node('e')]);
    expect(keys(s.ready())).toEqual(['a', 'e']);
    expect(s.weight('a')).toBe(3);
    expect(s.weight('e')).toBe(0);
    s.start('a');
    expect(keys(s.ready())).toEqual(['e']);
    expect(s.state('a')).toBe('running');
    expect(keys(s.finish('a', true))).toEqual(['b', 'd']);
    // b has one dependent, d none: b first
    expect(keys(s.ready())).toEqual(['b', 'e', 'd']);
    s.start('b');
    expect(keys(s.finish('b', true))).toEqual(['c']);
    expect(s.count('finished')).toBe(2);
    expect(s.count('ready')).toBe(3);
  });

  it('counts a node reachable by two paths once', () => {
    const s = new Schedule([node('a'), node('b', ['a']), node('c', ['a']), node('d', ['b', 'c'])]);
    expect(s.weight('a')).toBe(3);
  });

  it('keeps the dependents of a failed node waiting and lists them for skipping', () => {
    const s = new Schedule([node('a'), node('b', ['a']), node('c', ['b']), node('x'), node('y', ['a', 'x'])]);
    s.start('a');
    expect(s.finish('a', false)).toEqual([]);
    expect(s.succeeded('a')).toBe(false);
    expect(keys(s.waitingOn('a')).sort()).toEqual(['b', 'c', 'y']);
    for (const n of s.waitingOn('a')) s.finish(n.key, false);
    expect(keys(s.unfinished())).toEqual(['x']);
    // y's other need succeeding does not make it ready: it finished (skipped) already.
    s.start('x');
    expect(s.finish('x', true)).toEqual([]);
    expect(s.unfinished()).toEqual([]);
  });

  it('finishing a ready node (a cached one) takes it off the ready list', () => {
    const s = new Schedule([node('a'), node('b', ['a'])]);
    expect(keys(s.finish('a', true))).toEqual(['b']);
    expect(keys(s.ready())).toEqual(['b']);
    expect(() => s.start('a')).toThrow(/not ready \(finished\)/);
    expect(() => s.finish('zz', true)).toThrow(/not in the schedule/);
  });

  it('adds nodes during a run: ready at once when their needs are done, else when they finish', () => {
    const s = new Schedule([node('up'), node('other')]);
    s.start('up');
    s.finish('up', true);
    const ready = s.addNodes([node('shard1', ['up']), node('shard2', ['up', 'other']), node('gather1', ['shard1'])]);
    expect(keys(ready)).toEqual(['shard1']);
    expect(s.state('shard2')).toBe('waiting');
    s.start('other');
    expect(keys(s.finish('other', true))).toEqual(['shard2']);
    s.start('shard1');
    expect(keys(s.finish('shard1', true))).toEqual(['gather1']);
    // weights see the added edges
    expect(s.weight('other')).toBe(1);
  });

  it('re-points waiting dependents onto added nodes, also a dependent that was ready', () => {
    // gather needs up (a placeholder for its shards); top needs gather.
    const s = new Schedule([node('up'), node('gather', ['up']), node('top', ['gather'])]);
    s.start('up');
    expect(keys(s.finish('up', true))).toEqual(['gather']);
    const ready = s.addNodes([node('shard1', ['up']), node('shard2', ['up'])], {
      repoint: [{ from: 'up', to: ['shard1', 'shard2'] }],
    });
    expect(keys(ready)).toEqual(['shard1', 'shard2']);
    // gather went back to waiting, now on both shards, and is no longer a dependent of up.
    expect(s.state('gather')).toBe('waiting');
    expect(s.get('gather')!.needs).toEqual(['shard1', 'shard2']);
    expect(s.get('gather')!.needStages).toEqual(['shard', 'shard']);
    expect(keys(s.dependentsOf('up')).sort()).toEqual(['shard1', 'shard2']);
    expect(s.weight('shard1')).toBe(2);
    s.start('shard1');
    expect(s.finish('shard1', true)).toEqual([]);
    s.start('shard2');
    expect(keys(s.finish('shard2', true))).toEqual(['gather']);
  });

  it('keeps the old need when it is listed among the new ones, without doubling an edge', () => {
    const s = new Schedule([node('up'), node('gather', ['up'])]);
    s.addNodes([node('shard1', ['up'])], { repoint: [{ from: 'up', to: ['up', 'shard1', 'shard1'] }] });
    expect(s.get('gather')!.needs).toEqual(['up', 'shard1']);
    s.start('up');
    expect(keys(s.finish('up', true))).toEqual(['shard1']);
    s.start('shard1');
    expect(keys(s.finish('shard1', true))).toEqual(['gather']);
  });

  it('refuses impossible additions and changes nothing when it does', () => {
    const s = new Schedule([node('a'), node('b', ['a'])]);
    expect(() => s.addNodes([node('c', ['nope'])])).toThrow(/needs nope, which is not in the schedule/);
    s.start('a');
    s.finish('a', true);
    s.start('b');
    expect(() => s.addNodes([node('s1', ['a'])], { repoint: [{ from: 'a', to: ['s1'] }] })).toThrow(
      /cannot re-point b \(b\): it has started/,
    );
    expect(s.has('s1')).toBe(false);
    expect(() => s.addNodes([], { repoint: [{ from: 'zz', to: [] }] })).toThrow(/not in the schedule/);
  });

  it('takes a known key as the same node, and a node whose need failed never becomes ready', () => {
    const s = new Schedule([node('a'), node('f')]);
    s.start('f');
    s.finish('f', false);
    expect(s.addNodes([node('a'), node('n1', ['a', 'f']), node('n1', ['a', 'f'])])).toEqual([]);
    expect(s.all()).toHaveLength(3);
    expect(s.failedNeeds('n1')).toEqual(['f']);
    s.start('a');
    expect(s.finish('a', true)).toEqual([]);
    expect(s.state('n1')).toBe('waiting');
  });

  it('weighs a long chain without recursion limits', () => {
    const chain = Array.from({ length: 20_000 }, (_, i) => node(`c${i}`, i ? [`c${i - 1}`] : []));
    const s = new Schedule(chain);
    expect(s.weight('c0')).toBe(19_999);
    expect(keys(s.ready())).toEqual(['c0']);
  }, 20_000);
});
