// The public registry of stage kinds. Our Speech2Action kinds register through it exactly as a
// user's plugin would (`exp run --plugin ./my-kinds.js`, or `registerStageKind` from code).
import { ExpError } from '../errors.ts';
import { type AnyStageKind, type StageResources, withCheckedParams } from './stage-kind.ts';

const NAME = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/;

export class StageRegistry {
  private readonly kinds = new Map<string, AnyStageKind>();

  register(kind: AnyStageKind): void {
    if (!NAME.test(kind.name)) {
      throw new ExpError(
        'EXP_PLUGIN_INVALID',
        `stage kind name "${kind.name}" is not dotted lower-case (e.g. "video.train")`,
      );
    }
    if (typeof kind.run !== 'function') {
      throw new ExpError('EXP_PLUGIN_INVALID', `stage kind "${kind.name}" has no run() function`);
    }
    if (!kind.version) throw new ExpError('EXP_PLUGIN_INVALID', `stage kind "${kind.name}" has no version`);
    for (const [port, spec] of Object.entries(kind.inputs ?? {})) {
      if (
        !Array.isArray(spec?.accepts) ||
        spec.accepts.length === 0 ||
        spec.accepts.some((a) => typeof a !== 'string' || !a)
      ) {
        throw new ExpError(
          'EXP_PLUGIN_INVALID',
          `stage kind "${kind.name}": input "${port}" has no \`accepts\` list of artifact names`,
          {
            hint: 'e.g. inputs: { pairs: { accepts: ["pairs"] } }',
          },
        );
      }
    }
    if (
      kind.produces !== undefined &&
      (!Array.isArray(kind.produces) || kind.produces.some((a) => typeof a !== 'string' || !a))
    ) {
      throw new ExpError(
        'EXP_PLUGIN_INVALID',
        `stage kind "${kind.name}": \`produces\` must be a list of artifact names`,
        { hint: 'e.g. produces: ["pairs"]' },
      );
    }
    if (kind.partsParam !== undefined && !kind.produces) {
      throw new ExpError('EXP_PLUGIN_INVALID', `stage kind "${kind.name}": \`partsParam\` needs \`produces\``, {
        hint: 'list the artifacts the parts param chooses from in `produces`',
      });
    }
    if (kind.report !== undefined) checkReport(kind);
    if (kind.shard !== undefined) checkSharding(kind);
    const existing = this.kinds.get(kind.name);
    if (existing && existing !== kind) {
      throw new ExpError('EXP_PLUGIN_INVALID', `stage kind "${kind.name}" is registered twice`, {
        hint: 'give your plugin kind another name (e.g. prefix it with your project)',
      });
    }
    this.kinds.set(kind.name, kind);
  }

  get(name: string): AnyStageKind | undefined {
    return this.kinds.get(name);
  }

  names(): string[] {
    return [...this.kinds.keys()].sort();
  }

  all(): AnyStageKind[] {
    return this.names().map((n) => this.kinds.get(n)!);
  }
}

/** A report declaration names only axes it declares (a typo would silently leave a table out). */
function checkReport(kind: AnyStageKind): void {
  const report = kind.report!;
  const axes = report.axes ?? {};
  const bad = (what: string, detail: string): never => {
    throw new ExpError('EXP_PLUGIN_INVALID', `stage kind "${kind.name}": report ${what}: ${detail}`, {
      hint: `declared axes: ${Object.keys(axes).join(', ') || '(none)'}`,
    });
  };
  for (const [name, a] of Object.entries(axes))
    if (!a || typeof a.kind !== 'string' || typeof a.param !== 'string' || typeof a.title !== 'string')
      bad(`axis "${name}"`, 'needs a title, a kind and a param');
  const needAxis = (where: string, name: string) => {
    if (!(name in axes)) bad(where, `"${name}" is not a declared axis`);
  };
  for (const t of report.tables ?? []) {
    if (!t.id || !Array.isArray(t.rows) || !Array.isArray(t.columns))
      bad(`table "${t.id}"`, 'needs an id, rows and columns');
    for (const r of t.rows) needAxis(`table "${t.id}"`, r);
  }
  for (const c of report.charts ?? []) {
    const used =
      c.type === 'line'
        ? [c.x, c.series]
        : c.type === 'paired'
          ? [c.axis, ...c.match]
          : c.type === 'bars'
            ? [c.series, ...(c.facet ? [c.facet] : [])]
            : bad(`chart "${(c as { id?: string }).id}"`, 'type must be line, paired or bars');
    for (const a of used) needAxis(`chart "${c.id}"`, a);
  }
}

export function resourcesOf(kind: AnyStageKind, params: Record<string, unknown>): Required<StageResources> {
  const { resources } = withCheckedParams(kind);
  const r = typeof resources === 'function' ? resources(params) : (resources ?? {});
  return { cpus: r.cpus ?? 1, gpus: r.gpus ?? 0, memoryMb: r.memoryMb ?? 512, gpuOptional: r.gpuOptional ?? false };
}

/**
 * The file schemas/stages/<kind>.schema.json: the params schema, with the kind's ports and what it
 * produces as annotations (`x-exp-inputs`, `x-exp-produces`) for editors and readers.
 */
export function stageSchemaDocument(kind: AnyStageKind): Record<string, unknown> {
  return {
    ...kind.paramsSchema,
    ...(kind.inputs ? { 'x-exp-inputs': kind.inputs } : {}),
    ...(kind.produces ? { 'x-exp-produces': kind.produces } : {}),
  };
}

/** A kind's `shard`: its functions, a positive auto size and an item port the kind declares. */
function checkSharding(kind: AnyStageKind): void {
  const s = kind.shard!;
  const fail = (what: string): never => {
    throw new ExpError('EXP_PLUGIN_INVALID', `stage kind "${kind.name}": shard.${what}`, {
      hint: 'shard: { port, autoShardSize, runIn?, listItems(source), run(ctx), gather(ctx) } (see src/plan/stage-kind.ts); runIn "pool" or "process" needs the kind\'s module: import.meta.url',
    });
  };
  for (const f of ['listItems', 'run', 'gather'] as const)
    if (typeof s[f] !== 'function') fail(`${f} must be a function`);
  if (!(Number.isInteger(s.autoShardSize) && s.autoShardSize > 0)) fail('autoShardSize must be a positive integer');
  if (s.runIn !== undefined && !['inline', 'pool', 'process'].includes(s.runIn))
    fail(`runIn must be "inline", "pool" or "process", got ${JSON.stringify(s.runIn)}`);
  if ((s.runIn === 'pool' || s.runIn === 'process') && !kind.module)
    fail(`runIn "${s.runIn}" needs the kind's \`module\` (its own import.meta.url)`);
  if (typeof s.port !== 'string' || !kind.inputs?.[s.port])
    fail(
      `port "${String(s.port)}" must name one of the kind's inputs (${Object.keys(kind.inputs ?? {}).join(', ') || 'none'})`,
    );
}
