// Is the process that wrote a record (a claim on a node, a journal, a driver's job record) still
// alive? A pid alone cannot say: pids are reused, and quickly where the kernel's pid_max is small
// (32768 on the machines this project runs on; a test suite or a corpus of ffprobe calls wraps it
// within minutes). A SIGKILLed claimant whose pid now belongs to an unrelated process would look
// alive for ever and hold its node hostage. So records carry the process's start time as the kernel
// counts it (field 22 of /proc/<pid>/stat, clock ticks since boot), and a pid counts as the same
// process only while that start time matches.
import { readFileSync } from 'node:fs';

/** Start time of a process in clock ticks since boot; undefined where /proc cannot tell (not Linux, gone). */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = Number(fields[19]);
    return Number.isFinite(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

let ownStart: number | undefined | null = null;

/** This process's start time (see processStartTime), read once. */
export function ownStartTime(): number | undefined {
  if (ownStart === null) ownStart = processStartTime(process.pid);
  return ownStart;
}

/**
 * Whether the process `pid` that started at `start` (when the record has it) is alive on this
 * host. Without a start time only the pid is checked (records written by older versions).
 */
export function processAlive(pid: number, start?: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (start === undefined) return true;
  const now = processStartTime(pid);
  // /proc unreadable for a live pid (hardened mounts): trust the pid, as before.
  return now === undefined || now === start;
}
