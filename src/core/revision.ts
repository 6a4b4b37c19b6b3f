// Fleet revisions: which commit of the fleet flake a run builds, and how what a host runs stands against the
// default branch. Pure: the Nix adapter resolves refs, the engine records and compares what comes back.

/** What a run builds from: the configured flake at one exact revision, resolved once at the run's start. */
export interface Revision {
  /** The locked flake URL every build of the run uses, so a push during a rollout cannot mix revisions. */
  readonly flake: string;
  /** The `--ref` as given; null for the default branch. */
  readonly requested: string | null;
  /** The branch or tag Nix resolved, where it says. */
  readonly branch: string | null;
  /** The commit; null for a plain directory or a git tree with uncommitted changes. */
  readonly rev: string | null;
  /** A local git tree with uncommitted changes (what was built is in no commit). */
  readonly dirty: boolean;
  /** A flake on this machine: its directory. */
  readonly path: string | null;
  readonly subject?: string;
  readonly author?: string;
  /** The default branch head, or a commit in its history (a rollback along the main line). */
  readonly onDefault: boolean;
  /** The default branch's name, where known. */
  readonly defaultBranch: string | null;
}

export type Checked<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string };

const COMMIT = /^[0-9a-f]{40}$/;

export function isCommitId(ref: string): boolean {
  return COMMIT.test(ref);
}

/**
 * A branch, tag or full commit id, as `git check-ref-format --allow-onelevel` would take it, narrowed to the
 * characters refs use in practice: the value goes into a flake URL's query, so `&`, `=`, `#`, `%`, `+`, `@`
 * and anything a shell or Nix could misread are refused outright.
 */
export function checkGitRef(ref: unknown): Checked<string> {
  if (typeof ref !== 'string' || ref === '') return { ok: false, error: 'name a branch, tag or commit' };
  const shown = JSON.stringify(ref.slice(0, 60));
  if (ref.length > 200) return { ok: false, error: `${shown}… is longer than any branch name` };
  if (isCommitId(ref)) return { ok: true, value: ref };
  if (!/^[A-Za-z0-9._/-]+$/.test(ref)) {
    return {
      ok: false,
      error: `${shown} is not a branch, tag or commit: use letters, digits, ".", "_", "-" and "/" only`,
    };
  }
  if (ref.startsWith('-'))
    return { ok: false, error: `${shown} starts with "-" (it would read as an option)` };
  if (ref.includes('..')) return { ok: false, error: `${shown} contains ".." (not allowed in a git ref)` };
  if (ref.startsWith('/') || ref.endsWith('/') || ref.includes('//')) {
    return { ok: false, error: `${shown} has an empty path component (a leading, trailing or double "/")` };
  }
  if (ref.endsWith('.')) return { ok: false, error: `${shown} ends with "." (not allowed in a git ref)` };
  for (const part of ref.split('/')) {
    if (part.startsWith('.') || part.startsWith('-') || part.endsWith('.lock')) {
      return {
        ok: false,
        error: `${shown} has a component ${JSON.stringify(part)} that starts with "." or "-" or ends with ".lock"`,
      };
    }
  }
  return { ok: true, value: ref };
}

/** Flake URL schemes whose sources are plain files or archives: they have no branches to choose from. */
const NO_REFS = /^(path:|tarball\+|file\+|https?:)/;

/**
 * The configured flake URL with `ref` applied (`?ref=` for a branch or tag, `?rev=` for a commit), replacing
 * any ref or rev it names. Works for `git+...`, `github:`/`gitlab:`/`sourcehut:` and a local git checkout.
 */
export function applyRef(flake: string, ref: string): Checked<string> {
  if (NO_REFS.test(flake)) {
    return {
      ok: false,
      error: `the fleet flake ${flake} is not a git repository, so it has no branches or commits to choose from`,
    };
  }
  const at = flake.indexOf('?');
  const base = at < 0 ? flake : flake.slice(0, at);
  const query = at < 0 ? [] : flake.slice(at + 1).split('&');
  const kept = query.filter((p) => p !== '' && !/^(ref|rev)=/.test(p));
  kept.push(`${isCommitId(ref) ? 'rev' : 'ref'}=${ref}`);
  return { ok: true, value: `${base}?${kept.join('&')}` };
}

/**
 * A branch as people name it: `main` for `refs/heads/main`. Nix 2.24 reports the default branch as its full
 * ref (`refs/heads/main`), Nix 2.8 as `main`; tags and other refs are kept as they are.
 */
export function branchName(ref: string): string {
  return ref.startsWith('refs/heads/') && ref.length > 'refs/heads/'.length
    ? ref.slice('refs/heads/'.length)
    : ref;
}

/** The branch a configured flake URL names itself (`?ref=main`, `?ref=refs%2Fheads%2Fmain`), if any. */
export function refOfUrl(flake: string): string | null {
  const at = flake.indexOf('?');
  if (at < 0) return null;
  const named = flake
    .slice(at + 1)
    .split('&')
    .find((p) => p.startsWith('ref='));
  if (!named || named.length === 4) return null;
  let value = named.slice(4);
  try {
    value = decodeURIComponent(value);
  } catch {
    // Not percent-encoded after all: taken as written.
  }
  return branchName(value);
}

/** Whether a requested ref names the default branch itself (`main`, `refs/heads/main`). */
export function namesDefault(requested: string | null, defaultBranch: string | null): boolean {
  if (requested === null) return true;
  return defaultBranch !== null && branchName(requested) === branchName(defaultBranch);
}

export function shortRev(rev: string): string {
  return rev.slice(0, 12);
}

/** One line for people: `my-branch @ 1a2b3c4d5e6f "Brighter lobby screen" (Ada)`. */
export function describeRevision(r: Revision): string {
  const named = r.requested ?? r.branch ?? r.defaultBranch;
  const name = named === null || named === r.requested ? named : branchName(named);
  if (r.rev === null) {
    const where = r.path ?? r.flake;
    return r.dirty ? `${where} with uncommitted changes` : `${where} (not a git commit)`;
  }
  const parts = [`${name && name !== r.rev ? `${name} @ ` : ''}${shortRev(r.rev)}`];
  if (r.subject) parts.push(JSON.stringify(r.subject));
  if (r.author) parts.push(`(${r.author})`);
  return parts.join(' ');
}

/** How a host's revision stands against the default branch head. */
export type Standing =
  | { readonly kind: 'head' }
  | { readonly kind: 'behind'; readonly by: number | null }
  | { readonly kind: 'other'; readonly name: string }
  | { readonly kind: 'uncommitted' }
  | { readonly kind: 'unknown'; readonly why: string };

export interface HeadInfo {
  readonly rev: string | null;
  readonly branch: string | null;
}

/**
 * `behind` is what the history says of the deployed commit against the head, where it is at hand: whether it
 * is an ancestor, and by how many commits. Null when there is no history to ask.
 */
export function standingOf(
  deployed: Revision | null,
  head: HeadInfo | null,
  behind: { readonly ancestor: boolean; readonly count: number } | null,
): Standing {
  if (deployed === null) return { kind: 'unknown', why: 'no deployment by the bot records it' };
  if (deployed.rev === null)
    return deployed.dirty ? { kind: 'uncommitted' } : { kind: 'unknown', why: 'not a git commit' };
  if (head === null || head.rev === null)
    return { kind: 'unknown', why: 'the default branch could not be read' };
  if (deployed.rev === head.rev) return { kind: 'head' };
  const name = deployed.requested;
  if (name !== null && !isCommitId(name) && !namesDefault(name, head.branch ?? deployed.defaultBranch)) {
    return { kind: 'other', name };
  }
  if (behind === null)
    return name === null ? { kind: 'behind', by: null } : { kind: 'other', name: shortRev(deployed.rev) };
  return behind.ancestor
    ? { kind: 'behind', by: behind.count }
    : { kind: 'other', name: name ?? shortRev(deployed.rev) };
}

export function describeStanding(s: Standing, defaultBranch: string | null): string {
  const main = defaultBranch === null ? 'the default branch' : branchName(defaultBranch);
  switch (s.kind) {
    case 'head':
      return `in sync with ${main}`;
    case 'behind':
      return s.by === null ? `behind ${main}` : `behind ${main} by ${s.by} commit${s.by === 1 ? '' : 's'}`;
    case 'other':
      return `on ${s.name}, not ${main}`;
    case 'uncommitted':
      return 'built from uncommitted changes';
    case 'unknown':
      return `revision unknown (${s.why})`;
  }
}
