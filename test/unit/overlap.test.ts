import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type NamedClosure, OverlapInputError, overlap } from '../../src/core/overlap.ts';
import type { PathInfo } from '../../src/core/types.ts';
import { storePathFor } from '../support/store-arbitraries.ts';

const sizes: Record<string, number> = {
  glibc: 30,
  chromium: 250,
  mesa: 90,
  kiosk: 4,
  signs: 7,
  menu: 3,
  clock: 1,
};
const infoOf = (name: string): PathInfo => ({
  path: storePathFor(name, name),
  narSize: sizes[name] ?? 1,
  references: [],
  signatures: [],
});
const named = (label: string, names: string[]): NamedClosure => ({ label, closure: names.map(infoOf) });

describe('overlap: a small office', () => {
  const report = overlap([
    named('entrance', ['glibc', 'chromium', 'mesa', 'kiosk', 'signs']),
    named('canteen', ['glibc', 'chromium', 'mesa', 'kiosk', 'menu']),
    named('lab', ['glibc', 'clock']),
  ]);

  it('counts the union once', () => {
    expect(report.unionPaths).toBe(7);
    expect(report.unionBytes).toBe(30 + 250 + 90 + 4 + 7 + 3 + 1);
  });

  it('groups paths by exactly the hosts that have them, most bytes first', () => {
    expect(report.groups.map((g) => [g.labels, g.paths, g.bytes])).toEqual([
      [['entrance', 'canteen'], 3, 344],
      [['entrance', 'canteen', 'lab'], 1, 30],
      [['entrance'], 1, 7],
      [['canteen'], 1, 3],
      [['lab'], 1, 1],
    ]);
    expect(report.groups[0]!.examples).toEqual([
      infoOf('chromium').path,
      infoOf('mesa').path,
      infoOf('kiosk').path,
    ]);
  });

  it('says per host what is its own and what all share', () => {
    expect(report.perLabel).toEqual([
      {
        label: 'entrance',
        paths: 5,
        bytes: 381,
        specificPaths: 1,
        specificBytes: 7,
        sharedWithAllPaths: 1,
        sharedWithAllBytes: 30,
      },
      {
        label: 'canteen',
        paths: 5,
        bytes: 377,
        specificPaths: 1,
        specificBytes: 3,
        sharedWithAllPaths: 1,
        sharedWithAllBytes: 30,
      },
      {
        label: 'lab',
        paths: 2,
        bytes: 31,
        specificPaths: 1,
        specificBytes: 1,
        sharedWithAllPaths: 1,
        sharedWithAllBytes: 30,
      },
    ]);
  });

  it('gives the bytes each pair shares', () => {
    expect(report.sharedBytes).toEqual([
      [381, 374, 30],
      [374, 377, 30],
      [30, 30, 31],
    ]);
  });

  it('limits the examples as asked', () => {
    const r = overlap([named('a', ['glibc', 'mesa', 'menu'])], { examples: 1 });
    expect(r.groups).toEqual([{ labels: ['a'], paths: 3, bytes: 123, examples: [infoOf('mesa').path] }]);
    expect(r.perLabel[0]).toMatchObject({ specificBytes: 123, sharedWithAllBytes: 123 });
  });

  it('reports nothing for no closures', () => {
    expect(overlap([])).toEqual({
      labels: [],
      unionPaths: 0,
      unionBytes: 0,
      groups: [],
      perLabel: [],
      sharedBytes: [],
    });
  });
});

describe('overlap: bad input', () => {
  it('refuses a label used twice', () => {
    expect(() => overlap([named('a', ['glibc']), named('a', ['mesa'])])).toThrow(OverlapInputError);
    expect(() => overlap([named('a', ['glibc']), named('a', ['mesa'])])).toThrow(
      /the label "a" is used twice/,
    );
  });

  it('refuses a path whose size differs between closures', () => {
    const other = { ...infoOf('glibc'), narSize: 31 };
    expect(() => overlap([named('a', ['glibc']), { label: 'b', closure: [other] }])).toThrow(
      /has different sizes in b and a/,
    );
  });

  it('refuses an invalid path or size, and a negative number of examples', () => {
    const bad = { path: '/tmp/x', narSize: -2, references: [], signatures: [] };
    const err = (() => {
      try {
        overlap([{ label: 'a', closure: [bad] }], { examples: -1 });
      } catch (e) {
        return e as OverlapInputError;
      }
    })();
    expect(err?.problems).toHaveLength(3);
  });
});

describe('overlap: properties', () => {
  const pool = Object.keys(sizes).concat(Array.from({ length: 20 }, (_, i) => `lib${i}`));
  const closures = fc
    .array(fc.subarray(pool), { minLength: 1, maxLength: 6 })
    .map((sets) => sets.map((names, i) => named(`host${i}`, names)));

  it('puts every path in exactly one group, and the groups add up to the union and to each host', () => {
    fc.assert(
      fc.property(closures, (input) => {
        const r = overlap(input);
        const union = new Set(input.flatMap((c) => c.closure.map((i) => i.path)));
        const bytesOf = (paths: Iterable<string>) =>
          [...paths].reduce((s, x) => s + (sizes[x.slice(44)] ?? 1), 0);
        expect(r.unionPaths).toBe(union.size);
        expect(r.unionBytes).toBe(bytesOf(union));
        expect(r.groups.reduce((s, g) => s + g.paths, 0)).toBe(r.unionPaths);
        expect(r.groups.reduce((s, g) => s + g.bytes, 0)).toBe(r.unionBytes);
        expect(r.groups.map((g) => g.bytes)).toEqual([...r.groups.map((g) => g.bytes)].sort((a, b) => b - a));
        expect(new Set(r.groups.map((g) => g.labels.join('|'))).size).toBe(r.groups.length);

        input.forEach((c, i) => {
          const l = r.perLabel[i]!;
          const mine = new Set(c.closure.map((x) => x.path));
          expect(l.paths).toBe(mine.size);
          expect(l.bytes).toBe(bytesOf(mine));
          const withOthers = r.groups.filter((g) => g.labels.includes(c.label) && g.labels.length > 1);
          expect(l.specificBytes + withOthers.reduce((s, g) => s + g.bytes, 0)).toBe(l.bytes);
          expect(l.specificPaths + withOthers.reduce((s, g) => s + g.paths, 0)).toBe(l.paths);
          const inAll = [...mine].filter((x) => input.every((o) => o.closure.some((y) => y.path === x)));
          expect(l.sharedWithAllBytes).toBe(bytesOf(inAll));
          if (input.length === 2) expect(l.specificBytes + l.sharedWithAllBytes).toBe(l.bytes);
          input.forEach((o, j) => {
            const both = [...mine].filter((x) => o.closure.some((y) => y.path === x));
            expect(r.sharedBytes[i]![j]).toBe(bytesOf(both));
          });
        });
      }),
    );
  });

  it('does not depend on the order of each closure', () => {
    fc.assert(
      fc.property(closures, (input) => {
        const reversed = input.map((c) => ({ ...c, closure: [...c.closure].reverse() }));
        expect(overlap(reversed)).toEqual(overlap(input));
      }),
    );
  });
});
