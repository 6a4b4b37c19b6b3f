import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ClosureError,
  closureBytes,
  closureGraph,
  compareStrings,
  indexByPath,
  maximalElements,
  requisites,
  topologicalOrder,
} from '../../src/core/closure.ts';
import type { PathInfo, StorePath } from '../../src/core/types.ts';
import { closureArb, naiveMaximal, naiveRequisites, storePathFor } from '../support/store-arbitraries.ts';

const p = (name: string) => storePathFor(name, name);
const info = (name: string, narSize: number, refs: string[] = []): PathInfo => ({
  path: p(name),
  narSize,
  references: refs.map(p),
  signatures: [],
});

// glibc <- openssl <- curl <- app, and glibc <- app; app refers to itself as Nix paths often do.
const small = [
  info('app', 10, ['app', 'curl', 'glibc']),
  info('curl', 20, ['openssl']),
  info('openssl', 30, ['glibc']),
  info('glibc', 40),
];

function problemsOf(infos: PathInfo[]): readonly string[] {
  try {
    closureGraph(infos);
  } catch (e) {
    expect(e).toBeInstanceOf(ClosureError);
    return (e as ClosureError).problems;
  }
  return [];
}

describe('closureGraph', () => {
  it('indexes each path once, sorted, and ignores self-references', () => {
    const g = closureGraph([...small, small[1]!]);
    expect(g.paths).toEqual([...g.paths].sort(compareStrings));
    expect(g.paths.length).toBe(4);
    expect(requisites(g, [p('app')]).size).toBe(4);
  });

  it('names a reference to a path outside the closure', () => {
    expect(problemsOf([info('app', 1, ['gone'])])).toEqual([
      `${p('app')} references ${p('gone')}, which is not in the closure`,
    ]);
  });

  it('names the paths of a cycle', () => {
    const problems = problemsOf([
      info('a', 1, ['b']),
      info('b', 1, ['c']),
      info('c', 1, ['a']),
      info('d', 1, ['a']),
    ]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^reference cycle: /);
    for (const x of ['a', 'b', 'c']) expect(problems[0]).toContain(p(x));
    expect(problems[0]).not.toContain(p('d'));
  });

  it('accepts a path listed twice alike, and refuses one listed twice differently', () => {
    expect(problemsOf([info('a', 1), info('a', 1)])).toEqual([]);
    expect(problemsOf([info('a', 1), info('a', 2)])).toEqual([
      `${p('a')} is listed twice with different sizes or references`,
    ]);
    expect(problemsOf([info('b', 1), info('a', 1), info('a', 1, ['b'])])).toHaveLength(1);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60])('refuses a narSize of %s', (size) => {
    expect(problemsOf([info('a', size)])).toEqual([expect.stringContaining(`${p('a')} has narSize`)]);
  });

  it('refuses what is not a store path', () => {
    const bad = { path: '/nix/store/not-a-hash', narSize: 1, references: [], signatures: [] };
    expect(problemsOf([bad])).toEqual([expect.stringContaining('32-character Nix base32 hash')]);
  });

  it('lists every problem at once, and the message counts them', () => {
    const err = (() => {
      try {
        closureGraph([info('a', -1, ['x']), info('b', 1, ['y'])]);
      } catch (e) {
        return e as ClosureError;
      }
    })();
    expect(err?.problems).toHaveLength(3);
    expect(err?.message).toMatch(/^invalid closure \(3 problems\)/);
  });

  it('finds the requisites and the topological order of random closures as the obvious way does', () => {
    fc.assert(
      fc.property(closureArb({ maxPaths: 40 }), fc.array(fc.nat()), fc.array(fc.nat()), (closure, r, s) => {
        const g = closureGraph(closure);
        const roots = r.map((k) => closure[k % closure.length]!.path);
        const stop = new Set(s.map((k) => closure[k % closure.length]!.path));
        const expected = naiveRequisites(closure, roots, stop);
        expect(new Set(requisites(g, roots, stop))).toEqual(expected);
        const bytes = [...expected].reduce((sum, x) => sum + closure.find((i) => i.path === x)!.narSize, 0);
        expect(closureBytes(g, roots, stop)).toBe(bytes);

        const order = topologicalOrder(g);
        expect(new Set(order)).toEqual(new Set(closure.map((i) => i.path)));
        const at = new Map(order.map((x, i) => [x, i]));
        for (const i of closure) {
          for (const ref of i.references)
            if (ref !== i.path) expect(at.get(ref)!).toBeLessThan(at.get(i.path)!);
        }
      }),
    );
  });
});

describe('maximalElements', () => {
  it('keeps the paths of a subset nothing else of the subset leads to', () => {
    const g = closureGraph(small);
    expect(maximalElements(g, [p('glibc'), p('curl'), p('openssl')])).toEqual([p('curl')]);
    // app reaches glibc through curl and openssl, which are not in the subset.
    expect(maximalElements(g, [p('glibc'), p('app')])).toEqual([p('app')]);
    expect(maximalElements(g, [])).toEqual([]);
  });

  it('gives the fewest roots whose closures cover the subset', () => {
    fc.assert(
      fc.property(closureArb({ maxPaths: 40 }), fc.array(fc.nat()), (closure, picks) => {
        const g = closureGraph(closure);
        const subset = picks.map((k) => closure[k % closure.length]!.path);
        const roots = maximalElements(g, subset);
        expect(roots).toEqual(naiveMaximal(closure, subset));
        const covered = requisites(g, roots);
        for (const x of subset) expect(covered.has(x)).toBe(true);
      }),
    );
  });

  it('refuses a path that is not in the graph', () => {
    expect(() => maximalElements(closureGraph(small), [p('other')])).toThrow(ClosureError);
    expect(() => requisites(closureGraph(small), [p('other')])).toThrow(/is not in the closure/);
  });
});

describe('indexByPath and compareStrings', () => {
  it('indexes by path and merges the signatures of a path listed twice', () => {
    const a = { ...info('a', 1), signatures: ['k1:x'] };
    const again = { ...info('a', 1), signatures: ['k2:y'] };
    const byPath = indexByPath([a, again]);
    expect(byPath.get(p('a'))?.signatures).toEqual(['k1:x', 'k2:y']);
    expect(() => indexByPath([a, info('a', 2)])).toThrow(ClosureError);
  });

  it('orders by code unit, whatever the locale', () => {
    const xs: StorePath[] = ['b', 'B', 'a', 'é', 'A', '_'];
    expect([...xs].sort(compareStrings)).toEqual(['A', 'B', '_', 'a', 'b', 'é']);
  });
});
