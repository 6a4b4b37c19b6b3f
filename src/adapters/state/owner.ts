// Which process a running run belongs to, so that opening the store can tell a run whose process died from
// one that a live process (the bot) is still carrying out while a terminal command opens the same file.
// A pid alone is not enough: pids are reused, and a reboot starts them over. So the owner is the boot id,
// the pid and the process's start time (in clock ticks since boot), all read from /proc.
import { readFileSync } from 'node:fs';

export interface ProcessOwner {
  readonly bootId: string | null;
  readonly pid: number;
  /** From /proc/PID/stat; null where /proc is not available. */
  readonly startTime: string | null;
}

function readOrNull(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

interface ProcStat {
  readonly state: string;
  readonly startTime: string;
}

/** Fields of /proc/PID/stat after the command name, which may itself contain spaces and parentheses. */
function procStat(pid: number): ProcStat | null {
  const text = readOrNull(`/proc/${pid}/stat`);
  if (text === null) return null;
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // Field 3 (state) is the first after the name; field 22 (starttime) is 19 places later.
  const state = fields[0];
  const startTime = fields[19];
  return state !== undefined && startTime !== undefined ? { state, startTime } : null;
}

function bootId(): string | null {
  return readOrNull('/proc/sys/kernel/random/boot_id')?.trim() || null;
}

export function currentOwner(): ProcessOwner {
  return { bootId: bootId(), pid: process.pid, startTime: procStat(process.pid)?.startTime ?? null };
}

/** Whether the process that owned a run still exists (and is the same process, not a reused pid). */
export function ownerAlive(owner: ProcessOwner): boolean {
  const boot = bootId();
  if (owner.bootId !== null && boot !== null && owner.bootId !== boot) return false;
  if (owner.startTime !== null && existsProc()) {
    const stat = procStat(owner.pid);
    // A zombie has exited and only waits for its parent to collect it.
    if (stat === null || stat.state === 'Z' || stat.state === 'X') return false;
    return stat.startTime === owner.startTime;
  }
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, under another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function existsProc(): boolean {
  return procStat(process.pid) !== null;
}
