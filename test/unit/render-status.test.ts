// Fleet status in Slack: each host with its state, the hosts that need a look first, and within Slack's
// limits however large the fleet (checked with the fake Slack's own validator).
import { describe, expect, it } from 'vitest';
import { type CommandOutcome, DEFAULT_HEALTH, hostHealth } from '../../src/core/health.ts';
import type { HostStatusRow } from '../../src/engine/status.ts';
import { statusSlack, statusText } from '../../src/verbs/render-status.ts';
import type { SlackMessage } from '../../src/verbs/verb.ts';
import { messageProblems } from '../support/fake-slack/index.ts';

const GiB = 1024 ** 3;
const sys = (name: string) => `/nix/store/${'a'.repeat(32)}-nixos-system-${name}`;

function row(host: string, over: Partial<HostStatusRow> = {}): HostStatusRow {
  return {
    host,
    site: 'baard',
    address: host,
    reachable: true,
    facts: {
      currentSystem: sys(host),
      bootedSystem: sys(host),
      generations: [],
      currentGeneration: 3,
      profileSystem: sys(host),
      nixosVersion: '25.05',
      store: { totalBytes: 8 * GiB, freeBytes: 2 * GiB },
      systemd: true,
      nixVersion: '2.8.0',
      uptimeSeconds: 100,
      currentKernel: `${sys('linux')}/bzImage`,
      bootedKernel: `${sys('linux')}/bzImage`,
      activationMarker: null,
      power: { kind: 'off' },
      temperature: { kind: 'off' },
      notes: [],
    },
    sync: 'in-sync',
    rebootPending: false,
    deployed: { toplevel: sys(host), at: '2025-03-04T09:00:00.000Z', runId: 'r1' },
    lastRun: {
      id: 'r1',
      verb: 'deploy',
      actor: { kind: 'slack', userId: 'U0ALICE' },
      at: '2025-03-04T09:00:00.000Z',
      status: 'ok',
    },
    pendingApproval: null,
    ...over,
  };
}

const sections = (m: SlackMessage) =>
  (m.blocks ?? []).filter((b) => b.type === 'section').map((b) => (b.text as { text: string }).text);

describe('statusSlack', () => {
  it('names each host with its state, generation, free space and last run, unreachable ones first', () => {
    const msg = statusSlack([
      row('baard-entrance'),
      row('baard-lobby', { reachable: false, error: 'ssh: timed out' }),
    ]);
    expect(messageProblems(msg)).toEqual([]);
    expect(msg.text).toBe('Status of 2 hosts: 1 unreachable, 0 not in sync');
    const [lobby, entrance] = sections(msg);
    expect(lobby).toContain('*baard-lobby*\nunreachable: ssh: timed out');
    expect(entrance).toContain('*baard-entrance*\nin sync; generation 3');
    expect(entrance).toContain('/nix: 2 GiB free of 8 GiB');
    expect(entrance).toContain('last deploy ok by <@U0ALICE>');
  });

  it('stays within 50 blocks for a large fleet and counts the hosts it leaves out', () => {
    const rows = Array.from({ length: 300 }, (_, i) => row(`pi-${i}`, i === 299 ? { sync: 'drifted' } : {}));
    const msg = statusSlack(rows);
    expect(messageProblems(msg)).toEqual([]);
    expect(msg.blocks!.length).toBeLessThanOrEqual(50);
    expect(sections(msg)[0]).toContain('*pi-299*\ndrifted');
    expect(JSON.stringify(msg.blocks)).toMatch(/…and 253 more hosts, all in sync/);
  });

  it('tells an activation not confirmed from an interrupted switch, and names the profile', () => {
    const base = row('baard-entrance');
    const unconfirmed = (marker: 'armed' | null) =>
      statusText([
        row('baard-entrance', {
          sync: 'unconfirmed',
          facts: { ...base.facts!, profileSystem: sys('other'), activationMarker: marker },
        }),
      ]);
    expect(unconfirmed(null)).toContain('interrupted switch (the system profile is not what runs)');
    expect(unconfirmed(null)).toContain('profile nixos-system-other');
    expect(unconfirmed('armed')).toContain('activation not confirmed (armed; the host reverts by itself');
    expect(statusText([row('baard-entrance', { sync: 'reboot-pending', rebootPending: true })])).toContain(
      'reboot pending',
    );
  });

  it('shows health: states, uptime and readings; a host with warnings first; "not available" without vcgencmd', () => {
    const health = (power: CommandOutcome, temperature: CommandOutcome) =>
      hostHealth(
        {
          store: { totalBytes: 8 * GiB, freeBytes: 2 * GiB },
          uptimeSeconds: 3 * 86_400 + 7200,
          power,
          temperature,
        },
        DEFAULT_HEALTH,
      );
    const ran = (output: string): CommandOutcome => ({ kind: 'ran', exitCode: 0, output });
    const rows = [
      row('baard-entrance', { health: health(ran('throttled=0x0'), ran("temp=47.2'C")) }),
      row('baard-lobby', { health: health(ran('throttled=0x50005'), ran("temp=81.0'C")) }),
      row('baard-kitchen', { health: health({ kind: 'missing' }, { kind: 'missing' }) }),
    ];
    const text = statusText(rows);
    expect(text).toContain('health: ok\n');
    expect(text).toContain('up 3 d 2 h; power throttled=0x0; temperature 47.2 °C');
    expect(text).toContain('health: undervoltage now, throttled now, hot');
    expect(text).toContain('power throttled=0x50005; temperature 81.0 °C');
    expect(text).toContain('up 3 d 2 h; power not available; temperature not available');
    const msg = statusSlack(rows);
    expect(messageProblems(msg)).toEqual([]);
    expect(msg.text).toBe('Status of 3 hosts: 0 unreachable, 0 not in sync, 1 with health warnings');
    expect(sections(msg)[0]).toContain('*baard-lobby*');
    expect(sections(msg)[0]).toContain('health: undervoltage now, throttled now, hot');
  });

  it('takes a title of its own', () => {
    expect(statusSlack([row('a')], 'Watching the fleet').text).toBe('Watching the fleet');
  });
});

describe('off hours and pending work', () => {
  const pending = {
    host: 'cafe-wall',
    toplevel: sys('cafe-wall'),
    revision: null,
    reason: 'unreachable' as const,
    since: new Date('2025-03-04T09:00:00Z'),
    opensAt: null,
    requestedBy: { kind: 'cli' as const, user: 'ops' },
    runId: 'r9',
    verb: 'deploy' as const,
    restart: 'ask' as const,
    text: 'pending since 2025-03-04T09:00:00.000Z (run r9): it did not answer; brought up to date when it answers again',
  };

  it('says "off (on schedule)" for a host down in its off hours, not unreachable, and counts it apart', () => {
    const rows = [
      row('cafe-wall', { reachable: false, error: 'connection refused', offSchedule: true, pending }),
      row('lobby', { reachable: false, error: 'connection refused' }),
    ];
    const text = statusText(rows);
    expect(text).toContain('◌ cafe-wall  off (on schedule)');
    expect(text).toContain(`             ${pending.text}`);
    expect(text).toContain('○ lobby      unreachable: connection refused');
    const slack = statusSlack(rows);
    expect(slack.text).toBe('Status of 2 hosts: 1 unreachable, 0 not in sync, 1 off on schedule, 1 pending');
    expect(JSON.stringify(slack.blocks)).toContain('off (on schedule)');
  });
});
