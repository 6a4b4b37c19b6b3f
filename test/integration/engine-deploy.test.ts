// The deploy engine on the simulated office: deploy from scratch, then a second host pulling the shared paths
// from the first over the LAN, proven by the uplink's byte counter; the switch, the restart question, rollback,
// and a busy host.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIRM_SCRIPT } from '../../src/core/activation-sequence.ts';
import type { EngineEvent } from '../../src/core/events.ts';
import type { Asker } from '../../src/engine/engine.ts';
import { HostBusy } from '../../src/engine/errors.ts';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { run } from '../office/run.ts';
import { officeEngine } from '../support/office-bot.ts';
import { expectHost, expectRun, expectStoredRun } from '../support/outcome.ts';

const unavailable = officeUnavailable();
const A = 'baard-entrance';
const B = 'baard-kitchen';

/** NAR sizes of a toplevel's closure, read with plain nix on the builder, independently of the engine. */
async function closureSizes(toplevel: string): Promise<Map<string, number>> {
  const out = await run(['nix', 'path-info', '--json', '-r', toplevel]);
  const parsed = JSON.parse(out.stdout) as { path: string; narSize: number }[];
  return new Map(parsed.map((p) => [p.path, p.narSize]));
}

const sum = (m: Map<string, number>, keep: (p: string) => boolean = () => true) =>
  [...m].filter(([p]) => keep(p)).reduce((s, [, n]) => s + n, 0);

describe.skipIf(unavailable !== null)('deploying on the simulated office', () => {
  let office: Office;
  let bot: Awaited<ReturnType<typeof officeEngine>>;
  const events: EngineEvent[] = [];
  const asker: Asker = { actor: { kind: 'cli', user: 'tester' }, onEvent: (e) => events.push(e) };

  beforeAll(async () => {
    office = await startOffice({ hosts: [A, B], scale: 0.1 });
    bot = await officeEngine(office);
  });
  afterAll(async () => {
    await bot?.dispose();
    await office?.close();
  });

  it('deploys a host from scratch over the uplink, switches it, and asks before restarting', async () => {
    const before = office.uplinkBytes();
    const result = await bot.engine.deploy([A], { until: 'restart', restart: 'ask' }, asker);
    const after = office.uplinkBytes();
    expect(result.hosts[0]?.error).toBeUndefined();
    expectRun(result, 'awaiting-approval', bot.store);
    const toplevel = result.hosts[0]!.toplevel!;
    const sizes = await closureSizes(toplevel);
    // Everything came over the uplink: at least the closure's bytes, and not much more.
    expect(after.tx - before.tx).toBeGreaterThan(sum(sizes));
    expect(after.tx - before.tx).toBeLessThan(sum(sizes) * 1.1 + 500_000);
    expect(result.hosts[0]!.plan!.lanBytes).toBe(0);

    const current = await office.onHost(A, ['readlink', '/run/current-system']);
    expect(current.stdout.trim()).toBe(toplevel);
    const profile = await office.onHost(A, ['readlink', '-f', '/nix/var/nix/profiles/system']);
    expect(profile.stdout.trim()).toBe(toplevel);
    // Activated with `test`, then made the boot default with `boot` once confirmed.
    expect((await office.switchLog(A)).map((l) => l.split(' ').slice(1).join(' '))).toEqual([
      `test ${toplevel}`,
      `boot ${toplevel}`,
    ]);
    expect(await office.bootDefault(A)).toBe(toplevel);
    // The restart waits for an answer: nothing was restarted.
    expect(await office.systemctlLog(A)).toEqual([]);
    const asked = events.find((e) => e.type === 'approval.requested');
    expect(asked?.type === 'approval.requested' && asked.host).toBe(A);
  });

  it('restarts the display manager once an approver says yes, and only once', async () => {
    const pending = bot.store.pendingApprovals().filter((a) => a.host === A);
    expect(pending).toHaveLength(1);
    const id = pending[0]!.id;
    const first = await bot.engine.decide(id, 'approved', asker);
    expect(first.kind).toBe('decided');
    expect(first.restarted).toBe(true);
    const second = await bot.engine.decide(id, 'approved', asker);
    expect(second.kind).toBe('already-decided');
    expect(await office.systemctlLog(A)).toEqual(['restart display-manager.service']);
    expectStoredRun(bot.store, pending[0]!.runId, 'ok');
  });

  it('deploys a second host with the shared paths coming from the first over the LAN', async () => {
    const before = office.uplinkBytes();
    const result = await bot.engine.deploy([B], { until: 'switch', restart: 'no' }, asker);
    const after = office.uplinkBytes();
    expect(result.hosts[0]?.error).toBeUndefined();
    const bSizes = await closureSizes(result.hosts[0]!.toplevel!);
    const aHolds = new Set(
      (await office.onHost(A, ['nix-store', '-q', '--requisites', '/run/current-system'])).stdout.split('\n'),
    );
    const ownBytes = sum(bSizes, (p) => !aHolds.has(p));
    const sharedBytes = sum(bSizes, (p) => aHolds.has(p));
    expect(sharedBytes).toBeGreaterThan(ownBytes * 5);
    // Only B's own paths crossed the uplink (plus SSH and Nix protocol chatter), not the shared ones.
    expect(after.tx - before.tx).toBeGreaterThanOrEqual(ownBytes);
    expect(after.tx - before.tx).toBeLessThan(ownBytes + 400_000);
    expect(result.lanBytes).toBe(sharedBytes);
    expect(result.uplinkBytes).toBe(ownBytes);
    // B holds its whole closure, checked on B with nix-store, not with the engine's own query.
    const onB = await office.onHost(B, ['nix-store', '-q', '--requisites', result.hosts[0]!.toplevel!]);
    expect(new Set(onB.stdout.trim().split('\n'))).toEqual(new Set(bSizes.keys()));
  });

  it('says so when the host already runs the system, and asks nothing', async () => {
    const result = await bot.engine.deploy([B], { until: 'restart', restart: 'ask' }, asker);
    expectHost(result, result.hosts[0]!.host, 'noop', bot.store);
    expect(result.hosts[0]!.plan!.lanBytes + result.hosts[0]!.plan!.uplinkBytes).toBe(0);
    expectRun(result, 'ok', bot.store);
  });

  it('switches to a new revision with a new generation, and rolls back to the previous one', async () => {
    const first = (await office.onHost(B, ['readlink', '/run/current-system'])).stdout.trim();
    await office.fleet.setRevision(2);
    const result = await bot.engine.deploy([B], { until: 'switch', restart: 'no' }, asker);
    const second = result.hosts[0]!.toplevel!;
    expect(second).not.toBe(first);
    expect((await office.onHost(B, ['readlink', '/run/current-system'])).stdout.trim()).toBe(second);
    const gens = (await office.onHost(B, ['sh', '-c', 'ls -d /nix/var/nix/profiles/system-*-link'])).stdout
      .trim()
      .split('\n');
    expect(gens).toHaveLength(2);

    const rolled = await bot.engine.rollback([B], { restart: 'no' }, asker);
    expect(rolled.hosts[0]?.error).toBeUndefined();
    expect((await office.onHost(B, ['readlink', '/run/current-system'])).stdout.trim()).toBe(first);
    expect((await office.onHost(B, ['readlink', '-f', '/nix/var/nix/profiles/system'])).stdout.trim()).toBe(
      first,
    );
    const status = await bot.engine.status([B], asker);
    expect(status[0]!.sync).toBe('behind');
    await office.fleet.setRevision(1);
  });

  it('refuses a second deploy to a busy host, saying who holds it', async () => {
    const holder = { kind: 'slack' as const, userId: 'U0ALICE' };
    const hold = bot.store.createRun({ verb: 'deploy', hosts: [A], actor: holder, now: new Date() });
    expect(bot.store.acquireLocks([A], hold.id, holder, new Date()).ok).toBe(true);
    try {
      await expect(bot.engine.deploy([A], { until: 'switch', restart: 'no' }, asker)).rejects.toThrow(
        HostBusy,
      );
      await expect(bot.engine.deploy([A], { until: 'switch', restart: 'no' }, asker)).rejects.toThrow(
        /<@U0ALICE>/,
      );
    } finally {
      bot.store.finishRun(hold.id, { status: 'ok', now: new Date() });
    }
  });

  it('records every command it ran on a host in the audit log', () => {
    const log = bot.store.auditLog({ host: A, limit: 500 });
    const commands = log.map((e) => e.argv.join(' '));
    // The profile is set by the confirm script, one host-side unit run with the new system as its parameter.
    const confirm = log.find((e) => e.argv.includes(CONFIRM_SCRIPT));
    expect(confirm?.exitCode).toBe(0);
    expect(commands.some((c) => c.startsWith('sh -c'))).toBe(true);
    expect(commands).toContain('systemctl restart display-manager.service');
    expect(log.every((e) => e.actor.kind === 'cli')).toBe(true);
  });
});

describe.skipIf(unavailable !== null)('a host that runs systemd', () => {
  let office: Office;
  let bot: Awaited<ReturnType<typeof officeEngine>>;
  const asker: Asker = { actor: { kind: 'cli', user: 'tester' }, onEvent: () => {} };
  beforeAll(async () => {
    office = await startOffice({ hosts: [{ name: 'baard-lobby', systemd: true }], scale: 0.05 });
    bot = await officeEngine(office);
  });
  afterAll(async () => {
    await bot?.dispose();
    await office?.close();
  });

  it('switches through a transient unit with a fixed name, as nixos-rebuild does', async () => {
    const result = await bot.engine.deploy(['baard-lobby'], { until: 'switch', restart: 'no' }, asker);
    expect(result.hosts[0]?.error).toBeUndefined();
    const log = await office.onHost('baard-lobby', ['cat', '/run/signage-office/systemd-run.log']);
    expect(log.stdout).toContain('--unit=nixos-rebuild-switch-to-configuration');
    expect(log.stdout).toContain(`${result.hosts[0]!.toplevel}/bin/switch-to-configuration test`);
    expect(log.stdout).toContain('--unit=signage-confirm');
  });

  it('refuses to switch while another switch unit runs on the host', async () => {
    // A manual switch in progress holds the unit name.
    const manual = await office.onHost('baard-lobby', [
      'systemd-run',
      '--unit=nixos-rebuild-switch-to-configuration',
      'sleep',
      '300',
    ]);
    expect(manual.exitCode).toBe(0);
    const running = (await office.onHost('baard-lobby', ['readlink', '/run/current-system'])).stdout.trim();
    await office.fleet.setRevision(2);
    try {
      const result = await bot.engine.deploy(['baard-lobby'], { until: 'switch', restart: 'no' }, asker);
      expectRun(result, 'failed', bot.store);
      expect(result.hosts[0]!.error).toContain('already loaded');
      // Refused before anything changed: the manual switch goes on, the host runs what it ran.
      const active = ['systemctl', 'is-active', '--quiet', 'nixos-rebuild-switch-to-configuration'];
      expect((await office.onHost('baard-lobby', active)).exitCode).toBe(0);
      expect((await office.onHost('baard-lobby', ['readlink', '/run/current-system'])).stdout.trim()).toBe(
        running,
      );
    } finally {
      await office.onHost('baard-lobby', ['systemctl', 'stop', 'nixos-rebuild-switch-to-configuration']);
      await office.fleet.setRevision(1);
    }
  });
});
