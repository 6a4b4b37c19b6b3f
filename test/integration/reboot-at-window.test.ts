// Reboots and maintenance windows on the simulated office, checked on the host directly: an approver's "At
// the next window" on a reboot question leaves the host alone until its window opens, when the pending work
// reboots it into its staged system, waits and confirms it; the `reboot` verb outside the window records the
// reboot for the window (and `cancel HOST` drops it) instead of refusing; a rollback to a generation with
// another kernel is staged with `boot` and rebooted into, never activated with `test`; and a terminal killed
// while its host reboots is reported at the next start: came up unconfirmed, then reverted by the boot guard.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../src/core/events.ts';
import type { Asker } from '../../src/engine/engine.ts';
import { catchUpLine } from '../../src/verbs/render-pending.ts';
import { signage } from '../faults/support.ts';
import { type RebootWatcher, watchReboots } from '../office/boot-guard.ts';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { sleep } from '../office/run.ts';
import { officeEngine } from '../support/office-bot.ts';
import { expectExit, expectHost, expectRun, explain } from '../support/outcome.ts';

const unavailable = officeUnavailable();
const A = 'baard-entrance';
const HOUR = 3_600_000;
/** Short, so a reboot nobody confirms is reverted by the guard within a test. */
const GUARD_SECONDS = 30;
const DM_ACTIVE = {
  name: 'display manager active',
  argv: ['systemctl', 'is-active', '--quiet', 'display-manager.service'],
  timeoutSeconds: 4,
};

/** "HH:MM:SS" of an instant in UTC. */
const hms = (ms: number) => new Date(ms).toISOString().slice(11, 19);

describe.skipIf(unavailable !== null)(
  'reboots at the next window, rollbacks across kernels, reboots settled',
  () => {
    let office: Office;
    let bot: Awaited<ReturnType<typeof officeEngine>>;
    let watcher: RebootWatcher;
    // The site's window: ten minutes, an hour from now; the engine's clock is moved into it instead of waiting.
    const opensAt = Math.ceil((Date.now() + HOUR) / 1000) * 1000;
    const windowText = `${hms(opensAt)}-${hms(opensAt + 10 * 60_000)}`;
    let offset = 0;
    const events: EngineEvent[] = [];
    const asker: Asker = { actor: { kind: 'cli', user: 'tester' }, onEvent: (e) => events.push(e) };

    const read = async (argv: string[]) => (await office.onHost(A, argv)).stdout.trim();
    const running = () => read(['readlink', '/run/current-system']);
    const booted = () => read(['readlink', '/run/booted-system']);
    const guardOutcome = () => read(['cat', '/nix/var/signage-boot/outcome']);
    const rebootsOfA = () => watcher.log.filter((r) => r.host === A).map((r) => r.result);
    const pendingOfA = () => bot.store.pendingWork().find((w) => w.host === A);
    async function until(what: string, ms: number, ok: () => Promise<boolean>): Promise<void> {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        if (await ok().catch(() => false)) return;
        await sleep(250);
      }
      throw new Error(`not within ${ms} ms: ${what}`);
    }
    async function newKernel(revision: number, kernel: string): Promise<string> {
      await office.fleet.setRevision(revision);
      await office.fleet.setKernel(kernel);
      return office.fleet.build(A);
    }

    beforeAll(async () => {
      office = await startOffice({ hosts: [{ name: A, systemd: true }], scale: 0.05 });
      watcher = watchReboots(office.hosts);
      bot = await officeEngine(office, {
        now: () => new Date(Date.now() + offset),
        activation: {
          revertSeconds: GUARD_SECONDS,
          rebootSeconds: 120,
          settleSeconds: 8,
          checks: [DM_ACTIVE],
        },
        sections: { sites: { baard: { timezone: 'UTC', windows: [windowText] } } },
      });
      const first = await bot.engine.deploy(
        [A],
        { until: 'switch', restart: 'no', ignoreWindow: true },
        asker,
      );
      expectRun(first, 'ok', bot.store);
    }, 300_000);
    afterAll(async () => {
      await watcher?.stop();
      await bot?.dispose();
      await office?.close();
    });

    it('"At the next window" on a reboot question: nothing until the window opens, then rebooted and confirmed', async () => {
      const previous = await running();
      const next = await newKernel(2, '6.6.60');
      const asked = await bot.engine.deploy(
        [A],
        { until: 'restart', restart: 'ask', ignoreWindow: true },
        asker,
      );
      expectHost(asked, A, 'awaiting-approval', bot.store);
      const question = events.find((e) => e.type === 'approval.requested' && e.runId === asked.runId);
      expect(question).toMatchObject({ action: 'reboot', host: A });
      const nextWindow = question?.type === 'approval.requested' ? question.nextWindow : undefined;
      expect(nextWindow).toContain(`${windowText}, next opening`);

      const decided = await bot.engine.restartAtNextWindow(
        question?.type === 'approval.requested' ? question.approvalId : '',
        asker,
      );
      expect(decided.kind).toBe('decided');
      expect(pendingOfA()).toMatchObject({
        verb: 'reboot',
        toplevel: null,
        restart: 'yes',
        reason: 'window',
      });
      expect(pendingOfA()?.opensAt?.getTime()).toBe(opensAt);
      expect(bot.store.getRun(asked.runId)?.status).toBe('ok');
      expect(bot.store.heldLocks()).toEqual([]);
      expect(
        bot.store
          .auditLog({ host: A, limit: 100 })
          .some((e) => e.argv.join(' ').startsWith(`signage reboot ${A} --at-next-window`)),
      ).toBe(true);

      // The window is closed: the pending work waits, and the host still runs its old system.
      const early = await bot.engine.runPending(() => asker, { canAsk: false });
      expect(early.map((c) => c.why)).toEqual([expect.stringContaining('waits for the window')]);
      expect(rebootsOfA()).toEqual([]);
      expect(await running()).toBe(previous);
      expect(await office.bootDefault(A)).toBe(next);

      offset = opensAt + 5000 - Date.now();
      const due = await bot.engine.runPending(() => asker, { canAsk: false });
      expect(due).toHaveLength(1);
      expect(due[0]?.run, JSON.stringify(due[0])).toBeDefined();
      expectRun(due[0]!.run!, 'ok', bot.store);
      expect(catchUpLine(due[0]!)).toContain(`${A} reached its window and was rebooted`);
      expect(rebootsOfA()).toEqual(['up']);
      expect(await running()).toBe(next);
      expect(await booted()).toBe(next);
      expect(await guardOutcome()).toBe(`confirmed ${next}`);
      expect(pendingOfA()).toBeUndefined();
      offset = 0;
    }, 600_000);

    it('the reboot verb outside the window records the reboot for it; cancel HOST drops it; the host is left alone', async () => {
      const system = await running();
      const recorded = await signage(['--config', bot.file, 'reboot', A, '--yes']);
      expectExit(recorded, 0);
      expect(recorded.all).toContain('recorded for the window: the reboot waits for the window');
      expect(pendingOfA()).toMatchObject({
        verb: 'reboot',
        toplevel: null,
        restart: 'yes',
        reason: 'window',
      });
      const listed = await signage(['--config', bot.file, 'pending']);
      expect(listed.all).toContain('its reboot waits for the window');

      const cancelled = await signage(['--config', bot.file, 'cancel', A]);
      expectExit(cancelled, 0);
      expect(pendingOfA()).toBeUndefined();
      await sleep(3000);
      expect(rebootsOfA()).toEqual(['up']);
      expect(await running()).toBe(system);
    }, 300_000);

    it('rolls back to a generation with another kernel with boot and a reboot, not test', async () => {
      const from = await running();
      const rolled = await bot.engine.rollback([A], { restart: 'yes' }, asker);
      expectRun(rolled, 'ok', bot.store);
      const to = rolled.hosts[0]?.toplevel;
      expect(to).toBeDefined();
      expect(to).not.toBe(from);
      expect(rolled.hosts[0]?.reboot?.end, explain(rolled, bot.store)).toBe('confirmed');
      expect(rebootsOfA()).toEqual(['up', 'up']);
      // Checked on the host: it booted the older generation; a `test` activation would have left the booted
      // system (and its kernel) as it was.
      expect(await running()).toBe(to);
      expect(await booted()).toBe(to);
      expect(await office.bootDefault(A)).toBe(to);
      const stage = bot.store.stagesOf(rolled.runId).find((s) => s.stage === 'rollback');
      expect(stage?.detail).toMatch(/^staged with boot: .*kernel/);
    }, 600_000);

    it('a terminal killed while its host reboots: the next start says it came up unconfirmed, then reverted by its guard', async () => {
      const previous = await running();
      const next = await newKernel(3, '6.6.70');
      const staged = await bot.engine.deploy(
        [A],
        { until: 'restart', restart: 'no', ignoreWindow: true },
        asker,
      );
      expectHost(staged, A, 'ok', bot.store);
      expect(await office.bootDefault(A)).toBe(next);

      const child = signage(['--config', bot.file, 'reboot', A, '--yes', '--now']);
      await until('the host rebooted', 120_000, async () => rebootsOfA().length === 3);
      child.kill('SIGKILL');
      await child;
      // A reboot is recorded like an activation, and the killed process left it open.
      const open = bot.store.openActivations().filter((a) => a.host === A);
      expect(open.map((a) => [a.kind, a.previous, a.next])).toEqual([['boot', previous, next]]);

      const first = await signage(['--config', bot.file, 'status', A]);
      expect(first.all).toContain(`${A}: came up on ${next}, but the bot stopped before confirming it`);
      await until('the guard reverted it', (GUARD_SECONDS + 120) * 1000, async () => {
        return (await booted()) === previous && (await running()) === previous;
      });
      const second = await signage(['--config', bot.file, 'status', A]);
      expect(second.all).toContain(
        `${A}: reverted via its boot guard to ${previous}: its reboot into ${next} was never confirmed`,
      );
      expect(bot.store.openActivations().filter((a) => a.host === A)).toEqual([]);
      const third = await signage(['--config', bot.file, 'status', A]);
      expect(third.all).not.toContain('boot guard');
    }, 600_000);
  },
);
