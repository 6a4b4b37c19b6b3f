// What a deploy changes, on the simulated office with the fleet as a git repository: two revisions that
// really differ (a new browser and kiosk application, a new system), a host that runs nothing yet, an older
// commit (downgrades), and a host running a system the builder never had (its closure asked of the host).
// Every figure is checked against the stores themselves: the host's, read by entering its namespaces, and
// the builder's, read with plain nix-store.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageId } from '../../src/core/package-name.ts';
import { storePathName } from '../../src/core/storepath.ts';
import type { Asker, RunResult } from '../../src/engine/engine.ts';
import { runText } from '../../src/verbs/render-run.ts';
import { type GitFleet, makeGitFleet } from '../office/git-fleet.ts';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { run } from '../office/run.ts';
import { officeEngine } from '../support/office-bot.ts';
import { expectRun } from '../support/outcome.ts';

const unavailable = officeUnavailable();
const [A, B] = ['baard-lobby', 'baard-stair'];
const asker: Asker = { actor: { kind: 'cli', user: 'tester' }, onEvent: () => {} };
/** A closure's paths, then their sizes in the same order: two queries, whatever the closure's size. */
const SIZES =
  'set -- $(nix-store -q --requisites "$(readlink -f "$1")"); printf "%s\\n" "$@"; nix-store -q --size "$@"';

describe.skipIf(unavailable !== null)('closure diff on the office', () => {
  let office: Office;
  let fleet: GitFleet;
  let bot: Awaited<ReturnType<typeof officeEngine>>;
  let rev1: string;
  let rev2: string;

  const running = async (host: string) =>
    (await office.onHost(host, ['readlink', '/run/current-system'])).stdout.trim();
  /** The closure of what the host runs, as the host's own store says, with each path's size. */
  const hostClosure = async (host: string) => {
    const out = await office.onHost(host, ['sh', '-c', SIZES, 'sh', '/run/current-system']);
    return sizes(out.stdout);
  };
  /** A build's closure, as the builder's store says. */
  const builderClosure = async (path: string) => sizes((await run(['sh', '-c', SIZES, 'sh', path])).stdout);
  const versionsOf = (closure: Map<string, number>, name: string) =>
    [...closure.keys()]
      .map((p) => packageId(storePathName(p)))
      .filter((id) => id.name === name)
      .map((id) => id.version);

  const planOf = async (host: string, ref?: string): Promise<RunResult> => {
    const r = await bot.engine.deploy(
      [host],
      { until: 'plan', restart: 'no', ...(ref ? { ref } : {}) },
      asker,
    );
    expectRun(r, 'ok', bot.store);
    return r;
  };

  beforeAll(async () => {
    office = await startOffice({ hosts: [A, B], scale: 0.05 });
    fleet = await makeGitFleet(office.fleet, 'Fleet for the office');
    rev1 = await fleet.head('main');
    bot = await officeEngine(office, { flake: fleet.url });
    expectRun(await bot.engine.deploy([A], { until: 'switch', restart: 'no' }, asker), 'ok', bot.store);
    rev2 = await fleet.commit('main', 2, 'New browser and kiosk');
  });
  afterAll(async () => {
    await bot?.dispose();
    await office?.close();
  });

  it('shows upgrades with their versions and the size change, from what the host runs to the new build', async () => {
    const result = await planOf(A);
    const h = result.hosts[0]!;
    const before = await hostClosure(A);
    const newSystem = await fleet.buildAt(rev2, A);
    const after = await builderClosure(newSystem);
    expect(h.diff?.known, JSON.stringify(h.diff)).toBe(true);
    if (!h.diff?.known) return;
    const d = h.diff.diff;
    expect(d.from).toBe(await running(A));
    expect(d.to).toBe(newSystem);
    const change = (name: string) => d.changes.find((c) => c.name === name);
    // The browser, the kiosk and the system itself moved on a version, as the stores' own names say.
    for (const name of ['chromium', 'signage-kiosk', `nixos-system-${A}`]) {
      expect(change(name), name).toMatchObject({
        kind: 'upgraded',
        before: versionsOf(before, name),
        after: versionsOf(after, name),
      });
      expect(versionsOf(before, name)).not.toEqual(versionsOf(after, name));
    }
    expect(change('chromium')?.before).toEqual(['131.0.6778.85']);
    expect(change('chromium')?.after).toEqual(['131.0.6778.86']);
    expect(d.counts).toMatchObject({ added: 0, removed: 0, downgraded: 0 });
    expect(d.bytesBefore).toBe(sum(before));
    expect(d.bytesAfter).toBe(sum(after));
    expect(d.pathsAdded).toBe([...after.keys()].filter((p) => !before.has(p)).length);
    expect(d.pathsRemoved).toBe([...before.keys()].filter((p) => !after.has(p)).length);
    // The closure of the running system came from the builder, which holds it: no closure query on the host.
    const audit = bot.store.auditLog({ runId: result.runId, limit: 1000 });
    expect(audit.some((a) => a.host === A && a.argv.join(' ').includes('path-info'))).toBe(false);
    // The terminal and --json say the same, with the planner's totals beside the changes.
    const text = runText(result);
    expect(text).toContain('chromium: 131.0.6778.85 → 131.0.6778.86');
    expect(text).toMatch(/changes: 3 upgraded/);
    expect(text).toMatch(/from peers, .* over the uplink/);
    expect(JSON.parse(JSON.stringify(result)).hosts[0].diff.diff.counts.upgraded).toBe(3);
  }, 400_000);

  it('shows downgrades when the host goes back to an older commit', async () => {
    expectRun(await bot.engine.deploy([A], { until: 'switch', restart: 'no' }, asker), 'ok', bot.store);
    expect(await running(A)).toBe(await fleet.buildAt(rev2, A));
    const h = (await planOf(A, rev1)).hosts[0]!;
    expect(h.diff?.known && h.diff.diff.changes.find((c) => c.name === 'chromium')).toMatchObject({
      kind: 'downgraded',
      before: ['131.0.6778.86'],
      after: ['131.0.6778.85'],
    });
    expect(h.diff?.known && h.diff.diff.counts.downgraded).toBe(3);
  }, 400_000);

  it('shows everything as added on a host that runs no system yet', async () => {
    expect((await office.onHost(B, ['sh', '-c', 'readlink /run/current-system || true'])).stdout.trim()).toBe(
      '',
    );
    const h = (await planOf(B)).hosts[0]!;
    expect(h.diff?.known).toBe(true);
    if (!h.diff?.known) return;
    const after = await builderClosure(await fleet.buildAt(rev2, B));
    expect(h.diff.diff.from).toBeNull();
    expect(h.diff.diff.counts.added).toBe(
      new Set([...after.keys()].map((p) => packageId(storePathName(p)).name)).size,
    );
    expect(h.diff.diff.pathsAdded).toBe(after.size);
  }, 400_000);

  it('asks the host for the closure of a system the builder does not hold', async () => {
    // A system made on the host itself, with contents no one else has: the builder cannot describe it.
    const made = await office.onHost(B, [
      'sh',
      '-c',
      'd="$(mktemp -d)/nixos-system-handmade-0.9"; mkdir -p "$d" && echo "$1" > "$d/nixos-version" && nix-store --add "$d"',
      'sh',
      `handmade ${office.id} ${Date.now()}`,
    ]);
    const handmade = made.stdout.trim();
    expect(handmade).toMatch(/^\/nix\/store\/[0-9a-z]{32}-nixos-system-handmade-0\.9$/);
    const onBuilder = await run([
      'sh',
      '-c',
      'nix-store -q --size "$1" 2>/dev/null || echo absent',
      'sh',
      handmade,
    ]);
    expect(onBuilder.stdout.trim()).toBe('absent');
    await office.onHost(B, ['ln', '-sfn', handmade, '/run/current-system']);
    try {
      const result = await planOf(B);
      const h = result.hosts[0]!;
      expect(h.diff?.known, JSON.stringify(h.diff)).toBe(true);
      if (!h.diff?.known) return;
      expect(h.diff.diff.from).toBe(handmade);
      expect(h.diff.diff.changes.find((c) => c.name === 'nixos-system-handmade')).toMatchObject({
        kind: 'removed',
        before: ['0.9'],
      });
      // Its closure came from the host, in one query naming it.
      const audit = bot.store.auditLog({ runId: result.runId, limit: 1000 });
      expect(audit.filter((a) => a.host === B && a.argv.includes(handmade))).toHaveLength(1);
    } finally {
      await office.onHost(B, ['rm', '-f', '/run/current-system']);
    }
  }, 400_000);
});

function sizes(stdout: string): Map<string, number> {
  const lines = stdout.trim().split('\n');
  const half = lines.length / 2;
  const out = new Map<string, number>();
  for (let i = 0; i < half; i++) out.set(lines[i]!, Number(lines[half + i]));
  return out;
}

function sum(m: Map<string, number>): number {
  return [...m.values()].reduce((s, n) => s + n, 0);
}
