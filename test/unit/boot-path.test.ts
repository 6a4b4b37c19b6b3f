import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BOOT_GUARD_SCRIPT,
  BOOT_SEQUENCE,
  type BootState,
  type BootStep,
  parsePendingBoot,
  RELEASE_SCRIPT,
  STAGE_SCRIPT,
  STAGES_BOOT,
  type StepResult,
  stageCommand,
  unstageCommand,
  walkBoot,
} from '../../src/core/activation-sequence.ts';

const RESULTS: readonly StepResult[] = ['ok', 'failed', 'unreachable'];
const STATES = Object.keys(BOOT_SEQUENCE) as BootState[];
const outcomes = fc.record(
  Object.fromEntries(STATES.map((s) => [s, fc.constantFrom(...RESULTS)])) as Record<
    BootState,
    fc.Arbitrary<StepResult>
  >,
);
const P = '/nix/store/8fzncg17pkmf1nhh6dliygjk60zjv4mr-nixos-system-a-26.05.1.signage';
const N = '/nix/store/9gzncg17pkmf1nhh6dliygjk60zjv4mr-nixos-system-a-26.05.2.signage';
const stepsOf = (path: BootState[]): BootStep[] => path.map((s) => BOOT_SEQUENCE[s].step);

describe('the boot path', () => {
  it('staging ends with the new system pending behind the guard, unchanged, or left to the guard', () => {
    fc.assert(
      fc.property(outcomes, (o) => {
        const { path, end } = walkBoot('boot-start', (s) => o[s]);
        expect(['boot-pending', 'unchanged', 'host-guards']).toContain(end);
        expect(stepsOf(path).every((s) => s === 'check' || s === 'stage')).toBe(true);
      }),
    );
  });

  it('a reboot ends confirmed, reverted, or with the guard in charge; once rebooted, never merely pending', () => {
    fc.assert(
      fc.property(outcomes, (o) => {
        const { path, end } = walkBoot('pending', (s) => o[s]);
        expect(['confirmed', 'reverted', 'host-guards', 'boot-pending', 'unhealthy']).toContain(end);
        if (path.includes('rebooting')) expect(end).not.toBe('boot-pending');
      }),
    );
  });

  it('releases the guard only after the host came back on the new system, its checks and a second look', () => {
    fc.assert(
      fc.property(outcomes, (o) => {
        const { path, end } = walkBoot('pending', (s) => o[s]);
        const steps = stepsOf(path);
        const i = steps.indexOf('release');
        if (i >= 0) expect(steps.slice(0, i)).toEqual(['reboot', 'wait', 'verify', 'health', 'settle']);
        if (end === 'confirmed') expect(steps.at(-1)).toBe('release');
        // Only the staging step can make the new system the boot default.
        expect(steps.some((s) => STAGES_BOOT.has(s))).toBe(false);
      }),
    );
  });

  it('a failed check after the reboot undoes the boot and waits for the host to come back on the previous system', () => {
    const fails = (bad: BootState) => (s: BootState) => (s === bad ? 'failed' : 'ok');
    for (const bad of ['back', 'answered-boot', 'healthy-boot'] as const) {
      const { path, end } = walkBoot('pending', fails(bad));
      expect(end).toBe('reverted');
      expect(stepsOf(path).slice(-2)).toEqual(['unstage', 'wait-back']);
    }
    expect(walkBoot('pending', (s) => (s === 'rebooting' ? 'unreachable' : 'ok')).end).toBe('host-guards');
    expect(walkBoot('pending', () => 'ok').end).toBe('confirmed');
  });

  it('writes the marker before the profile or the boot default change, and refuses a system without the guard', () => {
    const marker = STAGE_SCRIPT.indexOf('mv "$d/pending.new" "$d/pending"');
    expect(marker).toBeGreaterThan(0);
    expect(STAGE_SCRIPT.indexOf('nix-env -p "$p" --set "$2"')).toBeGreaterThan(marker);
    expect(STAGE_SCRIPT.indexOf('"$2/bin/switch-to-configuration" boot')).toBeGreaterThan(marker);
    expect(STAGE_SCRIPT.indexOf('signage-boot-guard.service')).toBeLessThan(marker);
  });

  it('lets exactly one of the release and the guard take the marker', () => {
    expect(RELEASE_SCRIPT).toContain('mv "$d/pending" "$d/confirming"');
    expect(BOOT_GUARD_SCRIPT).toContain(
      'mv "$d/pending" "$d/reverting" 2>/dev/null || { echo "confirmed in time"; exit 0; }',
    );
    // The guard takes the marker before rebooting: the next boot finds nothing pending (at most one reboot).
    expect(BOOT_GUARD_SCRIPT.indexOf('mv "$d/pending" "$d/reverting"')).toBeLessThan(
      BOOT_GUARD_SCRIPT.indexOf('systemctl reboot'),
    );
  });

  it('is installed on hosts as the same text', () => {
    const file = readFileSync(new URL('../../nix/lib/boot-guard.sh', import.meta.url), 'utf8');
    const body = file
      .split('\n')
      .filter((l) => !l.startsWith('# '))
      .join('\n');
    expect(body.trim()).toBe(BOOT_GUARD_SCRIPT.trim());
  });

  it('runs stage and unstage in units of their own, under sudo for a user that is not root', () => {
    const t = { sudo: true, systemd: true };
    const stage = stageCommand(t, P, N, 120);
    expect(stage.slice(0, 4)).toEqual(['sudo', '--non-interactive', '--', 'systemd-run']);
    expect(stage).toContain('--unit=signage-stage');
    expect(stage.slice(-4)).toEqual(['signage-stage', P, N, '120']);
    expect(unstageCommand(t).slice(-2)).toEqual(['signage-boot-guard-now', 'now']);
    expect(stageCommand({ sudo: false, systemd: false }, null, N, 60).slice(0, 2)).toEqual([
      'setsid',
      '--wait',
    ]);
  });

  it('reads the pending marker', () => {
    expect(parsePendingBoot(`${P}\n${N}\n300\n`)).toEqual({ previous: P, next: N });
    expect(parsePendingBoot(`\n${N}\n300\n`)).toEqual({ previous: null, next: N });
    expect(parsePendingBoot('')).toBeNull();
  });
});
