import { describe, expect, it } from 'vitest';
import { StageRegistry } from './registry.ts';
import type { KindReport, StageKind } from './stage-kind.ts';

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
