// The public contract between the engine and any stage kind (ours or a user's plugin).
// The engine knows nothing else about what a stage does: it validates `with:` against
// `paramsSchema`, fingerprints (name, version, params, upstream keys), places the task under
// `resources`, and calls `run()` with the outputs of its upstream nodes.

import type { InputLook, InputProblem, JsonSchema } from '../spec/types.ts';

export type { InputLook, InputProblem, JsonSchema };

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface StageResources {
  /** CPU cores the task keeps busy (default 1). */
  cpus?: number;
  /** GPUs the task needs; a fraction (0.5) lets two such tasks share one device (default 0). */
  gpus?: number;
  /**
   * The task would like `gpus` but also runs without: on a machine with no GPU it is placed
   * with none (ctx.gpus empty) instead of failing as impossible (default false).
   */
  gpuOptional?: boolean;
  /** Resident memory in MB the task may reach (default 512). */
  memoryMb?: number;
}

/**
 * A named input of a kind: which artifacts it takes from an upstream stage (matched against the
 * upstream kind's `produces`), or the path param that supplies it instead. `exp validate` checks
 * every stage's `needs:` against its kind's ports; at run time the stage reads `ctx.ports[name]`.
 */
export interface StagePort {
  /** Artifact names the port takes (any one of them), e.g. `["pairs"]`. */
  accepts: string[];
  /** A path param that, when set (non-empty), supplies the artifact instead of an upstream stage. */
  param?: string;
  /** The port is used only when this param has one of these values (otherwise it is inactive). */
  when?: { param: string; in: JsonValue[] };
  /** The stage runs without it when no upstream stage gives it. */
  optional?: boolean;
  /** Several upstream stages may feed it (default: exactly one). */
  many?: boolean;
  /** One line for `exp kinds`. */
  description?: string;
}

/** Where a port's artifact comes from: upstream stages, or the path param the user set. */
export type PortSource = { from: 'stages'; stages: string[] } | { from: 'param'; param: string; path: string };

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
  /**
   * The kind's active ports, each bound to the upstream nodes that feed it (in `needs:` order).
   * A port fed by its path param, an inactive port and an optional port nobody feeds are absent.
   */
  ports: Record<string, StageInput[]>;
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
  /** Set when this task is one shard of a sharded stage (`StageSharding.run`): its items, in order. */
  shard?: ShardTask;
  /**
   * Set when this task gathers a sharded stage (`StageSharding.gather`): the shard nodes' outputs
   * in shard order (= the unsharded listing order). Read their files one shard at a time.
   */
  shards?: StageInput[];
}

/**
 * One unit of work of a sharded stage (a screenplay file, a movie, a clip), as listed without
 * reading it whole. Plain JSON: it travels to pool threads, Slurm jobs and BullMQ workers.
 */
export interface ShardItem {
  /** Stable identity (a relative path, a movie id): shard boundaries are drawn from its hash. */
  id: string;
  /** Changes when the item's content does (size + mtime, or the upstream manifest's sha256). */
  digest: string;
  /** Whatever else the shard needs to find the item (offsets into a file, paths); kept small. */
  data?: JsonValue;
}

/** What a shard's run() is given in `ctx.shard`. */
export interface ShardTask {
  /** 0-based position among the stage's shards. */
  index: number;
  count: number;
  items: ShardItem[];
}

/** Where the items of a sharded stage come from, for `StageSharding.listItems`. */
export interface ShardSource<P = Record<string, unknown>> {
  /** The node's run params (path params absolute). */
  params: P;
  /**
   * The finished upstream node feeding the item port (its folder, outputs and the sha256 of its
   * files from its manifest), or absent when the port is fed by its path param.
   */
  input?: StageInput & { files: Record<string, { bytes: number; sha256: string }> };
}

/**
 * How a kind runs as N shard nodes + 1 gather node (a map over the items of one input port).
 * Sharding is an execution strategy: the gather's outputs and metrics must equal those of the
 * unsharded `run()` (same files where possible), so the gather keeps the unsharded node's key.
 */
export interface StageSharding<P = Record<string, unknown>> {
  /** The input port whose items are spread over the shards (fed by its path param or upstream). */
  port: string;
  /** Items per shard for `shards: auto`. */
  autoShardSize: number;
  /**
   * Where a shard runs (default: the kind's `runIn`). Shards doing CPU-bound JavaScript declare
   * `pool` (worker threads; the kind needs `module`): inline shards would share one thread, and a
   * stage's shards could not use the cores. The gather runs where the kind runs.
   */
  runIn?: 'inline' | 'pool' | 'process';
  /**
   * The items in the order the unsharded run processes them (concatenating the shards in order
   * gives that order). Cheap: a listing and stats, never a full read of the items.
   */
  listItems(source: ShardSource<P>): ShardItem[] | Promise<ShardItem[]>;
  /** Runs one shard: `ctx.shard` holds its items; the rest of the context is the stage's. */
  run(ctx: StageContext<P>): Promise<StageResult>;
  /** Merges the shards (`ctx.shards`, in order) into the unsharded stage's outputs, streaming. */
  gather(ctx: StageContext<P>): Promise<StageResult>;
}

export interface StageResult {
  /** Small plain data for dependents and `exp show` (paths relative to outDir, counts, ...). */
  outputs?: Record<string, JsonValue>;
  /**
   * Input items the stage passed over and why (a corrupt movie, a subtitle file without its
   * video), by path: kept in the manifest, listed by `exp show` and counted in the run summary.
   * A stage that skips items should also say so in its log and count them in a metric.
   */
  skipped?: SkippedItem[];
}

export interface SkippedItem {
  /** The file (or id) that was skipped. */
  item: string;
  reason: string;
}

/**
 * A value that tells grid points apart, read from a param of a node of `kind` in the point (e.g.
 * the mining method: `captions.mine`'s `method`). `exp report` groups and labels points by axes.
 */
export interface ReportAxis {
  /** Column or legend title, e.g. `pre-training`. */
  title: string;
  kind: string;
  param: string;
  /** Words for values (`{ s2a: 'S2A-mined' }`); listed values come first, in this order. */
  labels?: Record<string, string>;
  /** The label of a point with no node of `kind` (e.g. no mining at all: `none (scratch)`); it sorts first. */
  absent?: string;
}

/** Metric columns: exact keys, or globs (`video.ava_clip_ap.*`: a column per match, titled by what `*` matched). */
export interface ReportColumn {
  metric: string;
  /** Title of an exact key's column (default the key). */
  title?: string;
}

/**
 * A table of the points in which this kind's node matches `when` (its own params): one row per
 * point, the `rows` axes first, then the metric columns (a missing value shows as n/a).
 */
export interface ReportTable {
  /** Anchor and test id, e.g. `table4`. */
  id: string;
  title: string;
  caption?: string;
  when?: Record<string, JsonValue>;
  /** Names of `axes` entries, outermost first (rows are sorted by them). */
  rows: string[];
  columns: ReportColumn[];
  /** Mark the best value of each column. */
  best?: 'max' | 'min';
}

/** A chart across the points in which this kind's node matches `when`. */
export type ReportChart =
  | {
      /** `y` against the `x` axis, one line per `series` axis value (e.g. mAP against k per pre-training). */
      type: 'line';
      id: string;
      title: string;
      when?: Record<string, JsonValue>;
      x: string;
      series: string;
      y: ReportColumn;
      yDomain?: [number, number];
    }
  | {
      /**
       * Two values of an axis compared item by item: for each pair of points that differ only in
       * `axis` (`x` vs `y` value; e.g. keyword- vs S2A-mined at the same k), one dot per metric the
       * glob matches (per class), at (metric at x, metric at y); y = x drawn for reference.
       */
      type: 'paired';
      id: string;
      title: string;
      when?: Record<string, JsonValue>;
      axis: string;
      x: JsonValue;
      y: JsonValue;
      metrics: string;
      /** Axes whose value the two points share, one colour per value (e.g. k). */
      match: string[];
      domain?: [number, number];
    }
  | {
      /** Grouped bars: one group per metric the glob matches (per class), one bar per `series` value; one chart per `facet` value. */
      type: 'bars';
      id: string;
      title: string;
      when?: Record<string, JsonValue>;
      metrics: string;
      series: string;
      facet?: string;
      valueTitle: string;
      domain?: [number, number];
    };

/** What a kind contributes to `exp report` across grid points: named axes, tables, charts. Plain data. */
export interface KindReport {
  axes: Record<string, ReportAxis>;
  tables?: ReportTable[];
  charts?: ReportChart[];
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
  /** Named inputs. A kind without them gets every upstream node in `inputs` and no checks. */
  inputs?: Record<string, StagePort>;
  /** Artifact names its outputs hold (what its dependents' ports may take). */
  produces?: string[];
  /**
   * A list param naming which of `produces` to make; the loader sets it to what the spec's
   * stages take from this one (e.g. the demo world makes only the data still used).
   */
  partsParam?: string;
  /** Headline metric keys worth a column in a run's summary table (means, benchmark scores). */
  summaryMetrics?: string[];
  /**
   * Tables and charts across grid points for `exp report` (e.g. a paper's results table), as
   * data: the report builds them from the run records without knowing what the kind does.
   */
  report?: KindReport;
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
  /**
   * Looks inside the data its path params name, before any node starts (`exp validate`, `exp plan`,
   * `exp run`): a listing, file headers, a sample; never a full decode, and bounded on a folder of
   * 100k files. Gets the validated params with paths absolute (only when some path param is set);
   * `look.once` shares one look at a folder between the points of a grid. Each problem names its
   * param; the spec loader reports it as a spec problem at the place the user wrote the path.
   */
  checkInputs?(params: P, look: InputLook): Promise<InputProblem[]>;
  /** The kind may run as shards + a gather (`stages.<name>.shards` / `shard_size` in a spec). */
  shard?: StageSharding<P>;
  run(ctx: StageContext<P>): Promise<StageResult>;
}

/**
 * A stage kind of any params type, as the registry, the planner and the executors hold one. With
 * `never` for P every `StageKind<P>` is one without a cast: P appears only where the kind receives
 * params. The engine calls it through `withCheckedParams`.
 */
export type AnyStageKind = StageKind<never>;

/**
 * The kind as the engine calls it: with params that passed its `paramsSchema` (defaults applied),
 * which is the promise its P stands for. The one place that relies on it.
 */
export function withCheckedParams(kind: AnyStageKind): StageKind {
  return kind as StageKind;
}
