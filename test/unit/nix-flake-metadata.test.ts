// `nix flake metadata --json --refresh` as Nix 2.8 and Nix 2.24 print it (recorded from one repository: see
// test/fixtures/nix/README.md), read into the same revision whichever version printed it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { flakeMetadata, lockedFlake } from '../../src/adapters/nix/flake-metadata.ts';
import { namesDefault } from '../../src/core/revision.ts';

const DIR = '/tmp/signage-fleet';
const SECOND = '273894bff6f67d1ec47584b3c399e21b6d73a76a';
const FIRST = '21484efdace730a36172bea8adf35a7421af1637';
const ON_BRANCH = 'aac9c495bb620df44bcc0155a06e326826b61996';

type Case = 'default' | 'branch' | 'tag' | 'fullRef' | 'commitOffDefault' | 'dirty' | 'path';
const recorded = (release: '2.8' | '2.24'): Record<Case, unknown> =>
  JSON.parse(
    readFileSync(join(import.meta.dirname, '../fixtures/nix', `flake-metadata-${release}.json`), 'utf8'),
  );

const fixtures = { '2.8': recorded('2.8'), '2.24': recorded('2.24') };
const read = (release: '2.8' | '2.24', c: Case, ref: string | null) =>
  lockedFlake(flakeMetadata.parse(fixtures[release][c]), ref);

describe('the two versions print the default branch differently', () => {
  it('as recorded: 2.8 locks "main", 2.24 "refs/heads/main"', () => {
    expect(flakeMetadata.parse(fixtures['2.8'].default).locked.ref).toBe('main');
    expect(flakeMetadata.parse(fixtures['2.24'].default).locked.ref).toBe('refs/heads/main');
    expect(flakeMetadata.parse(fixtures['2.24'].commitOffDefault).locked.ref).toBe('refs/heads/main');
    expect(flakeMetadata.parse(fixtures['2.8'].commitOffDefault).locked.ref).toBeUndefined();
  });
});

describe.each(['2.8', '2.24'] as const)('flake metadata of Nix %s', (release) => {
  it('reads the default branch as "main", at its head', () => {
    const r = read(release, 'default', null);
    expect(r).toEqual({
      flake: expect.stringMatching(
        new RegExp(`^git\\+file://${DIR}\\?ref=(refs/heads/)?main&rev=${SECOND}$`),
      ),
      branch: 'main',
      rev: SECOND,
      dirty: false,
      path: DIR,
    });
    expect(namesDefault('main', r.branch)).toBe(true);
    expect(namesDefault('refs/heads/main', r.branch)).toBe(true);
  });

  it('reads a branch and a tag as asked for', () => {
    expect(read(release, 'branch', 'my-branch')).toEqual({
      flake: `git+file://${DIR}?ref=my-branch&rev=${ON_BRANCH}`,
      branch: 'my-branch',
      rev: ON_BRANCH,
      dirty: false,
      path: DIR,
    });
    expect(read(release, 'tag', 'v1')).toMatchObject({ branch: 'v1', rev: FIRST });
    expect(read(release, 'fullRef', 'refs/heads/main')).toMatchObject({
      branch: 'refs/heads/main',
      rev: SECOND,
    });
  });

  it('reads a commit off the default branch as that commit alone, on no branch', () => {
    expect(read(release, 'commitOffDefault', ON_BRANCH)).toEqual({
      flake: `git+file://${DIR}?rev=${ON_BRANCH}`,
      branch: null,
      rev: ON_BRANCH,
      dirty: false,
      path: DIR,
    });
  });

  it('reads a tree with uncommitted changes as dirty, with no commit', () => {
    expect(read(release, 'dirty', null)).toEqual({
      flake: `git+file://${DIR}`,
      branch: null,
      rev: null,
      dirty: true,
      path: DIR,
    });
  });

  it('reads a plain directory as no commit and not dirty', () => {
    const r = read(release, 'path', null);
    expect(r).toMatchObject({ branch: null, rev: null, dirty: false, path: DIR });
    expect(r.flake).toMatch(new RegExp(`^path:${DIR}\\?lastModified=\\d+&narHash=`));
  });
});
