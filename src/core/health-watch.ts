// Flapping suppressed: what the scheduled checks make of a host's health states over time. A change is
// reported once, when it has held for two checks in a row; a host whose states change at every check for
// FLAP_CHECKS checks is reported once as flapping, and stays so until its states hold for two checks. The
// first check of a host sets where it stands without a report (the first fleet report shows everything).
import { describeStates, HEALTH_STATES, type HealthState } from './health.ts';

export const FLAP_CHECKS = 4;

/** A host's states as one comparable word: the states joined by commas; '' when all is well. */
export type HealthKey = string;

/** What was last reported: a set of states, or flapping. */
export type Settled = { readonly kind: 'states'; readonly key: HealthKey } | { readonly kind: 'flapping' };

export interface HealthWatch {
  readonly settled: Settled;
  /** The keys of the last checks, oldest first, at most FLAP_CHECKS. */
  readonly recent: readonly HealthKey[];
}

export interface HealthSettled {
  readonly from: Settled;
  readonly to: Settled;
  /** For flapping: the states it went between, in the order first seen. */
  readonly between: readonly HealthKey[];
}

export interface WatchStep {
  readonly next: HealthWatch;
  /** Set when the check settled a change: the one time it is reported. */
  readonly settled: HealthSettled | null;
}

export function healthKey(states: readonly HealthState[]): HealthKey {
  return HEALTH_STATES.filter((s) => states.includes(s)).join(',');
}

export function statesOfKey(key: HealthKey): HealthState[] {
  const words = new Set(key.split(','));
  return HEALTH_STATES.filter((s) => words.has(s));
}

const same = (a: Settled, b: Settled) =>
  a.kind === b.kind && (a.kind === 'flapping' || a.key === (b as { key: HealthKey }).key);

export function watchHealth(previous: HealthWatch | null, observed: readonly HealthState[]): WatchStep {
  const key = healthKey(observed);
  if (previous === null) return { next: { settled: { kind: 'states', key }, recent: [key] }, settled: null };
  const recent = [...previous.recent, key].slice(-FLAP_CHECKS);
  const flapping = recent.length === FLAP_CHECKS && recent.every((k, i) => i === 0 || k !== recent[i - 1]);
  const held = recent.length >= 2 && recent.at(-2) === key;
  const to: Settled | null = flapping ? { kind: 'flapping' } : held ? { kind: 'states', key } : null;
  if (to === null || same(to, previous.settled))
    return { next: { settled: previous.settled, recent }, settled: null };
  return {
    next: { settled: to, recent },
    settled: { from: previous.settled, to, between: to.kind === 'flapping' ? [...new Set(recent)] : [] },
  };
}

function settledText(s: Settled): string {
  return s.kind === 'flapping' ? 'flapping' : describeStates(statesOfKey(s.key));
}

/** "health: ok → undervoltage now", "health flapping: ok / undervoltage now (changed at each of the last 4 checks)". */
export function describeHealthSettled(change: HealthSettled): string {
  if (change.to.kind === 'flapping') {
    const between = change.between.map((k) => describeStates(statesOfKey(k))).join(' / ');
    return `health flapping: ${between} (changed at each of the last ${FLAP_CHECKS} checks)`;
  }
  if (change.from.kind === 'flapping') return `health settled: ${settledText(change.to)}`;
  return `health: ${settledText(change.from)} → ${settledText(change.to)}`;
}
