// Requests from where the bot cannot speak, on the simulated office: from a private channel or a direct
// message the bot is not part of (Slack answers channel_not_found) or a public channel it has not joined,
// without chat:write.public (not_in_channel), nothing runs and the requester is told privately how to fix it.
// When Slack starts refusing the bot's messages while a run goes (the bot was removed from the channel), the
// requester is told, and nothing says the run went well.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Office, officeUnavailable } from '../office/index.ts';
import type { FakeSlack } from '../support/fake-slack/index.ts';
import {
  ALICE,
  APPROVERS_GROUP,
  CAROL,
  CHANNEL,
  type SlackOffice,
  startSlackOfficeSet,
  stopSlackOfficeSet,
} from '../support/slack-office.ts';

const unavailable = officeUnavailable();
const A = 'baard-entrance';
const PRIVATE = 'G0SECRET';
const DM = 'D0ALICEBOB';
const LOBBY = 'C0LOBBY';

describe.skipIf(unavailable !== null)('requests from where the bot cannot speak', () => {
  let office: Office;
  let fake: FakeSlack;
  let bot: SlackOffice;

  beforeAll(async () => {
    ({ office, fake, bot } = await startSlackOfficeSet({
      office: { hosts: [A], scale: 0.1 },
      fake: {
        usergroups: { [APPROVERS_GROUP]: [CAROL] },
        chatWritePublic: false,
        channels: { [LOBBY]: { private: false, botMember: false } },
      },
    }));
  });
  afterAll(() => stopSlackOfficeSet({ bot, fake, office }));

  const posted = () => fake.calls('chat.postMessage').filter((c) => c.response.ok === true).length;

  it.each([
    [PRIVATE, 'channel_not_found', /Invite the bot to this channel \(`\/invite @signage`/],
    [LOBBY, 'not_in_channel', /Invite the bot to this channel/],
    [DM, 'channel_not_found', /cannot post in a direct message between people/],
  ])('from %s (%s): runs nothing and tells the requester how to fix it', async (channel, code, fix) => {
    const runs = bot.bot.composed.store.recentRuns({ limit: 100 }).length;
    const before = posted();
    const sent = await fake.sendSlashCommand({ user: ALICE, channel, text: `deploy ${A}` });
    expect(sent.latencyMs).toBeLessThan(3000);
    await fake.until(() => fake.ephemerals({ user: ALICE, channel }).length === 1, {
      what: 'the private answer',
    });
    await bot.bot.slack.settled();
    const said = fake.ephemerals({ user: ALICE, channel })[0]!;
    expect(said.via).toBe('response_url');
    expect(said.text).toMatch(
      /^`\/signage deploy baard-entrance` was not run: the bot cannot post in this conversation/,
    );
    const shown = JSON.stringify(said.blocks);
    expect(shown).toContain(`Slack answered ${code}`);
    expect(shown).toMatch(fix);
    expect(bot.bot.composed.store.recentRuns({ limit: 100 })).toHaveLength(runs);
    expect(posted()).toBe(before);
    expect(await office.systemctlLog(A)).toEqual([]);
  });

  it('tells the requester when the bot is removed mid-run, and never that the run went well', async () => {
    await fake.sendSlashCommand({ user: ALICE, channel: CHANNEL, text: `deploy ${A}` });
    await fake.until(() => fake.messages(CHANNEL).some((m) => m.text.includes('starting…')), {
      timeoutMs: 30_000,
      what: 'the run message',
    });
    // Someone removes the bot from the channel while the deploy builds.
    fake.removeBot(CHANNEL);
    await fake.until(() => fake.ephemerals({ user: ALICE, channel: CHANNEL }).length > 0, {
      timeoutMs: 180_000,
      what: 'the requester being told',
    });
    await bot.bot.slack.settled();
    const said = fake.ephemerals({ user: ALICE, channel: CHANNEL });
    expect(said).toHaveLength(1);
    expect(said[0]!.text).toMatch(
      /Slack refused the bot's messages in this conversation while the run was going/,
    );
    expect(said[0]!.text).toMatch(/do not take it as done until you have checked/);
    expect(JSON.stringify(said[0]!.blocks)).toContain('Slack answered not_in_channel');
    expect(said[0]!.text).not.toMatch(/: ok\b/);
    // The run did what it could (the question could not be posted, so no screen was restarted).
    const [run] = bot.bot.composed.store.recentRuns({ limit: 1 });
    expect(run?.verb).toBe('deploy');
    expect(await office.systemctlLog(A)).toEqual([]);
  });
});
