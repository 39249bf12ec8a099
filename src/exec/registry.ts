// The public registry of executors: where the ready nodes of `exp run` go. The built-in ones
// (local, slurm, bullmq) register through it exactly as a plugin's would (`export const executors
// = [...]` in a module given to --plugin / EXP_PLUGINS). An executor declares its name, one line
// saying what it does, the JSON Schema of its `settings.<name>` block in a spec (validated like
// every other key), the options it reads from the command line or the environment, and a factory.
// A module that defines one must be cheap to import: it loads its engine's client libraries when
// the factory runs (every `exp` command loads the registry, few run an executor).
import { ExpError } from '../errors.ts';
import type { JsonSchema } from '../plan/stage-kind.ts';
import type { StageRegistry } from '../plan/registry.ts';
import type { InvocationHandle } from '../store/invocations.ts';
import type { ArtifactStore } from '../store/store.ts';
import type { RemoteNodeRunner } from './remote.ts';

/** A value an executor takes from `settings.<executor>.<key>`, a flag of `exp run`, or an environment variable. */
export interface ExecutorOption {
  /** The key under `settings.<executor>` (and in the settings the factory receives). */
  key: string;
  /** A flag of `exp run` that sets it (`--redis`); built-in executors only: plugins use settings and env. */
  flag?: string;
  /** An environment variable that sets it when neither the flag nor the spec does. */
  env?: string;
  /** The value's placeholder in help texts (URL, NAME). */
  value: string;
  description: string;
  /** Refused when missing (exit 2, naming the flag, the key and the variable). */
  required?: boolean;
}

export interface ExecutorContext {
  /** `settings.<executor>` of the spec, with the declared options resolved into it (flag > spec > env). */
  settings: Record<string, unknown>;
  store: ArtifactStore;
  registry: StageRegistry;
  /** Plugin modules the driver loaded, made absolute (remote runners load them too). */
  plugins: string[];
  env: NodeJS.ProcessEnv;
  /** This run's invocation record (job ids are recorded in it for re-attaching). */
  invocation?: InvocationHandle;
  /** Where the executor says what the user must know (shown even with --quiet). */
  log(line: string): void;
  /** Aborted on Ctrl-C / SIGTERM: a factory that waits (a health check) stops waiting. */
  signal?: AbortSignal;
}

export interface ExecutorDefinition {
  /** Lower-case name: `--executor <name>`, `settings.executor: <name>`, `settings.<name>: {...}`. */
  name: string;
  /** One line: where the nodes run. */
  description: string;
  /** JSON Schema of `settings.<name>` (an object schema whose keys are documented); none: no settings. */
  settingsSchema?: JsonSchema;
  options?: ExecutorOption[];
  /** Where the nodes go, in words, for the first lines of `exp run` ("Slurm (partition gpu)"). */
  where(settings: Record<string, unknown>, env: NodeJS.ProcessEnv): string;
  /** The runner that takes the ready nodes; undefined: they run in this process (the local executor). */
  open(ctx: ExecutorContext): Promise<RemoteNodeRunner | undefined>;
}

const NAME = /^[a-z][a-z0-9_-]*$/;
/** Keys of `settings` the engine uses itself: no executor may be named like one. */
const RESERVED = new Set(['seed', 'jobs', 'retries', 'max_points', 'targets', 'executor']);

export class ExecutorRegistry {
  private readonly executors = new Map<string, ExecutorDefinition>();

  register(def: ExecutorDefinition): void {
    if (typeof def?.name !== 'string' || !NAME.test(def.name) || RESERVED.has(def.name)) {
      throw new ExpError(
        'EXP_PLUGIN_INVALID',
        `executor name ${JSON.stringify(def?.name)} is not a lower-case word (or is a reserved settings key)`,
        { hint: 'e.g. name: "kubernetes"' },
      );
    }
    if (typeof def.open !== 'function' || typeof def.where !== 'function' || !def.description) {
      throw new ExpError(
        'EXP_PLUGIN_INVALID',
        `executor "${def.name}" needs a description, a where() and an open() function`,
      );
    }
    const schema = def.settingsSchema;
    if (schema && (schema.type !== 'object' || typeof schema.properties !== 'object')) {
      throw new ExpError('EXP_PLUGIN_INVALID', `executor "${def.name}": settingsSchema must be an object schema`, {
        hint: 'e.g. { type: "object", additionalProperties: false, properties: { namespace: { type: "string", description: "..." } } }',
      });
    }
    for (const opt of def.options ?? []) {
      const props = (schema?.properties ?? {}) as Record<string, unknown>;
      if (!(opt.key in props))
        throw new ExpError(
          'EXP_PLUGIN_INVALID',
          `executor "${def.name}": option "${opt.key}" is not a key of its settingsSchema`,
        );
    }
    const existing = this.executors.get(def.name);
    if (existing && existing !== def) {
      throw new ExpError('EXP_PLUGIN_INVALID', `executor "${def.name}" is registered twice`, {
        hint: 'give your plugin executor another name',
      });
    }
    this.executors.set(def.name, def);
  }

  get(name: string): ExecutorDefinition | undefined {
    return this.executors.get(name);
  }

  names(): string[] {
    return [...this.executors.keys()];
  }

  all(): ExecutorDefinition[] {
    return [...this.executors.values()];
  }

  /** The JSON Schema of `settings.<name>` (the spec loader validates with it). */
  settingsSchema(name: string): JsonSchema | undefined {
    return this.executors.get(name)?.settingsSchema;
  }

  description(name: string): string | undefined {
    return this.executors.get(name)?.description;
  }
}

/**
 * An executor's settings: `settings.<name>` of the spec, each declared option taken from its flag,
 * else the spec, else its environment variable. A required option left unset is an EXP_ARGS_INVALID
 * naming the three places it can come from.
 */
export function resolveExecutorSettings(
  def: ExecutorDefinition,
  fromSpec: Record<string, unknown> | undefined,
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): Record<string, unknown> {
  const settings: Record<string, unknown> = { ...(fromSpec ?? {}) };
  for (const opt of def.options ?? []) {
    const flag = opt.flag ? flags[opt.flag] : undefined;
    const value =
      (typeof flag === 'string' && flag !== '' ? flag : undefined) ??
      settings[opt.key] ??
      (opt.env && env[opt.env] ? env[opt.env] : undefined);
    if (value !== undefined) settings[opt.key] = value;
    else if (opt.required) {
      const where = [
        ...(opt.flag ? [`pass --${opt.flag} ${opt.value}`] : []),
        `set settings.${def.name}.${opt.key}`,
        ...(opt.env ? [opt.env] : []),
      ];
      throw new ExpError('EXP_ARGS_INVALID', `the ${def.name} executor needs ${opt.description}`, {
        hint: `${where.slice(0, -1).join(', ')}${where.length > 1 ? ' or ' : ''}${where.at(-1)}`,
      });
    }
  }
  return settings;
}
