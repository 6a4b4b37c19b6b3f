import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { choosePredecessors } from '../../src/core/delta-predecessors.ts';
import { compareVersions, packageId } from '../../src/core/package-name.ts';
import { storePathName } from '../../src/core/storepath.ts';
import type { StorePath } from '../../src/core/types.ts';
import { storePathFor } from '../support/store-arbitraries.ts';

const p = (seed: string, name: string) => storePathFor(seed, name);
const all = () => true;

describe('choosePredecessors', () => {
  const ssl17 = p('a', 'openssl-3.0.17');
  const ssl20 = p('b', 'openssl-3.0.20');
  const ssl22 = p('c', 'openssl-3.0.22');
  const ssl22old = p('d', 'openssl-3.0.22');
  const ssl22dev = p('e', 'openssl-3.0.22-dev');
  const curl = p('f', 'curl-8.5.0');

  it('prefers the same version with another hash (a rebuild), then the nearest older version', () => {
    expect(choosePredecessors({ missing: [ssl22], held: [ssl17, ssl20, ssl22old], builderHas: all })).toEqual(
      new Map([[ssl22, ssl22old]]),
    );
    expect(choosePredecessors({ missing: [ssl22], held: [ssl17, ssl20, curl], builderHas: all })).toEqual(
      new Map([[ssl22, ssl20]]),
    );
    // Only newer ones held (a rollback): the nearest above.
    expect(choosePredecessors({ missing: [ssl17], held: [ssl22, ssl20], builderHas: all })).toEqual(
      new Map([[ssl17, ssl20]]),
    );
  });

  it('never takes another package, another output, the path itself, or what the builder no longer has', () => {
    expect(choosePredecessors({ missing: [ssl22], held: [curl, ssl22dev, ssl22], builderHas: all })).toEqual(
      new Map(),
    );
    expect(
      choosePredecessors({ missing: [ssl22], held: [ssl20, ssl17], builderHas: (x) => x !== ssl20 }),
    ).toEqual(new Map([[ssl22, ssl17]]));
  });

  it('breaks a tie by the size nearest the new path’s', () => {
    const x1 = p('x1', 'libfoo-1.0');
    const x2 = p('x2', 'libfoo-1.0');
    const n = p('n', 'libfoo-1.0');
    const sizes = new Map([
      [n, 1000],
      [x1, 5000],
      [x2, 1100],
    ]);
    expect(
      choosePredecessors({ missing: [n], held: [x1, x2], builderHas: all, narSize: (q) => sizes.get(q) }),
    ).toEqual(new Map([[n, x2]]));
  });

  const names = ['openssl', 'curl', 'libfoo', 'python3'];
  const versions = ['1.0', '1.2', '2.0', '3.0.17', '3.0.22'];
  const pathArb = fc
    .tuple(fc.string({ minLength: 1, maxLength: 6 }), fc.constantFrom(...names), fc.constantFrom(...versions))
    .map(([seed, n, v]) => p(`${seed}${n}${v}`, `${n}-${v}`));

  it('chooses only held paths of the same package the builder has, the same whatever the order', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(pathArb, { maxLength: 20 }),
        fc.uniqueArray(pathArb, { maxLength: 20 }),
        fc.func(fc.boolean()),
        (missing, held, has) => {
          const builderHas = (q: StorePath) => has(q);
          const chosen = choosePredecessors({ missing, held, builderHas });
          const again = choosePredecessors({
            missing: [...missing].reverse(),
            held: [...held].reverse(),
            builderHas,
          });
          expect(again).toEqual(chosen);
          for (const [m, pred] of chosen) {
            expect(missing).toContain(m);
            expect(held).toContain(pred);
            expect(pred).not.toBe(m);
            expect(builderHas(pred)).toBe(true);
            expect(packageId(storePathName(pred)).name).toBe(packageId(storePathName(m)).name);
          }
          // Every missing path with an eligible candidate got one; a same-version candidate wins when there is.
          for (const m of missing) {
            const id = packageId(storePathName(m));
            const eligible = held.filter(
              (h) => h !== m && builderHas(h) && packageId(storePathName(h)).name === id.name,
            );
            expect(chosen.has(m)).toBe(eligible.length > 0);
            const same = eligible.filter(
              (h) => compareVersions(packageId(storePathName(h)).version, id.version) === 0,
            );
            if (same.length > 0) expect(same).toContain(chosen.get(m));
          }
        },
      ),
    );
  });
});
