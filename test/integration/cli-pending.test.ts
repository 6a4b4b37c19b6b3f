// Pending work from a terminal, for installations without the Slack bot: a host whose network is cut during a
// deploy is pending with the system built for it; `signage pending` lists it; once its network is back,
// `signage pending --run` (what cron would call) brings it to that system, checked on the host itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signage, systemOf } from '../faults/support.ts';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { officeConfig } from '../support/office-bot.ts';
import { expectExit } from '../support/outcome.ts';

const unavailable = officeUnavailable();
const A = 'baard-entrance';

describe.skipIf(unavailable !== null)('signage pending at a terminal', () => {
  let office: Office;
  let config: ReturnType<typeof officeConfig>;
  beforeAll(async () => {
    office = await startOffice({ hosts: [A], scale: 0.05 });
    config = officeConfig(office);
  }, 300_000);
  afterAll(async () => {
    config?.cleanup();
    await office?.close();
  });

  it('lists a host a deploy could not reach, and --run brings it up to date once it answers', async () => {
    await office.fleet.setRevision(2);
    const before = await systemOf(office, A);
    await office.unplugHost(A);
    let out: Awaited<ReturnType<typeof signage>>;
    try {
      out = await signage(['--config', config.file, 'deploy', A, '--no-restart']);
      expectExit(out, 1);
      expect(out.all).toContain('pending: brought up to date when it answers again');
      const listed = await signage(['--config', config.file, 'pending']);
      expectExit(listed, 0);
      expect(listed.stdout).toMatch(
        new RegExp(`^${A}  /nix/store/\\S+  pending since .*: it did not answer`),
      );
      // Still unplugged: nothing is due, nothing changes.
      const early = await signage(['--config', config.file, 'pending', '--run']);
      expectExit(early, 0);
      expect(early.stdout).toContain(`${A}: still pending: still unreachable`);
    } finally {
      await office.plugHost(A);
    }
    expect(await systemOf(office, A)).toEqual(before);
    const toplevel = /\/nix\/store\/\S+/.exec(
      (await signage(['--config', config.file, 'pending'])).stdout,
    )?.[0];
    expect(toplevel).toBeDefined();

    const ran = await signage(['--config', config.file, 'pending', '--run']);
    expectExit(ran, 0);
    expect(ran.stdout).toContain(`${A} came back and was brought up to date`);
    expect(await systemOf(office, A)).toEqual({ current: toplevel, profile: toplevel });
    const after = await signage(['--config', config.file, 'pending']);
    expect(after.stdout.trim()).toBe('nothing pending');
  }, 600_000);

  it('cancel HOST drops the pending work of a host with nothing running, and the host stays as it was', async () => {
    await office.fleet.setRevision(3);
    const before = await systemOf(office, A);
    await office.unplugHost(A);
    try {
      expectExit(await signage(['--config', config.file, 'deploy', A, '--no-restart']), 1);
    } finally {
      await office.plugHost(A);
    }
    expect((await signage(['--config', config.file, 'pending'])).stdout).toContain(`${A}  /nix/store/`);
    const cancelled = await signage(['--config', config.file, 'cancel', A]);
    expectExit(cancelled, 0);
    expect(cancelled.stdout).toMatch(/pending work of run \S+ \(pending deploy by .*\) dropped by/);
    expect(cancelled.stdout).toContain('its pending work was dropped (pending since');
    expect((await signage(['--config', config.file, 'pending'])).stdout.trim()).toBe('nothing pending');
    // Nothing due any more: the host is left running what it ran.
    expectExit(await signage(['--config', config.file, 'pending', '--run']), 0);
    expect(await systemOf(office, A)).toEqual(before);
    // With nothing pending and nothing running, cancel refuses as before.
    expectExit(await signage(['--config', config.file, 'cancel', A]), 1);
  }, 600_000);
});
