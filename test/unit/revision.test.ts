import { describe, expect, it } from 'vitest';
import { OPEN_REF_RULES, refRefusal } from '../../src/core/ref-rules.ts';
import {
  applyRef,
  branchName,
  checkGitRef,
  describeRevision,
  describeStanding,
  namesDefault,
  type Revision,
  refOfUrl,
  standingOf,
} from '../../src/core/revision.ts';
import type { HostSpec } from '../../src/core/types.ts';
import { parseCommand } from '../../src/verbs/parse.ts';
import { verbs as VERBS } from '../../src/verbs/registry.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

const rev = (over: Partial<Revision> = {}): Revision => ({
  flake: `git+file:///srv/fleet?ref=main&rev=${A}`,
  requested: null,
  branch: 'main',
  rev: A,
  dirty: false,
  path: '/srv/fleet',
  onDefault: true,
  defaultBranch: 'main',
  ...over,
});

describe('git ref shapes', () => {
  it.each(['main', 'my-branch', 'feature/lobby.v2', 'v1.2.3', 'refs/heads/main', A, 'release_2026'])(
    'accepts %s',
    (ref) => expect(checkGitRef(ref)).toEqual({ ok: true, value: ref }),
  );

  it.each([
    ['$(id)', 'letters, digits'],
    ['`id`', 'letters, digits'],
    ['../etc', '".."'],
    ['a/../b', '".."'],
    ['-x', 'starts with "-"'],
    ['--upload-pack=touch', 'letters, digits'],
    ['main;id', 'letters, digits'],
    ['a b', 'letters, digits'],
    ['a\nb', 'letters, digits'],
    ['a\u0007', 'letters, digits'],
    ['main@{1}', 'letters, digits'],
    ['x&rev=1', 'letters, digits'],
    ['x#y', 'letters, digits'],
    ['/main', 'empty path component'],
    ['main/', 'empty path component'],
    ['a//b', 'empty path component'],
    ['main.', 'ends with "."'],
    ['.hidden', 'starts with "."'],
    ['a/.b', 'starts with "."'],
    ['a/-b', 'starts with "."'],
    ['main.lock', '.lock'],
    ['', 'name a branch'],
    ['x'.repeat(201), 'longer than'],
  ])('refuses %j', (ref, why) => {
    const checked = checkGitRef(ref);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.error).toContain(why);
  });
});

describe('applying a ref to the configured flake', () => {
  it('adds ref= or rev=, replacing what the URL named', () => {
    expect(applyRef('git+file:///srv/fleet', 'my-branch')).toEqual({
      ok: true,
      value: 'git+file:///srv/fleet?ref=my-branch',
    });
    expect(applyRef('git+https://example.test/fleet?ref=main&dir=sub', A)).toEqual({
      ok: true,
      value: `git+https://example.test/fleet?dir=sub&rev=${A}`,
    });
    expect(applyRef('github:office/fleet', 'v2')).toEqual({ ok: true, value: 'github:office/fleet?ref=v2' });
    expect(applyRef('/srv/fleet', 'v2')).toEqual({ ok: true, value: '/srv/fleet?ref=v2' });
  });

  it('refuses flakes that have no branches', () => {
    const r = applyRef('path:/srv/fleet', 'main');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain('not a git repository');
  });

  it('reads the branch a URL names', () => {
    expect(refOfUrl('git+https://example.test/fleet?ref=production')).toBe('production');
    expect(refOfUrl('git+file:///srv/fleet')).toBeNull();
    expect(refOfUrl('git+file:///srv/fleet?ref=refs%2Fheads%2Fproduction')).toBe('production');
    expect(refOfUrl('git+file:///srv/fleet?ref=')).toBeNull();
  });
});

describe('branch names in either form', () => {
  it('reads refs/heads/NAME (Nix 2.24) as NAME (Nix 2.8), and leaves other refs alone', () => {
    expect(branchName('refs/heads/main')).toBe('main');
    expect(branchName('refs/heads/feature/lobby')).toBe('feature/lobby');
    expect(branchName('main')).toBe('main');
    expect(branchName('refs/tags/v1')).toBe('refs/tags/v1');
    expect(branchName('refs/heads/')).toBe('refs/heads/');
  });

  it('tells whether a ref names the default branch, whichever form each side is in', () => {
    expect(namesDefault('main', 'main')).toBe(true);
    expect(namesDefault('refs/heads/main', 'main')).toBe(true);
    expect(namesDefault('main', 'refs/heads/main')).toBe(true);
    expect(namesDefault(null, null)).toBe(true);
    expect(namesDefault('my-branch', 'refs/heads/main')).toBe(false);
    expect(namesDefault('main', null)).toBe(false);
  });

  it('names the default branch short in what people read, for records made by either version', () => {
    expect(describeStanding({ kind: 'behind', by: 1 }, 'refs/heads/main')).toBe('behind main by 1 commit');
    expect(describeRevision(rev({ branch: 'refs/heads/main', defaultBranch: 'refs/heads/main' }))).toBe(
      `main @ ${A.slice(0, 12)}`,
    );
    expect(describeRevision(rev({ requested: 'refs/heads/main' }))).toBe(
      `refs/heads/main @ ${A.slice(0, 12)}`,
    );
  });
});

describe('how a host stands against the default branch', () => {
  const head = { rev: A, branch: 'main' };
  it('in sync, behind by a count, behind without history, on another branch, uncommitted', () => {
    expect(standingOf(rev(), head, null)).toEqual({ kind: 'head' });
    expect(standingOf(rev({ rev: B }), head, { ancestor: true, count: 3 })).toEqual({
      kind: 'behind',
      by: 3,
    });
    expect(standingOf(rev({ rev: B }), head, null)).toEqual({ kind: 'behind', by: null });
    expect(standingOf(rev({ rev: B, requested: 'my-branch' }), head, { ancestor: false, count: 1 })).toEqual({
      kind: 'other',
      name: 'my-branch',
    });
    expect(standingOf(rev({ rev: B, requested: B }), head, { ancestor: true, count: 2 })).toEqual({
      kind: 'behind',
      by: 2,
    });
    expect(standingOf(rev({ rev: B, requested: B }), head, { ancestor: false, count: 2 }).kind).toBe('other');
    expect(standingOf(rev({ rev: null, dirty: true }), head, null)).toEqual({ kind: 'uncommitted' });
    expect(standingOf(null, head, null).kind).toBe('unknown');
  });

  it('reads as a person would say it', () => {
    expect(describeStanding({ kind: 'head' }, 'main')).toBe('in sync with main');
    expect(describeStanding({ kind: 'behind', by: 1 }, 'main')).toBe('behind main by 1 commit');
    expect(describeStanding({ kind: 'behind', by: 4 }, 'main')).toBe('behind main by 4 commits');
    expect(describeStanding({ kind: 'other', name: 'my-branch' }, 'main')).toBe('on my-branch, not main');
    expect(describeRevision(rev({ requested: 'my-branch', subject: 'Brighter', author: 'Ada' }))).toBe(
      `my-branch @ ${A.slice(0, 12)} "Brighter" (Ada)`,
    );
    expect(describeRevision(rev({ rev: null, dirty: true }))).toBe('/srv/fleet with uncommitted changes');
  });
});

describe('rules for revisions off the default branch', () => {
  const host = (name: string, tags: string[]): HostSpec =>
    ({
      name,
      tags,
      site: 'baard',
      address: name,
      lanAddress: name,
      port: 22,
      user: 'root',
    }) as unknown as HostSpec;
  const branch = rev({ requested: 'my-branch', rev: B, onDefault: false });
  const lab = host('lab', ['experiment']);
  const lobby = host('lobby', ['lobby']);

  it('lets anything on the default branch through, and anything at all without rules', () => {
    const strict = { nonDefault: 'approvers', hostsTagged: ['experiment'] } as const;
    expect(refRefusal(strict, rev(), [lobby], { name: 'x', approver: false })).toBeNull();
    expect(refRefusal(OPEN_REF_RULES, branch, [lobby], { name: 'x', approver: false })).toBeNull();
  });

  it('names the rule that refuses', () => {
    const approvers = { nonDefault: 'approvers', hostsTagged: [] } as const;
    expect(refRefusal(approvers, branch, [lab], { name: '<@U1>', approver: false })).toMatch(
      /^refs\.nonDefault is approvers: only approvers may deploy my-branch @ b{12} \(not main\), and <@U1> is not one$/,
    );
    expect(refRefusal(approvers, branch, [lab], { name: '<@U1>', approver: true })).toBeNull();
    const tagged = { nonDefault: 'deployers', hostsTagged: ['experiment'] } as const;
    expect(refRefusal(tagged, branch, [lab], { name: 'x', approver: false })).toBeNull();
    expect(refRefusal(tagged, branch, [lab, lobby], { name: 'x', approver: true })).toContain(
      'refs.hostsTagged is [experiment]: my-branch',
    );
  });
});

describe('--ref on the verbs that build', () => {
  const parse = (text: string) => parseCommand(VERBS, text.split(' '), 'signage');
  it.each(['deploy', 'plan', 'build', 'overlap', 'copy', 'switch'])('%s takes --ref', (verb) => {
    const ok = parse(`${verb} lobby --ref my-branch`);
    expect(ok.ok).toBe(true);
    if (ok.ok) expect((ok.args as { ref: string }).ref).toBe('my-branch');
    const none = parse(`${verb} lobby`);
    if (none.ok) expect((none.args as { ref: string | null }).ref).toBeNull();
  });

  it.each(['--ref=$(id)', '--ref=../x', '--ref=-rf', '--ref=a..b', '--ref=main@{1}'])(
    'deploy refuses %s before anything runs',
    (flag) => {
      const bad = parse(`deploy lobby ${flag}`);
      expect(bad.ok).toBe(false);
      if (!bad.ok) expect(bad.message).toMatch(/^--ref: /);
    },
  );

  it('refuses an option-like value given as the next word', () => {
    const bad = parse('deploy lobby --ref --restart');
    expect(bad.ok).toBe(false);
  });
});
