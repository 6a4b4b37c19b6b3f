import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ARM_SCRIPT,
  armCommand,
  CONFIRM_SCRIPT,
  confirmCommand,
  parseOutcome,
  REVERT_SCRIPT,
  revertCommand,
  SEQUENCE,
  type State,
  type Step,
  type StepResult,
  TOUCHES_BOOT,
  walk,
} from '../../src/core/activation-sequence.ts';

const RESULTS: readonly StepResult[] = ['ok', 'failed', 'unreachable'];
const STATES = Object.keys(SEQUENCE) as State[];
const result = fc.constantFrom(...RESULTS);
/** An outcome for every state a walk can visit: any combination of successes, failures and lost hosts. */
const outcomes = fc.record(
  Object.fromEntries(STATES.map((s) => [s, result])) as Record<State, fc.Arbitrary<StepResult>>,
);

const P = '/nix/store/8fzncg17pkmf1nhh6dliygjk60zjv4mr-nixos-system-a-26.05.1.signage';
const N = '/nix/store/9gzncg17pkmf1nhh6dliygjk60zjv4mr-nixos-system-a-26.05.2.signage';

describe('the activation sequence', () => {
  it('ends every path confirmed, reverted (by the bot or the host), or unchanged', () => {
    fc.assert(
      fc.property(outcomes, (o) => {
        const { end } = walk((s) => o[s]);
        expect(['confirmed', 'reverted', 'host-reverts', 'host-settles', 'unchanged']).toContain(end);
      }),
    );
  });

  it('once the revert is armed, never ends unchanged: the host is confirmed or reverted', () => {
    fc.assert(
      fc.property(outcomes, (o) => {
        const { path, end } = walk((s) => o[s]);
        if (path.includes('armed')) expect(end).not.toBe('unchanged');
      }),
    );
  });

  it('touches the profile and boot default only in the confirm step, after a fresh connection and the checks', () => {
    fc.assert(
      fc.property(outcomes, (o) => {
        const { path, end } = walk((s) => o[s]);
        const steps: Step[] = path.map((s) => SEQUENCE[s].step);
        const i = steps.findIndex((s) => TOUCHES_BOOT.has(s));
        if (i >= 0) {
          expect(steps.slice(0, i)).toEqual(['check', 'arm', 'activate', 'reconnect', 'health', 'settle']);
        }
        if (end === 'confirmed') expect(i).toBeGreaterThanOrEqual(0);
      }),
    );
    // A walk that reaches the confirm step is rare among random outcomes: check the one that does, always.
    const all = walk(() => 'ok');
    expect(all.path.map((s) => SEQUENCE[s].step)).toEqual([
      'check',
      'arm',
      'activate',
      'reconnect',
      'health',
      'settle',
      'confirm',
    ]);
  });

  it('is confirmed only when every step worked', () => {
    fc.assert(
      fc.property(outcomes, (o) => {
        const { path, end } = walk((s) => o[s]);
        if (end === 'confirmed') for (const s of path) expect(o[s]).toBe('ok');
      }),
    );
    expect(walk(() => 'ok').end).toBe('confirmed');
  });

  it('reverts at once when a check fails and the host answers; leaves it to the host when it does not', () => {
    const checkFails = walk((s) => (s === 'answered' ? 'failed' : 'ok'));
    expect(checkFails.end).toBe('reverted');
    const lost = walk((s) => (s === 'active' || s === 'reverting' ? 'unreachable' : 'ok'));
    expect(lost.end).toBe('host-reverts');
  });

  it('only the confirm and revert scripts set the profile; arming touches neither profile nor boot', () => {
    expect(ARM_SCRIPT).not.toMatch(/nix-env|bin\/switch-to-configuration|profiles/);
    expect(CONFIRM_SCRIPT.indexOf('mv "$d/armed"')).toBeLessThan(CONFIRM_SCRIPT.indexOf('nix-env'));
    expect(CONFIRM_SCRIPT.indexOf('nix-env')).toBeLessThan(CONFIRM_SCRIPT.indexOf('boot'));
    expect(REVERT_SCRIPT).toContain('"$1/bin/switch-to-configuration" test');
  });

  it('passes systems as positional parameters to fixed script text, under sudo for a non-root user', () => {
    const t = { sudo: true, systemd: true };
    const arm = armCommand(t, 120, P, N);
    expect(arm.slice(0, 6)).toEqual(['sudo', '--non-interactive', '--', 'sh', '-c', ARM_SCRIPT]);
    expect(arm.slice(7)).toEqual(['120', P, N, REVERT_SCRIPT]);
    expect(revertCommand(t, P, true).slice(-2)).toEqual([P, 'force']);
    const confirm = confirmCommand({ sudo: false, systemd: true }, N);
    expect(confirm[0]).toBe('systemd-run');
    expect(confirm).toContain('--unit=signage-confirm');
    expect(confirm).toContain('--wait');
    expect(confirm.slice(-5)).toEqual(['sh', '-c', CONFIRM_SCRIPT, 'signage-confirm', N]);
  });

  it('reads what the host says of the last activation', () => {
    expect(parseOutcome(`marker armed\n`)).toEqual({ marker: 'armed', outcome: null });
    expect(parseOutcome(`reverted ${P} 0\n`)).toEqual({
      marker: null,
      outcome: { kind: 'reverted', system: P },
    });
    expect(parseOutcome(`confirmed ${N}\n`).outcome).toEqual({ kind: 'confirmed', system: N });
  });
});
