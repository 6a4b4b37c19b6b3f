// A simulated signage office on one machine: the builder (this machine's own Nix store) and N signage hosts,
// each with its own store, /run, nix.conf and sshd in its own network namespace, all on one bridge (the office
// LAN), reached from the builder through one veth (the uplink). Everything here is real: Nix, OpenSSH, the
// kernel's network stack. Only systemd is absent; the hosts record what they are asked of it.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { applyOfficeDelays } from './delay.ts';
import { type Fleet, type FleetHost, makeFleet } from './fleet.ts';
import {
  crashSshd,
  hostKeyFile,
  knownHostsLine,
  newHostKey,
  type OfficeHost,
  onHost,
  prepareHost,
  sshdPidFile,
  startSshd,
  stopSshd,
} from './host.ts';
import { makeBuilderKeys, startAgent } from './keys.ts';
import {
  addHostToLan,
  createLan,
  netnsName,
  setHostLink,
  setHostRate,
  setUplinkRate,
  uplinkBytes,
} from './net.ts';
import { authorizeHostKeys, daemonPidFile } from './nix-serve.ts';
import { chooseNix, describeOfficeNix, NIX_BIN_DIRS, type NixRelease } from './nix-versions.ts';
import type { RealContent } from './real-content.ts';
import { allocate, save, teardown } from './registry.ts';
import type { RunResult } from './run.ts';
import { bootDefault, rebootHost } from './systemd.ts';

export type { OfficeHost } from './host.ts';

export type OfficeHostSpec = FleetHost & {
  readonly systemd?: boolean;
  readonly nix?: NixRelease;
  /** false: the host has no vcgencmd (not a Raspberry Pi). */
  readonly vcgencmd?: boolean;
};

export interface OfficeOptions {
  /** Host names, or specs; the default is three hosts named as in the team's office. */
  readonly hosts?: readonly (string | OfficeHostSpec)[];
  /** Size of the fleet's store paths relative to a real kiosk system (1 = about 75 MB a host). */
  readonly scale?: number;
  readonly revision?: number;
  /** Extra small store paths in every host's system (test/fleet/packages.nix), for closures of real size. */
  readonly smallPaths?: number;
  /** The realistic fleet: real Debian packages' files in revisions (real-content.ts) instead of random bytes. */
  readonly realContent?: RealContent;
  /** Uplink rate limit in kbit/s (tbf), or none. */
  readonly uplinkKbit?: number | null;
  /**
   * Round-trip time added to every TCP connection over the uplink, either way, in ms (0 or absent: none).
   * A real signage uplink (LTE, shop DSL, a VPN relay) has 30 to 100 ms. See delay.ts.
   */
  readonly uplinkRttMs?: number;
  /** Each host's LAN port rate limit in kbit/s (tbf, both directions), or none. */
  readonly lanKbit?: number | null;
  /** Round-trip time added to connections between hosts, in ms (a WiFi mesh: a few ms); 0 or absent: none. */
  readonly lanRttMs?: number;
  /** The builder's Nix (the bot's builder.nixBinDir); 2.24 by default, see nix-versions.ts. */
  readonly builderNix?: NixRelease;
}

export interface Office {
  readonly id: string;
  readonly dir: string;
  readonly hosts: readonly OfficeHost[];
  host(name: string): OfficeHost;
  readonly builderAddress: string;
  readonly uplinkInterface: string;
  uplinkBytes(): { tx: number; rx: number };
  setUplinkRate(kbit: number | null): Promise<void>;
  /** The builder's known_hosts: every host's key, by address. Strict checking needs nothing else. */
  readonly knownHostsFile: string;
  /** The ssh-agent holding the builder's key (SSH_AUTH_SOCK); no key is stored on any host. */
  readonly agentSocket: string;
  /** The builder's private SSH key file, for callers that authenticate with a key instead of the agent. */
  readonly sshKeyFile: string;
  /** OpenSSH options for the builder's own ssh and `nix copy` (NIX_SSHOPTS): strict host keys. */
  readonly sshOptions: readonly string[];
  readonly signingKeyFile: string;
  readonly publicKey: string;
  readonly fleet: Fleet;
  /** The Nix the bot runs on the builder: its release and the directory of its binaries. */
  readonly builderNix: { readonly release: NixRelease; readonly binDir: string };
  /** Runs argv on a host by entering its namespaces, not over SSH: an independent check. */
  onHost(name: string, argv: readonly string[], input?: string): Promise<RunResult>;
  /** Stops a host's sshd: connections are refused. */
  stopHost(name: string): Promise<void>;
  startHost(name: string): Promise<void>;
  /** Kills a host's sshd and all its sessions at once (a Pi losing power mid-copy); startHost brings it back. */
  crashHost(name: string): Promise<void>;
  /** Limits a host's own LAN port in kbit/s (null lifts it): its copies to and from peers slow down. */
  setHostRate(name: string, kbit: number | null): Promise<void>;
  /** Pulls a host's cable: packets go unanswered until it is plugged back. */
  unplugHost(name: string): Promise<void>;
  plugHost(name: string): Promise<void>;
  /** Gives a host a new SSH host key (a reinstalled Pi, or an impostor); known_hosts keeps the old one. */
  changeHostKey(name: string): Promise<void>;
  /** Lines the host's switch-to-configuration and systemctl recorded. */
  switchLog(name: string): Promise<string[]>;
  systemctlLog(name: string): Promise<string[]>;
  /** Transient timers armed, fired, stopped and finished on the host (see systemd.ts). */
  timerLog(name: string): Promise<string[]>;
  /** What the host boots: its last `switch-to-configuration boot`; null before any. */
  bootDefault(name: string): Promise<string | null>;
  /** Power-cycles a host: its processes end, /run is emptied, it comes up on its boot default. */
  rebootHost(name: string): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_HOSTS = ['baard-entrance', 'baard-kitchen', 'baard-open-space'];

export async function startOffice(opts: OfficeOptions = {}): Promise<Office> {
  const specs: OfficeHostSpec[] = (opts.hosts ?? DEFAULT_HOSTS).map((h) =>
    typeof h === 'string' ? { name: h } : h,
  );
  const nix = chooseNix(
    specs.map((s) => s.nix),
    opts.builderNix,
  );
  // Not under /tmp: sshd refuses an authorized_keys file below a world-writable directory (StrictModes),
  // and relaxing that on the hosts would test less than the real thing.
  const record = await allocate();
  try {
    await mkdir(record.dir, { recursive: true, mode: 0o700 });
    const net = await createLan(record.id, record.subnet);
    record.netns.push(net.lanNetns);
    record.links.push(net.uplinkIf);
    await save(record);

    const keys = await makeBuilderKeys(record.dir, record.id);
    const agent = await startAgent(record.dir, keys.sshKeyFile);
    record.pids.push(agent.pid);
    await save(record);

    const hosts: OfficeHost[] = [];
    for (const [index, spec] of specs.entries()) {
      const netns = netnsName(record.id, `h${index}`);
      record.netns.push(netns);
      await save(record);
      const address = await addHostToLan(net, netns, index);
      const host: OfficeHost = {
        name: spec.name,
        index,
        dir: join(record.dir, 'hosts', spec.name),
        netns,
        address,
        port: 22,
        user: 'root',
        systemd: spec.systemd ?? false,
        nix: nix.hosts[index] ?? '2.8',
        vcgencmd: spec.vcgencmd ?? true,
      };
      await prepareHost(host, { authorizedKey: keys.sshPublicKey, trustedPublicKey: keys.publicKey });
      record.pidFiles.push(sshdPidFile(host), daemonPidFile(host));
      await save(record);
      await startSshd(host);
      hosts.push(host);
    }
    // Every host serves its store to every other, as a fleet's nix.sshServe.keys would list them all.
    await authorizeHostKeys(hosts, hostKeyFile);
    const knownHostsFile = join(record.dir, 'known_hosts');
    await writeFile(knownHostsFile, `${(await Promise.all(hosts.map(knownHostsLine))).join('\n')}\n`);
    if (opts.uplinkKbit) await setUplinkRate(net, opts.uplinkKbit);
    await applyOfficeDelays(net, hosts, record, opts);
    console.log(describeOfficeNix(record.id, nix.builder, hosts));

    const fleet = await makeFleet(
      join(record.dir, 'fleet'),
      specs.map(({ name, touch, url, faults }) => ({
        name,
        ...(touch === undefined ? {} : { touch }),
        ...(url ? { url } : {}),
        ...(faults ? { faults } : {}),
      })),
      {
        scale: opts.scale ?? 0.1,
        revision: opts.revision ?? 1,
        ...(opts.smallPaths ? { smallPaths: opts.smallPaths } : {}),
        ...(opts.realContent ? { real: opts.realContent } : {}),
      },
    );

    const byName = (name: string): OfficeHost => {
      const h = hosts.find((x) => x.name === name);
      if (!h)
        throw new Error(`no host ${name} in this office (hosts: ${hosts.map((x) => x.name).join(', ')})`);
      return h;
    };
    const logLines = async (name: string, file: string) => {
      const out = await onHost(byName(name), ['cat', `/run/signage-office/${file}`]);
      return out.stdout.split('\n').filter((l) => l.length > 0);
    };
    let closed = false;
    return {
      id: record.id,
      dir: record.dir,
      hosts,
      host: byName,
      builderAddress: net.builderAddress,
      uplinkInterface: net.uplinkIf,
      uplinkBytes: () => uplinkBytes(net),
      setUplinkRate: (kbit) => setUplinkRate(net, kbit),
      knownHostsFile,
      agentSocket: agent.socket,
      sshKeyFile: keys.sshKeyFile,
      sshOptions: [
        '-o',
        `UserKnownHostsFile=${knownHostsFile}`,
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        'BatchMode=yes',
      ],
      signingKeyFile: keys.signingKeyFile,
      publicKey: keys.publicKey,
      fleet,
      builderNix: { release: nix.builder, binDir: NIX_BIN_DIRS[nix.builder] },
      onHost: (name, argv, input) => onHost(byName(name), argv, input),
      stopHost: (name) => stopSshd(byName(name)),
      startHost: async (name) => {
        await startSshd(byName(name));
      },
      crashHost: (name) => crashSshd(byName(name)),
      setHostRate: (name, kbit) => setHostRate(net, byName(name).netns, byName(name).index, kbit),
      unplugHost: (name) => setHostLink(byName(name).netns, false),
      plugHost: (name) => setHostLink(byName(name).netns, true),
      async changeHostKey(name) {
        const h = byName(name);
        await stopSshd(h);
        await newHostKey(h);
        await startSshd(h);
      },
      switchLog: (name) => logLines(name, 'switch.log'),
      systemctlLog: (name) => logLines(name, 'systemctl.log'),
      timerLog: (name) => logLines(name, 'timers.log'),
      bootDefault: (name) => bootDefault(byName(name)),
      rebootHost: (name) => rebootHost(byName(name)),
      async close() {
        if (closed) return;
        closed = true;
        await teardown(record);
      },
    };
  } catch (e) {
    await teardown(record);
    throw e;
  }
}
