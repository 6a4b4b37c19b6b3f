// What the engine reports about hosts: overlap of closures compared with `nix-store -q --requisites` run on
// the hosts themselves, and status (reachable, in sync, drifted, generation, free space) compared with what
// the hosts say when asked directly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Asker } from '../../src/engine/engine.ts';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { run } from '../office/run.ts';
import { officeEngine } from '../support/office-bot.ts';
import { expectRun } from '../support/outcome.ts';

const unavailable = officeUnavailable();
const HOSTS = ['baard-entrance', 'baard-kitchen', 'baard-open-space'];
const asker: Asker = { actor: { kind: 'cli', user: 'tester' }, onEvent: () => {} };

async function requisites(office: Office, host: string): Promise<Set<string>> {
  const out = await office.onHost(host, ['nix-store', '-q', '--requisites', '/run/current-system']);
  return new Set(out.stdout.trim().split('\n'));
}

describe.skipIf(unavailable !== null)('reports on the simulated office', () => {
  let office: Office;
  let bot: Awaited<ReturnType<typeof officeEngine>>;
  beforeAll(async () => {
    office = await startOffice({ hosts: HOSTS.map((name, i) => ({ name, touch: i === 0 })), scale: 0.05 });
    bot = await officeEngine(office);
    const deployed = await bot.engine.deploy(HOSTS.slice(0, 2), { until: 'switch', restart: 'no' }, asker);
    expectRun(deployed, 'ok', bot.store);
  });
  afterAll(async () => {
    await bot?.dispose();
    await office?.close();
  });

  it('reports the overlap of running systems as the hosts themselves list it', async () => {
    const result = await bot.engine.overlap(HOSTS, 'running', asker);
    const [a, b] = [await requisites(office, HOSTS[0]!), await requisites(office, HOSTS[1]!)];
    const both = [...a].filter((p) => b.has(p));
    expect(result.missing).toEqual([{ label: `${HOSTS[2]} (running)`, reason: 'runs no NixOS system yet' }]);
    const shared = result.report.groups.find((g) => g.labels.length === 2);
    expect(shared?.paths).toBe(both.length);
    const aOnly = result.report.perLabel.find((l) => l.label === `${HOSTS[0]} (running)`)!;
    expect(aOnly.paths).toBe(a.size);
    expect(aOnly.specificPaths).toBe(a.size - both.length);
  });

  it('reports the overlap of new builds, and for one host where its paths would come from', async () => {
    const result = await bot.engine.overlap([HOSTS[2]!], 'built', asker);
    expect(result.plan?.host).toBe(HOSTS[2]);
    const s = result.plan!.summary;
    expect(s.presentBytes).toBe(0);
    // Everything the two deployed hosts share with it comes from them; only its own paths over the uplink.
    expect(s.lanBytes).toBeGreaterThan(s.uplinkBytes * 5);
    expect(s.sources.map((x) => x.source).at(-1)).toBe('builder');
  });

  it('tells in-sync, drifted and unreachable hosts apart', async () => {
    // Someone copies the third host's system to the second by hand and switches to it: drift.
    const other = await bot.engine.deploy([HOSTS[2]!], { until: 'plan', restart: 'no' }, asker);
    const foreign = other.hosts[0]!.toplevel!;
    const b = office.host(HOSTS[1]!);
    await run(['nix', 'copy', '--to', `ssh://root@${b.address}`, foreign], {
      env: {
        ...process.env,
        NIX_SSHOPTS: office.sshOptions.join(' '),
        SSH_AUTH_SOCK: office.agentSocket,
      } as Record<string, string>,
    });
    const manual = await office.onHost(HOSTS[1]!, [
      'sh',
      '-c',
      'nix-env -p /nix/var/nix/profiles/system --set "$1" && "$1/bin/switch-to-configuration" switch',
      'sh',
      foreign,
    ]);
    expect(manual.exitCode).toBe(0);
    await office.unplugHost(HOSTS[2]!);
    try {
      const rows = await bot.engine.status([], asker);
      const byHost = new Map(rows.map((r) => [r.host, r]));
      const a = byHost.get(HOSTS[0]!)!;
      expect(a.reachable).toBe(true);
      expect(a.sync).toBe('in-sync');
      const aCurrent = (await office.onHost(HOSTS[0]!, ['readlink', '/run/current-system'])).stdout.trim();
      expect(a.facts!.currentSystem).toBe(aCurrent);
      expect(a.facts!.currentGeneration).toBe(1);
      expect(a.facts!.store!.freeBytes).toBeGreaterThan(0);
      expect(a.lastRun?.actor).toEqual({ kind: 'cli', user: 'tester' });
      expect(byHost.get(HOSTS[1]!)!.sync).toBe('drifted');
      const down = byHost.get(HOSTS[2]!)!;
      expect(down.reachable).toBe(false);
      expect(down.error).toMatch(new RegExp(HOSTS[2]!));
    } finally {
      await office.plugHost(HOSTS[2]!);
    }
  });
});
