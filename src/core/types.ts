// Value types shared by the pure core, the engine and the adapters. No I/O here, and no imports from
// adapters, front ends or `node:*` (see DESIGN in the README).

import type { ActivationSettings } from './activation-sequence.ts';
import type { HealthSettings } from './health.ts';
import type { HostPolicy } from './policy.ts';

/** An absolute Nix store path, `/nix/store/<hash>-<name>`. Validated where it enters (see storepath.ts). */
export type StorePath = string;

/** What the planner needs to know of one store path: what `nix path-info --json` reports. */
export interface PathInfo {
  readonly path: StorePath;
  /** Size of the path's NAR serialisation in bytes: what a copy moves, before compression. */
  readonly narSize: number;
  /** Store paths this one references (may include itself). */
  readonly references: readonly StorePath[];
  /** `keyname:base64` signatures; empty when unsigned. */
  readonly signatures: readonly string[];
}

/** A host of the fleet as the configuration describes it, with defaults filled in. */
export interface HostSpec {
  /** The flake's `nixosConfigurations` attribute name, and the name users type. */
  readonly name: string;
  /** How the bot reaches the host over SSH (a tailnet name by default: the host's name). */
  readonly address: string;
  /** How peers on the same LAN reach this host for host-to-host copies (defaults to `address`). */
  readonly lanAddress: string;
  readonly port: number;
  /** SSH user; `sudo` is used for activation when it is not root. */
  readonly user: string;
  /** Hosts with the same site share a LAN: only they copy from each other. */
  readonly site: string;
  readonly tags: readonly string[];
  /** argv run on the host after an approval, e.g. `systemctl restart display-manager.service`. */
  readonly restartCommand: readonly string[];
  /** Revert time and health checks for activation; the kiosk defaults when absent. */
  readonly activation?: ActivationSettings;
  /** Its time zone, maintenance windows and off hours (sites and tags); any time, never off, when absent. */
  readonly policy?: HostPolicy;
  /** Power and temperature commands and limits for status and the fleet report; DEFAULT_HEALTH when absent. */
  readonly health?: HealthSettings;
  /** How to take a screenshot of the host's display; absent when none is configured. */
  readonly screenshot?: ScreenshotSettings;
}

/** A command on the host printing a PNG of its display on stdout, and the bounds it is held to. */
export interface ScreenshotSettings {
  readonly argv: readonly string[];
  readonly timeoutMs: number;
  readonly maxBytes: number;
}

/** Where a store path comes from in a plan: a peer host by name, or the builder over the uplink. */
export type Source = { readonly kind: 'peer'; readonly host: string } | { readonly kind: 'builder' };

export type StageName = 'build' | 'plan' | 'copy' | 'switch' | 'approve' | 'restart' | 'rollback' | 'reboot';
export type StageOutcome = 'ok' | 'noop' | 'failed' | 'skipped';
