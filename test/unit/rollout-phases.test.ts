import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PathUniverse } from '../../src/core/held-paths.ts';
import { HoldingsSnapshot, neededPaths, questionFor, readAnswer } from '../../src/core/holdings-snapshot.ts';
import {
  type ActivationEnd,
  type CopyNeed,
  isEnding,
  PHASES,
  RolloutWalkError,
  SiteWalk,
} from '../../src/core/rollout-phases.ts';
import type { StorePath } from '../../src/core/types.ts';
import { closedHoldingArb, closureArb, naiveRequisites } from '../support/store-arbitraries.ts';

const PATHS = Array.from({ length: 8 }, (_, i) => `/nix/store/${String(i).repeat(32)}-p${i}`);

/** A site: targets with closures over a few shared paths, what each holds, what some host already holds. */
const siteArb = fc
  .record({
    count: fc.integer({ min: 1, max: 6 }),
    parallel: fc.integer({ min: 1, max: 4 }),
    until: fc.constantFrom<'copy' | 'activate'>('copy', 'activate'),
    closures: fc.array(fc.subarray(PATHS, { minLength: 1 }), { minLength: 6, maxLength: 6 }),
    owns: fc.array(fc.subarray(PATHS), { minLength: 6, maxLength: 6 }),
    elsewhere: fc.subarray(PATHS),
    canaryAt: fc.nat(),
  })
  .map((s) => {
    const targets = Array.from({ length: s.count }, (_, i) => `h${i}`);
    return { ...s, targets, canary: targets[s.canaryAt % s.count]! };
  });

/** How things end: which operation under way ends next, and how. */
const fateArb = fc.record({
  picks: fc.array(fc.nat(), { minLength: 40, maxLength: 40 }),
  copyOk: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
  activation: fc.array(fc.constantFrom<ActivationEnd>('confirmed', 'not-confirmed', 'failed'), {
    minLength: 6,
    maxLength: 6,
  }),
});

interface Trace {
  /** In order: `copy:h1`, `activate:h0`, `copied:h1:ok`, `activated:h0:confirmed`... */
  readonly events: string[];
  readonly walk: SiteWalk;
  /** Per path, the successful copies that pulled it over the uplink. */
  readonly uplinkCrossings: Map<StorePath, number>;
  readonly violations: string[];
}

/** Walks a site to its end, the engine's way, checking what must hold at every step. */
type Site = typeof siteArb extends fc.Arbitrary<infer T> ? T : never;
type Fate = typeof fateArb extends fc.Arbitrary<infer T> ? T : never;

function simulate(site: Site, fate: Fate): Trace {
  const walk = new SiteWalk({
    targets: site.targets,
    canary: site.canary,
    until: site.until,
    parallel: site.parallel,
  });
  const index = (t: string) => Number(t.slice(1));
  const holds = new Map(site.targets.map((t) => [t, new Set(site.owns[index(t)])]));
  const somewhere = new Set([...site.elsewhere, ...site.targets.flatMap((t) => [...holds.get(t)!])]);
  const closure = (t: string) => site.closures[index(t)]!;
  const need = (t: string): CopyNeed => ({
    uplink: closure(t).filter((p) => !somewhere.has(p)),
    moves: closure(t).some((p) => !holds.get(t)!.has(p)),
  });
  const events: string[] = [];
  const violations: string[] = [];
  const pulling = new Map<string, StorePath[]>();
  const moving = new Set<string>();
  const uplinkCrossings = new Map<StorePath, number>();
  let canaryEnd: 'confirmed' | 'failed' | null = null;
  let step = 0;
  for (let guard = 0; guard < 200; guard++) {
    for (const t of walk.copiesToStart(need)) {
      events.push(`copy:${t}`);
      const n = need(t);
      for (const [other, paths] of pulling)
        if (n.uplink.some((p) => paths.includes(p))) violations.push(`${t} and ${other} pull the same path`);
      pulling.set(t, [...n.uplink]);
      if (n.moves) moving.add(t);
      if (moving.size > site.parallel) violations.push(`${moving.size} copies move at once`);
    }
    for (const t of walk.activationsToStart()) {
      events.push(`activate:${t}`);
      if (site.until === 'copy') violations.push(`${t} activated in a copy`);
      if (t !== site.canary && canaryEnd !== 'confirmed')
        violations.push(`${t} activated before the canary was confirmed`);
      const rest = walk.busy.filter((b) => b !== site.canary && walk.state(b) === 'activating');
      if (rest.length > site.parallel) violations.push(`${rest.length} activations at once`);
    }
    if (walk.finished) break;
    const busy = walk.busy;
    if (busy.length === 0) {
      violations.push('stalled: nothing under way, nothing startable, not finished');
      break;
    }
    const t = busy[fate.picks[step++ % fate.picks.length]! % busy.length]!;
    if (walk.state(t) === 'copying') {
      const ok = fate.copyOk[index(t)]!;
      events.push(`copied:${t}:${ok ? 'ok' : 'failed'}`);
      if (ok) {
        for (const p of pulling.get(t)!) uplinkCrossings.set(p, (uplinkCrossings.get(p) ?? 0) + 1);
        for (const p of closure(t)) {
          holds.get(t)!.add(p);
          somewhere.add(p);
        }
      }
      pulling.delete(t);
      moving.delete(t);
      walk.copyEnded(t, ok);
      if (!ok && t === site.canary) canaryEnd = 'failed';
    } else {
      const end = fate.activation[index(t)]!;
      events.push(`activated:${t}:${end}`);
      walk.activationEnded(t, end);
      if (t === site.canary) canaryEnd = end === 'confirmed' ? 'confirmed' : 'failed';
    }
  }
  return { events, walk, uplinkCrossings, violations };
}

describe('the rollout phases', () => {
  it('reads top to bottom: build, snapshot, copy, the canary activated, then the rest', () => {
    expect(PHASES.map((p) => p.phase)).toEqual([
      'build',
      'snapshot',
      'copy',
      'activate-canary',
      'activate-rest',
    ]);
  });

  it('keeps every rule at every step, and never stalls', () => {
    fc.assert(
      fc.property(siteArb, fateArb, (site, fate) => {
        expect(simulate(site, fate).violations).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it('ends every target in exactly one ending', () => {
    fc.assert(
      fc.property(siteArb, fateArb, (site, fate) => {
        const { walk, events } = simulate(site, fate);
        expect(walk.finished).toBe(true);
        for (const t of site.targets) {
          expect(isEnding(walk.state(t))).toBe(true);
          // Each copy and each activation runs at most once.
          expect(events.filter((e) => e === `copy:${t}`).length).toBeLessThanOrEqual(1);
          expect(events.filter((e) => e === `activate:${t}`).length).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('starts with the canary copy; activates no other target before the canary is confirmed', () => {
    fc.assert(
      fc.property(siteArb, fateArb, (site, fate) => {
        const { events } = simulate(site, fate);
        expect(events[0]).toBe(`copy:${site.canary}`);
        const confirmed = events.indexOf(`activated:${site.canary}:confirmed`);
        for (const [i, e] of events.entries()) {
          if (e.startsWith('activate:') && e !== `activate:${site.canary}`) {
            expect(confirmed).toBeGreaterThanOrEqual(0);
            expect(i).toBeGreaterThan(confirmed);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('after a failed canary, activates nothing else; the other targets end skipped or as their copy ended', () => {
    fc.assert(
      fc.property(siteArb, fateArb, (site, fate) => {
        const { events, walk } = simulate(site, fate);
        const failed = events.some(
          (e) =>
            e === `copied:${site.canary}:failed` ||
            e === `activated:${site.canary}:not-confirmed` ||
            e === `activated:${site.canary}:failed`,
        );
        if (!failed) return;
        expect(events.filter((e) => e.startsWith('activate:') && e !== `activate:${site.canary}`)).toEqual(
          [],
        );
        expect(walk.stop?.by).toBe(site.canary);
        for (const t of site.targets) {
          if (t === site.canary) expect(walk.state(t)).toBe('failed');
          else if (site.until === 'activate') expect(['skipped', 'failed']).toContain(walk.state(t));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a target whose system is not confirmed stops the activations not yet started', () => {
    fc.assert(
      fc.property(siteArb, fateArb, (site, fate) => {
        const { events } = simulate(site, fate);
        const bad = events.findIndex((e) => /^activated:h\d+:not-confirmed$/.test(e));
        if (bad < 0) return;
        expect(events.slice(bad + 1).filter((e) => e.startsWith('activate:'))).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('brings each path over the uplink at most once, whatever order copies end in', () => {
    fc.assert(
      fc.property(siteArb, fateArb, (site, fate) => {
        const { uplinkCrossings } = simulate(site, fate);
        for (const [path, n] of uplinkCrossings) expect([path, n]).toEqual([path, 1]);
      }),
      { numRuns: 300 },
    );
  });

  it('copies in parallel what does not compete for the uplink, while the canary still copies', () => {
    const walk = new SiteWalk({ targets: ['a', 'b', 'c'], canary: 'a', until: 'activate', parallel: 3 });
    const needs: Record<string, CopyNeed> = {
      a: { uplink: ['/nix/store/x'], moves: true },
      b: { uplink: ['/nix/store/x'], moves: true },
      c: { uplink: ['/nix/store/y'], moves: true },
    };
    expect(walk.copiesToStart((t) => needs[t]!)).toEqual(['a', 'c']);
    // b waits for a's copy, then gets x from a (its need no longer crosses the uplink).
    walk.copyEnded('a', true);
    expect(walk.copiesToStart(() => ({ uplink: [], moves: true }))).toEqual(['b']);
    expect(walk.activationsToStart()).toEqual(['a']);
    walk.copyEnded('c', true);
    expect(walk.activationsToStart()).toEqual([]);
    walk.activationEnded('a', 'confirmed');
    expect(walk.activationsToStart()).toEqual(['c']);
  });

  it('activates the targets already running their system all at once, the others within the limit', () => {
    const targets = ['a', 'b', 'c', 'd', 'e', 'f'];
    const walk = new SiteWalk({
      targets,
      canary: 'a',
      until: 'activate',
      parallel: 1,
      unchanged: ['c', 'd', 'e'],
    });
    const nothing: CopyNeed = { uplink: [], moves: false };
    expect(walk.copiesToStart(() => nothing)).toEqual(targets);
    for (const t of targets) walk.copyEnded(t, true);
    expect(walk.activationsToStart()).toEqual(['a']);
    walk.activationEnded('a', 'confirmed');
    // One that changes (the limit is one), and every unchanged one beside it.
    expect(walk.activationsToStart()).toEqual(['b', 'c', 'd', 'e']);
    expect(walk.activationsToStart()).toEqual([]);
    walk.activationEnded('c', 'confirmed');
    expect(walk.activationsToStart()).toEqual([]);
    walk.activationEnded('b', 'confirmed');
    expect(walk.activationsToStart()).toEqual(['f']);
  });

  it('refuses a canary outside the targets and a limit below one', () => {
    expect(() => new SiteWalk({ targets: ['a'], canary: 'b', until: 'copy', parallel: 1 })).toThrow(
      RolloutWalkError,
    );
    expect(() => new SiteWalk({ targets: ['a'], canary: 'a', until: 'copy', parallel: 0 })).toThrow(
      RolloutWalkError,
    );
  });
});

describe('the holdings snapshot', () => {
  /** A closure, what a host's store holds of it (closed), and systems it links to (held, or dangling). */
  const hostArb = closureArb({ minPaths: 2, maxPaths: 25 }).chain((closure) =>
    fc.record({
      closure: fc.constant(closure),
      held: closedHoldingArb(closure),
      systems: fc.subarray(
        closure.map((i) => i.path),
        { maxLength: Math.min(3, closure.length) },
      ),
      builderLacks: fc.subarray(closure.map((i) => i.path)),
      union: fc.subarray(
        closure.map((i) => i.path),
        { minLength: 1 },
      ),
    }),
  );

  it('asks only about what confirmed systems do not imply, and still learns exactly what the host holds', () => {
    fc.assert(
      fc.property(hostArb, ({ closure, held, systems, builderLacks, union }) => {
        const universe = new PathUniverse(union);
        // The builder knows the closure of the systems it holds; the host links to `systems`.
        const implied = new Map<StorePath, ReadonlySet<StorePath>>();
        for (const s of systems) {
          if (builderLacks.includes(s)) continue;
          implied.set(s, new Set([...naiveRequisites(closure, [s])].filter((p) => universe.indexOf(p) >= 0)));
        }
        const question = questionFor(union, implied);
        const answer = new Set(question.filter((p) => held.has(p)));
        const read = readAnswer(universe, implied, answer);
        // The second question, about what unconfirmed systems would have implied.
        for (const p of read.unknown) if (held.has(p)) read.held.add(p);
        expect([...read.held].sort()).toEqual(union.filter((p) => held.has(p)).sort());
        // Nothing a confirmed system implies is asked, apart from the systems themselves.
        for (const [s, c] of implied) {
          if (!held.has(s)) continue;
          for (const p of c) if (!implied.has(p)) expect(question).not.toContain(p);
        }
        // Without a dangling system there is no second question.
        if ([...implied.keys()].every((s) => held.has(s))) expect(read.unknown).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('asks about a path only when some target needs it and its systems do not imply it', () => {
    fc.assert(
      fc.property(
        closureArb({ minPaths: 1, maxPaths: 25 }).chain((closure) =>
          fc.array(
            fc.record({
              closure: fc.subarray(
                closure.map((i) => i.path),
                { minLength: 1 },
              ),
              implied: fc.subarray(closure.map((i) => i.path)),
            }),
            { minLength: 1, maxLength: 4 },
          ),
        ),
        (targets) => {
          const union = new PathUniverse([...new Set(targets.flatMap((t) => t.closure))]);
          const closures = new Map(targets.map((t, i) => [`t${i}`, t.closure]));
          const implied = new Map(targets.map((t, i) => [`t${i}`, new Set(t.implied)]));
          const needed = new Set(neededPaths(union, closures, implied));
          for (const p of union.paths) {
            const someoneNeeds = targets.some((t) => t.closure.includes(p) && !t.implied.includes(p));
            expect(needed.has(p)).toBe(someoneNeeds);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a completed copy means the host holds that closure; a forgotten host is no source', () => {
    const [a, b, c] = ['/nix/store/a', '/nix/store/b', '/nix/store/c'];
    const snap = new HoldingsSnapshot([a, b, c]);
    snap.answered('x', [a]);
    snap.answered('y', []);
    expect(snap.heldByNone([a, b, c])).toEqual([b, c]);
    snap.copied('y', [b]);
    expect([...snap.heldBy('y')!]).toEqual([b]);
    expect(snap.heldByNone([a, b, c])).toEqual([c]);
    snap.forget('x');
    expect(snap.knows('x')).toBe(false);
    expect(snap.heldByNone([a, b, c])).toEqual([a, c]);
    expect(snap.holdings('y', new Set([c])).get('y')).toEqual(new Set([c]));
    // Asked again about some paths: those are as it says now, the others as before.
    snap.answeredAbout('y', [b, c], new Set([c]));
    expect([...snap.heldBy('y')!]).toEqual([c]);
    expect(snap.heldByNone([a, b, c])).toEqual([a, b]);
  });
});
