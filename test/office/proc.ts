// What the office knows of processes, read from /proc: it ends only processes it started, and a pid read
// from an old file may by now belong to someone else.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';

export interface ProcStat {
  /** One letter: R, S, D, Z (exited, not yet reaped), ... */
  readonly state: string;
  readonly ppid: number;
}

/** The state and parent of a process, or null when there is no such process. */
export function procStat(pid: number): ProcStat | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The fields after the parenthesised command name, which may itself contain spaces and parentheses.
    const [state = '', ppid = ''] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state, ppid: Number(ppid) };
  } catch {
    return null;
  }
}

/** True while a process with that pid runs; a zombie counts as ended. */
export function alive(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== null && stat.state !== 'Z';
}

function pids(): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number);
}

/** Pids of every process below `root`. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const pid of pids()) {
    const stat = procStat(pid);
    if (stat === null) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(pid);
    children.set(stat.ppid, list);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(root);
  return out;
}

/**
 * Whether `pid` is still a process the office started: `program` by name, with an argument under `dir`
 * (the office's own directory, which its sshd config and agent socket are in). A pid from an old pid file
 * or record may since have been given to an unrelated process, which must never be signalled.
 */
export function isOfficeProcess(pid: number, program: string, dir: string): boolean {
  let words: string[];
  try {
    // Split on spaces too: sshd rewrites its title to one string, "sshd: /usr/sbin/sshd -f CONFIG [listener] ...".
    words = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]+/);
  } catch {
    return false;
  }
  const [first = '', ...rest] = words;
  return basename(first).replace(/:$/, '') === program && rest.some((w) => w.startsWith(`${dir}/`));
}

/**
 * Whether `pid` is Node running the office's script `script` for the office in `dir`: stricter than
 * isOfficeProcess, since any Node process may name an office's directory in its arguments.
 */
export function isOfficeScript(pid: number, script: string, dir: string): boolean {
  let words: string[];
  try {
    words = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return false;
  }
  const [first = '', second = '', ...rest] = words;
  return basename(first) === 'node' && second === script && rest.some((w) => w.startsWith(`${dir}/`));
}

/** The mount namespace a process is in (as `mnt:[inode]`), or null when it has ended. */
export function mountNamespace(pid: number | 'self'): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return null;
  }
}

/** Pids of every process in the mount namespace `ns`. */
export function inMountNamespace(ns: string): number[] {
  return pids().filter((pid) => mountNamespace(pid) === ns);
}
