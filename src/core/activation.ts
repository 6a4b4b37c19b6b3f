// The commands that activate a system on a host, as `nixos-rebuild switch --target-host` runs them
// (nixos-rebuild-ng): check that the path is a NixOS system, point the system profile at it, then run its
// switch-to-configuration, inside a transient systemd unit where systemd runs so that the switch survives a
// dropped SSH connection and a second, overlapping switch is refused by the unit's fixed name.
import type { StorePath } from './types.ts';

export const SYSTEM_PROFILE = '/nix/var/nix/profiles/system';
export const SWITCH_UNIT = 'nixos-rebuild-switch-to-configuration';

export type SwitchAction = 'switch' | 'boot' | 'test' | 'dry-activate';

export interface ActivationTarget {
  /** Whether the SSH user is not root: profile and switch then run under sudo, as with `--sudo`. */
  readonly sudo: boolean;
  /** Whether `/run/systemd/system` exists on the host. */
  readonly systemd: boolean;
}

type Argv = readonly string[];

const sudo = (t: ActivationTarget, argv: Argv): Argv =>
  t.sudo ? ['sudo', '--non-interactive', '--', ...argv] : argv;

/** Fails (exit 1) unless the path is a NixOS system: nixos-rebuild refuses anything without `nixos-version`. */
export function checkSystemCommand(toplevel: StorePath): Argv {
  return ['test', '-f', `${toplevel}/nixos-version`];
}

export function setProfileCommand(t: ActivationTarget, toplevel: StorePath): Argv {
  return sudo(t, ['nix-env', '-p', SYSTEM_PROFILE, '--set', toplevel]);
}

export function rollbackProfileCommand(t: ActivationTarget): Argv {
  return sudo(t, ['nix-env', '-p', SYSTEM_PROFILE, '--rollback']);
}

/** `switch-to-configuration ACTION` of `system` (a toplevel, or the profile itself after a rollback). */
export function switchCommand(t: ActivationTarget, system: string, action: SwitchAction = 'switch'): Argv {
  const stc = [`${system}/bin/switch-to-configuration`, action];
  if (!t.systemd) return sudo(t, stc);
  return sudo(t, [
    'systemd-run',
    '-E',
    'LOCALE_ARCHIVE',
    '-E',
    'NIXOS_INSTALL_BOOTLOADER',
    '--collect',
    '--no-ask-password',
    '--pipe',
    '--quiet',
    '--service-type=exec',
    `--unit=${SWITCH_UNIT}`,
    ...stc,
  ]);
}

/**
 * A system copied ahead of its switch (`copy`) must survive a garbage collection on the host until then: the
 * system profile does not hold it yet. One root, replaced by each copy and removed by the switch.
 */
export const STAGED_ROOT = '/nix/var/nix/gcroots/signage-bot-staged';

export function keepStagedCommand(t: ActivationTarget, toplevel: StorePath): Argv {
  return sudo(t, ['nix-store', '--realise', toplevel, '--add-root', STAGED_ROOT]);
}

export function dropStagedCommand(t: ActivationTarget): Argv {
  return sudo(t, ['rm', '-f', STAGED_ROOT]);
}

/** The host's restart command, under sudo when the SSH user is not root. */
export function restartCommand(t: ActivationTarget, argv: Argv): Argv {
  return sudo(t, argv);
}
