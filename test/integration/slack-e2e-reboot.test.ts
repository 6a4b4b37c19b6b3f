// A deploy from Slack of a system with a new kernel: staged with `boot`, the reboot question posted with its
// own words and buttons for approvers, approved with a click, the host rebooted (the office's reboot), waited
// for and confirmed, checked on the host. The whole bot runs as `npm start` runs it, against the fake Slack.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RebootWatcher, watchReboots } from '../office/boot-guard.ts';
import { type Office, officeUnavailable } from '../office/index.ts';
import type { FakeSlack } from '../support/fake-slack/index.ts';
import { explain } from '../support/outcome.ts';
import {
  ALICE,
  BOB,
  blocksText,
  CHANNEL,
  hasButtons,
  type SlackOffice,
  startSlackOfficeSet,
  stopSlackOfficeSet,
} from '../support/slack-office.ts';

const unavailable = officeUnavailable();
const A = 'baard-entrance';

describe.skipIf(unavailable !== null)('a reboot asked for and approved in Slack', () => {
  let office: Office;
  let fake: FakeSlack;
  let bot: SlackOffice;
  let watcher: RebootWatcher;

  const read = async (argv: string[]) => (await office.onHost(A, argv)).stdout.trim();
  const questionFor = () =>
    fake.messages(CHANNEL).find((m) => m.broadcast && hasButtons(m) && m.text.includes(`Reboot ${A}?`));

  beforeAll(async () => {
    ({ office, fake, bot } = await startSlackOfficeSet({
      office: { hosts: [{ name: A, systemd: true }], scale: 0.05 },
      bot: {
        activation: {
          revertSeconds: 60,
          rebootSeconds: 60,
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
      { until: 'switch', restart: 'no' },
      { actor: { kind: 'cli', user: 'tester' }, onEvent: () => {} },
    );
    expect(first.status, explain(first)).toBe('ok');
  });
  afterAll(async () => {
    await watcher?.stop();
    await stopSlackOfficeSet({ bot, fake, office });
  });

  it('asks with its own buttons, refuses a non-approver, reboots on an approval and confirms the new system', async () => {
    const previous = await read(['readlink', '/run/current-system']);
    await office.fleet.setRevision(2);
    await office.fleet.setKernel('6.6.60');
    const next = await office.fleet.build(A);

    const ack = await fake.sendSlashCommand({ user: ALICE, channel: CHANNEL, text: `deploy ${A}` });
    expect(ack.latencyMs).toBeLessThan(3000);
    await fake.until(() => questionFor() !== undefined, { timeoutMs: 180_000, what: 'the reboot question' });
    await bot.bot.slack.settled();
    const question = questionFor()!;
    expect(question.text).toContain('kernel linux-6.6.51-rpi → linux-6.6.60-rpi');
    const buttons = (question.blocks as { type: string; elements?: Record<string, unknown>[] }[])
      .filter((b) => b.type === 'actions')
      .flatMap((b) => b.elements ?? []);
    expect(buttons.find((b) => b.action_id === 'restart_approve')?.confirm).toMatchObject({
      title: { type: 'plain_text', text: `Reboot ${A}?` },
      confirm: { type: 'plain_text', text: 'Reboot now' },
    });
    expect(blocksText(question)).toContain('goes dark while the host reboots');
    // Staged, not running: the host still shows its old system and boots the new one.
    expect(await read(['readlink', '/run/current-system'])).toBe(previous);
    expect(await office.bootDefault(A)).toBe(next);

    // Bob deploys but does not approve: nothing happens.
    await fake.clickButton({ user: BOB, channel: CHANNEL, ts: question.ts, actionId: 'restart_approve' });
    await bot.bot.slack.settled();
    expect(watcher.log).toEqual([]);
    expect(hasButtons(fake.message(CHANNEL, question.ts))).toBe(true);

    await fake.clickButton({ user: ALICE, channel: CHANNEL, ts: question.ts, actionId: 'restart_approve' });
    await fake.until(() => !hasButtons(fake.message(CHANNEL, question.ts)), {
      timeoutMs: 180_000,
      what: 'the question answered',
    });
    await bot.bot.slack.settled();
    const reboots = bot.bot.composed.store
      .recentRuns({ limit: 5 })
      .flatMap((r) => bot.bot.composed.store.stagesOf(r.id))
      .filter((s) => s.stage === 'reboot');
    expect(
      reboots.map((s) => `${s.status}: ${s.detail}`),
      JSON.stringify(reboots),
    ).toEqual([expect.stringMatching(new RegExp(`^ok: back on ${next}, healthy, confirmed; approved by`))]);
    expect(watcher.log.map((r) => `${r.host} ${r.result}`)).toEqual([`${A} up`]);
    expect(await read(['readlink', '/run/current-system'])).toBe(next);
    expect(await read(['readlink', '/run/booted-system'])).toBe(next);
    expect(await office.bootDefault(A)).toBe(next);
    expect(await read(['cat', '/nix/var/signage-boot/outcome'])).toBe(`confirmed ${next}`);
  });
});
