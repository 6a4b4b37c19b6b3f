// Fault matrix: a new system whose activation takes the host's network down. The host cannot be reached to be
// confirmed or reverted, so its own timer must bring the previous system (and with it the link) back within the
// revert time, with nothing but the previous system in its profile and boot default. Run with the terminal
// `signage`, as an operator would, and checked on the host itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { sleep } from '../office/run.ts';
import { officeConfig } from '../support/office-bot.ts';
import { expectExit } from '../support/outcome.ts';
import { rawState, signage, systemOf } from './support.ts';

const unavailable = officeUnavailable();
const A = 'baard-entrance';
/** Short, so the host's own revert comes within the test. */
const REVERT = 15;
/**
 * The fault takes the link down a second after activation, after the first checks have passed: only the second
 * look after settling can see it.
 */
const activation = {
  revertSeconds: REVERT,
  settleSeconds: 4,
  checks: [
    {
      name: 'display manager active',
      argv: ['systemctl', 'is-active', '--quiet', 'display-manager.service'],
      timeoutSeconds: 3,
    },
  ],
};

describe.skipIf(unavailable !== null)('faults: activation', () => {
  let office: Office;
  let config: ReturnType<typeof officeConfig>;
  beforeAll(async () => {
    office = await startOffice({ hosts: [{ name: A, systemd: true }], scale: 0.05 });
    config = officeConfig(office, { activation });
    // A first system: from here on the activation has a previous system to return to.
    const first = await signage(['--config', config.file, 'deploy', A, '--no-restart']);
    expectExit(first, 0);
  }, 300_000);
  afterAll(async () => {
    config?.cleanup();
    await office?.close();
  });

  /** Waits, bounded, for a condition checked on the host (which may refuse entry while its link is down). */
  async function until(what: string, ms: number, ok: () => Promise<boolean>): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await ok().catch(() => false)) return;
      await sleep(250);
    }
    throw new Error(`not within ${ms} ms: ${what}`);
  }
  const linkUp = async () =>
    (await office.onHost(A, ['ip', '-o', 'link', 'show', 'eth0'])).stdout.includes('state UP');

  it('a new system that takes the network down: the host reverts by itself, the link comes back, no restart question', async () => {
    const before = await systemOf(office, A);
    expect(before.current).toBe(before.profile);
    const bootBefore = await office.bootDefault(A);
    await office.fleet.setRevision(2);
    await office.fleet.setFault(A, 2, 'network');
    try {
      const started = Date.now();
      const out = await signage(['--config', config.file, 'deploy', A]);
      // The host's own timer brings the previous system back, and its activation the link.
      await until(`${A} runs its previous system`, (REVERT + 60) * 1000, async () => {
        return (await systemOf(office, A)).current === before.current;
      });
      await until(`${A}'s link is up`, 60_000, linkUp);
      expect(Date.now() - started).toBeLessThan((REVERT + 120) * 1000);
      expectExit(out, 1);
      expect(out.all).toContain('reverts by itself');
      expect(out.all).not.toMatch(/Restart the display manager/);
      expect((await office.timerLog(A)).some((l) => l.endsWith('fired signage-revert.timer'))).toBe(true);
      // Nothing half-applied: profile and boot default never moved.
      expect(await systemOf(office, A)).toEqual(before);
      expect(await office.bootDefault(A)).toBe(bootBefore);
      expect(rawState(config.stateDir).locks).toEqual([]);
      // The next start asks the host and says what happened.
      const status = await signage(['--config', config.file, 'status', A]);
      expect(status.all).toContain(`${A}: reverted by itself to ${before.current}`);
      // And the host is reachable again over its network: a healthy deploy goes through.
      await office.fleet.setFault(A, 2, null);
      await office.fleet.setRevision(3);
      const again = await signage(['--config', config.file, 'deploy', A, '--no-restart']);
      expectExit(again, 0);
      const after = await systemOf(office, A);
      expect(after.current).not.toBe(before.current);
      expect(after.current).toBe(after.profile);
    } finally {
      await office.fleet.setFault(A, 2, null);
    }
  }, 300_000);
});
