// The office network: one namespace holding a bridge (the office LAN), one namespace per host wired to it,
// and one veth from the builder (this machine's root namespace) to the bridge: the uplink. Host-to-host
// traffic stays on the bridge, so the uplink's byte counters see only what the builder sends or receives.
import { readFileSync } from 'node:fs';
import { inNetns, run } from './run.ts';

export interface OfficeNet {
  readonly lanNetns: string;
  /** The uplink's end in the builder's namespace: its counters and its tbf are the uplink's. */
  readonly uplinkIf: string;
  readonly builderAddress: string;
  readonly prefix: string;
}

export function netnsName(officeId: string, part: string): string {
  return `so-${officeId}-${part}`;
}

/** The uplink's end in the builder's namespace. */
export function uplinkName(officeId: string): string {
  return `so${officeId}up`;
}

export async function createLan(officeId: string, subnet: number): Promise<OfficeNet> {
  const lanNetns = netnsName(officeId, 'lan');
  const uplinkIf = uplinkName(officeId);
  const prefix = `10.231.${subnet}`;
  await run(['ip', 'netns', 'add', lanNetns]);
  await inNetns(lanNetns, ['ip', 'link', 'set', 'lo', 'up']);
  await inNetns(lanNetns, ['ip', 'link', 'add', 'br0', 'type', 'bridge']);
  await inNetns(lanNetns, ['ip', 'link', 'set', 'br0', 'up']);
  await run(['ip', 'link', 'add', uplinkIf, 'type', 'veth', 'peer', 'name', 'uplink', 'netns', lanNetns]);
  await inNetns(lanNetns, ['ip', 'link', 'set', 'uplink', 'master', 'br0', 'up']);
  await run(['ip', 'addr', 'add', `${prefix}.1/24`, 'dev', uplinkIf]);
  await run(['ip', 'link', 'set', uplinkIf, 'up']);
  return { lanNetns, uplinkIf, builderAddress: `${prefix}.1`, prefix };
}

/** Wires host number `index` into the LAN; returns its address. */
export async function addHostToLan(net: OfficeNet, hostNetns: string, index: number): Promise<string> {
  const address = `${net.prefix}.${10 + index}`;
  const port = `h${index}`;
  await run(['ip', 'netns', 'add', hostNetns]);
  await run([
    'ip',
    'link',
    'add',
    port,
    'netns',
    net.lanNetns,
    'type',
    'veth',
    'peer',
    'name',
    'eth0',
    'netns',
    hostNetns,
  ]);
  await inNetns(net.lanNetns, ['ip', 'link', 'set', port, 'master', 'br0', 'up']);
  await inNetns(hostNetns, ['ip', 'link', 'set', 'lo', 'up']);
  await inNetns(hostNetns, ['ip', 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
  await inNetns(hostNetns, ['ip', 'link', 'set', 'eth0', 'up']);
  return address;
}

/** Takes a host off the LAN (or back): packets to it then go unanswered, as with a Pi that lost power. */
export async function setHostLink(hostNetns: string, up: boolean): Promise<void> {
  await inNetns(hostNetns, ['ip', 'link', 'set', 'eth0', up ? 'up' : 'down']);
}

/** Replaces `dev`'s root qdisc with a tbf at `kbit`, or removes it (null). */
async function shape(netns: string | null, dev: string, kbit: number | null): Promise<void> {
  const prefix = netns ? ['ip', 'netns', 'exec', netns] : [];
  await run([...prefix, 'tc', 'qdisc', 'del', 'dev', dev, 'root'], { allowFailure: true });
  if (kbit === null) return;
  // A burst of a few milliseconds' worth keeps the shaping smooth at any rate.
  const burst = Math.max(16, Math.ceil(kbit / 100));
  await run([
    ...prefix,
    'tc',
    'qdisc',
    'add',
    'dev',
    dev,
    'root',
    'tbf',
    'rate',
    `${kbit}kbit`,
    'burst',
    `${burst}kbit`,
    'latency',
    '400ms',
  ]);
}

/** Limits the uplink in both directions with tbf (netem is not available here); null lifts the limit. */
export async function setUplinkRate(net: OfficeNet, kbit: number | null): Promise<void> {
  await shape(null, net.uplinkIf, kbit);
  await shape(net.lanNetns, 'uplink', kbit);
}

/** Limits one host's LAN port (both directions), to make its copies slow enough to interrupt; null lifts it. */
export async function setHostRate(
  net: OfficeNet,
  hostNetns: string,
  index: number,
  kbit: number | null,
): Promise<void> {
  await shape(net.lanNetns, `h${index}`, kbit);
  await shape(hostNetns, 'eth0', kbit);
}

/** Bytes that crossed the uplink: tx is builder to office, rx office to builder. Read from the kernel. */
export function uplinkBytes(net: OfficeNet): { tx: number; rx: number } {
  const read = (what: string) =>
    Number(readFileSync(`/sys/class/net/${net.uplinkIf}/statistics/${what}_bytes`, 'utf8').trim());
  return { tx: read('tx'), rx: read('rx') };
}

/** Removing a namespace removes the veths in it, and with them their peers. */
export async function removeNetns(name: string): Promise<void> {
  await run(['ip', 'netns', 'del', name], { allowFailure: true });
}

export async function removeLink(name: string): Promise<void> {
  await run(['ip', 'link', 'del', name], { allowFailure: true });
}
