import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chooseCanary, FleetOrderError, fleetBatches } from '../../src/core/fleet-order.ts';
import type { PathInfo, StorePath } from '../../src/core/types.ts';
import { storePathFor } from '../support/store-arbitraries.ts';

const p = (name: string) => storePathFor(name, name);
const closure = (spec: Record<string, number>): PathInfo[] =>
  Object.entries(spec).map(([name, narSize]) => ({ path: p(name), narSize, references: [], signatures: [] }));

describe('chooseCanary', () => {
  it('picks the host whose copy brings most of what the others also lack', () => {
    const closures = new Map([
      ['entrance', closure({ chromium: 250, glibc: 30, 'top-entrance': 1 })],
      ['canteen', closure({ chromium: 250, mesa: 90, glibc: 30, 'top-canteen': 1 })],
      ['lab', closure({ mesa: 90, glibc: 30, 'top-lab': 1 })],
    ]);
    // glibc is already in the office: it never crosses the uplink, so it saves nothing.
    const holdings = new Map([
      ['entrance', new Set([p('glibc')])],
      ['canteen', new Set<StorePath>()],
      ['lab', new Set([p('glibc')])],
    ]);
    expect(chooseCanary(closures, holdings)).toEqual({ host: 'canteen', savedUplinkBytes: 340 });
  });

  it('breaks ties by name, and still picks a host when nothing is shared', () => {
    const closures = new Map([
      ['pi-b', closure({ b: 5 })],
      ['pi-a', closure({ a: 5 })],
    ]);
    expect(chooseCanary(closures, new Map())).toEqual({ host: 'pi-a', savedUplinkBytes: 0 });
  });

  it('counts a path once however many hosts need it', () => {
    const closures = new Map([
      ['a', closure({ x: 10, y: 1 })],
      ['b', closure({ x: 10 })],
      ['c', closure({ x: 10 })],
      ['d', closure({ y: 1 })],
    ]);
    expect(chooseCanary(closures, new Map())).toEqual({ host: 'a', savedUplinkBytes: 11 });
  });

  it('never picks a host with nothing to change, even first by name', () => {
    // The office already holds everything entrance needs; kitchen alone changes, and must be the canary.
    const closures = new Map([
      ['baard-entrance', closure({ glibc: 30, 'top-entrance': 1 })],
      ['baard-kitchen', closure({ glibc: 30, 'top-kitchen-2': 1 })],
    ]);
    const holdings = new Map([
      ['baard-entrance', new Set([p('glibc'), p('top-entrance')])],
      ['baard-kitchen', new Set([p('glibc')])],
    ]);
    expect(chooseCanary(closures, holdings)?.host).toBe('baard-kitchen');
    // A host that holds its whole closure but runs another system changes too, when the caller says so.
    expect(chooseCanary(closures, holdings, new Set(['baard-entrance']))?.host).toBe('baard-entrance');
    expect(chooseCanary(closures, holdings, new Set())).toBeUndefined();
    const allHeld = new Map(
      [...holdings].map(([h]) => [h, new Set([p('glibc'), p('top-entrance'), p('top-kitchen-2')])]),
    );
    expect(chooseCanary(closures, allHeld)).toBeUndefined();
  });

  it('picks a changing host whenever one changes (property)', () => {
    const names = ['a', 'b', 'c', 'd', 'e'];
    const paths = ['x', 'y', 'z', 'w'];
    const fleet = fc.record({
      closures: fc
        .uniqueArray(fc.constantFrom(...names), { minLength: 1 })
        .chain((hosts) =>
          fc.tuple(...hosts.map((h) => fc.tuple(fc.constant(h), fc.subarray(paths, { minLength: 1 })))),
        ),
      held: fc.array(fc.tuple(fc.constantFrom(...names), fc.subarray(paths))),
    });
    fc.assert(
      fc.property(fleet, ({ closures: spec, held }) => {
        const closures = new Map(
          spec.map(([h, ps]) => [h, closure(Object.fromEntries(ps.map((x) => [x, x.charCodeAt(0)])))]),
        );
        const holdings = new Map(held.map(([h, ps]) => [h, new Set(ps.map(p))]));
        const lacks = (h: string) => closures.get(h)!.some((i) => !holdings.get(h)?.has(i.path));
        const canary = chooseCanary(closures, holdings);
        if ([...closures.keys()].some(lacks)) expect(canary && lacks(canary.host)).toBe(true);
        else expect(canary).toBeUndefined();
      }),
    );
  });

  it('has no canary for no hosts, and refuses sizes that disagree', () => {
    expect(chooseCanary(new Map(), new Map())).toBeUndefined();
    const closures = new Map([
      ['a', closure({ x: 10 })],
      ['b', closure({ x: 11 })],
    ]);
    expect(() => chooseCanary(closures, new Map())).toThrow(FleetOrderError);
  });
});

describe('fleetBatches', () => {
  it('keeps hosts that pull the same path apart, largest pull first', () => {
    const batches = fleetBatches(
      [
        { host: 'lab', uplinkPaths: [p('mesa')], uplinkBytes: 90 },
        { host: 'entrance', uplinkPaths: [p('chromium'), p('kiosk')], uplinkBytes: 254 },
        { host: 'canteen', uplinkPaths: [p('chromium')], uplinkBytes: 250 },
        { host: 'hall', uplinkPaths: [], uplinkBytes: 0 },
      ],
      3,
    );
    expect(batches).toEqual([['entrance', 'lab', 'hall'], ['canteen']]);
  });

  it('refuses a bad limit and a host listed twice', () => {
    expect(() => fleetBatches([], 0)).toThrow(/maxParallel must be a whole number of at least 1, not 0/);
    expect(() => fleetBatches([], 1.5)).toThrow(FleetOrderError);
    const h = { host: 'a', uplinkPaths: [], uplinkBytes: 0 };
    expect(() => fleetBatches([h, h], 2)).toThrow(/host a is listed twice/);
  });

  it('places every host once, within the limit, without shared uplink paths, as early as it fits', () => {
    const hosts = fc.uniqueArray(fc.integer({ min: 0, max: 40 }), { maxLength: 25 }).chain((ids) =>
      fc
        .tuple(...ids.map(() => fc.subarray(['a', 'b', 'c', 'd', 'e', 'f'].map(p), { maxLength: 3 })))
        .map((paths) =>
          ids.map((id, i) => ({
            host: `pi-${id}`,
            uplinkPaths: paths[i]!,
            uplinkBytes: paths[i]!.length * 10 + (id % 7),
          })),
        ),
    );
    fc.assert(
      fc.property(hosts, fc.integer({ min: 1, max: 6 }), (input, max) => {
        const batches = fleetBatches(input, max);
        expect(batches.flat().sort()).toEqual(input.map((h) => h.host).sort());
        const byName = new Map(input.map((h) => [h.host, h]));
        batches.forEach((batch, k) => {
          expect(batch.length).toBeGreaterThan(0);
          expect(batch.length).toBeLessThanOrEqual(max);
          const pulled = batch.flatMap((h) => byName.get(h)!.uplinkPaths);
          expect(new Set(pulled).size).toBe(pulled.length);
          // First fit: every earlier batch was full or pulled one of this host's paths.
          for (const host of batch) {
            const mine = new Set(byName.get(host)!.uplinkPaths);
            for (const earlier of batches.slice(0, k)) {
              const clash = earlier.some((o) => byName.get(o)!.uplinkPaths.some((x) => mine.has(x)));
              expect(earlier.length === max || clash).toBe(true);
            }
          }
        });
        if (input.length > 0) {
          const biggest = Math.max(...input.map((h) => h.uplinkBytes));
          expect(byName.get(batches[0]![0]!)!.uplinkBytes).toBe(biggest);
        }
      }),
    );
  });
});
