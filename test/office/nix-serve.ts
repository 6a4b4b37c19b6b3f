// Read-only peer serving on the office's hosts, set up as NixOS's `nix.sshServe` does: a `nix-ssh` account
// whose every login is forced to run `nix-store --serve` (no `--write`), with no forwarding and no TTY, its
// authorized keys the fleet's host keys, and a `nix-daemon` per host, through which that account reads the
// store, as on NixOS (the store is root's: the account cannot open it itself). Writing is refused by the forced
// command: `nix-store --serve` without `--write` takes no imports. The account is a system user of this
// machine (scripts/setup makes it); each host gets its own sshd block, key list and daemon.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { basename, join } from 'node:path';
import type { OfficeHost } from './host.ts';
import { alive, descendants } from './proc.ts';
import { endProcess, sleep } from './run.ts';

/** The serving account, named as NixOS names it. */
export const NIX_SSH_USER = 'nix-ssh';

/** Where a host's sshd finds each user's keys, inside the host's mount namespace (NixOS's path). */
const AUTHORIZED_KEYS_DIR = '/etc/ssh/authorized_keys.d';

/** Why the office cannot serve stores as NixOS does on this machine, or null when it can. */
export function servingUnavailable(): string | null {
  try {
    execFileSync('getent', ['passwd', NIX_SSH_USER], { stdio: 'ignore' });
    return null;
  } catch {
    return `no ${NIX_SSH_USER} user (run scripts/setup)`;
  }
}

/**
 * The sshd_config lines for the serving account, as `nix.sshServe` writes them (they must come last: a Match
 * block runs to the end of the file). SetEnv in a Match block replaces the global one, so the host's own
 * variables are repeated; NIX_REMOTE=daemon makes the account read the store through the host's daemon.
 */
export function servingSshdConfig(path: string): string[] {
  return [
    `Match User ${NIX_SSH_USER}`,
    `  AuthorizedKeysFile ${AUTHORIZED_KEYS_DIR}/%u`,
    '  ForceCommand nix-store --serve',
    '  AllowAgentForwarding no',
    '  AllowTcpForwarding no',
    '  PermitTTY no',
    '  PermitTunnel no',
    '  X11Forwarding no',
    `  SetEnv NIX_CONF_DIR=/etc/nix NIX_REMOTE=daemon PATH=${path}`,
  ];
}

/** The host's /etc/ssh (bound over /etc/ssh in its namespace) with the serving account's key directory. */
export async function prepareServing(host: OfficeHost): Promise<void> {
  // sshd reads a user's keys as that user and insists every directory above them is root's and not writable
  // by others (StrictModes): 0755 all the way.
  await mkdir(join(host.dir, 'etc', 'ssh', 'authorized_keys.d'), { recursive: true, mode: 0o755 });
}

/** Lets every office host's host key in as nix-ssh on every host, restricted as `nix.sshServe.keys` are. */
export async function authorizeHostKeys(
  hosts: readonly OfficeHost[],
  hostKeyFile: (h: OfficeHost) => string,
) {
  const keys = await Promise.all(
    hosts.map(async (h) => (await readFile(`${hostKeyFile(h)}.pub`, 'utf8')).trim()),
  );
  const text = `${keys.map((k) => `restrict ${k}`).join('\n')}\n`;
  for (const h of hosts) {
    await writeFile(join(h.dir, 'etc', 'ssh', 'authorized_keys.d', NIX_SSH_USER), text, { mode: 0o644 });
  }
}

export function daemonPidFile(host: OfficeHost): string {
  return join(host.dir, 'run', 'nix-daemon.pid');
}

function daemonSocket(host: OfficeHost): string {
  return join(host.dir, 'nix', 'var', 'nix', 'daemon-socket', 'socket');
}

/**
 * Whether `pid` is the nix-daemon the office started for a host under `dir`: checked by its program and the
 * NIX_CONF_DIR it was given, since a pid from an old file may since belong to someone else.
 */
export function isOfficeDaemon(pid: number, dir: string): boolean {
  try {
    const [program = ''] = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (basename(program) !== 'nix-daemon') return false;
    const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    return env.some((e) => e.startsWith(`NIX_CONF_DIR=${dir}/`));
  } catch {
    return false;
  }
}

/** Ends the daemon a pid file names (and the connections it forked), if it is still the office's. */
export async function endDaemon(pidFile: string, dir: string): Promise<void> {
  let pid: number;
  try {
    pid = Number((await readFile(pidFile, 'utf8')).trim());
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 1 || !isOfficeDaemon(pid, dir)) return;
  for (const child of descendants(pid)) if (isOfficeDaemon(child, dir)) await endProcess(child, 1000);
  await endProcess(pid);
}

/**
 * Starts the host's nix-daemon in the namespaces of its sshd (`sshdPid`), from the host's PATH, ending the one
 * a previous sshd of the host had (a restarted host gets a new mount namespace). Resolves once it answers.
 */
export async function startDaemon(host: OfficeHost, sshdPid: number, path: string): Promise<number> {
  await endDaemon(daemonPidFile(host), host.dir);
  await rm(daemonSocket(host), { force: true });
  const log = await open(join(host.dir, 'run', 'nix-daemon.log'), 'a');
  try {
    // nsenter and env exec in turn, so the pid spawned is the daemon's own.
    const child = spawn(
      'nsenter',
      [
        '-t',
        String(sshdPid),
        '-m',
        '-n',
        '--',
        'env',
        '-i',
        `PATH=${path}`,
        `NIX_CONF_DIR=${join(host.dir, 'etc', 'nix')}`,
        'HOME=/root',
        'nix-daemon',
      ],
      { detached: true, stdio: ['ignore', log.fd, log.fd] },
    );
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new Error(`the nix-daemon of ${host.name} did not start`);
    await writeFile(daemonPidFile(host), `${pid}\n`);
    for (let i = 0; i < 400; i++) {
      if (await answers(daemonSocket(host))) return pid;
      if (!alive(pid)) break;
      await sleep(25);
    }
    const tail = await readFile(join(host.dir, 'run', 'nix-daemon.log'), 'utf8').catch(() => '');
    throw new Error(`the nix-daemon of ${host.name} does not answer after 10 s: ${tail.slice(-500)}`);
  } finally {
    await log.close();
  }
}

function answers(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(socket);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
