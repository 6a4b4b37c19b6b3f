// The Home tab's view builder: each host's state, version, last deploy, free space and open question; a Show
// screen button where a screenshot can be taken; notes about hosts; and Slack's 100-block limit kept for a big
// fleet, with the hosts that need a look never the ones left out.
import { describe, expect, it } from 'vitest';
import type { HostFacts } from '../../src/core/host-facts.ts';
import type { HostStatusRow } from '../../src/engine/status.ts';
import { HOME_BLOCKS, homeView, SHOW_SCREEN_ACTION, stateOf } from '../../src/slack/home/view.ts';
import { blockProblems } from '../support/fake-slack/index.ts';

const SYSTEM = '/nix/store/4r0vq1fl8nx2vmb6sg9z3hhjcyw5pkda-nixos-system-baard-entrance-24.11.signage';

function facts(over: Partial<HostFacts> = {}): HostFacts {
  return {
    currentSystem: SYSTEM,
    bootedSystem: SYSTEM,
    generations: [],
    currentGeneration: 3,
    profileSystem: SYSTEM,
    nixosVersion: '24.11',
    store: { totalBytes: 32 * 2 ** 30, freeBytes: 5 * 2 ** 30 },
    systemd: true,
    nixVersion: '2.24.15',
    uptimeSeconds: 100,
    currentKernel: 'k1',
    bootedKernel: 'k1',
    activationMarker: null,
    power: { kind: 'off' },
    temperature: { kind: 'off' },
    notes: [],
    ...over,
  };
}

function row(host: string, over: Partial<HostStatusRow> = {}): HostStatusRow {
  return {
    host,
    site: 'baard',
    address: host,
    reachable: true,
    facts: facts(),
    sync: 'in-sync',
    rebootPending: false,
    deployed: { toplevel: SYSTEM, at: '2026-12-07T10:00:00.000Z', runId: 'r1' },
    lastRun: {
      id: 'r1',
      verb: 'deploy',
      actor: { kind: 'slack', userId: 'U0ALICE' },
      at: '2026-12-07T10:00:00.000Z',
      status: 'ok',
    },
    pendingApproval: null,
    ...over,
  };
}

const text = (blocks: unknown) => JSON.stringify(blocks);
const at = new Date('2026-12-07T12:00:00Z');

describe('the Home tab view', () => {
  it('says it is looking before the first look at the fleet', () => {
    const view = homeView({ rows: [], checkedAt: null, notes: [], screenshots: new Set() });
    expect(text(view.blocks)).toContain('Looking at the screens');
    expect(blockProblems(view.blocks, HOME_BLOCKS)).toEqual([]);
  });

  it('shows each host by site with its state, version, last deploy, free space and open question', () => {
    const rows = [
      row('baard-entrance', { pendingApproval: 'a1' }),
      row('baard-kitchen', { reachable: false, error: 'baard-kitchen did not answer within 3 s' }),
      row('oslo-hall', { site: 'oslo', sync: 'drifted' }),
    ];
    const view = homeView({
      rows,
      checkedAt: at,
      notes: [{ host: 'oslo-hall', text: 'waits for its maintenance window (22:00-06:00)' }],
      screenshots: new Set(['baard-entrance']),
    });
    const t = text(view.blocks);
    expect(view.type).toBe('home');
    expect(t).toContain('*3 screens* at 2 sites: 1 in sync, 1 unreachable, 1 drifted');
    expect(t).toContain('1 restart question open');
    expect(t).toContain(
      '*baard-entrance* · in sync\\nruns `baard-entrance-24.11.signage` · 5 GiB free on /nix',
    );
    expect(t).toContain('last deploy *ok* by <@U0ALICE> <!date^');
    expect(t).toContain(':question: a restart question waits for an answer');
    expect(t).toContain('*baard-kitchen* · unreachable\\nbaard-kitchen did not answer within 3 s');
    expect(t).toContain('*oslo* · 1 drifted');
    expect(t).toContain(':hourglass: waits for its maintenance window (22:00-06:00)');
    // Only hosts with a screenshot command get the button, which names its host.
    expect(t).toContain(`"action_id":"${SHOW_SCREEN_ACTION}baard-entrance","value":"baard-entrance"`);
    expect(t).not.toContain(`${SHOW_SCREEN_ACTION}baard-kitchen`);
    expect(blockProblems(view.blocks, HOME_BLOCKS)).toEqual([]);
  });

  it('names every state status computes', () => {
    expect(stateOf(row('a'))).toBe('in sync');
    expect(stateOf(row('a', { rebootPending: true }))).toBe('reboot pending');
    expect(stateOf(row('a', { sync: 'reboot-pending' }))).toBe('reboot pending');
    expect(stateOf(row('a', { sync: 'behind' }))).toBe('behind');
    expect(stateOf(row('a', { sync: 'drifted' }))).toBe('drifted');
    expect(stateOf(row('a', { sync: 'unconfirmed' }))).toBe('unconfirmed');
    const staged = row('a', { sync: 'unconfirmed', stagedBoot: '/nix/store/x-next' });
    const withProfile = { ...staged, facts: { ...staged.facts!, profileSystem: '/nix/store/x-next' } };
    expect(stateOf(withProfile)).toBe('staged for next boot');
    expect(stateOf(row('a', { reachable: false }))).toBe('unreachable');
    expect(stateOf(row('a', { sync: 'never-deployed' }))).toBe('never deployed');
  });

  it('summarises a big fleet within 100 blocks, keeping every host that needs a look', () => {
    const rows = Array.from({ length: 400 }, (_, i) =>
      row(`host-${i}`, {
        site: `site-${i % 4}`,
        ...(i % 50 === 7 ? { reachable: false, error: 'down' } : {}),
      }),
    );
    const screenshots = new Set(rows.map((r) => r.host));
    const view = homeView({ rows, checkedAt: at, notes: [], screenshots });
    expect(view.blocks.length).toBeLessThanOrEqual(HOME_BLOCKS);
    expect(blockProblems(view.blocks, HOME_BLOCKS)).toEqual([]);
    const t = text(view.blocks);
    for (const r of rows.filter((x) => !x.reachable)) expect(t).toContain(`*${r.host}* · unreachable`);
    expect(t).not.toContain('*host-0* · in sync');
    expect(t).toContain('*400 screens* at 4 sites: 392 in sync, 8 unreachable');
    expect(t).toContain('96 more screens here, all in sync or never deployed');
    expect(t).toContain('100 more screens here, all in sync or never deployed');
  });

  it('still fits when more hosts need a look than blocks allow', () => {
    const rows = Array.from({ length: 300 }, (_, i) => row(`host-${i}`, { sync: 'drifted' }));
    const view = homeView({ rows, checkedAt: at, notes: [], screenshots: new Set() });
    expect(view.blocks.length).toBeLessThanOrEqual(HOME_BLOCKS);
    expect(blockProblems(view.blocks, HOME_BLOCKS)).toEqual([]);
    expect(text(view.blocks)).toMatch(/more screens here, \d+ of them needing a look/);
  });
});
