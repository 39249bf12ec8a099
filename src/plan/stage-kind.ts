// The public contract between the engine and any stage kind (ours or a user's plugin).
// The engine knows nothing else about what a stage does: it validates `with:` against
// `paramsSchema`, fingerprints (name, version, params, upstream keys), places the task under
// `resources`, and calls `run()` with the outputs of its upstream nodes.

/** A JSON Schema (draft 2020-12 subset that ajv understands), as a plain object. */
export type JsonSchema = { [key: string]: unknown };

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface StageResources {
  /** CPU cores the task keeps busy (default 1). */
  cpus?: number;
  /** GPUs the task needs; a fraction (0.5) lets two such tasks share one device (default 0). */
  gpus?: number;
  /** Resident memory in MB the task may reach (default 512). */
  memoryMb?: number;
}

/** What a finished upstream node hands to its dependents. */
export interface StageInput {
  /** The stage's name in the spec (e.g. `parse`). */
  stage: string;
  /** The stage's kind (e.g. `screenplay.parse`). */
  kind: string;
  /** The node's cache key. */
  key: string;
  /** Folder holding the node's files (read-only for dependents). */
  dir: string;
  /** The JSON the node's `run()` returned as `outputs` (small, plain data). */
  outputs: Record<string, JsonValue>;
}

export interface StageContext<P = Record<string, unknown>> {
  /** Validated `with:` params, schema defaults applied. */
  params: P;
  /** Upstream nodes in the order of `needs:`. */
  inputs: StageInput[];
  /** Empty folder to write outputs into; committed atomically to the store when run() resolves. */
  outDir: string;
  /** A scratch folder that persists across attempts of this node (checkpoints for resume). */
  scratchDir: string;
  /**
   * A folder shared by all nodes and runs on this runs folder, for derived data several nodes
   * reuse (e.g. decoded benchmark clips). The stage chooses sub-folder names that identify the
   * content (a hash of its inputs) and publishes each sub-folder atomically (temp + rename).
   * The engine always sets it; a hand-made context (tests, library use) may leave it out.
   */
  sharedDir?: string;
  /** Seed derived from the point / node (deterministic). */
  seed: number;
  /** GPU device ids given to this task (empty when none). CUDA_VISIBLE_DEVICES is already set. */
  gpus: number[];
  /** Fires when the run is interrupted; long loops should check it and stop. */
  signal: AbortSignal;
  /** A line in the node's log. */
  log(message: string): void;
  /** Progress within the node (counts; total when known). */
  progress(done: number, total?: number, label?: string): void;
  /**
   * A metric for the tracker. Keys: `[A-Za-z0-9_ .:/-]`, e.g. `s2a.ap.phone`, `train.loss`.
   * `step` is an integer (epoch for curves); omit for a single value.
   */
  metric(key: string, value: number, step?: number): void;
  /** Declare a file (relative to outDir) as an artifact to show in MLflow. */
  artifact(relativePath: string): void;
}

export interface StageResult {
  /** Small plain data for dependents and `exp show` (paths relative to outDir, counts, ...). */
  outputs?: Record<string, JsonValue>;
}

export interface StageKind<P = Record<string, unknown>> {
  /** Dotted kind name used in `uses:` (e.g. `screenplay.parse`). */
  name: string;
  /** Bump when outputs would change for the same params: invalidates cached nodes of this kind. */
  version: string;
  /** One line for `exp kinds` and did-you-mean messages. */
  description: string;
  /** JSON Schema of `with:`; mirrored in schemas/stages/<name>.schema.json (a test keeps them equal). */
  paramsSchema: JsonSchema;
  /** Resources of one task; may depend on the params. */
  resources?: StageResources | ((params: P) => StageResources);
  /**
   * Where the task runs: `inline` in the engine's process (I/O bound work that spawns its own
   * processes, e.g. ffmpeg), `pool` in a piscina worker thread (CPU-bound JavaScript; the module
   * must be importable by path: set `module`), `process` in a child process (GPU work, gets
   * CUDA_VISIBLE_DEVICES). Default: `inline`.
   */
  runIn?: 'inline' | 'pool' | 'process';
  /** Absolute file URL/path of the module exporting this kind as `kind` (needed for pool/process). */
  module?: string;
  /**
   * One line for `exp plan` saying how params that depend on the data resolve (e.g. thresholds
   * given per 1,000 scripts). `upstream`: outputs of the upstream nodes already in the store
   * (empty when none ran yet, then the note gives the formula).
   */
  planNote?(params: P, upstream: { kind: string; outputs: Record<string, JsonValue> }[]): string | undefined;
  run(ctx: StageContext<P>): Promise<StageResult>;
}
