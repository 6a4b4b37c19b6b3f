// What crossed the office's wires, read from the kernel rather than from the bot: the uplink veth's counters
// (builder <-> office) and each host's eth0. Bytes the hosts sent that did not go to the builder stayed on
// the office LAN, so LAN traffic is the hosts' sent bytes minus what the builder received.
import type { Office } from '../test/office/index.ts';

export interface TrafficSnapshot {
  readonly uplinkTx: number;
  readonly uplinkRx: number;
  readonly hostsTx: number;
}

export interface Traffic {
  /** Builder to office, over the uplink. */
  readonly uplink: number;
  /** Host to host, over the office LAN. */
  readonly lan: number;
}

/** Bytes a host has sent on eth0; /proc/net/dev shows the reader's network namespace. */
async function hostTx(office: Office, host: string): Promise<number> {
  const r = await office.onHost(host, ['cat', '/proc/net/dev']);
  const line = r.stdout.split('\n').find((l) => l.trim().startsWith('eth0:'));
  // rx: bytes packets errs drop fifo frame compressed multicast, then tx: bytes ...
  const tx = line ? Number(line.split(':')[1]?.trim().split(/\s+/)[8]) : Number.NaN;
  if (!Number.isFinite(tx)) throw new Error(`no eth0 counters on ${host}: ${r.stdout.slice(0, 200)}`);
  return tx;
}

export async function snapshot(office: Office): Promise<TrafficSnapshot> {
  const sent = await Promise.all(office.hosts.map((h) => hostTx(office, h.name)));
  const up = office.uplinkBytes();
  return { uplinkTx: up.tx, uplinkRx: up.rx, hostsTx: sent.reduce((s, n) => s + n, 0) };
}

export function between(before: TrafficSnapshot, after: TrafficSnapshot): Traffic {
  const toBuilder = after.uplinkRx - before.uplinkRx;
  return {
    uplink: after.uplinkTx - before.uplinkTx,
    lan: Math.max(0, after.hostsTx - before.hostsTx - toBuilder),
  };
}

/**
 * Whether the kernel's count agrees with the bot's: at least what the bot says it moved (the NARs), and no
 * more than that plus protocol overhead (TCP/IP and SSH framing, a few percent) and the step's control
 * traffic (SSH sessions, store queries, agent forwarding), which the bot does not count as moved bytes.
 */
export function agrees(measured: number, reported: number, controlBytes = 1.5 * 2 ** 20): boolean {
  return measured >= reported && measured <= reported * 1.06 + controlBytes;
}
