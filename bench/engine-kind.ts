// The no-op stage kind the engine benchmark runs (also loaded as a plugin by `exp run`).
import type { StageKind } from '../src/plan/stage-kind.ts';

export const noop: StageKind<{ i: number; j: number }> = {
  name: 'bench.noop',
  version: '1',
  description: 'does nothing',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      i: { type: 'integer', default: 0, description: 'a' },
      j: { type: 'integer', default: 0, description: 'b' },
      lr: { type: 'number', default: 0.1, description: 'c' },
      name: { type: 'string', default: 'x', description: 'd' },
    },
  },
  async run(ctx) {
    ctx.metric('bench.value', ctx.params.i + ctx.params.j);
    return { outputs: { i: ctx.params.i } };
  },
};
