// Flapping suppressed: a health change is told once, when it has held for two checks; a host whose health
// changes at every check is told once as flapping; a one-check blip is never told.
import { describe, expect, it } from 'vitest';
import type { HealthState } from '../../src/core/health.ts';
import {
  describeHealthSettled,
  FLAP_CHECKS,
  type HealthSettled,
  type HealthWatch,
  healthKey,
  statesOfKey,
  watchHealth,
} from '../../src/core/health-watch.ts';

const OK: HealthState[] = [];
const UV: HealthState[] = ['undervoltage-now', 'throttled-now'];
const UV_BOOT: HealthState[] = ['undervoltage-since-boot', 'throttled-since-boot'];
const HOT: HealthState[] = ['hot'];

/** Runs the checks in turn; returns the told changes by check number (1-based). */
function run(checks: readonly (readonly HealthState[])[], start: HealthWatch | null = null) {
  let watch = start;
  const told: [number, string][] = [];
  checks.forEach((states, i) => {
    const step = watchHealth(watch, states);
    watch = step.next;
    if (step.settled) told.push([i + 1, describeHealthSettled(step.settled)]);
  });
  return { told, watch };
}

describe('watchHealth', () => {
  it('takes the first check as where the host stands, without telling', () => {
    expect(run([UV]).told).toEqual([]);
    expect(run([UV]).watch?.settled).toEqual({ kind: 'states', key: 'undervoltage-now,throttled-now' });
  });

  it('tells a change once, at the second check it holds, and not again while it holds', () => {
    expect(run([OK, UV, UV, UV, UV]).told).toEqual([[3, 'health: ok → undervoltage now, throttled now']]);
    expect(run([OK, UV, UV, OK, OK]).told).toEqual([
      [3, 'health: ok → undervoltage now, throttled now'],
      [5, 'health: undervoltage now, throttled now → ok'],
    ]);
  });

  it('never tells a one-check blip', () => {
    expect(run([OK, UV, OK, OK, HOT, OK, OK]).told).toEqual([]);
  });

  it('tells a host alternating ok and undervoltage once, as flapping, however long it goes on', () => {
    const checks = Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? OK : UV));
    expect(run(checks).told).toEqual([
      [
        FLAP_CHECKS,
        'health flapping: ok / undervoltage now, throttled now (changed at each of the last 4 checks)',
      ],
    ]);
  });

  it('tells flapping between undervoltage now and since boot (a real Pi keeps the since-boot bits) once', () => {
    expect(run([OK, UV, UV_BOOT, UV, UV_BOOT, UV, UV_BOOT]).told).toEqual([
      [
        4,
        'health flapping: ok / undervoltage now, throttled now / undervoltage since boot, throttled since boot (changed at each of the last 4 checks)',
      ],
    ]);
  });

  it('tells a flapping host once it settles, and flapping again only after that', () => {
    expect(run([OK, UV, OK, UV, OK, OK, OK, UV, OK, UV]).told).toEqual([
      [4, expect.stringContaining('health flapping')],
      [6, 'health settled: ok'],
      [10, expect.stringContaining('health flapping')],
    ]);
  });

  it('carries on from a stored watch (after a restart)', () => {
    const before = run([OK, UV]).watch;
    expect(run([UV], before).told).toEqual([[1, 'health: ok → undervoltage now, throttled now']]);
    expect(before?.recent).toEqual(['', 'undervoltage-now,throttled-now']);
  });

  it('keeps no more than the checks flapping needs', () => {
    const { watch } = run(Array.from({ length: 20 }, () => OK));
    expect(watch?.recent).toHaveLength(FLAP_CHECKS);
  });
});

describe('health keys', () => {
  it('are the states in a fixed order, read back the same', () => {
    expect(healthKey(['hot', 'undervoltage-now'])).toBe('undervoltage-now,hot');
    expect(statesOfKey('undervoltage-now,hot')).toEqual(['undervoltage-now', 'hot']);
    expect(statesOfKey('')).toEqual([]);
    expect(statesOfKey('bogus,hot')).toEqual(['hot']);
  });

  it('describe a change from flapping as settled', () => {
    const change: HealthSettled = {
      from: { kind: 'flapping' },
      to: { kind: 'states', key: 'hot' },
      between: [],
    };
    expect(describeHealthSettled(change)).toBe('health settled: hot');
  });
});
