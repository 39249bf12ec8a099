// Ports for a StageContext built by hand (library use, benches, tests): binds the kind's active
// ports to the given inputs the way the loader binds them to `needs:` (by what each input's kind
// produces). Missing inputs leave a port unbound, so the stage's own error for it shows.
import { StageRegistry } from '../plan/registry.ts';
import type { StageInput, AnyStageKind } from '../plan/stage-kind.ts';
import { bindPorts, producedBy } from '../spec/ports.ts';
import { builtinKinds } from '../stages/index.ts';

export function portsFor(
  kind: AnyStageKind,
  params: object,
  inputs: readonly StageInput[],
): Record<string, StageInput[]> {
  const registry = new StageRegistry();
  for (const k of builtinKinds) registry.register(k);
  if (!registry.get(kind.name)) registry.register(kind);
  const p = params as Record<string, unknown>;
  const stage = { uses: kind.name, needs: inputs.map((i) => i.stage), with: p, runWith: p };
  const upstream = (name: string) => {
    const input = inputs.find((i) => i.stage === name);
    return input && { uses: input.kind, produces: producedBy(registry, input.kind, {}) };
  };
  const { ports } = bindPorts('stage', stage, upstream, registry);
  const out: Record<string, StageInput[]> = {};
  for (const [port, source] of Object.entries(ports)) {
    if (source.from === 'stages') out[port] = source.stages.map((s) => inputs.find((i) => i.stage === s)!);
  }
  return out;
}
