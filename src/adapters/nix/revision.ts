// Resolves the fleet flake, at a ref or at its default branch, to one exact revision with
// `nix flake metadata --json --refresh` (Nix 2.8 and later): `--refresh` skips Nix's fetcher cache (its
// tarball TTL), so a branch moved a minute ago is seen now. The locked URL it prints is what every build of
// the run uses. Commit subjects and authors come from `git log` where the repository is on this machine.
import {
  applyRef,
  branchName,
  checkGitRef,
  isCommitId,
  type Revision,
  refOfUrl,
} from '../../core/revision.ts';
import { type FlakeMetadata, flakeMetadata, lockedFlake } from './flake-metadata.ts';
import { BUILDER_FEATURES, checkFilePath, checkFlakeRef } from './inputs.ts';
import { invalidInput, NixError, runNix } from './run.ts';

const GIT_TIMEOUT_MS = 10_000;

export interface ResolveOptions {
  /** The default branch's name as configured (`refs.defaultBranch`); else the URL's or Nix's. */
  readonly defaultBranch?: string;
  readonly timeoutMs?: number;
  /** builder.nixBinDir: the folder of the Nix to run. */
  readonly nixBinDir?: string;
}

/** Resolves `ref` (null: the default branch) on `flake` to a locked revision, fetched fresh. */
export async function resolveRevision(
  flake: string,
  ref: string | null,
  opts: ResolveOptions = {},
): Promise<Revision> {
  let url = flake;
  if (ref !== null) {
    const checked = checkGitRef(ref);
    if (!checked.ok) throw invalidInput(METADATA, checked.error);
    // Nix 2.24 ignores the query of a path-like flake (`/srv/fleet?ref=x` locks HEAD; Nix 2.8 honours it), so
    // a path is first read as the URL Nix makes of it (`git+file:///srv/fleet`, `?dir=` for a subdirectory).
    const base = flake.startsWith('/') ? ((await metadataOf(flake, opts)).resolvedUrl ?? flake) : flake;
    const applied = applyRef(base, checked.value);
    if (!applied.ok) throw invalidInput(METADATA, applied.error);
    url = applied.value;
  }
  let meta: FlakeMetadata;
  try {
    meta = await metadataOf(url, opts);
  } catch (e) {
    // Nix 2.8 says only that git failed: name what was asked for, and where.
    if (ref === null || !(e instanceof NixError) || e.timedOut || e.aborted || e.exitCode === 0) throw e;
    throw new NixError(
      e,
      `cannot resolve ${JSON.stringify(ref)} in the fleet flake ${flake}: is it a branch, tag or commit there? (${e.shortMessage})`,
    );
  }
  const locked = lockedFlake(meta, ref);
  // What is built must be what was asked for: a Nix that drops a ref would otherwise deploy the default branch.
  // Only git locks name their ref (a github: lock holds the commit alone).
  const honoured =
    ref === null ||
    (isCommitId(ref) ? locked.rev === ref : meta.locked.type !== 'git' || locked.branch === ref);
  if (!honoured) {
    throw new NixError({
      argv: [...METADATA, url],
      exitCode: 0,
      shortMessage: `Nix locked ${meta.url} for ${JSON.stringify(ref)}, not that ref: give the fleet flake as a git+file:// or git+https:// URL`,
      stderrTail: '',
      timedOut: false,
      aborted: false,
    });
  }
  const commit = locked.rev !== null && locked.path !== null ? await commitInfo(locked.path, locked.rev) : {};
  const configured = opts.defaultBranch ?? refOfUrl(flake);
  return {
    flake: locked.flake,
    requested: ref,
    branch: locked.branch,
    rev: locked.rev,
    dirty: locked.dirty,
    path: locked.path,
    ...commit,
    onDefault: ref === null,
    defaultBranch: configured === null ? (ref === null ? locked.branch : null) : branchName(configured),
  };
}

const METADATA = ['nix', ...BUILDER_FEATURES, 'flake', 'metadata', '--json', '--refresh'] as const;

/** `nix flake metadata --json --refresh URL` with the builder's Nix, parsed. */
async function metadataOf(url: string, opts: ResolveOptions): Promise<FlakeMetadata> {
  const checkedUrl = checkFlakeRef(url);
  if (!checkedUrl.ok) throw invalidInput(METADATA, checkedUrl.error);
  const argv = [...METADATA, checkedUrl.value];
  const out = await runNix(argv, {
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    ...(opts.nixBinDir === undefined ? {} : { nixBinDir: opts.nixBinDir }),
  });
  try {
    return flakeMetadata.parse(JSON.parse(out.stdout));
  } catch (e) {
    throw new NixError({
      argv,
      exitCode: 0,
      shortMessage: `unexpected output of nix flake metadata (${(e as Error).message.split('\n')[0]})`,
      stderrTail: out.stderrTail,
      timedOut: false,
      aborted: false,
    });
  }
}

// git comes from PATH, never from builder.nixBinDir: that folder holds Nix alone (/opt/nix-2.24/bin has no
// git), and git reads the same repository whichever Nix resolved it.
function gitIn(dir: string, args: readonly string[]): readonly string[] | null {
  const checked = checkFilePath(dir, 'the repository');
  return checked.ok ? ['git', '-C', checked.value, ...args] : null;
}

/** A commit's subject and author, from the local repository; nothing when git cannot say. */
async function commitInfo(dir: string, rev: string): Promise<{ subject?: string; author?: string }> {
  const argv = gitIn(dir, ['log', '-1', '--no-show-signature', '--format=%s%x00%an', rev, '--']);
  if (argv === null) return {};
  try {
    const out = await runNix(argv, { timeoutMs: GIT_TIMEOUT_MS });
    const [subject, author] = out.stdout.replace(/\n$/, '').split('\0');
    return {
      ...(subject ? { subject: subject.slice(0, 200) } : {}),
      ...(author ? { author: author.slice(0, 100) } : {}),
    };
  } catch {
    return {};
  }
}

/**
 * Whether `older` is in the history of `head`'s commit, and how many commits it is behind, from the local
 * repository `head` was resolved in; null where there is no local history to ask.
 */
export async function commitsBehind(
  older: string,
  head: Revision,
): Promise<{ ancestor: boolean; count: number } | null> {
  if (head.path === null || head.rev === null || !isCommitId(older)) return null;
  const isAncestor = gitIn(head.path, ['merge-base', '--is-ancestor', older, head.rev]);
  const count = gitIn(head.path, ['rev-list', '--count', `${older}..${head.rev}`]);
  if (isAncestor === null || count === null) return null;
  try {
    const n = Number((await runNix(count, { timeoutMs: GIT_TIMEOUT_MS })).stdout.trim());
    if (!Number.isInteger(n)) return null;
    let ancestor = true;
    try {
      await runNix(isAncestor, { timeoutMs: GIT_TIMEOUT_MS });
    } catch (e) {
      if (e instanceof NixError && e.exitCode === 1) ancestor = false;
      else return null;
    }
    return { ancestor, count: n };
  } catch {
    return null;
  }
}
