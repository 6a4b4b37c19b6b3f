// One holdings snapshot per rollout, on an office of eleven hosts at one site (ten screens deployed, one
// bystander that only serves): what the hosts hold afterwards (checked on the hosts themselves), what crossed
// the uplink, and how often each host was asked what it holds (the audit log records every question). Then a
// screen whose store is garbage-collected behind the bot's back between the snapshot and its copy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StateStore } from '../../src/core/ports/state.ts';
import type { Asker } from '../../src/engine/engine.ts';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { run } from '../office/run.ts';
import { officeEngine } from '../support/office-bot.ts';
import { expectHosts } from '../support/outcome.ts';

const unavailable = officeUnavailable();
const SCREENS = Array.from({ length: 10 }, (_, i) => `baard-screen-${String(i + 1).padStart(2, '0')}`);
const BYSTANDER = 'baard-backoffice';
const quiet: Asker = { actor: { kind: 'cli', user: 'tester' }, onEvent: () => {} };

async function closureSizes(toplevels: readonly string[]): Promise<Map<string, number>> {
  const out = await run(['nix', 'path-info', '--json', '-r', ...toplevels]);
  const parsed = JSON.parse(out.stdout) as { path: string; narSize: number }[];
  return new Map(parsed.map((p) => [p.path, p.narSize]));
}

/** Per host, how many times the run asked it which store paths it holds. */
function questionsPerHost(store: StateStore, runId: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of store.auditLog({ runId, limit: 10_000 })) {
    if (e.argv.includes('--check-validity')) counts.set(e.host, (counts.get(e.host) ?? 0) + 1);
  }
  return counts;
}

/** The paths of `paths` the host's own store lacks, asked by entering the host, not over the bot's SSH. */
async function lacking(office: Office, host: string, paths: readonly string[]): Promise<string[]> {
  const out = await office.onHost(host, ['nix-store', '--check-validity', '--print-invalid', ...paths]);
  expect(out.exitCode, out.stderr).toBe(0);
  return out.stdout.split('\n').filter((l) => l !== '');
}

describe.skipIf(unavailable !== null)('one holdings snapshot per rollout', () => {
  let office: Office;
  let rev1: Map<string, number>;
  beforeAll(async () => {
    office = await startOffice({ hosts: [...SCREENS, BYSTANDER], scale: 0.05 });
  }, 600_000);
  afterAll(async () => {
    await office?.close();
  });

  it('deploys ten screens from one snapshot: each holds its closure, each path crossed the uplink once, each host was asked at most thrice', async () => {
    const bot = await officeEngine(office, { tags: (h) => (h === BYSTANDER ? [] : ['screens']) });
    try {
      const before = office.uplinkBytes();
      const started = Date.now();
      const result = await bot.engine.deploy(['@screens'], { until: 'switch', restart: 'no' }, quiet);
      const after = office.uplinkBytes();
      const asked = questionsPerHost(bot.store, result.runId);
      console.log(
        `rollout of ${SCREENS.length} screens in ${Date.now() - started} ms; questions per host: ` +
          [...asked].map(([h, n]) => `${h}=${n}`).join(' '),
      );
      expectHosts(
        result,
        SCREENS.map(() => 'ok'),
        bot.store,
      );
      rev1 = await closureSizes(result.hosts.map((h) => h.toplevel!));
      const missing = [...rev1.values()].reduce((s, n) => s + n, 0);
      // The builder sent every path of the union once: the office held none of it.
      expect(result.uplinkBytes).toBe(missing);
      // What crossed the uplink: those bytes, plus the copies' metadata and every question and command.
      expect(after.tx - before.tx).toBeGreaterThanOrEqual(missing);
      expect(after.tx - before.tx).toBeLessThan(missing * 1.05 + 1_500_000);
      for (const h of result.hosts) {
        const closure = [...(await closureSizes([h.toplevel!])).keys()];
        expect(await lacking(office, h.host, closure)).toEqual([]);
        expect((await office.onHost(h.host, ['readlink', '/run/current-system'])).stdout.trim()).toBe(
          h.toplevel,
        );
      }
      // The bystander answered the snapshot and nothing else; a screen answered it, was asked again right
      // before its copy if it waited for others, and once after to confirm it holds its whole closure.
      expect(asked.get(BYSTANDER)).toBe(1);
      for (const s of SCREENS) {
        expect(asked.get(s)).toBeGreaterThanOrEqual(1);
        expect(asked.get(s)).toBeLessThanOrEqual(3);
      }
    } finally {
      await bot.dispose();
    }
  }, 900_000);

  it('a rollout with nothing to do asks each host once and probes it once, and a screen running its system only about that system', async () => {
    expect(rev1, 'the first rollout ran').toBeDefined();
    const bot = await officeEngine(office, { tags: (h) => (h === BYSTANDER ? [] : ['screens']) });
    try {
      const before = office.uplinkBytes();
      const started = Date.now();
      const result = await bot.engine.deploy(['@screens'], { until: 'switch', restart: 'no' }, quiet);
      const after = office.uplinkBytes();
      const asked = questionsPerHost(bot.store, result.runId);
      console.log(
        `no-op rollout of ${SCREENS.length} screens in ${Date.now() - started} ms, uplink ` +
          `${after.tx - before.tx} bytes out, ${after.rx - before.rx} back; questions per host: ` +
          [...asked].map(([h, n]) => `${h}=${n}`).join(' '),
      );
      expectHosts(
        result,
        SCREENS.map(() => 'noop'),
        bot.store,
      );
      expect(result.uplinkBytes + result.lanBytes).toBe(0);
      // A screen runs its new system already: the builder holds it, so its whole closure is implied and the
      // screen is asked only whether its store holds the systems it links to. No target needs anything, so
      // the bystander is asked nothing.
      for (const s of SCREENS) {
        expect(asked.get(s), s).toBe(1);
        const q = bot.store
          .auditLog({ runId: result.runId, host: s, limit: 100 })
          .find((e) => e.argv.includes('--check-validity'))!;
        expect(q.argv.at(-1), s).toMatch(/^\([123] path hashes on stdin\)$/);
        // And that is all it is sent: the snapshot's probe serves the closure diff and confirms the switch,
        // with nothing to copy, stage or activate.
        const sent = bot.store
          .auditLog({ runId: result.runId, host: s, limit: 100 })
          .map((e) => e.argv[0])
          // Recorded for the host, run on the builder: which revision it was built from.
          .filter((a) => a !== '(fleet revision)');
        expect(sent.sort(), s).toEqual([
          '(probe: current and booted system, generations, free space)',
          'nix-store',
        ]);
      }
      expect(asked.get(BYSTANDER) ?? 0).toBe(0);
    } finally {
      await bot.dispose();
    }
  }, 600_000);

  it('plans and copies a screen right whose store was garbage-collected between the snapshot and its copy', async () => {
    expect(rev1, 'the first rollout ran').toBeDefined();
    await office.fleet.setRevision(2);
    const victim = SCREENS[9]!;
    // One copy at a time, so every screen but the canary copies well after the snapshot.
    const bot = await officeEngine(office, {
      tags: (h) => (h === BYSTANDER ? [] : ['screens']),
      limits: { parallelHosts: 1 },
    });
    try {
      // The victim gets revision 2 ahead of time, then loses the root that kept it and its toplevel: its
      // store holds most of the new closure, kept by nothing.
      const staged = await bot.engine.deploy([victim], { until: 'copy', restart: 'no' }, quiet);
      expectHosts(staged, ['ok'], bot.store);
      const toplevel = staged.hosts[0]!.toplevel!;
      const closure = [...(await closureSizes([toplevel])).keys()];
      expect((await office.onHost(victim, ['rm', '/nix/var/nix/gcroots/signage-bot-staged'])).exitCode).toBe(
        0,
      );
      const deleted = await office.onHost(victim, ['nix-store', '--delete', toplevel]);
      expect(deleted.exitCode, deleted.stderr).toBe(0);
      const heldAhead = closure.length - (await lacking(office, victim, closure)).length;
      expect(heldAhead).toBeGreaterThan(closure.length / 2);

      // While the canary copies (the uplink slowed so that it takes a while), the victim's store is
      // garbage-collected: everything of revision 2 it held goes.
      await office.setUplinkRate(2_000);
      let canary: string | undefined;
      let gc: Promise<{ lost: number; at: number }> | undefined;
      let victimPlanAt: number | undefined;
      const watching: Asker = {
        actor: { kind: 'cli', user: 'tester' },
        onEvent: (e) => {
          if (e.type === 'log' && e.message.startsWith('canary: '))
            canary = e.message.slice('canary: '.length);
          if (!gc && e.type === 'stage.started' && e.stage === 'copy' && e.host === canary) {
            gc = office.onHost(victim, ['nix-store', '--gc']).then(async (out) => {
              expect(out.exitCode, out.stderr).toBe(0);
              return { lost: (await lacking(office, victim, closure)).length, at: Date.now() };
            });
          }
          if (e.type === 'stage.started' && e.stage === 'plan' && e.host === victim)
            victimPlanAt ??= Date.now();
        },
      };
      const before = office.uplinkBytes();
      const result = await bot.engine.deploy(['@screens'], { until: 'copy', restart: 'no' }, watching);
      const after = office.uplinkBytes();
      await office.setUplinkRate(null);
      expect(canary).toBeDefined();
      expect(canary).not.toBe(victim);
      expect(gc).toBeDefined();
      const collected = await gc!;
      // The change happened behind the bot's back, after the snapshot and before the victim's copy.
      expect(collected.lost).toBeGreaterThan(1);
      expect(victimPlanAt).toBeGreaterThan(collected.at);
      const asked = questionsPerHost(bot.store, result.runId);
      const fellBack = result.hosts.filter((h) => (h.copy?.fellBack.length ?? 0) > 0).map((h) => h.host);
      console.log(
        `questions per host with one copy at a time: ${[...asked].map(([h, n]) => `${h}=${n}`).join(' ')}; ` +
          `copies that lost a peer: ${fellBack.join(' ') || 'none'}`,
      );
      expectHosts(
        result,
        SCREENS.map(() => 'ok'),
        bot.store,
      );

      const rev2 = await closureSizes(result.hosts.map((h) => h.toplevel!));
      for (const h of result.hosts) {
        const own = [...(await closureSizes([h.toplevel!])).keys()];
        expect(await lacking(office, h.host, own)).toEqual([]);
      }
      // Only the victim held anything new of revision 2, and the collection took it, perhaps while a peer was
      // pulling from it: every new path came over the uplink once, or from the victim before it went.
      const fresh = [...rev2].filter(([p]) => !rev1.has(p)).reduce((s, [, n]) => s + n, 0);
      const fromVictim = result.hosts.reduce((s, h) => s + (h.copy?.bySource[`peer:${victim}`] ?? 0), 0);
      expect(result.uplinkBytes).toBeLessThanOrEqual(fresh);
      expect(result.uplinkBytes).toBeGreaterThanOrEqual(fresh - fromVictim);
      expect(after.tx - before.tx).toBeLessThan(fresh * 1.05 + 1_500_000);
      // The victim, asked again right before its copy, got what it lost from its peers: over the uplink came
      // only its own paths, those no other screen has. Planned from the stale snapshot, its copy from the
      // builder would have brought the lost paths over the uplink a second time.
      const others = await closureSizes(
        result.hosts.filter((h) => h.host !== victim).map((h) => h.toplevel!),
      );
      const victimClosure = await closureSizes([result.hosts.find((h) => h.host === victim)!.toplevel!]);
      const ownOnly = [...victimClosure].filter(([p]) => !others.has(p)).reduce((s, [, n]) => s + n, 0);
      // Screens run revision 1, whose closure the builder holds: what revision 2 shares with it was asked of
      // nobody; only the new paths were (and each screen's systems, to confirm them).
      const newPaths = [...rev2.keys()].filter((p) => !rev1.has(p)).length;
      const firstQuestion = (host: string) =>
        bot.store
          .auditLog({ runId: result.runId, host, limit: 1000 })
          .filter((e) => e.argv.includes('--check-validity'))
          .sort((a, b) => a.id - b.id)[0]!;
      const askedPaths = (host: string) =>
        Number(/^\((\d+) path hashes on stdin\)$/.exec(firstQuestion(host).argv.at(-1) ?? '')?.[1]);
      expect(newPaths).toBeLessThan(rev2.size);
      expect(askedPaths(BYSTANDER)).toBe(newPaths);
      for (const s of SCREENS) expect(askedPaths(s), s).toBeLessThanOrEqual(newPaths + 3);
      const v = result.hosts.find((h) => h.host === victim)!;
      expect(v.copy!.lanBytes).toBeGreaterThan(0);
      expect(v.copy!.uplinkBytes).toBeLessThanOrEqual(ownOnly);
      // The documented exceptions on top of three: a screen whose copy lost a peer (a peer that held, at the
      // snapshot, what the collection then removed) is asked again to plan anew, and that peer, its answer now
      // doubtful, is asked once more before it serves again.
      expect(asked.get(BYSTANDER)).toBe(1);
      const doubted = new Set(result.hosts.flatMap((h) => h.copy?.fellBack ?? []));
      for (const s of SCREENS) {
        const exceptions = (fellBack.includes(s) ? 1 : 0) + (doubted.has(s) ? 1 : 0);
        expect(asked.get(s), s).toBeLessThanOrEqual(3 + exceptions);
      }
    } finally {
      await office.setUplinkRate(null);
      await bot.dispose();
    }
  }, 900_000);

  it('a single-host deploy asks each host of its site once, and the target once more after its copy', async () => {
    expect(rev1, 'the first rollout ran').toBeDefined();
    await office.fleet.setRevision(3);
    const bot = await officeEngine(office);
    try {
      const result = await bot.engine.deploy([SCREENS[0]!], { until: 'copy', restart: 'no' }, quiet);
      expectHosts(result, ['ok'], bot.store);
      const asked = questionsPerHost(bot.store, result.runId);
      expect(asked.get(SCREENS[0]!)).toBe(2);
      for (const h of [...SCREENS.slice(1), BYSTANDER]) expect(asked.get(h), h).toBe(1);
      const closure = [...(await closureSizes([result.hosts[0]!.toplevel!])).keys()];
      expect(await lacking(office, SCREENS[0]!, closure)).toEqual([]);
    } finally {
      await bot.dispose();
    }
  }, 600_000);
});
