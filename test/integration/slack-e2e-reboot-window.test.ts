// A reboot question in Slack for a host with a maintenance window offers "At the next window"; an approver's
// press leaves the host alone (its new system staged, the old one running) until the window opens, when the
// schedule reboots it, waits for it and confirms the new system, and tells the channel. Checked on the host.
// The bot's clock is moved forward to the window instead of waiting an hour.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RebootWatcher, watchReboots } from '../office/boot-guard.ts';
import { type Office, officeUnavailable } from '../office/index.ts';
import type { FakeSlack } from '../support/fake-slack/index.ts';
import { explain } from '../support/outcome.ts';
import {
  ALICE,
  actionIds,
  answerAtNextWindow,
  askInChannel,
  CHANNEL,
  channelSays,
  NEVER,
  type SlackOffice,
  startSlackOfficeSet,
  stopSlackOfficeSet,
  windowInAnHour,
} from '../support/slack-office.ts';

const unavailable = officeUnavailable();
const A = 'baard-entrance';

describe.skipIf(unavailable !== null)('a reboot at the next window, from Slack', () => {
  let office: Office;
  let fake: FakeSlack;
  let bot: SlackOffice;
  let watcher: RebootWatcher;
  const { opensAt, text: windowText } = windowInAnHour();

  const read = async (argv: string[]) => (await office.onHost(A, argv)).stdout.trim();
  const questionFor = () =>
    fake.messages(CHANNEL).find((m) => m.broadcast && m.text.includes(`Reboot ${A}?`));

  beforeAll(async () => {
    ({ office, fake, bot } = await startSlackOfficeSet({
      office: { hosts: [{ name: A, systemd: true }], scale: 0.05 },
      bot: {
        schedule: { status: NEVER, pendingWork: '*/2 * * * * *' },
        sections: { sites: { baard: { timezone: 'UTC', windows: [windowText] } } },
        activation: {
          revertSeconds: 60,
          rebootSeconds: 90,
          settleSeconds: 0,
          checks: [
            {
              name: 'display manager active',
              argv: ['systemctl', 'is-active', '--quiet', 'display-manager.service'],
              timeoutSeconds: 5,
            },
          ],
        },
      },
    }));
    watcher = watchReboots(office.hosts);
    const first = await bot.bot.composed.engine.deploy(
      [A],
      { until: 'switch', restart: 'no', ignoreWindow: true },
      { actor: { kind: 'cli', user: 'tester' }, onEvent: () => {} },
    );
    expect(first.status, explain(first)).toBe('ok');
  }, 300_000);
  afterAll(async () => {
    await watcher?.stop();
    await stopSlackOfficeSet({ bot, fake, office });
  });

  it('offers the window, waits for it, then reboots into the staged system and tells the channel', async () => {
    const previous = await read(['readlink', '/run/current-system']);
    await office.fleet.setRevision(2);
    await office.fleet.setKernel('6.6.60');
    const next = await office.fleet.build(A);

    const question = await askInChannel(
      { fake, bot },
      `deploy ${A} --now`,
      questionFor,
      'the reboot question',
      180_000,
    );
    expect(actionIds(question)).toEqual(['restart_approve', 'restart_next_window', 'restart_deny']);
    expect(await office.bootDefault(A)).toBe(next);

    const answered = await answerAtNextWindow(fake, question);
    expect(answered.text).toMatch(
      new RegExp(
        `^Reboot of ${A} at the next window, ${windowText}, next opening .* — approved by <@${ALICE}>$`,
      ),
    );
    const store = bot.bot.composed.store;
    expect(store.pendingWork().find((w) => w.host === A)).toMatchObject({ verb: 'reboot', restart: 'yes' });

    // Ticks of the schedule outside the window: nothing happens on the host.
    await new Promise((r) => setTimeout(r, 6000));
    expect(watcher.log.filter((r) => r.host === A)).toEqual([]);
    expect(await read(['readlink', '/run/current-system'])).toBe(previous);

    bot.advance(opensAt + 2000 - Date.now());
    await fake.until(() => channelSays(fake, `${A} reached its window and was rebooted`), {
      timeoutMs: 300_000,
      what: 'the channel told of the reboot',
    });
    expect(watcher.log.filter((r) => r.host === A).map((r) => r.result)).toEqual(['up']);
    expect(await read(['readlink', '/run/current-system'])).toBe(next);
    expect(await read(['readlink', '/run/booted-system'])).toBe(next);
    expect(await read(['cat', '/nix/var/signage-boot/outcome'])).toBe(`confirmed ${next}`);
    expect(store.pendingWork().find((w) => w.host === A)).toBeUndefined();
  }, 600_000);
});
