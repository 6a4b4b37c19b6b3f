import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PathInfoError, parsePathInfo, parsePathInfoDetailed } from '../../src/adapters/nix/path-info.ts';
import type { PathInfo } from '../../src/core/types.ts';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '../fixtures/nix', name), 'utf8');
const byPath = (infos: readonly PathInfo[]) => [...infos].sort((a, b) => (a.path < b.path ? -1 : 1));
const INVALID = '/nix/store/00000000000000000000000000000000-not-built';
const XZ = '/nix/store/0l4r5xa228yzmg8shnqm9j2r0g76ham8-xz-5.6.3';

// The real output of this machine's Nix, read without the parser: what every other shape must agree with.
const reference: PathInfo[] = (
  JSON.parse(fixture('path-info-2.8-list.json')) as {
    path: string;
    narSize: number;
    references: string[];
    signatures: string[];
  }[]
).map((e) => ({ path: e.path, narSize: e.narSize, references: e.references, signatures: e.signatures }));

describe('parsePathInfo', () => {
  it('reads the list shape of Nix up to 2.18 (real 2.8 output)', () => {
    const infos = parsePathInfo(fixture('path-info-2.8-list.json'));
    expect(byPath(infos)).toEqual(byPath(reference));
    expect(infos.length).toBeGreaterThan(1);
    expect(infos.every((i) => i.signatures.length > 0)).toBe(true);
  });

  it.each([
    'path-info-lix-list.json',
    'path-info-2.19-keyed.json',
    'path-info-2.33-keyed-v1.json',
    'path-info-2.33-v2.json',
    'path-info-v3.json',
  ])(
    'reads %s as the same closure, full paths and `key:sig` signatures, the unbuilt path as not valid',
    (file) => {
      const { valid, invalid } = parsePathInfoDetailed(fixture(file));
      expect(byPath(valid)).toEqual(byPath(reference));
      expect(invalid).toEqual([INVALID]);
    },
  );

  it('reports a path that is not valid in the 2.8 list shape, and refuses it in the strict form', () => {
    const text = fixture('path-info-2.8-list-invalid.json');
    const { valid, invalid } = parsePathInfoDetailed(text);
    expect(invalid).toEqual([INVALID]);
    expect(valid.map((i) => i.path)).toEqual([XZ]);
    expect(() => parsePathInfo(text)).toThrow(`path ${INVALID} is not valid`);
  });

  it('accepts `sigs` for signatures and an entry without any', () => {
    expect(parsePathInfo(JSON.stringify({ [XZ]: { narSize: 1, references: [XZ], sigs: ['k:s'] } }))).toEqual([
      { path: XZ, narSize: 1, references: [XZ], signatures: ['k:s'] },
    ]);
    expect(parsePathInfo(JSON.stringify([{ path: XZ, narSize: 2, references: [] }]))[0]?.signatures).toEqual(
      [],
    );
  });

  it.each([
    ['not JSON', 'warning: something\n[]', /printed no JSON/],
    ['a number', '42', /not a list or an object/],
    [
      'no narSize on a valid path',
      JSON.stringify([{ path: XZ, references: [] }]),
      /xz-5\.6\.3: narSize: expected a number/,
    ],
    ['a negative narSize', JSON.stringify([{ path: XZ, narSize: -1, references: [] }]), /narSize/],
    [
      'a reference that is no store path',
      JSON.stringify([{ path: XZ, narSize: 1, references: ['/etc/passwd'] }]),
      /reference: not a store path/,
    ],
    [
      'another store directory',
      JSON.stringify({
        version: 2,
        storeDir: '/gnu/store',
        info: { [XZ.slice(11)]: { narSize: 1, references: [] } },
      }),
      /store directory \/gnu\/store/,
    ],
    [
      'a list entry without a path',
      JSON.stringify([{ narSize: 1, references: [] }]),
      /entry 1: not a store path/,
    ],
  ])('refuses %s with a precise error', (_what, text, message) => {
    expect(() => parsePathInfoDetailed(text)).toThrow(PathInfoError);
    expect(() => parsePathInfoDetailed(text)).toThrow(message);
  });
});
