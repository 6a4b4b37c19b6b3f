// One simulated signage host: its own Nix store, /run, home and nix.conf, bind-mounted over /nix, /run and
// /root in a private mount namespace, and its own sshd in its own network namespace.
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { alive, endProcess, type RunResult, run, sleep } from './run.ts';

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
}

// Records what it was asked to do: there is no systemd in the office.
const SYSTEMCTL = `#!/bin/sh
mkdir -p /run/signage-office
echo "$*" >> /run/signage-office/systemctl.log
`;

// Runs the command the way a transient unit would, refusing a second unit of the same name while one runs:
// the property nixos-rebuild relies on to stop two switches overlapping.
const SYSTEMD_RUN = `#!/bin/sh
mkdir -p /run/signage-office/units
echo "$*" >> /run/signage-office/systemd-run.log
unit=run-$$
while [ $# -gt 0 ]; do
  case "$1" in
    --unit=*) unit=\${1#--unit=}; shift ;;
    -E|--setenv|-p|--property) shift 2 ;;
    --) shift; break ;;
    -*) shift ;;
    *) break ;;
  esac
done
if ! mkdir "/run/signage-office/units/$unit" 2>/dev/null; then
  echo "Failed to start transient service unit: Unit $unit.service was already loaded or has a fragment file." >&2
  exit 1
fi
"$@"
status=$?
rmdir "/run/signage-office/units/$unit"
exit $status
`;

export function sshdPidFile(host: OfficeHost): string {
  return join(host.dir, 'run', 'sshd.pid');
}

export function hostKeyFile(host: OfficeHost): string {
  return join(host.dir, 'etc', 'ssh_host_ed25519_key');
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
  await writeFile(
    d('etc/nix/nix.conf'),
    [
      'substituters =',
      'experimental-features = nix-command flakes',
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
      'AllowAgentForwarding yes',
      'MaxStartups 100:30:200',
      'MaxSessions 50',
      `SetEnv NIX_CONF_DIR=${d('etc/nix')} PATH=${hostPath(host)}`,
      '',
    ].join('\n'),
  );
  await writeFile(d('bin/systemctl'), SYSTEMCTL, { mode: 0o755 });
  if (host.systemd) {
    await writeFile(d('bin/systemd-run'), SYSTEMD_RUN, { mode: 0o755 });
    await mkdir(d('run/systemd/system'), { recursive: true });
  }
  await newHostKey(host);
}

function hostPath(host: OfficeHost): string {
  return `${join(host.dir, 'bin')}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`;
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
  const script =
    'mount --bind "$1/nix" /nix && mount --bind "$1/run" /run && mount --bind "$1/home" /root && ' +
    'exec /usr/sbin/sshd -f "$1/etc/sshd_config"';
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
  return pid;
}

export async function stopSshd(host: OfficeHost): Promise<void> {
  const pid = await readPid(sshdPidFile(host));
  if (pid !== null) await endProcess(pid);
}

/** Kills a host's sshd and every session under it at once, as a Pi losing power mid-copy would. */
export async function crashSshd(host: OfficeHost): Promise<void> {
  const pid = await readPid(sshdPidFile(host));
  if (pid === null) return;
  for (const p of [...descendants(pid), pid]) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Pids of every process below `root`, from /proc. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // exited while we looked
    }
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

export async function sshdPid(host: OfficeHost): Promise<number> {
  const pid = await readPid(sshdPidFile(host));
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
