// What the engine is built from. The composition root hands in the real adapters; tests hand in the
// simulated office's real ones. Time comes from `now`, never from a global clock.
import type { Actor } from '../core/events.ts';
import type { Policies } from '../core/policy.ts';
import type { BuilderPort, NixKnowledge } from '../core/ports/builder.ts';
import type { HostsPort } from '../core/ports/hosts.ts';
import type { StateStore } from '../core/ports/state.ts';
import type { RefRules } from '../core/ref-rules.ts';
import type { HostSpec } from '../core/types.ts';

export interface EngineLimits {
  /** Per site in a rollout: copies that move something at once, and activations at once after the canary. */
  readonly parallelHosts: number;
  /** Peer copies running at once into one target. */
  readonly parallelPeerCopies: number;
  /** How long a restart question stays open. */
  readonly approvalTimeoutMs: number;
}

/** How the builder's share of a copy crosses the uplink (the configuration's `uplink` section). */
export interface UplinkSettings {
  readonly transport: 'stream' | 'nix-copy';
  readonly deltas: boolean;
  readonly compressionLevel: number;
  /** The most a host holds unpacked at once while importing the stream. */
  readonly tempSpaceBytes: number;
  /** The largest base NAR a delta may be made against (a screen's memory to rebuild it is the base's size). */
  readonly deltaMaxBaseBytes?: number;
}

export const DEFAULT_UPLINK: UplinkSettings = {
  transport: 'stream',
  deltas: true,
  compressionLevel: 9,
  tempSpaceBytes: 512 * 1024 * 1024,
  deltaMaxBaseBytes: 256 * 1024 * 1024,
};

export interface EngineDeps {
  readonly hosts: readonly HostSpec[];
  readonly builder: BuilderPort;
  readonly nix: NixKnowledge;
  readonly remote: HostsPort;
  readonly store: StateStore;
  readonly now: () => Date;
  readonly limits: EngineLimits;
  /** DEFAULT_UPLINK when absent. */
  readonly uplink?: UplinkSettings;
  /** known_hosts lines that let a target check `peer`'s key at its LAN address: the bot's own trust. */
  readonly peerKnownHosts: (peer: HostSpec) => string;
  /** Whether this actor may decide a restart question (approvers in Slack; the shell user at a terminal). */
  readonly mayApprove: (actor: Actor) => Promise<boolean>;
  /** Who may deploy revisions off the default branch, and to which hosts. */
  readonly refRules: RefRules;
  /** The configuration's per-site and per-tag settings (src/core/policy.ts); none when absent. */
  readonly policies?: Policies;
}
