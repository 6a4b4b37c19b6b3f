// How a reboot a stopped process left open is settled, from what the host says at the next start.
import { describe, expect, it } from 'vitest';
import { activationNote } from '../../src/core/activation-note.ts';
import type { ActivationOutcome, ActivationRecord } from '../../src/core/ports/state.ts';
import {
  type HostBootState,
  type OpenReboot,
  parseHostBootState,
  settleReboot,
} from '../../src/core/reboot-settle.ts';

const sys = (c: string) => `/nix/store/${c.repeat(32)}-nixos-system-a`;
const [OLD, NEW, OTHER] = [sys('a'), sys('b'), sys('c')];
const at = new Date('2026-12-07T10:00:00Z');
const staged: OpenReboot = { host: 'a', previous: OLD, next: NEW, deadline: new Date(at.getTime() + 60_000) };
const plain: OpenReboot = { ...staged, previous: NEW };
const quiet: HostBootState = { token: false, pending: null, outcome: null };
const up = (current: string, booted: string, boot: Partial<HostBootState> = {}) =>
  ({ kind: 'up', current, booted, boot: { ...quiet, ...boot } }) as const;

describe('parseHostBootState', () => {
  it('reads the token, the pending system and each kind of outcome', () => {
    expect(parseHostBootState(`token\npending ${NEW}\noutcome confirmed ${NEW}\n`)).toEqual({
      token: true,
      pending: NEW,
      outcome: { kind: 'confirmed', next: NEW },
    });
    expect(parseHostBootState(`outcome reverted ${NEW} ${OLD}\n`).outcome).toEqual({
      kind: 'reverted',
      next: NEW,
      previous: OLD,
    });
    expect(parseHostBootState(`outcome revert-failed ${NEW} ${OLD}`).outcome?.kind).toBe('revert-failed');
    expect(parseHostBootState('')).toEqual(quiet);
    expect(parseHostBootState('pending garbage\noutcome what').pending).toBeNull();
  });
});

describe('settleReboot', () => {
  it('a host that came up on its new system, confirmed: confirmed', () => {
    const s = settleReboot(staged, up(NEW, NEW, { outcome: { kind: 'confirmed', next: NEW } }), at);
    expect(s.outcome).toBe('confirmed');
    expect(s.message).toContain(`came up on its new system ${NEW}`);
  });

  it('a plain reboot that came back: confirmed, saying it came back up', () => {
    const s = settleReboot(plain, up(NEW, NEW), at);
    expect(s).toEqual({ outcome: 'confirmed', message: expect.stringContaining(`came back up on ${NEW}`) });
  });

  it('reverted by the boot guard', () => {
    const s = settleReboot(
      staged,
      up(OLD, OLD, { outcome: { kind: 'reverted', next: NEW, previous: OLD } }),
      at,
    );
    expect(s.outcome).toBe('reverted-by-host');
    expect(s.message).toContain(`reverted via its boot guard to ${OLD}`);
  });

  it('still down: left open, saying the guard undoes it', () => {
    const s = settleReboot(staged, { kind: 'down', why: 'connect ETIMEDOUT' }, at);
    expect(s.outcome).toBeNull();
    expect(s.message).toContain('still down after its reboot');
    expect(s.message).toContain('connect ETIMEDOUT');
    expect(s.message).toContain(`its boot guard puts ${OLD} back`);
  });

  it('up on the new system, the guard still waiting for a confirmation: left open', () => {
    const s = settleReboot(staged, up(NEW, NEW, { pending: NEW }), at);
    expect(s.outcome).toBeNull();
    expect(s.message).toContain('the bot stopped before confirming it');
  });

  it('never rebooted: open until the deadline, then unchanged', () => {
    expect(settleReboot(staged, up(OLD, OLD, { token: true, pending: NEW }), at).outcome).toBeNull();
    const late = new Date(staged.deadline.getTime() + 1);
    expect(settleReboot(staged, up(OLD, OLD, { token: true, pending: NEW }), late).outcome).toBe('unchanged');
  });

  it('anything else is unknown, and a failed guard says so', () => {
    expect(settleReboot(staged, up(OTHER, OTHER), at).outcome).toBe('unknown');
    const failed = settleReboot(
      staged,
      up(NEW, NEW, { outcome: { kind: 'revert-failed', next: NEW, previous: OLD } }),
      at,
    );
    expect(failed.outcome).toBe('unknown');
    const failedOld = settleReboot(
      staged,
      up(OTHER, OTHER, { outcome: { kind: 'revert-failed', next: NEW, previous: OLD } }),
      at,
    );
    expect(failedOld.outcome).toBe('unknown');
    expect(failedOld.message).toContain('could not put');
  });
});

describe('activationNote for a reboot', () => {
  const record = (outcome: ActivationOutcome | null, detail: string | null): ActivationRecord => ({
    id: 1,
    kind: 'boot',
    host: 'a',
    runId: 'r1',
    previous: OLD,
    next: NEW,
    startedAt: at,
    deadline: staged.deadline,
    outcome,
    settledAt: outcome === null ? null : at,
    detail,
  });

  it('says what the host said once settled, and what happens meanwhile while open', () => {
    const said = `a: reverted via its boot guard to ${OLD}: its reboot into ${NEW} was never confirmed`;
    expect(activationNote(record('reverted-by-host', said))).toBe(said);
    expect(activationNote(record(null, null))).toContain('its boot guard undoes an unconfirmed system');
    expect(activationNote(record('unchanged', 'never rebooted'))).toBeNull();
    // A switch's record keeps its own words.
    expect(activationNote({ ...record('reverted-by-host', null), kind: 'switch' })).toBe(
      `reverted by itself to ${OLD}`,
    );
  });
});
