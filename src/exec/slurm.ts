// The slurm executor: one `sbatch` job per ready node, submitted when its parents are done; the
// nodes of one stage with the same resources that are ready together (grid points, shards) go out
// as one job array per MaxArraySize chunk, each task running its node from an index file. The
// job runs `exp node-run` on a compute node (the same per-node code path as the local executor,
// into the shared runs folder) and writes its outcome to a result file next to its job file: exit
// status without sacct. The stage's resources map to --cpus-per-task, --mem and --gres=gpu:N; the
// node takes its GPUs from Slurm's CUDA_VISIBLE_DEVICES. Watching, live events, re-attaching after
// a killed driver, cancelling on Ctrl-C and the bounded waits are the batch runner's (remote.ts);
// this file knows sbatch, squeue, sinfo, scontrol and scancel, and what their answers mean.
//
// Every command has a timeout: a controller that hangs (overloaded, restarting, SIGSTOPped) makes
// Slurm's clients wait about 10 s each, and a missing slurm.conf makes them retry for 60 s.
import { statSync, accessSync, constants as fsc } from 'node:fs';
import { execFileChild } from '../children.ts';
import { ExpError } from '../errors.ts';
import type { PlanNode } from '../plan/dag.ts';
import type { ExecutorDefinition } from './registry.ts';
import { batchRunner, type BatchEngine, type JobFiles, type JobState, type PendingDiagnosis } from './remote.ts';

/** Job states in which a job may still write its result. */
const ACTIVE =
  /^(PENDING|RUNNING|CONFIGURING|COMPLETING|SUSPENDED|REQUEUED|REQUEUE_FED|REQUEUE_HOLD|RESIZING|SIGNALING|STAGE_OUT|STOPPED|RESV_DEL_HOLD)/;
/** States of a job that waits to start. */
const WAITING = /^(PENDING|REQUEUED|REQUEUE_FED|REQUEUE_HOLD|CONFIGURING|SUSPENDED|STOPPED|RESV_DEL_HOLD)/;
/**
 * Pending reasons that no amount of waiting resolves by itself. "launch failed requeued held": a
 * job whose launch failed (as after a controller killed and restarted relaunches a running job, and
 * the node, finding it there, reports "Duplicate jobid") waits held until `scontrol release`.
 */
const HOPELESS =
  /^(PartitionDown|PartitionInactive|PartitionNodeLimit|PartitionTimeLimit|InvalidAccount|InvalidQOS|BadConstraints|DependencyNeverSatisfied|JobHeldAdmin|JobHeldUser|launch failed requeued held)/i;
/** Node states (sinfo %T, lower case, flags stripped) that can run a job now or soon. */
const USABLE = /^(idle|mixed|allocated|completing|planned)$/;

export interface SlurmSettings {
  partition?: string;
  account?: string;
  qos?: string;
  /** Extra sbatch flags, e.g. ["--constraint=a100"]. */
  extra?: string[];
  /** Seconds jobs may wait while nothing will start them, or the controller not answer (default 600). */
  pending_timeout?: number;
  /** Nodes of one stage with the same resources, ready together, go out as one job array (default true). */
  arrays?: boolean;
  /** At most this many tasks of one job array run at once (sbatch --array=...%K). */
  array_throttle?: number;
}

/** Slurm's default MaxArraySize: array indices 0..1000. */
const DEFAULT_MAX_ARRAY_SIZE = 1001;

/** Timeouts of Slurm's clients, in ms: each is longer than their own message timeout (10 s). */
const TIMEOUT = { submit: 30_000, query: 15_000, cancel: 10_000, check: 6_000 };

/** A word for `sh -c`: single-quoted, so nothing in it ($, `, \) is expanded. */
function shellWord(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The first line of a Slurm client's stderr that says something (not its retry chatter). */
function slurmSays(stderr: string | undefined): string {
  const lines = (stderr ?? '')
    .split('\n')
    .map((l) => l.replace(/^\w+: (error|fatal): /, '').trim())
    .filter(Boolean);
  return lines.find((l) => /fatal|Unable|cannot|Invalid|error/i.test(l)) ?? lines[0] ?? '';
}

type Exec = (cmd: string, args: string[], timeoutMs: number) => Promise<{ stdout: string; stderr: string }>;

/** Runs a Slurm client with a timeout; its failure says which command, and what Slurm said. */
function slurmExec(env: NodeJS.ProcessEnv): Exec {
  return async (cmd, args, timeoutMs) => {
    try {
      return await execFileChild(cmd, args, { env, timeout: timeoutMs, killSignal: 'SIGKILL' });
    } catch (e) {
      const err = e as Error & { code?: unknown; killed?: boolean; stderr?: string };
      if (err.code === 'ENOENT') throw Object.assign(new Error(`${cmd} is not on PATH`), { code: 'ENOENT' });
      const said = slurmSays(err.stderr);
      if (err.killed)
        throw Object.assign(
          new Error(`${cmd} did not answer within ${timeoutMs / 1000} s${said ? ` (${said})` : ''}`),
          {
            timedOut: true,
            stderr: err.stderr,
          },
        );
      throw Object.assign(new Error(`${cmd}: ${said || err.message}`), { stderr: err.stderr });
    }
  };
}

/**
 * Checks, within about 10 s, that Slurm can be used from here: SLURM_CONF names a readable file,
 * sbatch runs, and the controller answers `scontrol ping`. Each failure names what to fix.
 */
export async function checkSlurm(env: NodeJS.ProcessEnv, exec: Exec = slurmExec(env)): Promise<void> {
  const conf = env.SLURM_CONF;
  const unavailable = (message: string, hint: string): ExpError =>
    new ExpError('EXP_EXECUTOR_UNAVAILABLE', message, { hint });
  if (conf !== undefined) {
    let problem: string | undefined;
    try {
      if (statSync(conf).isDirectory()) problem = 'is a folder, not a slurm.conf';
      else accessSync(conf, fsc.R_OK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      problem = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`;
    }
    if (problem)
      throw unavailable(
        `SLURM_CONF=${conf} ${problem}`,
        "point SLURM_CONF at the cluster's slurm.conf (or unset it on a login node that has /etc/slurm/slurm.conf)",
      );
  }
  try {
    await exec('sbatch', ['--version'], TIMEOUT.check);
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.code === 'ENOENT')
      throw unavailable(
        'sbatch is not available here',
        'run exp from a Slurm login node (sbatch on PATH, SLURM_CONF set)',
      );
    throw unavailable(
      `Slurm cannot be used from here: ${err.message}`,
      `check SLURM_CONF${conf ? ` (${conf})` : ' (unset: /etc/slurm/slurm.conf)'} and the cluster's configuration`,
    );
  }
  let ping: string;
  try {
    ping = (await exec('scontrol', ['ping'], TIMEOUT.check)).stdout;
  } catch (e) {
    const err = e as Error & { stdout?: string };
    ping = `${err.stdout ?? ''}\n${err.message}`;
  }
  if (!/ is UP/.test(ping)) {
    const line =
      ping
        .split('\n')
        .find((l) => /Slurmctld|did not answer|scontrol:/.test(l))
        ?.trim() ?? ping.trim();
    throw unavailable(
      `the Slurm controller does not answer (scontrol ping: ${line})`,
      'ask the cluster admins, or check SlurmctldHost in slurm.conf; then run the same command again',
    );
  }
}

/** The cluster's MaxArraySize (`scontrol show config`), or Slurm's default when it cannot be read. */
export async function maxArraySize(exec: Exec): Promise<number> {
  try {
    const { stdout } = await exec('scontrol', ['show', 'config'], TIMEOUT.query);
    const n = Number(/^MaxArraySize\s*=\s*(\d+)/m.exec(stdout)?.[1]);
    return Number.isInteger(n) && n > 0 ? n : DEFAULT_MAX_ARRAY_SIZE;
  } catch {
    return DEFAULT_MAX_ARRAY_SIZE; // the first sbatch says what is wrong, if anything is
  }
}

/** sbatch, squeue, sinfo and scancel, with the environment the jobs inherit (sbatch exports it). */
export function slurmEngine(
  settings: SlurmSettings,
  env: NodeJS.ProcessEnv,
  exec: Exec = slurmExec(env),
  maxArray = DEFAULT_MAX_ARRAY_SIZE,
): BatchEngine {
  const sbatchArgs = (node: PlanNode, output: string, command: string[]): string[] => {
    const r = node.resources;
    return [
      '--parsable',
      `--job-name=exp-${node.stage}`,
      `--cpus-per-task=${Math.max(1, Math.ceil(r.cpus))}`,
      ...(r.memoryMb > 0 ? [`--mem=${Math.ceil(r.memoryMb)}M`] : []),
      ...(r.gpus > 0 ? [`--gres=gpu:${Math.ceil(r.gpus)}`] : []),
      ...(settings.partition ? [`--partition=${settings.partition}`] : []),
      ...(settings.account ? [`--account=${settings.account}`] : []),
      ...(settings.qos ? [`--qos=${settings.qos}`] : []),
      `--output=${output}`,
      ...(settings.extra ?? []),
      `--wrap=exec ${command.map(shellWord).join(' ')}`,
    ];
  };
  // --parsable prints "jobid" or "jobid;cluster".
  const jobId = (stdout: string): string => stdout.trim().split(';')[0]!;
  return {
    name: 'slurm',
    async submit(node: PlanNode, command: string[], files: JobFiles): Promise<string> {
      return jobId((await exec('sbatch', sbatchArgs(node, files.out, command), TIMEOUT.submit)).stdout);
    },
    ...(settings.arrays === false
      ? {}
      : {
          maxGroup: maxArray,
          taskEnv: 'SLURM_ARRAY_TASK_ID',
          async submitGroup(nodes: PlanNode[], command: string[], groupBase: string): Promise<string[]> {
            const throttle = settings.array_throttle ? `%${settings.array_throttle}` : '';
            const args = [
              `--array=0-${nodes.length - 1}${throttle}`,
              ...sbatchArgs(nodes[0]!, `${groupBase}-%a.out`, command),
            ];
            const id = jobId((await exec('sbatch', args, TIMEOUT.submit)).stdout);
            return nodes.map((_, i) => `${id}_${i}`);
          },
        }),
    async states(ids: string[]): Promise<Map<string, JobState>> {
      const out = new Map<string, JobState>();
      // One squeue per few hundred jobs (a job id list Slurm forgot entirely is "Invalid job id").
      for (let i = 0; i < ids.length; i += 300) {
        const chunk = ids.slice(i, i + 300);
        let stdout: string;
        try {
          // -r: a job array's tasks one per line (`1234_5`), as they are recorded.
          ({ stdout } = await exec(
            'squeue',
            ['-h', '-r', '-o', '%i|%T|%r', `--jobs=${chunk.join(',')}`],
            TIMEOUT.query,
          ));
        } catch (e) {
          if (/Invalid job id/i.test((e as { stderr?: string }).stderr ?? '')) continue;
          throw e;
        }
        for (const line of stdout.split('\n')) {
          const [id, state, reason] = line.split('|');
          if (id && state) out.set(id.trim(), { state: state.trim(), ...(reason ? { reason: reason.trim() } : {}) });
        }
      }
      return out;
    },
    active: (state) => ACTIVE.test(state),
    waiting: (state) => WAITING.test(state),
    async diagnose(ids: string[]): Promise<PendingDiagnosis | undefined> {
      const { stdout } = await exec(
        'squeue',
        ['-h', '-r', '-o', '%i|%T|%r|%P', `--jobs=${ids.join(',')}`],
        TIMEOUT.query,
      );
      const jobs = stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const [id, state, reason, partition] = l.split('|').map((x) => x.trim());
          return { id: id!, state: state!, reason: reason ?? '', partition: partition ?? '' };
        })
        .filter((j) => WAITING.test(j.state));
      if (!jobs.length) return undefined;
      const partitions = [...new Set(jobs.map((j) => j.partition).filter(Boolean))];
      const nodes = (
        await exec(
          'sinfo',
          ['-h', '-N', '-o', '%N|%P|%T|%E', ...(partitions.length ? ['-p', partitions.join(',')] : [])],
          TIMEOUT.query,
        )
      ).stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const [name, , state, reason] = l.split('|').map((x) => x.trim());
          return {
            name: name!,
            state: (state ?? '').replace(/[*~#!%$@^+-]+$/, '').toLowerCase(),
            reason: reason ?? '',
          };
        });
      const byName = new Map(nodes.map((n) => [n.name, n]));
      const usable = [...byName.values()].filter((n) => USABLE.test(n.state));
      const shown =
        jobs
          .slice(0, 8)
          .map((j) => j.id)
          .join(', ') + (jobs.length > 8 ? ` and ${jobs.length - 8} more` : '');
      const reasons = [...new Set(jobs.map((j) => j.reason).filter((r) => r && r !== 'None'))];
      const nodeWords = [...byName.values()]
        .filter((n) => !USABLE.test(n.state))
        .slice(0, 5)
        .map((n) => `${n.name} ${n.state}${n.reason && n.reason !== 'none' ? ` (Reason: ${n.reason})` : ''}`);
      const where = partitions.length ? `partition ${partitions.join(', ')}` : 'the cluster';
      const stuck = (byName.size > 0 && usable.length === 0) || reasons.some((r) => HOPELESS.test(r));
      const message =
        `${jobs.length} job(s) wait to start (${shown}${reasons.length ? `; Slurm says: ${reasons.join('; ')}` : ''})` +
        (usable.length === 0 && byName.size
          ? `: no node of ${where} can run them: ${nodeWords.join(', ')}`
          : nodeWords.length
            ? `; unavailable nodes of ${where}: ${nodeWords.join(', ')}`
            : '') +
        (nodeWords.some((w) => /drain/.test(w))
          ? ' (`scontrol update nodename=NODE state=resume` brings a drained node back)'
          : '');
      return { stuck, message };
    },
    async cancel(ids: string[]): Promise<void> {
      if (ids.length) await exec('scancel', ids, TIMEOUT.cancel);
    },
  };
}

export const slurmExecutor: ExecutorDefinition = {
  name: 'slurm',
  description:
    'one sbatch job per ready node, or one job array for the ready nodes of a stage (run exp from a Slurm login node; the runs folder on a filesystem the compute nodes share)',
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
      arrays: {
        type: 'boolean',
        default: true,
        description:
          'Ready nodes of one stage with the same resources (grid points, shards) go out as one job array (sbatch --array) per MaxArraySize chunk, instead of one job each.',
      },
      array_throttle: {
        type: 'integer',
        minimum: 1,
        description:
          'At most this many tasks of one job array run at once (sbatch --array=0-N%K), e.g. the shards of a sharded stage. Default: no limit.',
      },
      pending_timeout: {
        type: 'number',
        exclusiveMinimum: 0,
        default: 600,
        description:
          "Seconds exp run waits for jobs that nothing will start (their nodes drained or down, their partition down), or for a controller that does not answer, before it fails them (exit 1; said at once, with Slurm's reasons). Jobs waiting for busy nodes wait as long as they need.",
      },
    },
  },
  where: (s, env) =>
    `Slurm (${env.SLURM_CONF ?? "the cluster's defaults"}${typeof s.partition === 'string' ? `, partition ${s.partition}` : ''})`,
  async open(ctx) {
    const env = { ...ctx.env };
    if (ctx.plugins.length)
      env.EXP_PLUGINS = [...(env.EXP_PLUGINS ?? '').split(',').filter(Boolean), ...ctx.plugins].join(',');
    await checkSlurm(env);
    const settings = ctx.settings as SlurmSettings;
    const exec = slurmExec(env);
    return batchRunner({
      engine: slurmEngine(settings, env, exec, settings.arrays === false ? undefined : await maxArraySize(exec)),
      store: ctx.store,
      registry: ctx.registry,
      invocation: ctx.invocation,
      log: ctx.log,
      stuckTimeoutMs: (settings.pending_timeout ?? 600) * 1000,
      stuckTimeoutSetting: 'settings.slurm.pending_timeout',
    });
  },
};
