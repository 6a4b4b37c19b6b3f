// What a scheduled check reports: only hosts whose condition changed since the previous check, in words.
import { describe, expect, it } from 'vitest';
import type { HostStatusRow } from '../../src/engine/status.ts';
import { describeChange, fleetChanges, snapshotOf } from '../../src/scheduler/fleet-changes.ts';

function row(host: string, over: Partial<HostStatusRow> = {}): HostStatusRow {
  return {
    host,
    site: 'baard',
    address: host,
    reachable: true,
    sync: 'in-sync',
    deployed: null,
    lastRun: null,
    pendingApproval: null,
    ...over,
  };
}

describe('fleetChanges', () => {
  const before = snapshotOf([row('a'), row('b'), row('c', { reachable: false, error: 'refused' })]);

  it('finds nothing when every host is as it was', () => {
    expect(fleetChanges(before, [row('a'), row('b'), row('c', { reachable: false })])).toEqual([]);
  });

  it('reports a host that became unreachable, one that drifted and one that came back', () => {
    const changes = fleetChanges(before, [
      row('a', { reachable: false, error: 'connect ETIMEDOUT' }),
      row('b', { sync: 'drifted' }),
      row('c', { sync: 'behind' }),
    ]);
    expect(changes.map((c) => [c.host, c.from, c.to])).toEqual([
      ['a', 'in-sync', 'unreachable'],
      ['b', 'in-sync', 'drifted'],
      ['c', 'unreachable', 'behind'],
    ]);
    expect(changes.map(describeChange)).toEqual([
      'became unreachable: connect ETIMEDOUT',
      'in sync → drifted (not what was deployed)',
      'recovered: reachable again, behind (an older generation than deployed)',
    ]);
  });

  it('reports a host added to the configuration', () => {
    const [change] = fleetChanges(before, [row('a'), row('b'), row('c', { reachable: false }), row('d')]);
    expect(change && describeChange(change)).toBe('now watched: in sync');
  });
});

describe('screens off on schedule', () => {
  const off = (host: string) => row(host, { reachable: false, error: 'refused', offSchedule: true });

  it('going off in its off hours, and coming back on as it was, is no news', () => {
    const on = snapshotOf([row('a'), row('b', { reachable: false, error: 'refused' })]);
    expect(fleetChanges(on, [off('a'), off('b')])).toEqual([]);
    expect(fleetChanges(snapshotOf([off('a')]), [row('a')])).toEqual([]);
  });

  it('coming back changed is reported, and so is a host off outside its off hours', () => {
    const changes = fleetChanges(snapshotOf([off('a'), off('b')]), [
      row('a', { sync: 'drifted' }),
      row('b', { reachable: false, error: 'refused' }),
    ]);
    expect(changes.map((c) => [c.host, c.from, c.to, describeChange(c)])).toEqual([
      ['a', 'off', 'drifted', 'recovered: reachable again, drifted (not what was deployed)'],
      ['b', 'off', 'unreachable', 'became unreachable: refused'],
    ]);
  });
});
