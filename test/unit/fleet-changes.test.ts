// What a scheduled check reports: only hosts whose condition changed since the previous check, in words.
import { describe, expect, it } from 'vitest';
import { type CommandOutcome, DEFAULT_HEALTH, hostHealth } from '../../src/core/health.ts';
import type { HealthWatch } from '../../src/core/health-watch.ts';
import type { HostFacts } from '../../src/core/host-facts.ts';
import type { Engine } from '../../src/engine/engine.ts';
import type { HostStatusRow } from '../../src/engine/status.ts';
import {
  describeChange,
  describeHealthChange,
  fleetChanges,
  healthChanges,
  snapshotOf,
} from '../../src/scheduler/fleet-changes.ts';
import { type FleetReport, statusJob } from '../../src/scheduler/jobs.ts';
import { fleetReportMessage } from '../../src/scheduler/report-message.ts';

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

/** What a host's probe said: a host running no system of ours yet, changed by `over`. */
function facts(over: Partial<HostFacts> = {}): HostFacts {
  return {
    currentSystem: null,
    bootedSystem: null,
    generations: [],
    currentGeneration: 1,
    profileSystem: null,
    nixosVersion: null,
    store: null,
    systemd: true,
    nixVersion: '2.8.0',
    uptimeSeconds: 60,
    currentKernel: null,
    bootedKernel: null,
    activationMarker: null,
    power: { kind: 'off' },
    temperature: { kind: 'off' },
    notes: [],
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

describe('a new system staged for the next boot', () => {
  const next = `/nix/store/${'b'.repeat(32)}-nixos-system-a-2`;
  const old = `/nix/store/${'a'.repeat(32)}-nixos-system-a-1`;
  const staged = row('a', {
    sync: 'unconfirmed',
    stagedBoot: next,
    facts: facts({ currentSystem: old, bootedSystem: old, profileSystem: next }),
  });

  it('is reported as staged for the next boot, not unconfirmed, in the change and the host lines', () => {
    const changes = fleetChanges(snapshotOf([row('a')]), [staged]);
    expect(changes.map(describeChange)).toEqual(['in sync → staged for next boot (reboot pending)']);
    const message = fleetReportMessage({ kind: 'changed', changes, health: [], rows: [staged] });
    const text = JSON.stringify(message.blocks);
    expect(text).toContain('staged for next boot (reboot pending');
    expect(text).not.toContain('unconfirmed');
    expect(text).not.toContain('interrupted switch');
    const first = JSON.stringify(fleetReportMessage({ kind: 'first', rows: [staged], health: [] }).blocks);
    expect(first).toContain('staged for next boot (reboot pending');
    expect(first).not.toContain('interrupted switch');
  });

  it('is unconfirmed still when the staged system is not what the profile holds', () => {
    const other = { ...staged, stagedBoot: `/nix/store/${'c'.repeat(32)}-nixos-system-a-3` };
    expect(fleetChanges(snapshotOf([row('a')]), [other]).map(describeChange)).toEqual([
      'in sync → unconfirmed (an activation not confirmed, or an interrupted switch)',
    ]);
  });
});

describe('healthChanges', () => {
  const ran = (output: string): CommandOutcome => ({ kind: 'ran', exitCode: 0, output });
  const withPower = (host: string, output: string, over: Partial<HostStatusRow> = {}) =>
    row(host, {
      facts: facts(),
      health: hostHealth(
        { store: null, uptimeSeconds: 60, power: ran(output), temperature: { kind: 'missing' } },
        DEFAULT_HEALTH,
      ),
      ...over,
    });

  it('tells a host whose undervoltage held for two checks, once, and keeps the watches', () => {
    let watches = new Map<string, HealthWatch>();
    const told: string[] = [];
    for (const power of ['throttled=0x0', 'throttled=0x50005', 'throttled=0x50005', 'throttled=0x50005']) {
      const check = healthChanges(watches, [withPower('a', power), withPower('b', 'throttled=0x0')]);
      told.push(...check.changes.map((c) => `${c.host} ${describeHealthChange(c)}`));
      watches = new Map([...watches, ...check.watches]);
    }
    expect(told).toEqual(['a health: ok → undervoltage now, throttled now']);
    expect([...watches.keys()]).toEqual(['a', 'b']);
  });

  it('leaves an unreachable host as it was', () => {
    const first = healthChanges(new Map(), [withPower('a', 'throttled=0x0')]);
    const down = healthChanges(first.watches, [row('a', { reachable: false, error: 'refused' })]);
    expect(down).toEqual({ changes: [], watches: new Map() });
  });

  it('puts health changes in the report with the changed hosts, each host once', () => {
    const rows = [withPower('a', 'throttled=0x50005'), withPower('b', 'throttled=0x0', { sync: 'drifted' })];
    const message = fleetReportMessage({
      kind: 'changed',
      changes: fleetChanges(snapshotOf([row('a'), row('b')]), rows),
      health: [
        {
          host: 'a',
          row: rows[0]!,
          change: {
            from: { kind: 'states', key: '' },
            to: { kind: 'states', key: 'undervoltage-now,throttled-now' },
            between: [],
          },
        },
      ],
      rows,
    });
    expect(message.text).toBe('2 hosts changed: b, a');
    const text = JSON.stringify(message.blocks);
    expect(text).toContain('*b* in sync → drifted');
    expect(text).toContain('*a* health: ok → undervoltage now, throttled now');
    expect(text).toContain('health: undervoltage now, throttled now');
  });

  it('tells health that settled at the first check after a restart in the first report, once', () => {
    const rows = [withPower('a', 'throttled=0x0')];
    const plain = fleetReportMessage({ kind: 'first', rows, health: [] });
    expect(JSON.stringify(plain.blocks)).not.toContain('flapping');
    const told = fleetReportMessage({
      kind: 'first',
      rows,
      health: [
        {
          host: 'a',
          row: rows[0]!,
          change: { from: { kind: 'states', key: '' }, to: { kind: 'flapping' }, between: ['', 'hot'] },
        },
      ],
    });
    expect(told.text).toMatch(/^Watching the fleet\. Status of 1 host/);
    expect(JSON.stringify(told.blocks)).toContain(
      '*a* health flapping: ok / hot (changed at each of the last 4 checks)',
    );
    expect(told.blocks!.length).toBeLessThanOrEqual(50);
  });

  it('the status job tells a settled change once, keeping the watches itself when given no store', async () => {
    const powers = ['throttled=0x0', 'throttled=0x50005', 'throttled=0x50005', 'throttled=0x50005'];
    let check = 0;
    const engine = {
      status: async () => [withPower('a', powers[check++] ?? 'throttled=0x0')],
    } as unknown as Engine;
    const posted: FleetReport[] = [];
    const job = statusJob(engine, '* * * * *', async (r) => void posted.push(r));
    for (let i = 0; i < powers.length; i++) await job.run();
    expect(posted.map((r) => r.kind)).toEqual(['first', 'changed']);
    const told = posted[1]!;
    expect(told.kind === 'changed' && told.health.map(describeHealthChange)).toEqual([
      'health: ok → undervoltage now, throttled now',
    ]);
  });
});
