// Every child process `exp` starts (ffmpeg/ffprobe, task processes, sbatch, git, nvidia-smi)
// starts here, so that none outlives the `exp` that started it, under SIGKILL too.
//
// How: on Linux the command is started through util-linux's `setpriv --pdeathsig KILL --`, which
// sets PR_SET_PDEATHSIG and then execs the command (same pid, same pipes, same IPC channel): the
// kernel sends SIGKILL to the child the moment its parent dies, however it died. A node task
// process started this way also has its own watch (the IPC channel closing, process-child.ts),
// and its own children are started here too, so a whole tree goes down with `exp`.
//
// The "parent" the kernel watches is the *thread* that spawned the child (libuv forks from the
// calling thread). A child started on a worker thread therefore dies when that thread ends. That
// is what we want: a worker thread (piscina) only ends when it is idle or terminated, and a stage
// awaits every child it starts, so no child that is still needed belongs to an ending thread
// (tested: a thread that ends takes only its own children with it).
//
// The kernel only watches a parent that is alive when prctl runs: if `exp` dies between the fork
// and setpriv's prctl (milliseconds on a loaded machine: setpriv has to be exec'd and linked
// first), the child would be orphaned unwatched. So setpriv execs a one-line sh that, once the
// signal is armed, checks that its parent is still the `exp` that forked it, and only then execs
// the command (same pid all along); otherwise it exits at once.
//
// Without setpriv (not Linux, or util-linux missing), commands start directly; node task
// processes still leave when their IPC channel closes.
import {
  type ChildProcess,
  execFile,
  type ExecFileOptions,
  execFileSync,
  type ExecFileSyncOptions,
  spawn,
  type SpawnOptions,
} from 'node:child_process';
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import path from 'node:path';

let setprivPath: string | null | undefined;

/** True for a regular file this process may execute. */
export function isExecutable(file: string): boolean {
  try {
    accessSync(file, fsConstants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The executable a command name resolves to (a path is checked as it is), or null. */
export function findOnPath(name: string): string | null {
  if (name.includes('/')) return isExecutable(name) ? name : null;
  const exts = process.platform === 'win32' ? ['.exe', '.cmd', ''] : [''];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean))
    for (const e of exts) if (isExecutable(path.join(dir, name + e))) return path.join(dir, name + e);
  return null;
}

/** `setpriv` when children can be tied to their parent's life (Linux with util-linux), else null. */
export function parentDeathGuard(): string | null {
  if (setprivPath === undefined) {
    setprivPath =
      process.platform === 'linux' && process.env.EXP_CHILD_GUARD !== 'off'
        ? (['/usr/bin/setpriv', '/bin/setpriv'].find(isExecutable) ?? findOnPath('setpriv'))
        : null;
  }
  return setprivPath;
}

/** sh: run the command only if the parent that forked us ($1) is still our parent (see above). */
const PARENT_STILL_THERE = '[ "$PPID" = "$1" ] || exit 129; shift; exec "$@"';

/**
 * The command line that starts `command args` as a child that dies with its parent. A command
 * that cannot be found is left as it is, so that spawning it fails with ENOENT as usual.
 */
export function guardedCommand(command: string, args: readonly string[]): { file: string; args: string[] } {
  const guard = parentDeathGuard();
  if (!guard || !findOnPath(command)) return { file: command, args: [...args] };
  return {
    file: guard,
    args: [
      '--pdeathsig',
      'KILL',
      '--',
      '/bin/sh',
      '-c',
      PARENT_STILL_THERE,
      'exp-child',
      String(process.pid),
      command,
      ...args,
    ],
  };
}

/** `child_process.spawn`, with the child tied to this thread's life. Never through a shell. */
export function spawnChild(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  const g = guardedCommand(command, args);
  return spawn(g.file, g.args, { ...options, shell: false });
}

/**
 * A node process running `modulePath` with an IPC channel (what `child_process.fork` gives),
 * tied to this thread's life. `stdio` must contain 'ipc'.
 */
export function forkChild(
  modulePath: string,
  args: readonly string[],
  options: SpawnOptions & { execArgv?: string[] } = {},
): ChildProcess {
  const { execArgv = process.execArgv, ...rest } = options;
  return spawnChild(process.execPath, [...execArgv, modulePath, ...args], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    ...rest,
  });
}

/** `execFile` as a promise of stdout/stderr, the child tied to this thread's life. */
export function execFileChild(
  command: string,
  args: readonly string[],
  options: ExecFileOptions = {},
): Promise<{ stdout: string; stderr: string }> {
  const g = guardedCommand(command, args);
  return new Promise((resolve, reject) => {
    execFile(g.file, g.args, { ...options, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(Object.assign(error, { stdout, stderr }));
      else resolve({ stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** `execFileSync` returning text, the child tied to this process's life. */
export function execFileSyncChild(command: string, args: readonly string[], options: ExecFileSyncOptions = {}): string {
  const g = guardedCommand(command, args);
  return String(execFileSync(g.file, g.args, { ...options, encoding: 'utf8' }));
}
