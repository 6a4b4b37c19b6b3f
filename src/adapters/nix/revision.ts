// Resolves the fleet flake, at a ref or at its default branch, to one exact revision with
// `nix flake metadata --json --refresh` (Nix 2.8 and later): `--refresh` skips Nix's fetcher cache (its
// tarball TTL), so a branch moved a minute ago is seen now. The locked URL it prints is what every build of
// the run uses. Commit subjects and authors come from `git log` where the repository is on this machine.
import { z } from 'zod';
import { applyRef, checkGitRef, isCommitId, type Revision, refOfUrl } from '../../core/revision.ts';
import { BUILDER_FEATURES, checkFilePath, checkFlakeRef } from './inputs.ts';
import { invalidInput, NixError, runNix } from './run.ts';

const metadata = z.looseObject({
  url: z.string(),
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
  const base = ['nix', ...BUILDER_FEATURES, 'flake', 'metadata', '--json', '--refresh'];
  let url = flake;
  if (ref !== null) {
    const checked = checkGitRef(ref);
    if (!checked.ok) throw invalidInput(base, checked.error);
    const applied = applyRef(flake, checked.value);
    if (!applied.ok) throw invalidInput(base, applied.error);
    url = applied.value;
  }
  const checkedUrl = checkFlakeRef(url);
  if (!checkedUrl.ok) throw invalidInput(base, checkedUrl.error);
  const argv = [...base, checkedUrl.value];
  let out: Awaited<ReturnType<typeof runNix>>;
  try {
    out = await runNix(argv, {
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.nixBinDir === undefined ? {} : { nixBinDir: opts.nixBinDir }),
    });
  } catch (e) {
    // Nix 2.8 says only that git failed: name what was asked for, and where.
    if (ref === null || !(e instanceof NixError) || e.timedOut || e.aborted) throw e;
    throw new NixError(
      e,
      `cannot resolve ${JSON.stringify(ref)} in the fleet flake ${flake}: is it a branch, tag or commit there? (${e.shortMessage})`,
    );
  }
  let meta: z.infer<typeof metadata>;
  try {
    meta = metadata.parse(JSON.parse(out.stdout));
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
  const locked = meta.locked;
  const rev = meta.revision ?? (locked.rev && isCommitId(locked.rev) ? locked.rev : undefined) ?? null;
  const dir = localDir(locked);
  const dirty = locked.type === 'git' && (rev === null || meta.dirtyRevision !== undefined);
  const commit = rev !== null && dir !== null && locked.type === 'git' ? await commitInfo(dir, rev) : {};
  const defaultBranch = opts.defaultBranch ?? refOfUrl(flake) ?? (ref === null ? (locked.ref ?? null) : null);
  return {
    flake: meta.url,
    requested: ref,
    branch: locked.ref ?? null,
    rev: dirty ? null : rev,
    dirty,
    path: dir,
    ...commit,
    onDefault: ref === null,
    defaultBranch,
  };
}

/** The directory of a flake on this machine: a `path:` flake or a `git+file://` repository. */
function localDir(locked: {
  type: string;
  url?: string | undefined;
  path?: string | undefined;
}): string | null {
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
