// The slurm executor: one `sbatch` job per ready node, submitted when its parents are done. The
// job runs `exp node-run` on a compute node (the same per-node code path as the local executor,
// into the shared runs folder) and writes its outcome to a result file next to its job file: exit
// status without sacct. The stage's resources map to --cpus-per-task, --mem and --gres=gpu:N; the
// node takes its GPUs from Slurm's CUDA_VISIBLE_DEVICES. Watching, live events, re-attaching after
// a killed driver and cancelling on Ctrl-C are the batch runner's (remote.ts); this file knows
// sbatch, squeue and scancel.
import { execFileChild } from '../children.ts';
import { ExpError } from '../errors.ts';
import type { PlanNode } from '../plan/dag.ts';
import type { ExecutorDefinition } from './registry.ts';
import { batchRunner, type BatchEngine, type JobFiles } from './remote.ts';

/** Job states in which a job may still write its result. */
const ACTIVE =
  /^(PENDING|RUNNING|CONFIGURING|COMPLETING|SUSPENDED|REQUEUED|REQUEUE_FED|REQUEUE_HOLD|RESIZING|SIGNALING|STAGE_OUT|STOPPED|RESV_DEL_HOLD)/;

export interface SlurmSettings {
  partition?: string;
  account?: string;
  qos?: string;
  /** Extra sbatch flags, e.g. ["--constraint=a100"]. */
  extra?: string[];
}

/** A word for `sh -c`: single-quoted, so nothing in it ($, `, \) is expanded. */
function shellWord(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** sbatch, squeue and scancel, with the environment the jobs inherit (sbatch exports it). */
export function slurmEngine(settings: SlurmSettings, env: NodeJS.ProcessEnv): BatchEngine {
  // sbatch/squeue/scancel die with this process (children.ts).
  const run = (cmd: string, args: string[]) => execFileChild(cmd, args, { env });
  return {
    name: 'slurm',
    async submit(node: PlanNode, command: string[], files: JobFiles): Promise<string> {
      const r = node.resources;
      const args = [
        '--parsable',
        `--job-name=exp-${node.stage}`,
        `--cpus-per-task=${Math.max(1, Math.ceil(r.cpus))}`,
        ...(r.memoryMb > 0 ? [`--mem=${Math.ceil(r.memoryMb)}M`] : []),
        ...(r.gpus > 0 ? [`--gres=gpu:${Math.ceil(r.gpus)}`] : []),
        ...(settings.partition ? [`--partition=${settings.partition}`] : []),
        ...(settings.account ? [`--account=${settings.account}`] : []),
        ...(settings.qos ? [`--qos=${settings.qos}`] : []),
        `--output=${files.out}`,
        ...(settings.extra ?? []),
        `--wrap=exec ${command.map(shellWord).join(' ')}`,
      ];
      // --parsable prints "jobid" or "jobid;cluster".
      return (await run('sbatch', args)).stdout.trim().split(';')[0]!;
    },
    async states(ids: string[]): Promise<Map<string, string>> {
      const out = new Map<string, string>();
      for (const id of ids) {
        try {
          const { stdout } = await run('squeue', ['-h', '-j', id, '-o', '%T']);
          const state = stdout.trim();
          if (state) out.set(id, state);
        } catch {
          // squeue refuses a job id Slurm has forgotten ("Invalid job id"): unknown, not an error.
        }
      }
      return out;
    },
    active: (state) => ACTIVE.test(state),
    async cancel(ids: string[]): Promise<void> {
      if (ids.length) await run('scancel', ids);
    },
  };
}

export const slurmExecutor: ExecutorDefinition = {
  name: 'slurm',
  description:
    'one sbatch job per ready node (run exp from a Slurm login node; the runs folder on a filesystem the compute nodes share)',
  settingsSchema: {
    type: 'object',
    additionalProperties: false,
    description:
      "Options of the slurm executor (sbatch flags; the stage's resources give --cpus-per-task, --mem and --gres=gpu:N).",
    properties: {
      partition: { type: 'string', description: 'sbatch --partition' },
      account: { type: 'string', description: 'sbatch --account' },
      qos: { type: 'string', description: 'sbatch --qos' },
      extra: {
        type: 'array',
        items: { type: 'string' },
        description: 'More sbatch flags, each one word, e.g. ["--constraint=a100", "--time=04:00:00"]',
      },
      array_throttle: {
        type: 'integer',
        minimum: 1,
        description:
          'At most K tasks of one job array run at once (sbatch --array=0-N%K): the shards of a sharded stage go out as one array per ≤ MaxArraySize chunk.',
      },
    },
  },
  where: (s, env) =>
    `Slurm (${env.SLURM_CONF ?? "the cluster's defaults"}${typeof s.partition === 'string' ? `, partition ${s.partition}` : ''})`,
  async open(ctx) {
    const env = { ...ctx.env };
    if (ctx.plugins.length)
      env.EXP_PLUGINS = [...(env.EXP_PLUGINS ?? '').split(',').filter(Boolean), ...ctx.plugins].join(',');
    try {
      await execFileChild('sbatch', ['--version'], { env });
    } catch {
      throw new ExpError('EXP_EXECUTOR_UNAVAILABLE', 'sbatch is not available here', {
        hint: 'run exp from a Slurm login node (SLURM_CONF set, sbatch on PATH)',
      });
    }
    return batchRunner({
      engine: slurmEngine(ctx.settings as SlurmSettings, env),
      store: ctx.store,
      registry: ctx.registry,
      invocation: ctx.invocation,
      log: ctx.log,
    });
  },
};
