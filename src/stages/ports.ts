// Reading a stage's inputs by port name. The loader binds ports to `needs:` and refuses a spec
// whose needs leave a port unfed, so the errors here only reach code that builds a StageContext
// by hand (library use): they say which port is empty and what feeds it.
import path from 'node:path';
import { ExpError } from '../errors.ts';
import type { StageContext, StageInput } from '../plan/stage-kind.ts';

/** The upstream node bound to `port`, or undefined (optional or inactive port). */
export function portInput(ctx: Pick<StageContext<unknown>, 'ports'>, port: string): StageInput | undefined {
  return ctx.ports?.[port]?.[0];
}

/** The upstream node bound to `port`; EXP_INPUT_MISSING with `message` and `hint` when none is. */
export function requirePort(
  ctx: Pick<StageContext<unknown>, 'ports'>,
  port: string,
  message: string,
  hint: string,
): StageInput {
  const input = portInput(ctx, port);
  if (!input) throw new ExpError('EXP_INPUT_MISSING', message, { hint, detail: { port } });
  return input;
}

/** A path an upstream node's outputs name (relative to its folder), or `fallback` under its folder. */
export function outputPath(input: StageInput, key: string, fallback?: string): string {
  const rel = typeof input.outputs[key] === 'string' ? (input.outputs[key] as string) : fallback;
  if (rel === undefined) {
    throw new ExpError('EXP_INPUT_MISSING', `${input.stage} (${input.kind}) has no \`${key}\` in its outputs`, {
      hint: `rerun ${input.stage} (exp run --force ${input.stage}), or check that it is the stage you meant`,
      detail: { stage: input.stage, key },
    });
  }
  return path.isAbsolute(rel) ? rel : path.join(input.dir, rel);
}
