// A reboot asked for on its own waits for the host's maintenance window: outside it the terminal's
// `reboot --yes` records the reboot for the window, saying when it opens, and the host is not rebooted;
// `--now` goes ahead, the host comes back running what it ran, and the reboot that waited is done with.
// Checked on the host and by the office's reboot log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signage } from '../faults/support.ts';
import { type RebootWatcher, watchReboots } from '../office/boot-guard.ts';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { officeConfig } from '../support/office-bot.ts';
import { expectExit } from '../support/outcome.ts';

const unavailable = officeUnavailable();
const A = 'baard-entrance';

/** A window of one minute, twelve hours from now (UTC): closed for the whole test, whenever it runs. */
function windowFarFromNow(): string {
  const at = new Date(Date.now() + 12 * 3600_000);
  const hm = (d: Date) =>
    `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
  return `${hm(at)}-${hm(new Date(at.getTime() + 60_000))}`;
}

describe.skipIf(unavailable !== null)('reboot and the maintenance window', () => {
  let office: Office;
  let config: ReturnType<typeof officeConfig>;
  let watcher: RebootWatcher;
  beforeAll(async () => {
    office = await startOffice({ hosts: [{ name: A, systemd: true }], scale: 0.05 });
    watcher = watchReboots(office.hosts);
    config = officeConfig(office, {
      sections: { sites: { baard: { timezone: 'UTC', windows: [windowFarFromNow()] } } },
    });
  }, 300_000);
  afterAll(async () => {
    await watcher?.stop();
    config?.cleanup();
    await office?.close();
  });

  it('is recorded for the window outside it, and --now reboots it', async () => {
    // A system to reboot into, activated outside the window on --now as well.
    expectExit(await signage(['--config', config.file, 'deploy', A, '--no-restart', '--now']), 0);
    const recorded = await signage(['--config', config.file, 'reboot', A, '--yes']);
    expectExit(recorded, 0);
    expect(recorded.all).toContain('recorded for the window: the reboot waits for the window');
    expect(recorded.all).toContain('next opening');
    expect(watcher.log.filter((r) => r.host === A)).toEqual([]);
    const waiting = await signage(['--config', config.file, 'pending']);
    expect(waiting.all).toContain('its reboot waits for the window');

    const now = await signage(['--config', config.file, 'reboot', A, '--yes', '--now']);
    expectExit(now, 0);
    expect(watcher.log.filter((r) => r.host === A).map((r) => r.result)).toEqual(['up']);
    const running = (await office.onHost(A, ['readlink', '/run/current-system'])).stdout.trim();
    expect((await office.onHost(A, ['readlink', '/run/booted-system'])).stdout.trim()).toBe(running);
    const after = await signage(['--config', config.file, 'pending']);
    expect(after.all).toContain('nothing pending');
  }, 600_000);
});
