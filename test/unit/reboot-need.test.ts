import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  describeRebootNeed,
  isInhibitedSwitch,
  parseRunningBoot,
  parseSystemBoot,
  RUNNING_BOOT_SCRIPT,
  rebootNeed,
  SYSTEM_BOOT_SCRIPT,
  type SystemBoot,
} from '../../src/core/reboot-need.ts';

const K1 = '/nix/store/0a1b2c3d4f5g6h7i8j9k0l1m2n3p4q5r-linux-6.6.51-rpi/Image';
const K2 = '/nix/store/1a1b2c3d4f5g6h7i8j9k0l1m2n3p4q5r-linux-6.6.60-rpi/Image';
const I = '/nix/store/2a1b2c3d4f5g6h7i8j9k0l1m2n3p4q5r-initrd-linux-6.6.51/initrd';
const M1 = '/nix/store/3a1b2c3d4f5g6h7i8j9k0l1m2n3p4q5r-linux-6.6.51-modules';
const M2 = '/nix/store/4a1b2c3d4f5g6h7i8j9k0l1m2n3p4q5r-linux-6.6.60-modules';
const F = '/nix/store/5a1b2c3d4f5g6h7i8j9k0l1m2n3p4q5r-firmware/lib/firmware';
const SD1 = '/nix/store/6a1b2c3d4f5g6h7i8j9k0l1m2n3p4q5r-systemd-256.8';
const SD2 = '/nix/store/7a1b2c3d4f5g6h7i8j9k0l1m2n3p4q5r-systemd-257.1';

const sys = (
  kernel: string,
  modules: string,
  inhibitors: Record<string, string> | null = null,
): SystemBoot => ({
  links: { kernel, initrd: I, 'kernel-modules': modules, firmware: F },
  inhibitors,
});

describe('whether a new system needs a reboot', () => {
  it('needs none when the boot links are the booted system’s', () => {
    const s = sys(K1, M1);
    expect(rebootNeed({ booted: s, current: s }, sys(K1, M1)).reasons).toEqual([]);
  });

  it('names a new kernel and module tree against the BOOTED system, whatever runs now', () => {
    const need = rebootNeed({ booted: sys(K1, M1), current: sys(K2, M2) }, sys(K2, M2));
    expect(need.reasons.map((r) => r.kind)).toEqual(['kernel', 'kernel-modules']);
    expect(describeRebootNeed(need)).toBe(
      'needs a reboot: kernel linux-6.6.51-rpi → linux-6.6.60-rpi, kernel-modules linux-6.6.51-modules → linux-6.6.60-modules',
    );
  });

  it('names a switch inhibitor whose value changed, compared with the current system, as NixOS does', () => {
    const need = rebootNeed(
      { booted: sys(K1, M1), current: sys(K1, M1, { systemd: SD1, only: SD1 }) },
      sys(K1, M1, { systemd: SD2, new: SD2 }),
    );
    expect(need.reasons).toEqual([{ kind: 'inhibitor', name: 'systemd', from: SD1, to: SD2 }]);
  });

  it('needs none on a host that runs no system yet', () => {
    expect(rebootNeed({ booted: null, current: null }, sys(K2, M2)).reasons).toEqual([]);
  });

  it('reads what the scripts print about real directories', () => {
    const d = mkdtempSync(join(tmpdir(), 'boot-links-'));
    const s = join(d, 'system');
    mkdirSync(s);
    symlinkSync(K2, join(s, 'kernel'));
    symlinkSync(M2, join(s, 'kernel-modules'));
    writeFileSync(join(s, 'switch-inhibitors'), JSON.stringify({ systemd: SD2 }));
    const out = execFileSync('sh', ['-c', SYSTEM_BOOT_SCRIPT, 'x', s], { encoding: 'utf8' });
    expect(parseSystemBoot(out)).toEqual({
      links: { kernel: K2, initrd: null, 'kernel-modules': M2, firmware: null },
      inhibitors: { systemd: SD2 },
    });
    // On this machine /run/current-system does not exist: both sections are empty, nothing to compare.
    const running = execFileSync('sh', ['-c', RUNNING_BOOT_SCRIPT, 'x'], { encoding: 'utf8' });
    expect(parseRunningBoot(running)).toEqual({ booted: null, current: null });
  });

  it('knows the words of a switch an inhibitor refused', () => {
    expect(
      isInhibitedSwitch(
        'There are changes to critical components of the system:\n  systemd\nRefusing to switch.',
      ),
    ).toBe(true);
    expect(isInhibitedSwitch('error: activation failed')).toBe(false);
  });
});
