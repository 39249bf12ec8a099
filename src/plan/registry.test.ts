// The registry refuses a stage kind's shard declaration that could not run, at registration (a
// plugin load), rather than at the first sharded run.
import { describe, expect, it } from 'vitest';
import { StageRegistry } from './registry.ts';
import type { AnyStageKind, KindReport, StageKind, StageSharding } from './stage-kind.ts';

const sharding: StageSharding = {
  port: 'files',
  autoShardSize: 10,
  listItems: () => [],
  run: async () => ({ outputs: {} }),
  gather: async () => ({ outputs: {} }),
};

/** A kind whose shard declaration is `sharding` with `shard`'s fields over it (wrong types too). */
function kind(shard: Record<string, unknown>, extra: Partial<AnyStageKind> = {}): AnyStageKind {
  return {
    name: 'lab.lines',
    version: '1',
    description: 'a shardable kind',
    paramsSchema: { type: 'object', properties: {} },
    inputs: { files: { accepts: ['text-files'] } },
    run: async () => ({ outputs: {} }),
    shard: { ...sharding, ...shard } as unknown as StageSharding,
    ...extra,
  } as AnyStageKind;
}

const register = (k: AnyStageKind) => () => new StageRegistry().register(k);

describe('StageRegistry: shard declarations', () => {
  it('takes a complete declaration, with or without runIn', () => {
    expect(register(kind({}))).not.toThrow();
    expect(register(kind({ runIn: 'inline' }))).not.toThrow();
    expect(register(kind({ runIn: 'pool' }, { module: import.meta.url }))).not.toThrow();
    expect(register(kind({ runIn: 'process' }, { module: import.meta.url }))).not.toThrow();
  });

  it('refuses shards in the pool or a process when the kind names no module to load there', () => {
    for (const where of ['pool', 'process'] as const)
      expect(register(kind({ runIn: where }))).toThrow(
        new RegExp(`stage kind "lab.lines": shard.runIn "${where}" needs the kind's \`module\``),
      );
  });

  it('refuses a runIn that is none of inline, pool, process', () => {
    expect(register(kind({ runIn: 'thread' }, { module: import.meta.url }))).toThrow(
      /shard\.runIn must be "inline", "pool" or "process", got "thread"/,
    );
  });

  it('refuses missing functions, a bad autoShardSize and a port the kind does not have', () => {
    expect(register(kind({ gather: undefined }))).toThrow(/shard\.gather must be a function/);
    expect(register(kind({ listItems: 'x' }))).toThrow(/shard\.listItems must be a function/);
    expect(register(kind({ autoShardSize: 0 }))).toThrow(/shard\.autoShardSize must be a positive integer/);
    expect(register(kind({ autoShardSize: 2.5 }))).toThrow(/autoShardSize/);
    expect(register(kind({ port: 'movies' }))).toThrow(
      /shard\.port "movies" must name one of the kind's inputs \(files\)/,
    );
    expect(register(kind({}, { inputs: undefined }))).toThrow(/inputs \(none\)/);
  });

  it('says so as a plugin problem (EXP_PLUGIN_INVALID) with a hint', () => {
    try {
      register(kind({ runIn: 'pool' }))();
      expect.unreachable();
    } catch (e) {
      expect((e as { code?: string }).code).toBe('EXP_PLUGIN_INVALID');
      expect((e as { hint?: string }).hint).toMatch(/runIn/);
    }
  });
});

function kindWith(report: KindReport): StageKind {
  return {
    name: 'my.eval',
    version: '1',
    description: 'a plugin kind with a report',
    paramsSchema: { type: 'object' },
    report,
    run: async () => ({}),
  };
}

describe('StageRegistry: report declarations', () => {
  const axes = { method: { title: 'method', kind: 'my.mine', param: 'method' } };

  it('accepts tables and charts over declared axes', () => {
    const r = new StageRegistry();
    r.register(
      kindWith({
        axes,
        tables: [{ id: 't', title: 'T', rows: ['method'], columns: [{ metric: 'my.score' }] }],
        charts: [{ type: 'bars', id: 'b', title: 'B', metrics: 'my.ap.*', series: 'method', valueTitle: 'AP' }],
      }),
    );
    expect(r.get('my.eval')?.report?.tables).toHaveLength(1);
  });

  it('names the table or chart that uses an axis it did not declare', () => {
    const table = () =>
      new StageRegistry().register(kindWith({ axes, tables: [{ id: 't', title: 'T', rows: ['methd'], columns: [] }] }));
    expect(table).toThrow(/report table "t": "methd" is not a declared axis/);
    const chart = () =>
      new StageRegistry().register(
        kindWith({
          axes,
          charts: [{ type: 'line', id: 'l', title: 'L', x: 'k', series: 'method', y: { metric: 'my.map' } }],
        }),
      );
    expect(chart).toThrow(/report chart "l": "k" is not a declared axis/);
  });
});
