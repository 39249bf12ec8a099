// Runs stage kinds outside the engine for the s2a benchmarks and evals: a hand-made StageContext with the
// schema defaults applied (ajv useDefaults, like the engine), metrics collected in memory.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { JsonValue, StageContext, StageInput, StageKind } from '../../src/plan/stage-kind.ts';
import { portsFor } from '../../src/run/ports.ts';

export interface RunResult {
  input: StageInput;
  metrics: Record<string, number>;
  seconds: number;
}

export async function runKind<P>(
  kind: StageKind<P>,
  params: Record<string, unknown>,
  inputs: StageInput[],
  outDir: string,
  opts: { seed?: number; quiet?: boolean } = {},
): Promise<RunResult> {
  const ajv = new Ajv2020({ useDefaults: true, strict: false });
  const p = structuredClone(params);
  if (!ajv.validate(kind.paramsSchema, p)) throw new Error(`${kind.name}: ${ajv.errorsText()}`);
  await mkdir(outDir, { recursive: true });
  const metrics: Record<string, number> = {};
  const ctx: StageContext<P> = {
    params: p as P,
    inputs,
    ports: portsFor(kind, p, inputs),
    outDir,
    scratchDir: path.join(outDir, '.scratch'),
    seed: opts.seed ?? 1,
    gpus: [],
    signal: new AbortController().signal,
    log: (m) => opts.quiet || console.error(`  [${kind.name}] ${m}`),
    progress: () => {},
    metric: (k, v) => {
      metrics[k] = v;
    },
    artifact: () => {},
  };
  const t0 = performance.now();
  const res = await kind.run(ctx);
  const seconds = (performance.now() - t0) / 1000;
  return {
    input: {
      stage: kind.name,
      kind: kind.name,
      key: kind.name,
      dir: outDir,
      outputs: (res.outputs ?? {}) as Record<string, JsonValue>,
    },
    metrics,
    seconds,
  };
}
