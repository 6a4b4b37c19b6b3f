// Round-trip delay on the office's uplink and LAN, without netem (not available here): TCP connections are
// redirected (nftables, in the office's own namespaces) to a relay (delay-relay.ts) that forwards each
// direction half a round trip later, to the address and port the connection was made to. The bot keeps its
// addresses, ports and host keys; only time changes. Relays are started and ended by pid with the office.
//
// Uplink: the office's LAN namespace routes between the uplink and its bridge instead of bridging them
// (proxy ARP on both sides, so neither the builder nor the hosts see a change of addresses), and redirects
// every TCP connection crossing it, either way: the builder's SSH to every host and the hosts' connections to
// the builder (a binary cache there). The uplink's tbf and kernel counters are untouched, on the uplink veth.
// LAN: each host redirects the TCP connections other hosts open to it, so a peer copy pays the delay once.
import { spawn } from 'node:child_process';
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { OfficeHost } from './host.ts';
import { type OfficeNet, setHostRate } from './net.ts';
import { alive } from './proc.ts';
import { type OfficeRecord, save } from './registry.ts';
import { endProcess, inNetns, run, sleep } from './run.ts';

const RELAY = join(import.meta.dirname, 'delay-relay.ts');
const RELAY_PORT = 7079;
const TABLE = 'signage_office_delay';

/** The LAN namespace's own address on the bridge: where the uplink relay's connections to hosts come from. */
export function relayAddress(net: OfficeNet): string {
  return `${net.prefix}.2`;
}

/** Starts a relay in `netns` with `oneWayMs` each way; its pid is returned once it listens. */
async function startRelay(netns: string, oneWayMs: number, dir: string, name: string): Promise<number> {
  const ready = join(dir, `${name}.ready`);
  await rm(ready, { force: true });
  const log = await open(join(dir, `${name}.log`), 'a');
  try {
    const child = spawn(
      'ip',
      ['netns', 'exec', netns, process.execPath, RELAY, String(RELAY_PORT), String(oneWayMs), ready],
      { detached: true, stdio: ['ignore', log.fd, log.fd] },
    );
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new Error(`the delay relay in ${netns} did not start`);
    for (let i = 0; i < 400; i++) {
      const text = await readFile(ready, 'utf8').catch(() => '');
      if (text.trim() === String(pid)) return pid;
      if (!alive(pid)) break;
      await sleep(25);
    }
    await endProcess(pid);
    const tail = await readFile(join(dir, `${name}.log`), 'utf8').catch(() => '');
    throw new Error(`the delay relay in ${netns} did not listen within 10 s: ${tail.slice(-500)}`);
  } finally {
    await log.close();
  }
}

async function nftRules(netns: string, chainRules: readonly string[]): Promise<void> {
  const script = [
    `table ip ${TABLE} {`,
    '  chain prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    ...chainRules.map((r) => `    ${r}`),
    '  }',
    '}',
    '',
  ].join('\n');
  await run(['ip', 'netns', 'exec', netns, 'nft', '-f', '-'], { input: script });
}

/** Delays the uplink by `rttMs` per round trip; returns the relay's pid. `dir` holds its ready file and log. */
export async function delayUplink(net: OfficeNet, rttMs: number, dir: string): Promise<number> {
  const ns = net.lanNetns;
  const builder = net.builderAddress;
  await inNetns(ns, ['ip', 'link', 'set', 'uplink', 'nomaster']);
  await inNetns(ns, ['ip', 'addr', 'add', `${relayAddress(net)}/24`, 'dev', 'br0']);
  // REDIRECT sends a connection to the incoming interface's own address: the uplink's end needs one.
  await inNetns(ns, ['ip', 'addr', 'add', `${relayAddress(net)}/32`, 'dev', 'uplink']);
  await inNetns(ns, ['ip', 'link', 'set', 'uplink', 'up']);
  await inNetns(ns, ['ip', 'route', 'add', `${builder}/32`, 'dev', 'uplink']);
  for (const key of [
    'net.ipv4.ip_forward=1',
    'net.ipv4.conf.all.rp_filter=0',
    'net.ipv4.conf.uplink.rp_filter=0',
    'net.ipv4.conf.br0.rp_filter=0',
    'net.ipv4.conf.uplink.proxy_arp=1',
    'net.ipv4.conf.br0.proxy_arp=1',
  ]) {
    await inNetns(ns, ['sysctl', '-q', '-w', key]);
  }
  await nftRules(ns, [
    `iifname "uplink" meta l4proto tcp redirect to :${RELAY_PORT}`,
    `iifname "br0" ip daddr ${builder} meta l4proto tcp redirect to :${RELAY_PORT}`,
  ]);
  const pid = await startRelay(ns, rttMs / 2, dir, 'uplink-relay');
  // Both sides may have learnt each other's link addresses while the LAN was one bridge: forget them, so
  // that they ask again and the proxy ARP answers.
  await run(['ip', 'neigh', 'flush', 'dev', net.uplinkIf], { allowFailure: true });
  return pid;
}

/**
 * Delays connections between hosts by `rttMs` per round trip: each host's relay takes the connections other
 * hosts open to it (not the builder's, nor the uplink relay's).
 */
export async function delayHostLan(
  net: OfficeNet,
  hostNetns: string,
  rttMs: number,
  dir: string,
  name: string,
): Promise<number> {
  await nftRules(hostNetns, [
    `iifname "eth0" ip saddr != { ${net.builderAddress}, ${relayAddress(net)} } meta l4proto tcp redirect to :${RELAY_PORT}`,
  ]);
  return startRelay(hostNetns, rttMs / 2, dir, `lan-relay-${name}`);
}

/**
 * The office's uplink delay and LAN settings (startOffice's uplinkRttMs, lanKbit, lanRttMs). Each relay's pid
 * goes into the office's record as soon as it runs, so teardown (or the next office, after a crash) ends it.
 */
export async function applyOfficeDelays(
  net: OfficeNet,
  hosts: readonly OfficeHost[],
  record: OfficeRecord,
  opts: { uplinkRttMs?: number; lanKbit?: number | null; lanRttMs?: number },
): Promise<void> {
  const keep = async (pid: number) => {
    record.pids.push(pid);
    await save(record);
  };
  if (opts.uplinkRttMs && opts.uplinkRttMs > 0) {
    await keep(await delayUplink(net, opts.uplinkRttMs, record.dir));
    for (const h of hosts) await inNetns(h.netns, ['ip', 'neigh', 'flush', 'dev', 'eth0']);
  }
  for (const h of hosts) {
    if (opts.lanKbit) await setHostRate(net, h.netns, h.index, opts.lanKbit);
    if (opts.lanRttMs && opts.lanRttMs > 0)
      await keep(await delayHostLan(net, h.netns, opts.lanRttMs, record.dir, h.name));
  }
}
