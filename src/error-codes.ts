// The one catalogue of user-facing error codes: what each means, the exit status `exp` ends with
// when it stops on one, and the hint printed when the thrower gives none. `ExpError` takes only
// these codes, the CLI's exit statuses come from here, and docs/ERRORS.md is rendered from it
// (`npm run errors-doc`; test/engine/errors.test.ts keeps the three in step). Any room may
// import this file.

export interface ErrorCodeEntry {
  code: `EXP_${string}`;
  /** One line: what went wrong. */
  meaning: string;
  /** The exit status of `exp` when a command stops on this error (1..125). */
  exit: number;
  /** Printed after `→` when the thrower gives no hint of its own. */
  hint: string;
}

/** Exit status of `exp` for bad input it refuses before running anything (spec, arguments). */
export const EXIT_USAGE = 2;
/** Exit status of `exp` for a failure while working (a node failed, a file could not be read). */
export const EXIT_FAILED = 1;

export const ERROR_CODES = [
  {
    code: 'EXP_ARGS_INVALID',
    meaning: 'A command-line argument, flag or environment value is wrong (unknown command or flag, malformed value).',
    exit: EXIT_USAGE,
    hint: 'run `exp <command> --help` for the options',
  },
  {
    code: 'EXP_SPEC_INVALID',
    meaning: 'The experiment spec is invalid (schema, references, stage graph, ports); found before anything runs.',
    exit: EXIT_USAGE,
    hint: 'fix the spec where it says; `exp validate <spec>` checks it without running',
  },
  {
    code: 'EXP_PLUGIN_INVALID',
    meaning: 'A stage kind module (--plugin / EXP_PLUGINS) cannot be loaded or declares a kind wrongly.',
    exit: EXIT_USAGE,
    hint: 'check the module path and that each kind has a dotted name, a version, run() and declared ports',
  },
  {
    code: 'EXP_BUILD_STALE',
    meaning: 'In a checkout, dist/ (the compiled code bin/exp.js runs) is missing or older than a source under src/.',
    exit: EXIT_USAGE,
    hint: 'run `npm run build` (or `make`) in the checkout, then rerun',
  },
  {
    code: 'EXP_RUNS_UNWRITABLE',
    meaning:
      'The runs folder (or a part of it: cache, locks, logs, invocations) cannot be written; checked before anything runs.',
    exit: EXIT_USAGE,
    hint: 'fix the permissions of the path named (e.g. chmod u+w), or pass --runs DIR (or EXP_RUNS) to use another folder',
  },
  {
    code: 'EXP_NOT_FOUND',
    meaning: 'What a command was asked to show does not exist (an invocation, point or node id, a stage kind).',
    exit: EXIT_USAGE,
    hint: '`exp ls` lists invocations and points; `exp kinds` lists stage kinds',
  },
  {
    code: 'EXP_PARAMS_INVALID',
    meaning:
      'A stage found, while running, that its `with:` params cannot work with its inputs (schema checks passed).',
    exit: EXIT_FAILED,
    hint: "fix the named key in the stage's `with:` and run again; nodes already done stay cached",
  },
  {
    code: 'EXP_INPUT_MISSING',
    meaning: 'A file, folder or upstream output a stage or command needs is not there.',
    exit: EXIT_FAILED,
    hint: 'check the path (or the upstream stage in `needs:`) named in the message',
  },
  {
    code: 'EXP_DATA_INVALID',
    meaning: 'Input data is there but malformed or unusable (bad JSON/CSV row, empty split, unknown label).',
    exit: EXIT_FAILED,
    hint: 'fix or regenerate the file named in the message',
  },
  {
    code: 'EXP_MODEL_MISMATCH',
    meaning: 'A saved model or checkpoint does not fit what uses it (format version, shapes, classes, encoder).',
    exit: EXIT_FAILED,
    hint: 'retrain the model, or point the stage at the model it was trained with',
  },
  {
    code: 'EXP_MEDIA_UNREADABLE',
    meaning: 'ffprobe/ffmpeg cannot read or decode a video or audio file (or the asked span has no frames).',
    exit: EXIT_FAILED,
    hint: 'check that the file plays (`ffprobe <file>`) and that the asked time span lies inside it',
  },
  {
    code: 'EXP_CORPUS_UNUSABLE',
    meaning:
      'Every file of a media corpus was skipped (empty, truncated, unreadable, no video stream): nothing is left to work on.',
    exit: EXIT_FAILED,
    hint: 'replace or remove the broken files named in the message (`exp show <node>` lists each with its reason), or point the stage at another corpus',
  },
  {
    code: 'EXP_FFMPEG_MISSING',
    meaning: 'ffmpeg or ffprobe is not installed, or FFMPEG_PATH/FFPROBE_PATH is not an executable.',
    exit: EXIT_FAILED,
    hint: 'install ffmpeg (e.g. `apt-get install ffmpeg`) or set FFMPEG_PATH and FFPROBE_PATH',
  },
  {
    code: 'EXP_FFMPEG_FAILED',
    meaning: 'ffmpeg ran but could not write the output (encode, write or rotation tag failed).',
    exit: EXIT_FAILED,
    hint: "see ffmpeg's last lines in the message; check free disk space and the output folder",
  },
  {
    code: 'EXP_TRACK_INVALID',
    meaning:
      'A tracking call breaks MLflow rules (metric/param/tag key, type or length, step, a param changed, a non-http tracking URI).',
    exit: EXIT_FAILED,
    hint: 'rename or shorten the key or value named in the message (MLflow limits); a param, once logged, cannot change',
  },
  {
    code: 'EXP_RESOURCES_UNAVAILABLE',
    meaning: 'A node asks for more GPUs than this machine has, so it can never start (the node fails at once).',
    exit: EXIT_FAILED,
    hint: "pass --gpus or set EXP_GPUS, lower the stage's `resources.gpus`, or run where nvidia-smi lists enough GPUs",
  },
  {
    code: 'EXP_EXECUTOR_UNAVAILABLE',
    meaning:
      'A distributed executor cannot be used or stopped answering: its Redis or Slurm controller cannot be reached (or is not one), its configuration is missing, its jobs cannot run (a drained node, past settings.slurm.pending_timeout), or a worker could not run a node it took.',
    exit: EXIT_FAILED,
    hint: 'check --redis / settings.bullmq.redis or SLURM_CONF and `scontrol ping`, and that every `exp worker` uses the same shared --runs folder and --plugin modules as `exp run`; then run the same command again (finished nodes are reused)',
  },
  {
    code: 'EXP_NODE_LOST',
    meaning:
      'A node did not finish although nothing failed in it: its job was cancelled outside exp (scancel, a time limit, an administrator), lost with its machine, or lost by its queue (a Redis restart).',
    exit: EXIT_FAILED,
    hint: 'run the same command again: finished nodes are reused and the lost ones run again',
  },
  {
    code: 'EXP_RUNS_MISMATCH',
    meaning:
      "A worker's runs folder is not the one of the `exp run` that sent it a node (another identity in .exp-runs-id): it refused the node rather than answer from its own cache.",
    exit: EXIT_FAILED,
    hint: "start every `exp worker` (and run every Slurm job) with --runs pointing at the driver's runs folder, on a filesystem they share",
  },
  {
    code: 'EXP_OUT_OF_MEMORY',
    meaning: 'A computation ran past the memory its backend can address (e.g. the tfjs wasm heap of 4 GB).',
    exit: EXIT_FAILED,
    hint: 'use smaller batches or inputs (the message names the knob), or a backend with more memory (a GPU)',
  },
  {
    code: 'EXP_KIND_UNREGISTERED',
    meaning: "A planned node's stage kind is not registered in the process that runs it (the node fails at once).",
    exit: EXIT_FAILED,
    hint: 'load the module that defines the kind (--plugin or EXP_PLUGINS); `exp kinds` lists the registered ones',
  },
  {
    code: 'EXP_EVAL_DATA_MISSING',
    meaning: '`make eval` cannot find the real-data folder or a part of it.',
    exit: EXIT_USAGE,
    hint: 'set EXP_DATA to the folder holding the real data (e.g. make eval EXP_DATA=/data/s2a)',
  },
] as const satisfies readonly ErrorCodeEntry[];

/** A code in the catalogue; `ExpError` accepts nothing else. */
export type ErrorCode = (typeof ERROR_CODES)[number]['code'];

const BY_CODE: ReadonlyMap<string, ErrorCodeEntry> = new Map(ERROR_CODES.map((e) => [e.code, e]));

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && BY_CODE.has(code);
}

/** The exit status for an error code; a code outside the catalogue (a revived or foreign error) gets 1. */
export function exitCodeFor(code: string): number {
  return BY_CODE.get(code)?.exit ?? EXIT_FAILED;
}

/** The hint printed when the thrower gives none. */
export function defaultHint(code: string): string | undefined {
  return BY_CODE.get(code)?.hint;
}
