// Reboots that a host asks for itself, and the boot guard the host module installs. A host's `systemctl
// reboot` (systemd.ts) leaves a request in its persistent /nix; the office's reboot watcher sees it, power
// cycles the host (systemd.ts: rebootHost) and starts its boot guard, as systemd starts the module's unit at
// boot. A host can be told to stay down after its next reboot (a Pi that does not come back).
import { spawn } from 'node:child_process';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { endHost, hostPath, type OfficeHost, onHost, sshdPid } from './host.ts';
import { sleep } from './run.ts';
import { powerOnHost, rebootHost } from './systemd.ts';

const GUARD_FILE = new URL('../../nix/lib/boot-guard.sh', import.meta.url);

/** The host module's guard, as the program its unit runs: the same script text. */
export async function installBootGuard(host: OfficeHost): Promise<void> {
  const script = await readFile(GUARD_FILE, 'utf8');
  await writeFile(join(host.dir, 'bin', 'signage-boot-guard'), `#!/bin/sh\n${script}`, { mode: 0o755 });
}

function requestFile(host: OfficeHost): string {
  return join(host.dir, 'nix', 'var', 'signage-office', 'reboot-request');
}

/**
 * What a boot starts: the booted system's activation (its units, and its faults: a kiosk that does not come
 * up fails as it would after `test`), then the guard, detached, its output in /run/signage-office/boot-guard.log.
 */
async function startGuard(host: OfficeHost): Promise<void> {
  const pid = await sshdPid(host);
  const env = [`PATH=${hostPath(host)}`, `NIX_CONF_DIR=${join(host.dir, 'etc', 'nix')}`, 'HOME=/root'];
  await onHost(host, [
    'sh',
    '-c',
    'b=$(readlink /run/booted-system) && [ -x "$b/bin/switch-to-configuration" ] && "$b/bin/switch-to-configuration" test; exit 0',
  ]);
  const child = spawn(
    'nsenter',
    [
      '-t',
      String(pid),
      '-m',
      '-n',
      '--',
      'env',
      '-i',
      ...env,
      'setsid',
      'sh',
      '-c',
      'mkdir -p /run/signage-office; exec signage-boot-guard >> /run/signage-office/boot-guard.log 2>&1',
    ],
    { detached: true, stdio: 'ignore' },
  );
  child.unref();
}

/** Power-cycles a host and runs its boot guard, as its boot would. */
export async function bootHost(host: OfficeHost): Promise<void> {
  await rebootHost(host);
  await startGuard(host);
}

/** Powers on a host that is down, and runs its boot guard. */
async function powerOn(host: OfficeHost): Promise<void> {
  await powerOnHost(host);
  await startGuard(host);
}

export interface RebootWatcher {
  /** The next reboot of `host` leaves it down (its processes end, nothing starts again). */
  stayDown(host: string): void;
  /** Brings a host that stayed down back up, as after a reboot. */
  powerOn(host: string): Promise<void>;
  /** Reboots each host performed, in order: `up` (came back) or `down` (stayed down). */
  readonly log: readonly { readonly host: string; readonly at: Date; readonly result: 'up' | 'down' }[];
  stop(): Promise<void>;
}

/** Watches every host for reboot requests until stopped; a request is served once, after `delayMs`. */
export function watchReboots(hosts: readonly OfficeHost[], opts: { delayMs?: number } = {}): RebootWatcher {
  const down = new Set<string>();
  const log: { host: string; at: Date; result: 'up' | 'down' }[] = [];
  let stopped = false;
  const serve = async (host: OfficeHost) => {
    await rm(requestFile(host), { force: true });
    await sleep(opts.delayMs ?? 500);
    if (down.has(host.name)) {
      await endHost(await sshdPid(host));
      log.push({ host: host.name, at: new Date(), result: 'down' });
    } else {
      await bootHost(host);
      log.push({ host: host.name, at: new Date(), result: 'up' });
    }
  };
  const loop = (async () => {
    while (!stopped) {
      for (const host of hosts) {
        const requested = await stat(requestFile(host)).then(
          () => true,
          () => false,
        );
        if (requested && !stopped)
          await serve(host).catch((e) => console.error(`reboot of ${host.name}:`, e));
      }
      await sleep(200);
    }
  })();
  return {
    stayDown: (name) => down.add(name),
    async powerOn(name) {
      down.delete(name);
      const host = hosts.find((h) => h.name === name);
      if (!host) throw new Error(`no host ${name}`);
      await powerOn(host);
    },
    log,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
