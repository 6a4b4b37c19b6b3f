// What one look at a host tells the engine: which system it runs and booted, the system profile's
// generations, free space for the store, whether systemd runs, Nix's version, uptime. The SSH adapter runs a
// fixed script printing tagged sections (PROBE_SCRIPT) and pure code (parseProbeOutput) reads them. A host
// never deployed (no /run/current-system, no profile) is an ordinary answer with nulls and no generations.
import type { StorePath } from './types.ts';

export interface SystemGeneration {
  readonly number: number;
  readonly path: StorePath;
  /** When the generation link was made (its mtime), as `nix-env --list-generations` shows. */
  readonly createdAt: Date;
}

export interface StoreSpace {
  /** Size of the file system holding /nix/store. */
  readonly totalBytes: number;
  /** Space available to unprivileged writers, as `df` shows it. */
  readonly freeBytes: number;
}

export interface HostFacts {
  /** Target of /run/current-system; null on a host never switched to a system. */
  readonly currentSystem: StorePath | null;
  /** Target of /run/booted-system; null when absent. */
  readonly bootedSystem: StorePath | null;
  /** Generations of /nix/var/nix/profiles/system, oldest first; empty when there is no profile. */
  readonly generations: readonly SystemGeneration[];
  /** The generation the profile points at; null without a profile. */
  readonly currentGeneration: number | null;
  /** The system that generation holds: what the host boots into, and switches to on rollback. */
  readonly profileSystem: StorePath | null;
  /** Contents of the current system's `nixos-version` file. */
  readonly nixosVersion: string | null;
  readonly store: StoreSpace | null;
  /** Whether /run/systemd/system exists (systemd is the running init), as nixos-rebuild checks. */
  readonly systemd: boolean;
  /** e.g. `2.8.0`, from `nix-store --version`; null when Nix did not answer. */
  readonly nixVersion: string | null;
  readonly uptimeSeconds: number | null;
  /** Things the probe saw but could not use, e.g. a current system outside the store. */
  readonly notes: readonly string[];
}
