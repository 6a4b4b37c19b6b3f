// Systems that need a reboot, on the simulated office: a new kernel is planned as needing one, staged with
// `boot` (the running system untouched, the boot default new), rebooted once approved, waited for and
// confirmed; a host that does not come back is reported within the limit and its boot guard undoes the boot
// when it does; a system that fails its checks after the reboot is undone. Checked on the hosts directly.
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Asker } from '../../src/engine/engine.ts';
import { statusText } from '../../src/verbs/render-status.ts';
import { type RebootWatcher, watchReboots } from '../office/boot-guard.ts';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { sleep } from '../office/run.ts';
import { officeEngine } from '../support/office-bot.ts';
import { expectHost, expectRun, explain } from '../support/outcome.ts';

const unavailable = officeUnavailable();
const ROOT = join(import.meta.dirname, '..', '..');
const [A, B] = ['baard-entrance', 'baard-kitchen'];
/** Short, so a guard left alone reverts within a test. */
const GUARD_SECONDS = 20;
/**
 * B's, the least the configuration allows: it is the host that stays down, and only ever waited for in vain.
 * A's is generous: a reboot of the office under load is slow.
 */
const REBOOT_SECONDS = 10;
const REBOOT_SECONDS_A = 120;

describe.skipIf(unavailable !== null)('systems that need a reboot', () => {
  let office: Office;
  let bot: Awaited<ReturnType<typeof officeEngine>>;
  let watcher: RebootWatcher;
  const asker: Asker = { actor: { kind: 'cli', user: 'tester' }, onEvent: () => {} };

  const read = async (host: string, argv: string[]) => (await office.onHost(host, argv)).stdout.trim();
  const running = (host: string) => read(host, ['readlink', '/run/current-system']);
  const booted = (host: string) => read(host, ['readlink', '/run/booted-system']);
  const profile = (host: string) => read(host, ['readlink', '-f', '/nix/var/nix/profiles/system']);
  const pending = (host: string) => read(host, ['cat', '/nix/var/signage-boot/pending']);
  const guardOutcome = (host: string) => read(host, ['cat', '/nix/var/signage-boot/outcome']);
  async function until(what: string, ms: number, ok: () => Promise<boolean>): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await ok().catch(() => false)) return;
      await sleep(250);
    }
    throw new Error(`not within ${ms} ms: ${what}`);
  }
  /** A new revision with a new kernel; returns each host's new system, built independently. */
  async function newKernel(revision: number, kernel: string, hosts: string[]) {
    await office.fleet.setRevision(revision);
    await office.fleet.setKernel(kernel);
    return Object.fromEntries(await Promise.all(hosts.map(async (h) => [h, await office.fleet.build(h)])));
  }

  beforeAll(async () => {
    office = await startOffice({ hosts: [{ name: A, systemd: true }, { name: B }], scale: 0.05 });
    watcher = watchReboots(office.hosts);
    bot = await officeEngine(office, {
      hostActivation: (h) =>
        h === A
          ? {
              rebootSeconds: REBOOT_SECONDS_A,
              checks: [
                {
                  name: 'display manager active',
                  argv: ['systemctl', 'is-active', '--quiet', 'display-manager.service'],
                  timeoutSeconds: 4,
                },
              ],
            }
          : undefined,
      activation: {
        revertSeconds: GUARD_SECONDS,
        rebootSeconds: REBOOT_SECONDS,
        checks: [
          {
            name: 'display manager active',
            argv: ['systemctl', 'is-active', '--quiet', 'display-manager.service'],
            timeoutSeconds: 4,
          },
        ],
      },
    });
    const first = await bot.engine.deploy([A, B], { until: 'switch', restart: 'no' }, asker);
    expectRun(first, 'ok', bot.store);
  });
  afterAll(async () => {
    await watcher?.stop();
    await bot?.dispose();
    await office?.close();
  });

  it('plans a new kernel as needing a reboot, and a change without one as not', async () => {
    await office.fleet.setRevision(2);
    const same = await bot.engine.deploy([A], { until: 'plan', restart: 'no' }, asker);
    expectRun(same, 'ok', bot.store);
    expect(same.hosts[0]?.reboot).toBeUndefined();
    await newKernel(2, '6.6.60', []);
    const plan = await bot.engine.deploy([A], { until: 'plan', restart: 'no' }, asker);
    expectRun(plan, 'ok', bot.store);
    expect(plan.hosts[0]?.reboot?.reasons).toEqual([
      'kernel linux-6.6.51-rpi → linux-6.6.60-rpi',
      'kernel-modules linux-6.6.51-rpi-modules → linux-6.6.60-rpi-modules',
    ]);
  });

  it('stages it with boot, leaves the running system alone, then reboots with --yes, waits and confirms', async () => {
    const previous = await running(A);
    const next = (await newKernel(2, '6.6.60', [A]))[A]!;
    const staged = await bot.engine.deploy([A], { until: 'restart', restart: 'no' }, asker);
    expectHost(staged, A, 'ok', bot.store);
    expect(staged.hosts[0]?.reboot?.end).toBe('boot-pending');
    // Checked on the host: it still runs its old system, and boots the new one behind the guard.
    expect(await running(A)).toBe(previous);
    expect(await office.bootDefault(A)).toBe(next);
    expect(await profile(A)).toBe(next);
    expect((await pending(A)).split('\n')).toEqual([previous, next, String(GUARD_SECONDS)]);
    expect((await office.switchLog(A)).at(-1)).toMatch(new RegExp(`boot ${next}$`));
    const staging = await bot.engine.status([A], asker);
    expect(staging[0]?.stagedBoot).toBe(next);
    expect(statusText(staging)).toContain('staged for next boot (reboot pending');

    const rebootsBefore = watcher.log.length;
    const rebooted = await bot.engine.reboot([A], { reboot: 'yes' }, asker);
    expectRun(rebooted, 'ok', bot.store);
    expect(watcher.log.slice(rebootsBefore).map((r) => `${r.host} ${r.result}`)).toEqual([`${A} up`]);
    expect(await running(A)).toBe(next);
    expect(await booted(A)).toBe(next);
    expect(await office.bootDefault(A)).toBe(next);
    expect(await pending(A)).toBe('');
    expect(await guardOutcome(A)).toBe(`confirmed ${next}`);
    // The guard saw the boot and gave way to the confirmation; it never reverted nor rebooted again.
    await until('the guard has ended', 15_000, async () =>
      (await read(A, ['cat', '/run/signage-office/boot-guard.log'])).includes('confirmed in time'),
    );
    expect(watcher.log.length).toBe(rebootsBefore + 1);
    const status = await bot.engine.status([A], asker);
    expect(status[0]?.sync, JSON.stringify(status[0]?.sync)).toBe('in-sync');
  });

  it('reports a host that does not come back within its time, and its guard undoes the boot when it does', async () => {
    const previous = await running(B);
    const next = (await newKernel(3, '6.6.70', [B]))[B]!;
    const staged = await bot.engine.deploy([B], { until: 'restart', restart: 'no' }, asker);
    expectHost(staged, B, 'ok', bot.store);
    expect(await office.bootDefault(B)).toBe(next);

    watcher.stayDown(B);
    const started = Date.now();
    const lost = await bot.engine.reboot([B], { reboot: 'yes' }, asker);
    const took = (Date.now() - started) / 1000;
    expectHost(lost, B, 'failed', bot.store);
    expect(lost.hosts[0]?.error, explain(lost, bot.store)).toContain(
      `did not come back within ${REBOOT_SECONDS} s of its reboot`,
    );
    expect(lost.hosts[0]?.reboot?.end).toBe('host-guards');
    // Bounded: the wait, plus one connection attempt and the probe before it.
    expect(took).toBeLessThan(REBOOT_SECONDS + 20);

    // Powered on: it boots the new system, nobody confirms it, and the guard puts the old one back, once.
    const rebootsBefore = watcher.log.length;
    await watcher.powerOn(B);
    expect(await booted(B)).toBe(next);
    await until('the guard rebooted B into its previous system', (GUARD_SECONDS + 60) * 1000, async () => {
      return (await booted(B)) === previous && (await running(B)) === previous;
    });
    expect(await office.bootDefault(B)).toBe(previous);
    expect(await profile(B)).toBe(previous);
    expect(await pending(B)).toBe('');
    expect(await guardOutcome(B)).toBe(`reverted ${next} ${previous}`);
    await sleep(3000);
    expect(watcher.log.slice(rebootsBefore).map((r) => `${r.host} ${r.result}`)).toEqual([`${B} up`]);
  });

  it('asks for the reboot; once approved, a system failing its checks after it is undone by the bot', async () => {
    const previous = await running(A);
    await office.fleet.setFault(A, 4, 'kiosk');
    const next = (await newKernel(4, '6.6.80', [A]))[A]!;
    const asked = await bot.engine.deploy([A], { until: 'restart', restart: 'ask' }, asker);
    expectHost(asked, A, 'awaiting-approval', bot.store);
    expect(await running(A)).toBe(previous);
    expect(await office.bootDefault(A)).toBe(next);
    const approval = bot.store.pendingApprovals().find((a) => a.runId === asked.runId);
    expect(approval?.action).toBe('reboot');
    expect(approval?.question).toContain(`Reboot ${A}?`);
    expect(approval?.question).toContain('kernel linux-6.6.60-rpi → linux-6.6.80-rpi');

    const decided = await bot.engine.decide(approval!.id, 'approved', asker);
    expect(decided.kind).toBe('decided');
    expect(decided.error).toContain('health check "display manager active"');
    expect(decided.error).toContain(`rebooted back into ${previous}`);
    expect(await running(A)).toBe(previous);
    expect(await booted(A)).toBe(previous);
    expect(await office.bootDefault(A)).toBe(previous);
    expect(await profile(A)).toBe(previous);
    expect(await pending(A)).toBe('');
    expect(await guardOutcome(A)).toBe(`reverted ${next} ${previous}`);
    const stages = bot.store.stagesOf(asked.runId).filter((s) => s.stage === 'reboot');
    expect(stages.map((s) => s.status)).toEqual(['failed']);
    expect(bot.store.getRun(asked.runId)?.status).toBe('failed');
    await office.fleet.setFault(A, 4, null);
  });

  it('reboots from a terminal only with --yes, into what the host boots, and checks it is back', async () => {
    const signage = (args: string[]) =>
      execa(process.execPath, [join(ROOT, 'bin', 'signage.ts'), '--config', bot.file, ...args], {
        reject: false,
        stdin: 'ignore',
      });
    const system = await running(A);
    const refused = await signage(['reboot', A]);
    expect(refused.exitCode, refused.stderr).toBe(2);
    expect(refused.stderr).toContain('pass --yes');
    const rebootsBefore = watcher.log.length;
    const done = await signage(['reboot', A, '--yes', '--json']);
    expect(done.exitCode, `${done.stdout}\n${done.stderr}`).toBe(0);
    const result = JSON.parse(done.stdout) as { status: string; hosts: { host: string; status: string }[] };
    expect(result.status).toBe('ok');
    expect(watcher.log.slice(rebootsBefore).map((r) => `${r.host} ${r.result}`)).toEqual([`${A} up`]);
    expect(await running(A)).toBe(system);
    expect(await booted(A)).toBe(system);
  });
});
