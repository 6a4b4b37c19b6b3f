// Resolving the fleet flake to a revision with this machine's real Nix and git (no office needed), with each
// Nix the office runs (Debian's 2.8 and, as builder.nixBinDir, 2.24): the default branch, a branch, a tag, a
// commit, a tree with uncommitted changes, a plain directory, and how far an older commit is behind the head.
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitsBehind, resolveRevision as resolveWith } from '../../src/adapters/nix/revision.ts';
import { mixedOfficeUnavailable, NIX_BIN_DIRS, type NixRelease } from '../office/nix-versions.ts';

const FLAKE = '{ outputs = { self }: { value = 1; }; }\n';

// Where Nix 2.24 is not installed its half is skipped, as the other tests needing two versions are; under
// CI=true it runs (and fails).
const releases: readonly NixRelease[] = mixedOfficeUnavailable() === null ? ['2.8', '2.24'] : ['2.8'];
// The locked URL of the default branch names it as each version does.
const LOCKED_DEFAULT: Record<NixRelease, string> = { '2.8': 'main', '2.24': 'refs/heads/main' };

describe.each(releases)('resolving fleet revisions with Nix %s', (release) => {
  const resolveRevision = (flake: string, ref: string | null) =>
    resolveWith(flake, ref, { nixBinDir: NIX_BIN_DIRS[release] });
  let dir: string;
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', dir, '-c', 'user.name=Grace', '-c', 'user.email=grace@office.test', ...args])
      .toString()
      .trim();
  let first: string;
  let second: string;
  let onBranch: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'signage-revision-'));
    writeFileSync(join(dir, 'flake.nix'), FLAKE);
    git('init', '-q', '-b', 'main');
    git('add', 'flake.nix');
    git('commit', '-q', '-m', 'First fleet');
    first = git('rev-parse', 'HEAD');
    git('tag', 'v1');
    appendFileSync(join(dir, 'flake.nix'), '# second\n');
    git('commit', '-q', '-a', '-m', 'Second fleet');
    second = git('rev-parse', 'HEAD');
    git('checkout', '-q', '-b', 'my-branch', first);
    appendFileSync(join(dir, 'flake.nix'), '# branch\n');
    git('commit', '-q', '-a', '-m', 'On a branch');
    onBranch = git('rev-parse', 'HEAD');
    git('checkout', '-q', 'main');
  });
  afterAll(() => {
    if (dir?.startsWith(join(tmpdir(), 'signage-revision-'))) rmSync(dir, { recursive: true, force: true });
  });

  it('resolves the default branch to its head, with subject and author', async () => {
    const r = await resolveRevision(`git+file://${dir}`, null);
    expect(r).toMatchObject({
      requested: null,
      branch: 'main',
      rev: second,
      dirty: false,
      path: dir,
      subject: 'Second fleet',
      author: 'Grace',
      onDefault: true,
      defaultBranch: 'main',
    });
    expect(r.flake).toBe(`git+file://${dir}?ref=${LOCKED_DEFAULT[release]}&rev=${second}`);
  });

  it('resolves a branch, a tag and a commit to exact commits', async () => {
    const url = `git+file://${dir}`;
    expect(await resolveRevision(url, 'my-branch')).toMatchObject({
      rev: onBranch,
      branch: 'my-branch',
      subject: 'On a branch',
      defaultBranch: null,
    });
    expect((await resolveRevision(url, 'v1')).rev).toBe(first);
    // A commit by id is that commit alone: no branch, whatever HEAD is (Nix 2.24 names HEAD's).
    const byCommit = await resolveRevision(url, onBranch);
    expect(byCommit).toMatchObject({ rev: onBranch, branch: null, flake: `${url}?rev=${onBranch}` });
    // A local checkout given as a plain path is a git flake too, and its refs are honoured (Nix 2.24 ignores
    // `?ref=` on a path: the bot must not build HEAD instead).
    expect(await resolveRevision(dir, 'my-branch')).toMatchObject({
      rev: onBranch,
      flake: `git+file://${dir}?ref=my-branch&rev=${onBranch}`,
    });
    expect((await resolveRevision(dir, 'v1')).rev).toBe(first);
    expect((await resolveRevision(dir, onBranch)).rev).toBe(onBranch);
  });

  it('counts how far a commit is behind the head, and tells a branch off it apart', async () => {
    const head = await resolveRevision(`git+file://${dir}`, null);
    expect(await commitsBehind(first, head)).toEqual({ ancestor: true, count: 1 });
    expect(await commitsBehind(onBranch, head)).toEqual({ ancestor: false, count: 1 });
    expect(await commitsBehind('f'.repeat(40), head)).toBeNull();
  });

  it('says when the tree has uncommitted changes, and what a plain directory is', async () => {
    appendFileSync(join(dir, 'flake.nix'), '# not committed\n');
    try {
      const r = await resolveRevision(`git+file://${dir}`, null);
      expect(r).toMatchObject({ rev: null, dirty: true, path: dir });
    } finally {
      git('checkout', '-q', 'flake.nix');
    }
    const plain = await resolveRevision(`path:${dir}`, null);
    expect(plain).toMatchObject({ rev: null, dirty: false, path: dir });
    expect(plain.flake).toMatch(/^path:.*narHash=/);
  });

  it('refuses refs on a plain directory, and names a ref that does not exist', async () => {
    await expect(resolveRevision(`path:${dir}`, 'main')).rejects.toThrow(/not a git repository/);
    await expect(resolveRevision(`git+file://${dir}`, 'nope')).rejects.toThrow(/cannot resolve "nope"/);
    await expect(resolveRevision(`git+file://${dir}`, '$(id)')).rejects.toThrow(
      /not a branch, tag or commit/,
    );
  });
});
