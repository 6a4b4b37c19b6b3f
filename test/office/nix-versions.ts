// Which Nix each part of the office runs: Debian's 2.8 (/usr/bin) or 2.24, the Nix of NixOS 24.11, installed by
// scripts/setup into /opt/nix-2.24 from the shared/nix/ folder beside the checkout. A host's sshd environment
// (its PATH) decides which `nix`, `nix-store`, `nix-env` and `nix-daemon` it runs; the builder's Nix is the
// bot's `builder.nixBinDir`. Both versions share the builder's store format (schema 10), so a host's store
// and the builder's are read the same way by either.
//
// The default office mixes them, as a fleet upgraded one NixOS release at a time does: hosts alternate
// (the first on 2.24, the second on 2.8, ...) and the builder runs 2.24, so copies run in both directions
// between versions. Where 2.24 is not installed the office runs 2.8 alone and says so once; under CI=true
// that is an error instead, since CI must test both.

import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

export type NixRelease = '2.8' | '2.24';

/** Where each release's binaries are. */
export const NIX_BIN_DIRS: Readonly<Record<NixRelease, string>> = {
  '2.8': '/usr/bin',
  '2.24': '/opt/nix-2.24/bin',
};

/** Why Nix 2.24 cannot run here, or null when it can. */
export function nix224Missing(): string | null {
  try {
    accessSync(`${NIX_BIN_DIRS['2.24']}/nix`, constants.X_OK);
    return null;
  } catch {
    return `Nix 2.24 is not installed in ${NIX_BIN_DIRS['2.24']} (scripts/setup installs it from the shared/nix/ folder beside the checkout)`;
  }
}

let skipSaid = false;

/**
 * For tests that need two Nix versions side by side: why they cannot run here, or null. Under CI=true always
 * null, so that they run and fail (the office refuses to start) rather than skip.
 */
export function mixedOfficeUnavailable(): string | null {
  if (process.env.CI === 'true') return null;
  const missing = nix224Missing();
  if (missing !== null && !skipSaid) {
    skipSaid = true;
    console.warn(`skipping the tests that need two Nix versions: ${missing}`);
  }
  return missing === null
    ? null
    : `${missing}: only Debian's Nix 2.8 is here, and this test needs two versions`;
}

const versions = new Map<NixRelease, string>();

/** What `nix --version` of a release says, e.g. `2.24.15`. */
export function nixVersionOf(release: NixRelease): string {
  let v = versions.get(release);
  if (v === undefined) {
    const out = execFileSync(`${NIX_BIN_DIRS[release]}/nix`, ['--version'], { encoding: 'utf8' });
    v = out.trim().split(/\s+/).at(-1) ?? out.trim();
    versions.set(release, v);
  }
  return v;
}

export interface OfficeNix {
  readonly builder: NixRelease;
  readonly hosts: readonly NixRelease[];
}

let fallbackSaid = false;

/**
 * The release of the builder and of each host, in order: what was asked for, else the mixed default. Without
 * Nix 2.24 everything runs 2.8 (said once per process), except under CI=true, where that throws.
 */
export function chooseNix(
  asked: readonly (NixRelease | undefined)[],
  builder: NixRelease | undefined,
  machine: { readonly missing: string | null; readonly ci: boolean; readonly say: (line: string) => void } = {
    missing: nix224Missing(),
    ci: process.env.CI === 'true',
    say: (line) => console.warn(line),
  },
): OfficeNix {
  const wanted: OfficeNix = {
    builder: builder ?? '2.24',
    hosts: asked.map((r, i) => r ?? (i % 2 === 0 ? '2.24' : '2.8')),
  };
  const { missing } = machine;
  if (missing === null) return wanted;
  if (machine.ci) throw new Error(`${missing}; CI runs the office on Nix 2.24 and 2.8`);
  if (!fallbackSaid) {
    fallbackSaid = true;
    machine.say(`office: ${missing}; every host and the builder run Debian's Nix 2.8 alone`);
  }
  return { builder: '2.8', hosts: asked.map(() => '2.8') };
}

/** PATH entries that put a host's Nix first: none for Debian's, which is on the default PATH. */
export function nixPathPrefix(release: NixRelease | undefined): string {
  return release === '2.24' ? `${NIX_BIN_DIRS['2.24']}:` : '';
}

/** One line per office naming every version it runs, e.g. `baard-entrance: Nix 2.24.15`. */
export function describeOfficeNix(
  id: string,
  builder: NixRelease,
  hosts: readonly { readonly name: string; readonly nix?: NixRelease }[],
): string {
  const parts = [
    `builder: Nix ${nixVersionOf(builder)}`,
    ...hosts.map((h) => `${h.name}: Nix ${nixVersionOf(h.nix ?? '2.8')}`),
  ];
  return `office ${id}: ${parts.join(', ')}`;
}

/** What the default office runs, in a few words (for the benchmark's summary). */
export function officeNixVersions(): string {
  if (nix224Missing() !== null) return `Nix ${nixVersionOf('2.8')} alone (Nix 2.24 is not installed)`;
  return `builder Nix ${nixVersionOf('2.24')}; hosts Nix ${nixVersionOf('2.24')} and ${nixVersionOf('2.8')}`;
}
