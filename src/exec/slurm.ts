// The slurm executor: one `sbatch` job per ready node, submitted when its parents are done. The
// job runs `exp node-run` on a compute node: the same per-node code path as the local executor,
// into the shared runs folder, and writes its outcome to a result file next to the job file (exit
// status without sacct). The stage's resources map to --cpus-per-task, --mem and --gres=gpu:N;
// the node takes its GPUs from Slurm's CUDA_VISIBLE_DEVICES. Ctrl-C cancels what this run
// submitted (scancel).
import { existsSync, readFileSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../atomic.ts';
import { execFileChild } from '../children.ts';
import { ExpError } from '../errors.ts';
import type { StageRegistry } from '../plan/registry.ts';
import type { ArtifactStore } from '../store/store.ts';
import type { RemoteNodeRunner } from './executor.ts';
import type { NodeOutcome } from './lifecycle.ts';
import { nodeSpecOf, sleep, type NodeJob } from './node-run.ts';

// sbatch/squeue/scancel die with this process (children.ts).
const run = execFileChild;
const expBin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/exp.js');

export interface SlurmOptions {
  store: ArtifactStore;
  registry: StageRegistry;
  /** Plugin modules the driver loaded (made absolute), passed to the jobs as EXP_PLUGINS. */
  plugins?: string[];
  partition?: string;
  account?: string;
  qos?: string;
  /** Extra sbatch flags, e.g. ["--constraint=a100"]. */
  extra?: string[];
  pollMs?: number;
  env?: NodeJS.ProcessEnv;
}

export async function slurmRunner(o: SlurmOptions): Promise<RemoteNodeRunner> {
  const env = { ...(o.env ?? process.env) };
  if (o.plugins?.length)
    env.EXP_PLUGINS = [...(env.EXP_PLUGINS ?? '').split(',').filter(Boolean), ...o.plugins].join(',');
  try {
    await run('sbatch', ['--version'], { env });
  } catch {
    throw new ExpError('EXP_EXECUTOR_UNAVAILABLE', 'sbatch is not available here', {
      hint: 'run exp from a Slurm login node (SLURM_CONF set, sbatch on PATH)',
    });
  }
  const tag = `${Date.now().toString(36)}-${process.pid}`;
  const dir = path.join(o.store.root, 'slurm', tag);
  await fs.mkdir(dir, { recursive: true });
  const submitted = new Set<string>();

  const squeueState = async (id: string): Promise<string> => {
    const { stdout } = await run('squeue', ['-h', '-j', id, '-o', '%T'], { env }).catch(() => ({ stdout: '' }));
    return stdout.trim();
  };

  return {
    async run(node, inputs, ctx) {
      const base = path.join(dir, `${node.key}`);
      const job: NodeJob = {
        node: nodeSpecOf(node),
        inputs: inputs.map(({ dir: _d, ...rest }) => rest),
        rerunInPlace: ctx.rerunInPlace,
        ...(ctx.retries !== undefined ? { retries: ctx.retries } : {}),
        ...(o.registry.get(node.kind)?.module ? { kindModule: o.registry.get(node.kind)!.module } : {}),
        driver: `${os.hostname()}:${process.pid}`,
      };
      await writeFileAtomic(`${base}.job.json`, JSON.stringify(job));
      const resultFile = `${base}.result.json`;
      const r = node.resources;
      const args = [
        '--parsable',
        `--job-name=exp-${node.stage}`,
        `--cpus-per-task=${Math.max(1, Math.ceil(r.cpus))}`,
        ...(r.memoryMb > 0 ? [`--mem=${Math.ceil(r.memoryMb)}M`] : []),
        ...(r.gpus > 0 ? [`--gres=gpu:${Math.ceil(r.gpus)}`] : []),
        ...(o.partition ? [`--partition=${o.partition}`] : []),
        ...(o.account ? [`--account=${o.account}`] : []),
        ...(o.qos ? [`--qos=${o.qos}`] : []),
        `--output=${base}.out`,
        ...(o.extra ?? []),
        `--wrap=exec ${JSON.stringify(process.execPath)} ${JSON.stringify(expBin)} node-run ${JSON.stringify(`${base}.job.json`)} --runs ${JSON.stringify(o.store.root)} --result ${JSON.stringify(resultFile)}`,
      ];
      if (ctx.signal.aborted) return { key: node.key, status: 'cancelled', attempts: 0, durationMs: 0 };
      let id: string;
      try {
        id = (await run('sbatch', args, { env })).stdout.trim().split(';')[0]!;
      } catch (e) {
        return {
          key: node.key,
          status: 'failed',
          error: {
            message: `sbatch failed: ${(e as { stderr?: string }).stderr?.trim() || (e as Error).message}`,
            code: 'EXP_EXECUTOR_UNAVAILABLE',
          },
          attempts: 0,
          durationMs: 0,
        };
      }
      submitted.add(id);
      ctx.onStarted(1);
      const t0 = Date.now();
      let gone = 0;
      try {
        for (let i = 0; ; i++) {
          if (ctx.signal.aborted) {
            await run('scancel', [id], { env }).catch(() => {});
            return { key: node.key, status: 'cancelled', attempts: 0, durationMs: Date.now() - t0 };
          }
          if (existsSync(resultFile)) {
            const out = JSON.parse(readFileSync(resultFile, 'utf8')) as NodeOutcome;
            return {
              ...out,
              ...(out.dir ? { dir: o.store.nodeDir(node.kind, node.key) } : {}),
              ...(out.logFile ? { logFile: o.store.logPath(node.key) } : {}),
            };
          }
          // No result yet: still queued or running? (checked less often than the file)
          if (i % 4 === 3) {
            const state = await squeueState(id);
            gone =
              state === '' ||
              /^(FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED)/.test(state)
                ? gone + 1
                : 0;
            if (gone >= 2 && !existsSync(resultFile)) {
              const tail = readFileSync(`${base}.out`, 'utf8').split('\n').slice(-5).join('\n').trim();
              return {
                key: node.key,
                status: 'failed',
                error: {
                  message: `Slurm job ${id} ended without a result${state ? ` (${state})` : ''}${tail ? `: ${tail}` : ''}`,
                },
                attempts: 1,
                durationMs: Date.now() - t0,
                logFile: `${base}.out`,
              };
            }
          }
          await sleep(o.pollMs ?? 250, ctx.signal);
        }
      } finally {
        submitted.delete(id);
      }
    },
    async close() {
      if (submitted.size) await run('scancel', [...submitted], { env }).catch(() => {});
    },
  };
}
