// What the engine needs of the builder (the machine that evaluates the fleet flake, builds, signs, and holds
// every path) and of Nix's knowledge that is not tied to one machine: how a target pulls from a peer, and how
// to read Nix's copy log and path-info output when they come back from a host.
import type { SystemBoot } from '../reboot-need.ts';
import type { Revision } from '../revision.ts';
import type { HostSpec, PathInfo, StorePath } from '../types.ts';

export interface CopyProgress {
  /** A path finished copying (the copy log says so); the engine adds its narSize to the bytes done. */
  readonly done?: StorePath;
  /**
   * Paths finished since the last report, counted but not named (a peer copy's filtered log): the engine
   * counts them at the step's mean planned size.
   */
  readonly copied?: number;
  /** An error line from Nix, kept for the failure message. */
  readonly error?: string;
}

export interface BuilderPort {
  /** The fleet flake's `nixosConfigurations` names. */
  readonly listConfigurations: () => Promise<readonly string[]>;
  /** Resolves a ref (null: the default branch) to one locked revision, fetched fresh, never from a cache. */
  readonly resolveRevision: (ref: string | null) => Promise<Revision>;
  /** Whether a commit is in `head`'s history and how far behind it, where the history is at hand. */
  readonly commitsBehind: (
    older: string,
    head: Revision,
  ) => Promise<{ readonly ancestor: boolean; readonly count: number } | null>;
  /** Builds a host's toplevel from `flake` (a locked URL; else the configured flake); logs go to `onLog`. */
  readonly build: (
    host: string,
    opts: { signal?: AbortSignal; onLog?: (line: string) => void; flake?: string },
  ) => Promise<StorePath>;
  /**
   * Builds many hosts' toplevels at once (one evaluation, one build): the hosts that built, with their
   * toplevels; a host left out is for the caller to build alone. Throws when the batch fails as a whole.
   * Optional: without it every host is built alone.
   */
  readonly buildMany?: (
    hosts: readonly string[],
    opts: { signal?: AbortSignal; flake?: string },
  ) => Promise<ReadonlyMap<string, StorePath>>;
  /** The name of the builder's signing key (`name` in `name:base64`), to check signatures by. */
  readonly signingKeyName: () => Promise<string>;
  /** Signs the paths' closures with the builder's key, so hosts (and peers) accept them. */
  readonly sign: (paths: readonly StorePath[]) => Promise<void>;
  /** narSize, references and signatures of the paths' whole closure. */
  readonly closure: (paths: readonly StorePath[]) => Promise<readonly PathInfo[]>;
  /** Copies the roots' closures to the host over the uplink (`nix copy --to ssh://...`). */
  readonly copyTo: (
    host: HostSpec,
    roots: readonly StorePath[],
    opts: { signal?: AbortSignal; onProgress?: (p: CopyProgress) => void },
  ) => Promise<void>;
  /**
   * Stages `missing` (dependencies first) for the uplink stream: each path's compressed NAR and narinfo with
   * the builder's signatures. `closure` describes every path they reference. The caller cleans up.
   */
  readonly stageForUplink: (
    missing: readonly StorePath[],
    closure: readonly PathInfo[],
    opts: {
      compressionLevel: number;
      signal?: AbortSignal;
      /** Paths to try as deltas against the base the target holds; each kept only when smaller. */
      deltaBases?: ReadonlyMap<StorePath, StorePath>;
    },
  ) => Promise<UplinkStage>;
  /**
   * The zstd a host rebuilds deltas with, from its own package set (`nixosConfigurations.<host>.pkgs.zstd` of
   * `flake`, else the configured flake), built and signed on the builder: its program and closure.
   */
  readonly hostZstd: (
    host: string,
    opts: { flake?: string; signal?: AbortSignal },
  ) => Promise<{ readonly program: string; readonly closure: readonly PathInfo[] }>;
  /** A built system's boot links and switch inhibitors: whether it needs a reboot (reboot-need.ts). */
  readonly systemBoot: (toplevel: StorePath) => Promise<SystemBoot>;
  /** Keeps what a host was switched to from the builder's garbage collector (one root per host). */
  readonly keepRoot: (host: string, toplevel: StorePath) => Promise<void>;
  /** Keeps (or, with null, releases) the system a host is still to be brought to: its pending work. */
  readonly keepPendingRoot: (host: string, toplevel: StorePath | null) => Promise<void>;
}

/** Paths staged for the uplink stream on the builder. */
export interface UplinkStage {
  /** What each staged path takes on the uplink (narinfo and compressed NAR, or delta). */
  readonly bytes: ReadonlyMap<StorePath, number>;
  /** What each takes at most in the host's temporary space: with a delta, also its base's and rebuilt NAR. */
  readonly tempBytes: ReadonlyMap<StorePath, number>;
  /** The paths that come as deltas: their base, the delta's file on the builder, and their bytes whole. */
  readonly deltas: ReadonlyMap<
    StorePath,
    { readonly base: StorePath; readonly file: string; readonly wholeBytes: number }
  >;
  /** The importer's input for one batch (its frame), in chunks. */
  frame(batch: readonly StorePath[]): AsyncIterable<Uint8Array>;
  cleanup(): Promise<void>;
}

/** A line the host's importer prints on stdout. */
export type UplinkImporterLine =
  | {
      readonly kind: 'free';
      readonly tempKiB: number;
      readonly storeKiB: number;
      readonly sameFileSystem: boolean;
    }
  | { readonly kind: 'ready' }
  | { readonly kind: 'imported'; readonly batch: number }
  | { readonly kind: 'done' };

/** The host's side of the uplink stream: the fixed importer's command and its answers. */
export interface UplinkImporter {
  /** The command, for the largest batch's bytes and the new paths' NAR bytes (its free-space check). */
  readonly command: (
    target: { readonly sudo: boolean },
    tempBytes: number,
    storeBytes: number,
    /** The host store's zstd (`<path>/bin/zstd`) when the stream holds deltas. */
    zstd?: string | null,
  ) => readonly string[];
  readonly readLine: (line: string) => UplinkImporterLine | null;
  /** The stream's last frame. */
  readonly end: Uint8Array;
  /** Its exit status when the host lacks the space (nothing read, nothing imported). */
  readonly noSpaceExit: number;
}

/** A command for a target to run, with what to feed its standard input. */
export interface Invocation {
  readonly argv: readonly string[];
  readonly stdin: string;
}

/** Reads one copy's stderr, line by line (one reader per copy: Nix's activity ids are per process). */
export type CopyLogReader = (line: string) => CopyProgress | null;

export interface NixKnowledge {
  /**
   * What the target runs, in order, to pull `roots` from `peer` over the LAN (as the peer's read-only serving
   * account, with the target's own key), trusting `peerKnownHosts` for the peer's key: one command unless the
   * roots do not fit in one. Throws, before anything runs, on anything it cannot pass on safely.
   */
  readonly peerCopy: (
    peer: HostSpec,
    roots: readonly StorePath[],
    peerKnownHosts: string,
  ) => readonly Invocation[];
  /** A fresh reader for the stderr of one copy run with Nix's internal-json log format. */
  readonly copyLogReader: () => CopyLogReader;
  /** Why a copy failed, from its stderr lines, in words a user can act on; null when they do not say. */
  readonly diagnoseCopyFailure: (
    stderrLines: readonly string[],
    endpoint: string,
  ) => { readonly kind: string; readonly message: string; readonly hint: string } | null;
  /** The command a host runs to describe a path's closure, and the parser of its output. */
  readonly closureQuery: (path: StorePath) => readonly string[];
  readonly parsePathInfo: (stdout: string) => readonly PathInfo[];
  readonly uplinkImporter: UplinkImporter;
}
