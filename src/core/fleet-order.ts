// The order of a site's rollout: a canary first, then batches of hosts in parallel. The uplink is the slow
// link, so the canary is the host whose copy brings most of what the others also lack, and no two hosts of
// a batch pull the same path over the uplink: the later one takes it from the earlier one over the LAN.
import { compareStrings } from './closure.ts';
import type { PathInfo, StorePath } from './types.ts';

export class FleetOrderError extends Error {
  override name = 'FleetOrderError';
}

export interface Canary {
  readonly host: string;
  /** Bytes of the canary's uplink copy that other hosts also lack: once there, they come over the LAN. */
  readonly savedUplinkBytes: number;
}

/**
 * Among the hosts that change, the one whose missing closure covers the most bytes other hosts also need and
 * no host of the site holds (each path counted once); ties by name. A canary guards the others, so a host
 * with nothing to change never is one: the hosts that change are `changing` when the caller knows (a host
 * holding its whole closure may still run another system), else those that lack part of their closure.
 * Undefined when no host changes. A host without holdings is taken to hold nothing; hosts with holdings but
 * no closure still count as holding their paths.
 */
export function chooseCanary(
  closures: ReadonlyMap<string, readonly PathInfo[]>,
  holdings: ReadonlyMap<string, ReadonlySet<StorePath>>,
  changing?: ReadonlySet<string>,
): Canary | undefined {
  const sizes = new Map<StorePath, number>();
  const needers = new Map<StorePath, number>();
  const heldSomewhere = (p: StorePath) => {
    for (const held of holdings.values()) if (held.has(p)) return true;
    return false;
  };
  for (const [host, closure] of closures) {
    const counted = new Set<StorePath>();
    for (const info of closure) {
      const known = sizes.get(info.path);
      if (!Number.isSafeInteger(info.narSize) || info.narSize < 0) {
        throw new FleetOrderError(`${host}: ${info.path} has narSize ${String(info.narSize)}`);
      }
      if (known !== undefined && known !== info.narSize) {
        throw new FleetOrderError(
          `${info.path} has different sizes in the closures (${host} says ${info.narSize})`,
        );
      }
      sizes.set(info.path, info.narSize);
      if (counted.has(info.path)) continue;
      counted.add(info.path);
      needers.set(info.path, (needers.get(info.path) ?? 0) + 1);
    }
  }
  const shared = new Set<StorePath>();
  for (const [p, count] of needers) if (count >= 2 && !heldSomewhere(p)) shared.add(p);

  const lacksSome = (host: string) => {
    const own = holdings.get(host);
    return closures.get(host)!.some((i) => !own?.has(i.path));
  };
  const candidates = [...closures.keys()].filter((h) => (changing ? changing.has(h) : lacksSome(h)));
  let best: Canary | undefined;
  for (const host of candidates.sort(compareStrings)) {
    let saved = 0;
    for (const p of new Set(closures.get(host)!.map((i) => i.path)))
      if (shared.has(p)) saved += sizes.get(p)!;
    if (!best || saved > best.savedUplinkBytes) best = { host, savedUplinkBytes: saved };
  }
  return best;
}

export interface UplinkNeed {
  readonly host: string;
  readonly uplinkPaths: readonly StorePath[];
  readonly uplinkBytes: number;
}

/**
 * Batches that run one after another, the hosts of a batch in parallel: at most `maxParallel` hosts each,
 * no path pulled over the uplink by two hosts of one batch, every host exactly once. Largest uplink first,
 * each host into the first batch it fits (ties by name), so the big pulls start early.
 */
export function fleetBatches(hosts: readonly UplinkNeed[], maxParallel: number): string[][] {
  if (!Number.isSafeInteger(maxParallel) || maxParallel < 1) {
    throw new FleetOrderError(`maxParallel must be a whole number of at least 1, not ${maxParallel}`);
  }
  const names = new Set<string>();
  for (const h of hosts) {
    if (names.has(h.host)) throw new FleetOrderError(`host ${h.host} is listed twice`);
    names.add(h.host);
  }
  const ordered = [...hosts].sort((a, b) => b.uplinkBytes - a.uplinkBytes || compareStrings(a.host, b.host));
  const batches: { hosts: string[]; pulling: Set<StorePath> }[] = [];
  for (const h of ordered) {
    let batch = batches.find(
      (b) => b.hosts.length < maxParallel && !h.uplinkPaths.some((p) => b.pulling.has(p)),
    );
    if (!batch) {
      batch = { hosts: [], pulling: new Set() };
      batches.push(batch);
    }
    batch.hosts.push(h.host);
    for (const p of h.uplinkPaths) batch.pulling.add(p);
  }
  return batches.map((b) => b.hosts);
}
