import { describe, expect, it } from 'vitest';
import {
  checkSystemCommand,
  restartCommand,
  rollbackProfileCommand,
  setProfileCommand,
  switchCommand,
} from '../../src/core/activation.ts';

const P = '/nix/store/8fzncg17pkmf1nhh6dliygjk60zjv4mr-nixos-system-baard-entrance-26.05.1.signage';

describe('activation commands, as nixos-rebuild switch --target-host runs them', () => {
  it('checks for nixos-version and sets the system profile', () => {
    expect(checkSystemCommand(P)).toEqual(['test', '-f', `${P}/nixos-version`]);
    expect(setProfileCommand({ sudo: false, systemd: true }, P)).toEqual([
      'nix-env',
      '-p',
      '/nix/var/nix/profiles/system',
      '--set',
      P,
    ]);
  });

  it('runs switch-to-configuration in a transient unit with a fixed name where systemd runs', () => {
    const argv = switchCommand({ sudo: false, systemd: true }, P);
    expect(argv[0]).toBe('systemd-run');
    expect(argv).toContain('--unit=nixos-rebuild-switch-to-configuration');
    expect(argv.slice(-2)).toEqual([`${P}/bin/switch-to-configuration`, 'switch']);
  });

  it('runs it directly without systemd, and everything under sudo for a non-root user', () => {
    expect(switchCommand({ sudo: false, systemd: false }, P)).toEqual([
      `${P}/bin/switch-to-configuration`,
      'switch',
    ]);
    expect(switchCommand({ sudo: true, systemd: false }, P, 'boot')).toEqual([
      'sudo',
      '--non-interactive',
      '--',
      `${P}/bin/switch-to-configuration`,
      'boot',
    ]);
    expect(rollbackProfileCommand({ sudo: true, systemd: true }).slice(0, 3)).toEqual([
      'sudo',
      '--non-interactive',
      '--',
    ]);
    expect(
      restartCommand({ sudo: true, systemd: true }, ['systemctl', 'restart', 'display-manager.service']),
    ).toEqual(['sudo', '--non-interactive', '--', 'systemctl', 'restart', 'display-manager.service']);
  });
});
