// What `nix flake metadata --json` says of the fleet flake, read the same way whichever Nix printed it. The
// versions the office runs differ in three places (fixtures of both: test/fixtures/nix/flake-metadata-*.json):
// - the default branch: Nix 2.8 locks it as `ref: "main"`, Nix 2.24 as `ref: "refs/heads/main"`;
// - a commit asked for by id (`?rev=`): Nix 2.8 locks no ref, Nix 2.24 adds the repository's HEAD branch
//   (`refs/heads/main`) to `locked` and to the locked URL, whether or not the commit is on it;
// - a tree with uncommitted changes: Nix 2.8 prints no revision at all, Nix 2.24 a `dirtyRevision`.
import { z } from 'zod';
import { branchName, isCommitId } from '../../core/revision.ts';

export const flakeMetadata = z.looseObject({
  url: z.string(),
  /** The flake as Nix reads the reference given, unlocked (`git+file:///srv/fleet` for `/srv/fleet`). */
  resolvedUrl: z.string().optional(),
  path: z.string().optional(),
  revision: z.string().optional(),
  dirtyRevision: z.string().optional(),
  locked: z.looseObject({
    type: z.string(),
    ref: z.string().optional(),
    rev: z.string().optional(),
    url: z.string().optional(),
    path: z.string().optional(),
  }),
});

export type FlakeMetadata = z.infer<typeof flakeMetadata>;

export interface LockedFlake {
  /** The locked URL to build from: exactly the commit resolved, naming no branch it was not asked by. */
  readonly flake: string;
  /** The branch or tag the revision was resolved from, as people name it (`main`); null for a commit id. */
  readonly branch: string | null;
  /** The commit; null for a plain directory or a git tree with uncommitted changes. */
  readonly rev: string | null;
  readonly dirty: boolean;
  /** The flake's directory on this machine, where it is one. */
  readonly path: string | null;
}

/** The revision `meta` locks, for a request of `ref` (null: the default branch). */
export function lockedFlake(meta: FlakeMetadata, ref: string | null): LockedFlake {
  const { locked } = meta;
  const git = locked.type === 'git';
  const rev = meta.revision ?? (locked.rev && isCommitId(locked.rev) ? locked.rev : undefined) ?? null;
  const dirty = git && (rev === null || meta.dirtyRevision !== undefined);
  const byCommit = ref !== null && isCommitId(ref);
  // A commit asked for by id has no branch: the one Nix 2.24 names is only where HEAD points.
  const lockedRef = byCommit || locked.ref === undefined ? null : locked.ref;
  return {
    flake: byCommit && git ? withoutRef(meta.url) : meta.url,
    branch: lockedRef === null ? null : ref === null ? branchName(lockedRef) : lockedRef,
    rev: dirty ? null : rev,
    dirty,
    path: localDir(locked),
  };
}

/** The URL without its `ref=` parameter (Nix 2.24's HEAD branch on a URL locked by commit). */
function withoutRef(url: string): string {
  const at = url.indexOf('?');
  if (at < 0) return url;
  const kept = url
    .slice(at + 1)
    .split('&')
    .filter((p) => p !== '' && !p.startsWith('ref='));
  return kept.length === 0 ? url.slice(0, at) : `${url.slice(0, at)}?${kept.join('&')}`;
}

/** The directory of a flake on this machine: a `path:` flake or a `git+file://` repository. */
function localDir(locked: FlakeMetadata['locked']): string | null {
  if (locked.type === 'path' && locked.path) return locked.path;
  if (locked.type === 'git' && locked.url?.startsWith('file://')) {
    try {
      return decodeURIComponent(new URL(locked.url).pathname);
    } catch {
      return null;
    }
  }
  return null;
}
