// Activation that confirms or reverts itself, on the simulated office with hosts that run systemd (the
// transient timer) and systems that fail the way screens fail. Everything is checked on the hosts directly,
// by entering their namespaces: what runs, what the profile and the boot default hold, what the timers did.
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIRM_SCRIPT } from '../../src/core/activation-sequence.ts';
import type { Asker } from '../../src/engine/engine.ts';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { sleep } from '../office/run.ts';
import { officeConfig, officeEngine } from '../support/office-bot.ts';

const unavailable = officeUnavailable();
const ROOT = new URL('../..', import.meta.url).pathname;
const [A, B] = ['baard-entrance', 'baard-kitchen'];
/** Short, so a host left alone reverts within a test; B's slow check leaves time to interfere. */
const REVERT_A = 15;
const REVERT_B = 25;
const activation = {
  revertSeconds: REVERT_A,
  checks: [
    {
      name: 'display manager active',
      argv: ['systemctl', 'is-active', '--quiet', 'display-manager.service'],
      timeoutSeconds: 3,
    },
  ],
};
const slowB = (host: string) =>
  host === B
    ? {
        revertSeconds: REVERT_B,
        checks: [...activation.checks, { name: 'kiosk settled', argv: ['sleep', '6'], timeoutSeconds: 15 }],
      }
    : undefined;

describe.skipIf(unavailable !== null)('activation that confirms or reverts itself', () => {
  let office: Office;
  let bot: Awaited<ReturnType<typeof officeEngine>>;
  const asker: Asker = { actor: { kind: 'cli', user: 'tester' }, onEvent: () => {} };

  const read = async (host: string, argv: string[]) => (await office.onHost(host, argv)).stdout.trim();
  const running = (host: string) => read(host, ['readlink', '/run/current-system']);
  const profile = (host: string) => read(host, ['readlink', '-f', '/nix/var/nix/profiles/system']);
  /** Waits, bounded, for a condition checked on the host (which may refuse entry while its sshd is down). */
  async function until(what: string, ms: number, ok: () => Promise<boolean>): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await ok().catch(() => false)) return;
      await sleep(250);
    }
    throw new Error(`not within ${ms} ms: ${what}`);
  }
  const tested = async (host: string, system: string) =>
    (await office.switchLog(host)).some((l) => l.endsWith(`test ${system}`));

  beforeAll(async () => {
    office = await startOffice({
      hosts: [A, B].map((name) => ({ name, systemd: true })),
      scale: 0.05,
    });
    bot = await officeEngine(office, { activation, hostActivation: slowB });
    // A first system for each: from here on every activation has a previous system to return to.
    const first = await bot.engine.deploy([A, B], { until: 'switch', restart: 'no' }, asker);
    expect(first.hosts.map((h) => h.error)).toEqual([undefined, undefined]);
  });
  afterAll(async () => {
    await bot?.dispose();
    await office?.close();
  });

  it('confirms a healthy system, and only then sets the profile and boot default and asks to restart', async () => {
    const previous = await running(B);
    await office.fleet.setRevision(2);
    const next = await office.fleet.build(B);
    const deploying = bot.engine.deploy([B], { until: 'restart', restart: 'ask' }, asker);
    // While the checks run, the new system runs but the host still boots the previous one.
    await until('B runs the new system under test', 60_000, () => tested(B, next));
    expect(await office.bootDefault(B)).toBe(previous);
    expect(await profile(B)).toBe(previous);
    const result = await deploying;
    expect(result.hosts[0]?.error).toBeUndefined();
    expect(result.status).toBe('awaiting-approval');

    expect(await running(B)).toBe(next);
    expect(await profile(B)).toBe(next);
    expect(await office.bootDefault(B)).toBe(next);
    expect((await office.switchLog(B)).slice(-2).map((l) => l.split(' ').slice(1).join(' '))).toEqual([
      `test ${next}`,
      `boot ${next}`,
    ]);
    const timers = (await office.timerLog(B)).map((l) => l.split(' ').slice(1).join(' '));
    expect(timers.slice(-2)).toEqual([
      `armed signage-revert.timer ${REVERT_B}`,
      'stopped signage-revert.timer',
    ]);
    expect(timers.some((l) => l.startsWith('fired'))).toBe(false);
    const timer = await office.onHost(B, ['systemctl', 'is-active', 'signage-revert.timer']);
    expect(timer.exitCode).toBe(3);
    // The confirm ran after the health checks, over its own unit.
    const audit = [...bot.store.auditLog({ runId: result.runId, limit: 100 })].reverse();
    const confirmAt = audit.findIndex((e) => e.argv.includes(CONFIRM_SCRIPT));
    const checkAt = audit.findIndex((e) => e.argv.join(' ') === 'sleep 6');
    expect(checkAt).toBeGreaterThan(0);
    expect(confirmAt).toBeGreaterThan(checkAt);
    expect(audit[confirmAt]!.argv).toContain('--unit=signage-confirm');
    const approval = bot.store.pendingApprovals().find((a) => a.runId === result.runId);
    await bot.engine.decide(approval!.id, 'denied', asker);
  });

  it('reverts at once when the kiosk check fails: no restart question, and the rollout stops', async () => {
    await office.fleet.setRevision(2);
    await bot.engine.deploy([A], { until: 'switch', restart: 'no' }, asker);
    const before = { [A]: await running(A), [B]: await running(B) };
    const restarts = {
      [A]: (await office.systemctlLog(A)).length,
      [B]: (await office.systemctlLog(B)).length,
    };
    await office.fleet.setRevision(3);
    await office.fleet.setFault(A, 3, 'kiosk');
    await office.fleet.setFault(B, 3, 'kiosk');
    try {
      const result = await bot.engine.deploy(['all'], { until: 'restart', restart: 'ask' }, asker);
      expect(result.status).toBe('failed');
      const canary = result.hosts.find((h) => h.host === result.canaries[0])!;
      expect(canary.status, canary.error).toBe('failed');
      expect(canary.notConfirmed).toBe('reverted');
      expect(canary.error).toContain('health check "display manager active"');
      expect(canary.error).toContain('exit 3');
      expect(canary.error).toContain(`reverted to ${before[canary.host]}`);
      expect(result.hosts.filter((h) => h.status === 'skipped')).toHaveLength(1);
      for (const h of [A, B]) {
        expect(await running(h)).toBe(before[h]);
        expect(await profile(h)).toBe(before[h]);
        expect(await office.bootDefault(h)).toBe(before[h]);
        expect((await office.systemctlLog(h)).length).toBe(restarts[h]);
      }
      expect(bot.store.pendingApprovals().filter((a) => a.runId === result.runId)).toEqual([]);
      // The bot reverted it, then disarmed the timer: the host's own revert never fired.
      const timers = await office.timerLog(canary.host);
      expect(timers.at(-1), timers.join('\n')).toMatch(/stopped signage-revert\.timer$/);
    } finally {
      await office.fleet.setFault(A, 3, null);
      await office.fleet.setFault(B, 3, null);
    }
  });

  it('leaves a host whose new system kills sshd to revert by itself, and says so', async () => {
    const previous = await running(A);
    await office.fleet.setRevision(4);
    await office.fleet.setFault(A, 4, 'sshd');
    try {
      const started = Date.now();
      const result = await bot.engine.deploy([A], { until: 'restart', restart: 'ask' }, asker);
      expect(result.status).toBe('failed');
      expect(result.hosts[0]!.notConfirmed, result.hosts[0]!.error).toBe('host-reverts');
      expect(result.hosts[0]!.error).toContain('reverts by itself');
      await until('A reverts by itself', (REVERT_A + 60) * 1000, async () => (await running(A)) === previous);
      expect(Date.now() - started).toBeLessThan((REVERT_A + 60) * 1000);
      expect((await office.timerLog(A)).some((l) => l.endsWith('fired signage-revert.timer'))).toBe(true);
      expect(await profile(A)).toBe(previous);
      expect(await office.bootDefault(A)).toBe(previous);
      const settled = await bot.engine.settleActivations(asker.actor);
      expect(settled.map((s) => [s.activation.host, s.outcome])).toEqual([[A, 'reverted-by-host']]);
      expect(settled[0]!.message).toContain('reverted by itself');
    } finally {
      await office.fleet.setFault(A, 4, null);
    }
  });

  it('reverts by itself when the bot is SIGKILLed between activation and confirmation; the next start says so', async () => {
    const cfg = officeConfig(office, { activation, hostActivation: slowB });
    try {
      const previous = await running(B);
      await office.fleet.setRevision(5);
      const next = await office.fleet.build(B);
      const child = execa(
        process.execPath,
        [`${ROOT}bin/signage.ts`, '--config', cfg.file, 'deploy', B, '--no-restart'],
        { reject: false, stdin: 'ignore' },
      );
      await until('B runs the new system under test', 120_000, () => tested(B, next));
      child.kill('SIGKILL');
      expect((await child).signal).toBe('SIGKILL');
      expect(await running(B)).toBe(next);
      await until('B reverts by itself', (REVERT_B + 60) * 1000, async () => (await running(B)) === previous);
      expect(await profile(B)).toBe(previous);
      expect(await office.bootDefault(B)).toBe(previous);
      const status = await execa(
        process.execPath,
        [`${ROOT}bin/signage.ts`, '--config', cfg.file, 'status', B],
        {
          reject: false,
          stdin: 'ignore',
        },
      );
      expect(status.stderr).toContain(`${B}: reverted by itself to ${previous}`);
    } finally {
      cfg.cleanup();
    }
  });

  it('comes up on the previous system when rebooted before confirmation', async () => {
    const previous = await running(B);
    await office.fleet.setRevision(6);
    const next = await office.fleet.build(B);
    const deploying = bot.engine.deploy([B], { until: 'switch', restart: 'no' }, asker);
    await until('B runs the new system under test', 120_000, () => tested(B, next));
    await office.rebootHost(B);
    expect(await running(B)).toBe(previous);
    expect(await read(B, ['readlink', '/run/booted-system'])).toBe(previous);
    const result = await deploying;
    expect(result.status).toBe('failed');
    expect(result.hosts[0]!.notConfirmed).toBeDefined();
    expect(await running(B)).toBe(previous);
    expect(await profile(B)).toBe(previous);
    expect(await office.bootDefault(B)).toBe(previous);
  });

  it('stops an activation that hangs and brings the previous system back', async () => {
    const previous = await running(A);
    await office.fleet.setRevision(8);
    await office.fleet.setFault(A, 8, 'hang');
    try {
      const result = await bot.engine.deploy([A], { until: 'restart', restart: 'ask' }, asker);
      expect(result.status).toBe('failed');
      expect(result.hosts[0]!.notConfirmed).toMatch(/^(reverted|host-reverts)$/);
      expect(result.hosts[0]!.error).toContain('switch-to-configuration test');
      await until(
        'A runs its previous system',
        (REVERT_A + 60) * 1000,
        async () => (await running(A)) === previous,
      );
      // The hanging activation's unit was stopped, not left to hang on.
      const unit = ['systemctl', 'is-active', 'nixos-rebuild-switch-to-configuration'];
      await until(
        'the hanging unit is stopped',
        30_000,
        async () => (await office.onHost(A, unit)).exitCode === 3,
      );
      expect(await profile(A)).toBe(previous);
      expect(await office.bootDefault(A)).toBe(previous);
      expect(bot.store.pendingApprovals().filter((a) => a.runId === result.runId)).toEqual([]);
    } finally {
      await office.fleet.setFault(A, 8, null);
    }
  });

  it('says "interrupted switch" and exits 1 when the profile points at a system that never ran', async () => {
    await office.fleet.setRevision(7);
    const copied = await bot.engine.deploy([A], { until: 'copy', restart: 'no' }, asker);
    const never = copied.hosts[0]!.toplevel!;
    // What a power cut in the middle of `nixos-rebuild switch` leaves: the profile set, the switch not done.
    await office.onHost(A, ['nix-env', '-p', '/nix/var/nix/profiles/system', '--set', never]);
    const rows = await bot.engine.status([A], asker);
    expect(rows[0]!.sync).toBe('unconfirmed');
    const out = await execa(process.execPath, [`${ROOT}bin/signage.ts`, '--config', bot.file, 'status', A], {
      reject: false,
      stdin: 'ignore',
    });
    expect(out.exitCode).toBe(1);
    expect(out.stdout).toContain('interrupted switch');
  });
});
