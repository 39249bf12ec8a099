// Typed ports: needs checked against what kinds take and give, edges the params make useless
// dropped, producers narrowed to what is taken from them; then through the loader, with positions.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSpec } from './load.ts';
import { SpecError } from './issues.ts';
import { wirePorts, type WireStage } from './ports.ts';
import type { KindInfo, KindLookup } from './types.ts';

const obj = { type: 'object' };
const KINDS: KindInfo[] = [
  {
    name: 'world',
    description: '',
    paramsSchema: { type: 'object', properties: { parts: { type: 'array', default: ['texts', 'videos'] } } },
    produces: ['texts', 'videos'],
    partsParam: 'parts',
  },
  {
    name: 'parse',
    description: '',
    paramsSchema: { type: 'object', properties: { corpus: { type: 'string', 'x-exp-path': 'any' } } },
    inputs: { texts: { accepts: ['texts'], param: 'corpus' } },
    produces: ['parsed'],
  },
  {
    name: 'count',
    description: '',
    paramsSchema: obj,
    inputs: { parsed: { accepts: ['parsed'] } },
    produces: ['counts'],
  },
  {
    name: 'mine',
    description: '',
    paramsSchema: { type: 'object', properties: { method: { enum: ['a', 'b'], default: 'a' } } },
    inputs: {
      videos: { accepts: ['videos'] },
      counts: { accepts: ['counts'], when: { param: 'method', in: ['a'] } },
      parsed: { accepts: ['parsed'], when: { param: 'method', in: ['b'] }, optional: true },
    },
    produces: ['mined'],
  },
  { name: 'plugin', description: '', paramsSchema: obj },
];
const kinds: KindLookup = { get: (n) => KINDS.find((k) => k.name === n), names: () => KINDS.map((k) => k.name) };

const st = (uses: string, needs: string[], w: Record<string, unknown> = {}): WireStage => ({
  uses,
  needs,
  with: w,
  runWith: w,
});

describe('wirePorts', () => {
  const pipeline = (parseWith: Record<string, unknown> = {}, mineWith: Record<string, unknown> = { method: 'a' }) => ({
    world: st('world', [], { parts: ['texts', 'videos'] }),
    parse: st('parse', ['world'], parseWith),
    count: st('count', ['parse']),
    mine: st('mine', ['world', 'count', 'parse'], mineWith),
  });
  const order = ['world', 'parse', 'count', 'mine'];

  it('binds each active port to the need that gives its artifact, and drops needs that feed nothing active', () => {
    const r = wirePorts(order, pipeline(), ['mine'], kinds);
    expect(r.problems).toEqual([]);
    expect(r.stages.mine!.ports).toEqual({
      videos: { from: 'stages', stages: ['world'] },
      counts: { from: 'stages', stages: ['count'] },
    });
    expect(r.stages.mine!.needs).toEqual(['world', 'count']); // parse feeds only the inactive port
    expect(r.stages.world!.parts).toEqual({ param: 'parts', take: ['texts', 'videos'] });
    expect(r.kept).toEqual(order);
  });

  it('a path param replaces the upstream edge; the producer makes only what is still taken', () => {
    const r = wirePorts(order, pipeline({ corpus: '/data/texts' }), ['mine'], kinds);
    expect(r.stages.parse!.ports).toEqual({ texts: { from: 'param', param: 'corpus', path: '/data/texts' } });
    expect(r.stages.parse!.needs).toEqual([]);
    expect(r.stages.world!.parts!.take).toEqual(['videos']);
  });

  it('a producer nothing takes from any more is pruned', () => {
    const stages = {
      world: st('world', []),
      parse: st('parse', ['world'], { corpus: '/x' }),
      count: st('count', ['parse']),
    };
    const r = wirePorts(['world', 'parse', 'count'], stages, ['count'], kinds);
    expect(r.kept).toEqual(['parse', 'count']);
  });

  it('the branch of an inactive port is pruned (method b takes no counts)', () => {
    const r = wirePorts(order, pipeline({}, { method: 'b' }), ['mine'], kinds);
    expect(r.stages.mine!.needs).toEqual(['world', 'parse']);
    expect(r.kept).toEqual(['world', 'parse', 'mine']);
  });

  it('reports unfed ports with the stages that would fit, needs that can feed nothing, and ambiguity', () => {
    const miswired = { ...pipeline(), count: st('count', ['world']) };
    const r = wirePorts(order, miswired, ['mine'], kinds);
    expect(r.problems.map((p) => [p.code, p.segments.join('.')])).toEqual([
      ['need_unused', 'stages.count.needs.0'],
      ['port_unfed', 'stages.count.needs'],
    ]);
    expect(r.problems[1]!.message).toContain('"parsed" (parsed)');
    expect(r.problems[1]!.hint).toBe('add one of "parse" to its needs');

    const two = { ...pipeline(), parse2: st('parse', ['world']), count: st('count', ['parse', 'parse2']) };
    const amb = wirePorts([...order, 'parse2'], two, ['mine'], kinds);
    expect(amb.problems.map((p) => p.code)).toEqual(['port_ambiguous']);
  });

  it('leaves kinds without ports alone, and keeps edges to kinds that declare no artifacts', () => {
    const stages = { world: st('world', []), p: st('plugin', ['world']), count: st('count', ['p']) };
    const r = wirePorts(['world', 'p', 'count'], stages, ['count'], kinds);
    expect(r.stages.p!.needs).toEqual(['world']);
    expect(r.stages.count!.needs).toEqual(['p']);
    expect(r.problems.map((p) => p.code)).toEqual(['port_unfed']);
    // the plugin takes "everything" from the world
    expect(r.stages.world!.parts!.take).toEqual(['texts', 'videos']);
  });
});

describe('loadSpec with ports', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  const write = async (text: string): Promise<string> => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ports-'));
    dirs.push(dir);
    await writeFile(path.join(dir, 'spec.yaml'), text);
    return path.join(dir, 'spec.yaml');
  };
  const spec = `name: t
data: { texts: "" }
stages:
  world: { uses: world }
  parse: { uses: parse, needs: [world], with: { corpus: "\${data.texts}" } }
  count: { uses: count, needs: [parse] }
  mine: { uses: mine, needs: [world, count] }
matrix:
  mine.method: [a, b]
`;

  it('one world node for the grid, made of what every point takes; a set data path drops it from parsing', async () => {
    const file = await write(spec);
    const loaded = await loadSpec(file, { kinds });
    expect(loaded.points.map((p) => p.stages.world?.with.parts)).toEqual([
      ['texts', 'videos'],
      ['texts', 'videos'],
    ]);
    expect(loaded.points[1]!.stages.mine!.needs).toEqual(['world']);
    expect(loaded.points[1]!.stages.count).toBeUndefined();
    const dir = path.dirname(file);
    const real = await loadSpec(file, { kinds, sets: [`data.texts=${dir}`] });
    expect(real.points[0]!.stages.parse!.needs).toEqual([]);
    expect(real.points[0]!.stages.parse!.ports).toEqual({ texts: { from: 'param', param: 'corpus', path: dir } });
    expect(real.points.map((p) => p.stages.world?.with.parts)).toEqual([['videos'], ['videos']]);
  });

  it('a miswired need is a spec error at the needs entry, naming the port and what would fit', async () => {
    const file = await write(
      spec.replace('count: { uses: count, needs: [parse] }', 'count: { uses: count, needs: [world] }'),
    );
    const err = await loadSpec(file, { kinds }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpecError);
    const issues = (err as SpecError).issues;
    expect(issues.map((i) => [i.code, i.path, i.line])).toEqual([
      ['need_unused', 'stages.count.needs[0]', 6],
      ['port_unfed', 'stages.count.needs', 6],
    ]);
    expect(issues[1]!.hint).toBe('add one of "parse" to its needs');
  });
});
