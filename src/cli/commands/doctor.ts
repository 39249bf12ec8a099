// `exp doctor`: what exp will use on this machine and why: the build, the TensorFlow backend (and
// why a faster one was passed over), its threads, ffmpeg, CPU slots and GPUs, where runs are tracked,
// and, when configured, whether the Redis of the bullmq executor, the Slurm cluster and the MLflow
// server answer (each within a few seconds). Exit 1 when something configured does not work.
import { existsSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileChild, findOnPath } from '../../children.ts';
import { VERSION } from '../../version.ts';
import { parseCommand, str, type CommandSpec } from '../args.ts';
import { table } from '../table.ts';
import type { Io } from './engine.ts';

export const doctorSpec: CommandSpec = {
  name: 'doctor',
  usage: 'doctor [--redis URL] [--json]',
  summary: 'Say what exp uses here and why: backend, threads, ffmpeg, GPUs, tracking, Redis/Slurm.',
  description:
    'Checks in a few seconds, starting nothing: the TensorFlow backend exp picks (and why a faster one was\n' +
    'passed over), ffmpeg, CPU slots and GPUs, the tracking target; Redis (--redis or EXP_REDIS), Slurm (SLURM_CONF\n' +
    'or /etc/slurm/slurm.conf) and an MLflow server (MLFLOW_TRACKING_URI) only when configured. Exit 1 when a\n' +
    'configured one does not answer.',
  options: [
    { name: 'redis', type: 'string', value: 'URL', description: 'a Redis to check (default EXP_REDIS)' },
    { name: 'json', type: 'boolean', description: 'print one JSON object instead of the table' },
  ],
  examples: ['exp doctor', 'EXP_TF_BACKEND=wasm exp doctor --json'],
  success: 'everything configured answered (warnings, e.g. wasm instead of native TensorFlow, still exit 0)',
  errors: [],
  otherExits: [[1, 'a configured service (Redis, Slurm, the MLflow server) did not answer']],
  without: ['plugin'],
};

type Status = 'ok' | 'warn' | 'fail' | 'off';
interface Check {
  check: string;
  status: Status;
  detail: string;
}

/** A configured service gets this long to answer. */
const TIMEOUT_MS = 3000;
const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}

function buildCheck(): Check {
  const stamp = path.join(packageRoot, 'dist', '.built');
  const from = import.meta.url.endsWith('.ts') ? 'TypeScript sources' : 'compiled dist/';
  const built = existsSync(stamp)
    ? `built ${statSync(stamp).mtime.toISOString().slice(0, 16).replace('T', ' ')}`
    : 'not built';
  return {
    check: 'exp',
    status: 'ok',
    detail: `${VERSION} at ${packageRoot} (runs the ${from}; ${built}); node ${process.version} ${process.platform}-${process.arch}`,
  };
}

async function backendChecks(env: NodeJS.ProcessEnv): Promise<Check[]> {
  const { describeBackend, initBackend, nativeThreads, passedOverBackends } = await import('../../ml/backend.ts');
  let name: string;
  try {
    name = await initBackend();
  } catch (e) {
    return [{ check: 'tensorflow backend', status: 'fail', detail: `no backend starts: ${firstLine(e)}` }];
  }
  const over = passedOverBackends();
  const why: string[] = [];
  if (env.EXP_TF_BACKEND && env.EXP_TF_BACKEND !== 'auto') why.push(`EXP_TF_BACKEND=${env.EXP_TF_BACKEND}`);
  if (name !== 'node' && name !== 'node-gpu' && over.node) why.push(`native passed over: ${over.node}`);
  if (name !== 'node-gpu' && over['node-gpu']) why.push(`GPU build passed over: ${over['node-gpu']}`);
  const line = describeBackend([]).replace(/^tfjs backend: /, '');
  const native = name === 'node' || name === 'node-gpu';
  return [
    {
      check: 'tensorflow backend',
      // wasm works everywhere, ~5-10× behind native TensorFlow for video training: worth a warning
      status: native ? 'ok' : 'warn',
      detail: native ? line : `${name}${why.length ? ` — ${why.join('; ')}` : ''}`,
    },
    {
      check: 'tensorflow threads',
      status: 'ok',
      detail: native
        ? nativeThreads()
        : `${name}: one thread per task (tasks run in parallel across CPU slots)${env.EXP_TF_THREADS ? `; EXP_TF_THREADS=${env.EXP_TF_THREADS} applies to native only` : ''}`,
    },
  ];
}

async function ffmpegCheck(): Promise<Check> {
  try {
    const { findFfmpeg } = await import('../../video/ffmpeg.ts');
    const tools = findFfmpeg();
    const { stdout } = await execFileChild(tools.ffmpeg, ['-hide_banner', '-version'], { timeout: TIMEOUT_MS });
    const version = /ffmpeg version (\S+)/.exec(stdout)?.[1] ?? 'unknown version';
    return { check: 'ffmpeg', status: 'ok', detail: `${version} at ${tools.ffmpeg} (ffprobe ${tools.ffprobe})` };
  } catch (e) {
    return { check: 'ffmpeg', status: 'warn', detail: `${firstLine(e)} — needed by the video stages` };
  }
}

async function inventoryChecks(env: NodeJS.ProcessEnv): Promise<Check[]> {
  const { detectInventory } = await import('../../exec/inventory.ts');
  const inv = detectInventory({ env });
  const gpus = inv.gpus.map((g) => `${g.id}${g.name ? ` ${g.name}` : ''}${g.memoryMb ? ` ${g.memoryMb} MB` : ''}`);
  return [
    { check: 'cpu slots', status: 'ok', detail: `${inv.cpus} (memory ${Math.round(inv.memoryMb / 1024)} GB)` },
    {
      check: 'gpus',
      status: 'ok',
      detail: gpus.length
        ? `${gpus.join('; ')} (from ${inv.gpuSource})`
        : `none (${inv.gpuSource === 'none' ? 'no nvidia-smi, EXP_GPUS unset' : inv.gpuSource})`,
    },
  ];
}

async function trackingCheck(runs: string | undefined, env: NodeJS.ProcessEnv): Promise<Check> {
  const { runsDirFrom } = await import('../workspace.ts');
  const local = path.join(path.resolve(runsDirFrom(runs, env)), 'mlruns');
  const uri = env.MLFLOW_TRACKING_URI;
  if (!uri || !/^https?:\/\//.test(uri))
    return { check: 'tracking', status: 'ok', detail: `MLflow file store ${local}` };
  const base = uri.replace(/\/+$/, '');
  const { authFromEnv } = await import('../../track/rest-client.ts');
  const auth = authFromEnv(env);
  const headers: Record<string, string> = auth.token
    ? { authorization: `Bearer ${auth.token}` }
    : auth.username
      ? { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password ?? ''}`).toString('base64')}` }
      : {};
  try {
    // An MLflow server answers this in JSON: the experiment, or RESOURCE_DOES_NOT_EXIST.
    const res = await fetch(`${base}/api/2.0/mlflow/experiments/get-by-name?experiment_name=Default`, {
      headers,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const body = await res.text();
    const mlflow = res.ok || (res.status === 404 && body.includes('RESOURCE_DOES_NOT_EXIST'));
    if (mlflow)
      return { check: 'tracking', status: 'ok', detail: `${local}, pushed to ${base} (answers the MLflow API)` };
    const what =
      res.status === 401 || res.status === 403
        ? `refuses the credentials (HTTP ${res.status}: set MLFLOW_TRACKING_TOKEN or _USERNAME/_PASSWORD)`
        : `answered HTTP ${res.status}, not as an MLflow server`;
    return {
      check: 'tracking',
      status: 'fail',
      detail: `${base} ${what}; runs stay in ${local} (\`exp sync\` pushes them later)`,
    };
  } catch (e) {
    return {
      check: 'tracking',
      status: 'fail',
      detail: `${base} did not answer within ${TIMEOUT_MS / 1000} s: ${firstLine(e)} (runs stay in ${local})`,
    };
  }
}

/** A Redis PING over a plain socket (no client library): reachable, needs a password, or not. */
function redisCheck(url: string): Promise<Check> {
  let host: string;
  let port: number;
  try {
    const u = new URL(url);
    if (u.protocol === 'rediss:')
      return Promise.resolve({ check: 'redis', status: 'ok', detail: `${url}: TLS, not checked by doctor` });
    host = u.hostname || '127.0.0.1';
    port = Number(u.port || 6379);
  } catch {
    return Promise.resolve({ check: 'redis', status: 'fail', detail: `${url} is not a redis://HOST:PORT URL` });
  }
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (status: Status, detail: string): void => {
      socket.destroy();
      resolve({ check: 'redis', status, detail: `${url}: ${detail}` });
    };
    socket.setTimeout(TIMEOUT_MS, () => done('fail', `no answer within ${TIMEOUT_MS / 1000} s`));
    socket.on('error', (e) => done('fail', firstLine(e)));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (b) => {
      const reply = b.toString();
      if (reply.startsWith('+PONG')) done('ok', 'answers PING');
      else if (/NOAUTH|AUTH/.test(reply)) done('ok', 'reachable (asks for a password: put it in the URL)');
      else done('fail', `unexpected reply ${JSON.stringify(reply.slice(0, 40))}`);
    });
  });
}

async function slurmCheck(env: NodeJS.ProcessEnv): Promise<Check | undefined> {
  const sinfo = findOnPath('sinfo');
  // Configured: SLURM_CONF, or the default slurm.conf of a Debian/RHEL install. Installed alone is not.
  const conf = env.SLURM_CONF ?? ['/etc/slurm/slurm.conf', '/etc/slurm-llnl/slurm.conf'].find((f) => existsSync(f));
  if (!conf)
    return findOnPath('sbatch')
      ? { check: 'slurm', status: 'off', detail: 'installed, not configured (no SLURM_CONF, no /etc/slurm/slurm.conf)' }
      : undefined;
  if (!sinfo) return { check: 'slurm', status: 'fail', detail: `${conf} is there but sinfo is not on PATH` };
  try {
    const { stdout } = await execFileChild(sinfo, ['-h', '-o', '%P %a %D %t'], { timeout: TIMEOUT_MS, env });
    const parts = stdout.trim().split('\n').filter(Boolean);
    return {
      check: 'slurm',
      status: parts.length ? 'ok' : 'fail',
      detail: parts.length
        ? `partitions (name avail nodes state): ${parts.slice(0, 4).join('; ')} · ${conf}`
        : 'sinfo lists no partition',
    };
  } catch (e) {
    const x = e as { stderr?: string; killed?: boolean };
    return {
      check: 'slurm',
      status: 'fail',
      detail: x.killed
        ? `sinfo did not answer within ${TIMEOUT_MS / 1000} s (is slurmctld up?)`
        : `sinfo failed: ${(x.stderr || firstLine(e)).trim().split('\n')[0]}`,
    };
  }
}

function packageState(): Check {
  const tfNode = path.join(packageRoot, 'node_modules/@tensorflow/tfjs-node/package.json');
  const native = path.join(packageRoot, '.native/.built');
  const detail = existsSync(native)
    ? 'tfjs-node built by `make native` (.native/)'
    : existsSync(tfNode)
      ? `@tensorflow/tfjs-node ${(JSON.parse(readFileSync(tfNode, 'utf8')) as { version?: string }).version ?? ''} installed by npm`
      : 'no native TensorFlow: its download failed or was skipped at install (`make native` builds it from the tensorflow-cpu wheel)';
  return { check: 'native tensorflow', status: existsSync(native) || existsSync(tfNode) ? 'ok' : 'off', detail };
}

export async function doctorCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseCommand(doctorSpec, argv);
  const env = io.env ?? process.env;
  const redis = str(values.redis) ?? env.EXP_REDIS;
  const [backend, ffmpeg, inventory, tracking, slurm, redisResult] = await Promise.all([
    backendChecks(env),
    ffmpegCheck(),
    inventoryChecks(env),
    trackingCheck(str(values.runs), env),
    slurmCheck(env),
    redis
      ? redisCheck(redis)
      : Promise.resolve<Check>({ check: 'redis', status: 'off', detail: 'not configured (--redis or EXP_REDIS)' }),
  ]);
  const checks: Check[] = [
    buildCheck(),
    ...backend,
    packageState(),
    ffmpeg,
    ...inventory,
    tracking,
    redisResult,
    slurm ?? { check: 'slurm', status: 'off', detail: 'not configured (no sbatch on PATH, SLURM_CONF unset)' },
  ];
  const ok = !checks.some((c) => c.status === 'fail');
  if (values.json) {
    io.stdout.write(`${JSON.stringify({ ok, checks })}\n`);
  } else {
    const mark: Record<Status, string> = { ok: '✓', warn: '!', fail: '✖', off: '-' };
    io.stdout.write(
      `${table(
        ['', 'check', 'what exp uses and why'],
        checks.map((c) => [mark[c.status], c.check, c.detail]),
      )}\n`,
    );
  }
  return ok ? 0 : 1;
}
