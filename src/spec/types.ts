// Plain data the spec room hands to the planner and the CLI.
/** A JSON Schema (draft 2020-12 subset that ajv understands), as a plain object. */
export type JsonSchema = { [key: string]: unknown };

/**
 * One named input of a stage kind: the artifact it takes from an upstream stage, or from a path
 * param the user set instead. `needs:` is checked against these at load time.
 */
export interface PortInfo {
  /** Artifact names the port takes (any one of them), e.g. `["pairs"]`. */
  accepts: string[];
  /** A path param that, when set (non-empty), supplies the artifact instead of an upstream stage. */
  param?: string;
  /** The port is used only when this param has one of these values (otherwise it is inactive). */
  when?: { param: string; in: unknown[] };
  /** The stage runs without it when no upstream stage gives it. */
  optional?: boolean;
  /** Several upstream stages may feed it (default: exactly one). */
  many?: boolean;
  /** One line for `exp kinds`. */
  description?: string;
}

/** What the spec loader needs to know about a registered stage kind. */
export interface KindInfo {
  name: string;
  description: string;
  paramsSchema: JsonSchema;
  /** Named inputs; a kind without them takes whatever its `needs:` give (no checks). */
  inputs?: Record<string, PortInfo>;
  /** Artifact names its outputs hold; a kind without them feeds no port. */
  produces?: string[];
  /**
   * A list param naming which of `produces` to make. The loader sets it to the artifacts the
   * spec's stages actually take from this stage (a demo world makes only what is used).
   */
  partsParam?: string;
  /** Present when the kind may run as shards (`stages.<name>.shards` / `shard_size`). */
  shard?: { port: string };
  /**
   * Looks inside the data its path params name (see StageKind.checkInputs); `params` are the
   * validated params with paths absolute.
   */
  checkInputs?(params: unknown, look: InputLook): Promise<InputProblem[]>;
}

/** A problem a kind found inside the data one of its path params names. */
export interface InputProblem {
  /** The path param at fault; the loader adds the key the user wrote and where. */
  param: string;
  /** What was found against what was expected, with counts (the path included). */
  message: string;
  /** What to do. */
  hint?: string;
}

/** What a kind's input check gets besides its params. */
export interface InputLook {
  /**
   * Runs `look` once per key in one load of a spec: every point (and every stage) naming the
   * same folder shares one look at it. Keys name the check and the path, e.g. `ava:train:/data/ava`.
   */
  once<T>(key: string, look: () => Promise<T>): Promise<T>;
}

/** Where a port's artifact comes from in one point. */
export type PortSource = { from: 'stages'; stages: string[] } | { from: 'param'; param: string; path: string };

export interface KindLookup {
  get(name: string): KindInfo | undefined;
  names(): string[];
}

/**
 * What the spec loader needs to know about the registered executors: their names (the values of
 * `settings.executor`) and the schema of each one's `settings.<name>` block.
 */
export interface ExecutorLookup {
  names(): string[];
  settingsSchema(name: string): JsonSchema | undefined;
  description(name: string): string | undefined;
}

export interface LoadOptions {
  /** `--set PATH=VALUE` overrides, applied after `extends:` and before the matrix. */
  sets?: string[];
  kinds: KindLookup;
  /** The registered executors (default: the ones schemas/experiment.schema.json knows, the built-in ones). */
  executors?: ExecutorLookup;
  /** Resolves the spec file and `--set` path values (default: process.cwd()). */
  cwd?: string;
  /** For `${env:NAME}` (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Look inside the data the spec names, through the kinds' checkInputs (default true). */
  checkInputs?: boolean;
}

export interface ResolvedStage {
  name: string;
  uses: string;
  needs: string[];
  /** Params as written + schema defaults, interpolated: stable across machines, for hashing. Frozen. */
  with: Record<string, unknown>;
  /** Same as `with`, path params (`x-exp-path`) made absolute: for running. Frozen. */
  runWith: Record<string, unknown>;
  resources?: { cpus?: number; gpus?: number; memoryMb?: number };
  retries?: number;
  /** `shards` / `shard_size`: run as shards + a gather (an execution strategy: in no key or point id). */
  sharding?: { shards?: number | 'auto'; shardSize?: number };
  /** Active ports of the kind and where each is fed from (empty for kinds without ports). Frozen. */
  ports: Readonly<Record<string, PortSource>>;
}

export interface ResolvedPoint {
  /** 12 hex chars: sha256 of the canonical JSON of name, vars, data, settings.seed and the stages' uses/needs/with. */
  id: string;
  /**
   * The values that define the point: its matrix assignment, then the `--set` overrides, e.g.
   * `method=s2a k=20` or `k=5`; `default` only for a spec run as written, without a matrix.
   */
  name: string;
  /** Matrix key path (as written in the spec) → value. */
  assignment: Record<string, unknown>;
  /** `--set` key path (as written) → value, for the keys the matrix does not assign. */
  overrides: Record<string, unknown>;
  /** Stages pruned to the targets and their ancestors, in the spec's order. */
  stages: Record<string, ResolvedStage>;
  /** The whole resolved doc of this point (interpolated, defaults filled in), for logging and MLflow params. */
  config: Record<string, unknown>;
}

export interface LoadedSpec {
  /** Absolute path of the spec file. */
  file: string;
  name: string;
  description?: string;
  settings: {
    seed: number;
    jobs?: number;
    retries: number;
    targets: string[];
    /** `settings.executor`: the name of a registered executor (validated by the schema). */
    executor?: string;
    /** `settings.<executor>` blocks, by executor name (each validated by its executor's settings schema). */
    executorSettings?: Record<string, Record<string, unknown>>;
  };
  points: ResolvedPoint[];
  /** The merged doc (extends and --set applied, before matrix expansion and interpolation) as YAML. */
  resolvedYaml: string;
  /** Every file read: the spec and its `extends:` bases (absolute). */
  files: string[];
}

/** One problem in a spec, in the shape of a Zod issue plus where it came from. */
export interface SpecIssue {
  /** `yaml_syntax`, `unrecognized_key`, `invalid_type`, `invalid_value`, `too_small`, `too_big`, `missing_key`, `unknown_kind`, `unknown_stage`, `cycle`, `extends_cycle`, `file_missing`, `empty_matrix`, `unknown_path`, `unknown_reference`, `reference_cycle`, `invalid_set`, ... */
  code: string;
  /** Key path of the problem, e.g. `stages.parse.with.min_cout` (list items as `needs[1]`). */
  path: string;
  message: string;
  /** File the offending key/value came from; `--set PATH=VALUE` for command-line overrides. */
  file: string;
  /** 1-based; 0 when the value has no place in a file (command line, environment). */
  line: number;
  col: number;
  /** `did you mean "min_count"?` or what to do. */
  hint?: string;
}
