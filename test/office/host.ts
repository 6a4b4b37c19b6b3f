// One simulated signage host: its own Nix store, /run, home, /etc/ssh and /etc/nix, bind-mounted over /nix,
// /run, /root, /etc/ssh and /etc/nix in a private mount namespace, its own sshd in its own network namespace,
// and its own nix-daemon serving its store to peers (nix-serve.ts).
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { prepareServing, servingSshdConfig, startDaemon } from './nix-serve.ts';
import { type NixRelease, nixPathPrefix } from './nix-versions.ts';
import { alive, descendants, inMountNamespace, isOfficeProcess, mountNamespace } from './proc.ts';
import { endProcess, type RunResult, run, sleep } from './run.ts';
import { installScreenshot } from './screenshot.ts';
import { installSystemd } from './systemd.ts';
import { installVcgencmd } from './vcgencmd.ts';

export interface OfficeHost {
  readonly name: string;
  readonly index: number;
  /** The host's files on the builder's file system (HOST/nix is its /nix, HOST/run its /run, ...). */
  readonly dir: string;
  readonly netns: string;
  /** Its address on the office LAN; the builder reaches it through the uplink. */
  readonly address: string;
  readonly port: number;
  readonly user: string;
  /** Whether it pretends to run systemd (has /run/systemd/system and a systemd-run). */
  readonly systemd: boolean;
  /** The Nix its sshd's PATH finds first (nix-versions.ts); Debian's 2.8 when unset. */
  readonly nix?: NixRelease;
  /** Whether it has a vcgencmd (vcgencmd.ts), as a Raspberry Pi does; true when unset. */
  readonly vcgencmd?: boolean;
}

export function sshdPidFile(host: OfficeHost): string {
  return join(host.dir, 'run', 'sshd.pid');
}

/** The host's own /etc/ssh, which it sees at /etc/ssh: its host key is where NixOS keeps one. */
export function hostKeyFile(host: OfficeHost): string {
  return join(host.dir, 'etc', 'ssh', 'ssh_host_ed25519_key');
}

export async function prepareHost(
  host: OfficeHost,
  opts: { authorizedKey: string; trustedPublicKey: string },
): Promise<void> {
  const d = (...p: string[]) => join(host.dir, ...p);
  for (const sub of ['nix', 'run/sshd', 'home/.ssh', 'etc/nix', 'bin'])
    await mkdir(d(sub), { recursive: true });
  await chmod(d('home'), 0o700);
  await chmod(d('home/.ssh'), 0o700);
  await writeFile(d('etc/authorized_keys'), `${opts.authorizedKey.trim()}\n`, { mode: 0o600 });
  await prepareServing(host);
  // As on NixOS, no experimental feature is on: whoever needs one on a host must ask for it.
  await writeFile(
    d('etc/nix/nix.conf'),
    [
      'substituters =',
      'sandbox = false',
      'require-sigs = true',
      `trusted-public-keys = ${opts.trustedPublicKey.trim()}`,
      '',
    ].join('\n'),
  );
  await writeFile(
    d('etc/sshd_config'),
    [
      `ListenAddress ${host.address}`,
      `Port ${host.port}`,
      `HostKey ${hostKeyFile(host)}`,
      'PidFile /run/sshd.pid',
      `AuthorizedKeysFile ${d('etc/authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'AllowAgentForwarding no',
      `SetEnv NIX_CONF_DIR=${d('etc/nix')} PATH=${hostPath(host)}`,
      ...servingSshdConfig(hostPath(host)),
      '',
    ].join('\n'),
  );
  await installSystemd(host);
  if (host.vcgencmd !== false) await installVcgencmd(host);
  await installScreenshot(host);
  await newHostKey(host);
}

export function hostPath(host: OfficeHost): string {
  return `${join(host.dir, 'bin')}:${nixPathPrefix(host.nix)}/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`;
}

export async function newHostKey(host: OfficeHost): Promise<void> {
  await rm(hostKeyFile(host), { force: true });
  await rm(`${hostKeyFile(host)}.pub`, { force: true });
  await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', host.name, '-f', hostKeyFile(host)]);
}

/** `address keytype base64`, the host's line for a known_hosts file. */
export async function knownHostsLine(host: OfficeHost): Promise<string> {
  const [type, key] = (await readFile(`${hostKeyFile(host)}.pub`, 'utf8')).trim().split(/\s+/);
  const pattern = host.port === 22 ? host.address : `[${host.address}]:${host.port}`;
  return `${pattern} ${type} ${key}`;
}

export async function startSshd(host: OfficeHost): Promise<number> {
  await rm(sshdPidFile(host), { force: true });
  // The paths come from the office itself, and reach sh as positional parameters, not as script text.
  // The host has its own /etc/ssh (host keys, the serving account's keys, no global known_hosts: a host trusts
  // no peer's key unless it is given one, as on a real Pi) and its own /etc/nix.
  const script = [
    'mount --bind "$1/nix" /nix && mount --bind "$1/run" /run && mount --bind "$1/home" /root || exit 1',
    'mount --bind "$1/etc/ssh" /etc/ssh && mount --bind "$1/etc/nix" /etc/nix || exit 1',
    'exec /usr/sbin/sshd -f "$1/etc/sshd_config"',
  ].join('\n');
  await run([
    'ip',
    'netns',
    'exec',
    host.netns,
    'unshare',
    '--mount',
    '--propagation',
    'private',
    'sh',
    '-c',
    script,
    'sh',
    host.dir,
  ]);
  const pid = await waitForPidFile(sshdPidFile(host));
  await waitForPort(host.address, host.port);
  await startDaemon(host, pid, hostPath(host));
  return pid;
}

/** The pid of the host's sshd listener, if it runs: the pid file's, and only while it is still that sshd. */
async function runningSshd(host: OfficeHost): Promise<number | null> {
  const pid = await readPid(sshdPidFile(host));
  return pid !== null && isOfficeProcess(pid, 'sshd', host.dir) ? pid : null;
}

/** Stops the listener only: open sessions go on, as they do when a real sshd is restarted. */
export async function stopSshd(host: OfficeHost): Promise<void> {
  const pid = await runningSshd(host);
  if (pid !== null) await endProcess(pid);
}

/** Kills a host's sshd and every session under it at once, as a Pi losing power mid-copy would. */
export async function crashSshd(host: OfficeHost): Promise<void> {
  const pid = await runningSshd(host);
  if (pid !== null) kill([...descendants(pid), pid]);
}

/**
 * Ends everything of the host whose sshd listener is `pid` (checked by the caller to be that sshd): first the
 * sessions under it, then the listener, then any process left in the host's mount namespace (a session's
 * background job, a command run by onHost), so that no process keeps the host's bind mounts alive.
 */
export async function endHost(pid: number): Promise<void> {
  const ns = mountNamespace(pid);
  const sessions = descendants(pid);
  kill(sessions);
  await endProcess(pid);
  // The builder's own namespace is never swept; the host's was made by unshare for this sshd alone.
  const stray = ns !== null && ns !== mountNamespace('self') ? inMountNamespace(ns) : [];
  kill(stray);
  for (const p of [...sessions, ...stray]) {
    for (let i = 0; i < 200 && alive(p); i++) await sleep(25);
  }
}

function kill(pids: readonly number[]): void {
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export async function sshdPid(host: OfficeHost): Promise<number> {
  const pid = await runningSshd(host);
  if (pid === null || !alive(pid)) throw new Error(`sshd of ${host.name} is not running`);
  return pid;
}

/**
 * Runs argv on the host without SSH, by entering its sshd's mount and network namespaces: an independent way
 * to check what the project's own SSH code reports.
 */
export async function onHost(host: OfficeHost, argv: readonly string[], input?: string): Promise<RunResult> {
  const pid = await sshdPid(host);
  const env = [`PATH=${hostPath(host)}`, `NIX_CONF_DIR=${join(host.dir, 'etc', 'nix')}`, 'HOME=/root'];
  return run(['nsenter', '-t', String(pid), '-m', '-n', '--', 'env', '-i', ...env, ...argv], {
    allowFailure: true,
    ...(input === undefined ? {} : { input }),
  });
}

export async function readPid(file: string): Promise<number | null> {
  try {
    const pid = Number((await readFile(file, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 1 ? pid : null;
  } catch {
    return null;
  }
}

async function waitForPidFile(file: string): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const pid = await readPid(file);
    if (pid !== null && alive(pid)) return pid;
    await sleep(25);
  }
  throw new Error(`no pid in ${file} after 5 s`);
}

async function waitForPort(address: string, port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: address, port, timeout: 500 });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
      s.once('timeout', () => {
        s.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    await sleep(25);
  }
  throw new Error(`nothing listens on ${address}:${port} after 5 s`);
}
