// Fleet rollouts and failures on the simulated office: three hosts whose uplink bytes are the office's missing
// bytes once; a peer that dies mid-copy; the engine restarted while a restart question is open.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../src/core/events.ts';
import type { Asker } from '../../src/engine/engine.ts';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { run } from '../office/run.ts';
import { officeEngine } from '../support/office-bot.ts';
import { expectHost, expectHosts, expectRun, expectStoredRun } from '../support/outcome.ts';

const unavailable = officeUnavailable();
const HOSTS = ['baard-entrance', 'baard-kitchen', 'baard-open-space'];
const quiet: Asker = { actor: { kind: 'cli', user: 'tester' }, onEvent: () => {} };

async function closureSizes(toplevels: readonly string[]): Promise<Map<string, number>> {
  const out = await run(['nix', 'path-info', '--json', '-r', ...toplevels]);
  const parsed = JSON.parse(out.stdout) as { path: string; narSize: number }[];
  return new Map(parsed.map((p) => [p.path, p.narSize]));
}

/**
 * Bytes of the signatures a copy carries along with the paths. The builder's store on a developer's machine
 * holds paths signed by many earlier offices' keys, and each copy sends them all.
 */
async function signatureBytes(toplevels: readonly string[]): Promise<number> {
  const out = await run(['nix', 'path-info', '--json', '--sigs', '-r', ...toplevels]);
  const parsed = JSON.parse(out.stdout) as { signatures?: string[] }[];
  return parsed.reduce((sum, p) => sum + (p.signatures ?? []).reduce((s, sig) => s + sig.length, 0), 0);
}

describe.skipIf(unavailable !== null)('fleet rollouts on the simulated office', () => {
  let office: Office;
  beforeAll(async () => {
    office = await startOffice({ hosts: HOSTS.map((name, i) => ({ name, touch: i === 1 })), scale: 0.1 });
  });
  afterAll(async () => {
    await office?.close();
  });

  it('deploys three hosts canary first; the uplink carries the missing bytes once', async () => {
    const bot = await officeEngine(office, { tags: () => ['lobby'] });
    try {
      const events: EngineEvent[] = [];
      const asker: Asker = { actor: { kind: 'cli', user: 'tester' }, onEvent: (e) => events.push(e) };
      const before = office.uplinkBytes();
      const result = await bot.engine.deploy(['@lobby'], { until: 'switch', restart: 'no' }, asker);
      const after = office.uplinkBytes();
      expectHosts(result, ['ok', 'ok', 'ok'], bot.store);
      expect(result.canaries).toHaveLength(1);
      // The union of the three closures, each path once: what the office lacked.
      const union = await closureSizes(result.hosts.map((h) => h.toplevel!));
      const missing = [...union.values()].reduce((s, n) => s + n, 0);
      const crossed = after.tx - before.tx;
      expect(crossed).toBeGreaterThanOrEqual(missing);
      // Each missing path once, with its metadata, plus SSH and Nix protocol chatter.
      const metadata = await signatureBytes(result.hosts.map((h) => h.toplevel!));
      expect(crossed).toBeLessThan(missing * 1.05 + metadata + 600_000);
      expect(result.uplinkBytes).toBe(missing);
      // The hosts after the canary got most of their closure from the LAN.
      const others = result.hosts.filter((h) => h.host !== result.canaries[0]);
      for (const h of others) expect(h.copy!.lanBytes).toBeGreaterThan(h.copy!.uplinkBytes * 5);
      for (const host of HOSTS) {
        const current = (await office.onHost(host, ['readlink', '/run/current-system'])).stdout.trim();
        expect(current).toBe(result.hosts.find((h) => h.host === host)!.toplevel);
      }
    } finally {
      await bot.dispose();
    }
  });

  it('keeps a restart question open across an engine restart, and honours it once', async () => {
    const host = HOSTS[1]!;
    // A new revision, so the deploy changes the running system and has a restart to ask about.
    await office.fleet.setRevision(2);
    const first = await officeEngine(office);
    const result = await first.engine.deploy([host], { until: 'restart', restart: 'ask' }, quiet);
    expectRun(result, 'awaiting-approval', first.store);
    const approvalId = result.hosts[0]!.approvalId!;
    const { stateDir } = first;
    await first.close();

    // A new process: a new store on the same file, new connections.
    const second = await officeEngine(office, { stateDir });
    try {
      expect(second.recovered.interruptedRuns).toBe(0);
      const decided = await second.engine.decide(approvalId, 'approved', quiet);
      expect(decided.kind).toBe('decided');
      expect(decided.restarted).toBe(true);
      const again = await second.engine.decide(approvalId, 'approved', quiet);
      expect(again.kind).toBe('already-decided');
      expect(await office.systemctlLog(host)).toEqual(['restart display-manager.service']);
      expectStoredRun(second.store, result.runId, 'ok');
    } finally {
      await second.close();
      // Removes the shared state directory; the first engine is already closed.
      await first.dispose();
    }
  });
});

describe.skipIf(unavailable !== null)('a peer that dies mid-copy', () => {
  const PAIR = ['baard-entrance', 'baard-kitchen'];
  let pair: Office;
  beforeAll(async () => {
    pair = await startOffice({ hosts: PAIR, scale: 0.1 });
  });
  afterAll(async () => {
    await pair?.close();
  });

  it('finishes the copy from the builder when a peer dies midway, and the target ends up whole', async () => {
    const [first, second] = [PAIR[0]!, PAIR[1]!];
    const bot = await officeEngine(pair, { limits: { parallelPeerCopies: 1 } });
    try {
      const firstDone = await bot.engine.deploy([first], { until: 'copy', restart: 'no' }, quiet);
      expectRun(firstDone, 'ok', bot.store);
      // The peer's LAN port is slowed so the copy is surely under way when the peer dies.
      await pair.setHostRate(first, 4_000);
      let crashed: Promise<void> | undefined;
      const watching: Asker = {
        actor: { kind: 'cli', user: 'tester' },
        onEvent: (e) => {
          if (!crashed && e.type === 'stage.progress' && e.source === `peer:${first}` && e.doneBytes > 0) {
            crashed = pair.crashHost(first);
          }
        },
      };
      const result = await bot.engine.deploy([second], { until: 'copy', restart: 'no' }, watching);
      await crashed;
      expect(crashed).toBeDefined();
      expectRun(result, 'ok', bot.store);
      const h = result.hosts[0]!;
      expect(h.copy!.fellBack).toEqual([first]);
      expect(h.copy!.uplinkBytes).toBeGreaterThan(0);
      const sizes = await closureSizes([h.toplevel!]);
      const held = await pair.onHost(second, [
        'nix-store',
        '--check-validity',
        '--print-invalid',
        ...sizes.keys(),
      ]);
      expect(held.exitCode).toBe(0);
      expect(held.stdout.trim()).toBe('');
    } finally {
      await pair.setHostRate(first, null);
      await pair.startHost(first);
      await bot.dispose();
    }
  });
});

describe.skipIf(unavailable !== null)('rollouts that meet trouble', () => {
  const TRIO = ['baard-entrance', 'baard-kitchen', 'baard-open-space'];
  let trio: Office;
  beforeAll(async () => {
    trio = await startOffice({ hosts: TRIO.map((name) => ({ name, systemd: true })), scale: 0.05 });
  });
  afterAll(async () => {
    await trio?.close();
  });

  it('fails only the host that cannot be reached; the others deploy', async () => {
    const bot = await officeEngine(trio);
    await trio.unplugHost(TRIO[2]!);
    try {
      const result = await bot.engine.deploy(['all'], { until: 'switch', restart: 'no' }, quiet);
      const byHost = new Map(result.hosts.map((h) => [h.host, h]));
      expectHost(result, TRIO[0]!, 'ok', bot.store);
      expectHost(result, TRIO[1]!, 'ok', bot.store);
      expectHost(result, TRIO[2]!, 'failed', bot.store);
      expect(byHost.get(TRIO[2]!)!.error).toMatch(/unreachable/);
      expect(result.status).toBe('failed');
      expect(bot.store.heldLocks()).toEqual([]);
    } finally {
      await trio.plugHost(TRIO[2]!);
      await bot.dispose();
    }
  });

  it('stops a site when its canary fails, leaving the others untouched', async () => {
    const bot = await officeEngine(trio);
    await trio.fleet.setRevision(2);
    // Every host has a switch in progress, so whichever is the canary fails to switch.
    for (const h of TRIO) {
      const held = await trio.onHost(h, [
        'systemd-run',
        '--unit=nixos-rebuild-switch-to-configuration',
        'sleep',
        '300',
      ]);
      expect(held.exitCode).toBe(0);
    }
    const running = new Map<string, string>();
    for (const h of TRIO)
      running.set(h, (await trio.onHost(h, ['readlink', '/run/current-system'])).stdout.trim());
    try {
      const result = await bot.engine.deploy(['all'], { until: 'switch', restart: 'no' }, quiet);
      expect(result.canaries).toHaveLength(1);
      const statuses = result.hosts.map((h) =>
        h.host === result.canaries[0] ? `canary ${h.status}` : h.status,
      );
      expect(statuses.sort()).toEqual(['canary failed', 'skipped', 'skipped']);
      // No host was switched: the skipped ones were not even touched.
      for (const h of TRIO) {
        expect((await trio.onHost(h, ['readlink', '/run/current-system'])).stdout.trim()).toBe(
          running.get(h),
        );
      }
      expect(
        bot.store
          .auditLog({ runId: result.runId, limit: 500 })
          .filter((e) => e.host !== result.canaries[0])
          .map((e) => e.argv[0]),
      ).not.toContain('nix-env');
    } finally {
      for (const h of TRIO) {
        await trio.onHost(h, ['systemctl', 'stop', 'nixos-rebuild-switch-to-configuration']);
      }
      await trio.fleet.setRevision(1);
      await bot.dispose();
    }
  });
});

// Its own office, brought up in a hook (whose time limit allows for a busy machine) rather than inside the
// test's own time limit: fresh hosts that hold nothing yet.
describe.skipIf(unavailable !== null)('a peer that dies mid-copy while others remain', () => {
  const TRIO = ['baard-entrance', 'baard-kitchen', 'baard-open-space'];
  let fresh: Office;
  beforeAll(async () => {
    fresh = await startOffice({ hosts: TRIO, scale: 0.1 });
  });
  afterAll(async () => {
    await fresh?.close();
  });

  it('plans again without a peer that dies mid-copy, so other peers still spare the uplink', async () => {
    const [a, b, c] = TRIO as [string, string, string];
    const bot = await officeEngine(fresh, { limits: { parallelPeerCopies: 1 } });
    try {
      expectRun(await bot.engine.deploy([a, b], { until: 'copy', restart: 'no' }, quiet), 'ok', bot.store);
      // c pulls from one peer at a time (the limit above); that peer dies after its first path.
      await fresh.setHostRate(a, 4_000);
      await fresh.setHostRate(b, 4_000);
      let victim: string | undefined;
      let crashed: Promise<void> | undefined;
      const watching: Asker = {
        actor: { kind: 'cli', user: 'tester' },
        onEvent: (e) => {
          if (!crashed && e.type === 'stage.progress' && e.source.startsWith('peer:') && e.doneBytes > 0) {
            victim = e.source.slice('peer:'.length);
            crashed = fresh.crashHost(victim);
          }
        },
      };
      const before = fresh.uplinkBytes();
      const result = await bot.engine.deploy([c], { until: 'copy', restart: 'no' }, watching);
      const after = fresh.uplinkBytes();
      await crashed;
      expectRun(result, 'ok', bot.store);
      const h = result.hosts[0]!;
      expect(h.copy!.fellBack).toEqual([victim]);
      // The other peer delivered the rest of the shared paths; only c's own paths crossed the uplink.
      const survivor = victim === a ? b : a;
      expect(h.copy!.bySource[`peer:${survivor}`]).toBeGreaterThan(0);
      const sizes = await closureSizes([h.toplevel!]);
      const total = [...sizes.values()].reduce((s, n) => s + n, 0);
      // A path the dying peer was sending may be sent again by the other: at least the closure, barely more.
      expect(h.copy!.lanBytes + h.copy!.uplinkBytes).toBeGreaterThanOrEqual(total);
      expect(h.copy!.lanBytes + h.copy!.uplinkBytes).toBeLessThan(total * 1.5);
      expect(h.copy!.uplinkBytes).toBeLessThan(total / 10);
      expect(after.tx - before.tx).toBeLessThan(h.copy!.uplinkBytes + 600_000);
      const held = await fresh.onHost(c, [
        'nix-store',
        '--check-validity',
        '--print-invalid',
        ...sizes.keys(),
      ]);
      expect(held.stdout.trim()).toBe('');
    } finally {
      await bot.dispose();
    }
  });
});
