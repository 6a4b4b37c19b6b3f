// "At the next window": the restart question of a host with a maintenance window offers to restart then; one
// without a window does not. A deployer who is not an approver is refused; an approver's answer leaves the
// screen alone until the window opens, when the schedule restarts its display manager (checked on the host's
// own systemctl log) and tells the channel. The bot runs against the fake Slack on the simulated office; its
// clock is moved forward to the window instead of waiting an hour.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Office, officeUnavailable } from '../office/index.ts';
import type { FakeSlack, StoredMessage } from '../support/fake-slack/index.ts';
import {
  ALICE,
  actionIds,
  answerAtNextWindow,
  askInChannel,
  BOB,
  CHANNEL,
  channelSays,
  hasButtons,
  hms,
  NEVER,
  type SlackOffice,
  startSlackOfficeSet,
  stopSlackOfficeSet,
  windowInAnHour,
} from '../support/slack-office.ts';

const unavailable = officeUnavailable();
const A = 'baard-entrance';
const B = 'baard-kitchen';
const RESTART = 'restart display-manager.service';

describe.skipIf(unavailable !== null)('restart at the next maintenance window', () => {
  let office: Office;
  let fake: FakeSlack;
  let bot: SlackOffice;
  // A's window: ten minutes, an hour from now (the bot's clock is moved to it). B has none.
  const { opensAt, text: windowText } = windowInAnHour();
  const store = () => bot.bot.composed.store;
  const pendingOf = (host: string) =>
    store()
      .pendingWork()
      .find((w) => w.host === host);
  let offset = 0;
  const restartsOn = async (host: string) => (await office.systemctlLog(host)).filter((l) => l === RESTART);
  const questionFor = (host: string) =>
    fake
      .messages(CHANNEL)
      .find((m) => m.broadcast && m.text.startsWith(`Restart the display manager on ${host}`));
  const ask = (text: string, host: string): Promise<StoredMessage> =>
    askInChannel({ fake, bot }, text, () => questionFor(host), `a question about ${host}`);

  beforeAll(async () => {
    ({ office, fake, bot } = await startSlackOfficeSet({
      office: { hosts: [A, B], scale: 0.1 },
      bot: {
        tags: (h) => (h === A ? ['shop'] : ['cafe']),
        // Pending work is looked at every two seconds (six fields: seconds first).
        schedule: { status: NEVER, pendingWork: '*/2 * * * * *' },
        sections: { tags: { shop: { timezone: 'UTC', windows: [windowText] } } },
      },
    }));
  }, 300_000);
  afterAll(() => stopSlackOfficeSet({ bot, fake, office }));

  it('offers "At the next window" only for a host with a window', async () => {
    const b = await ask(`restart ${B}`, B);
    expect(actionIds(b)).toEqual(['restart_approve', 'restart_deny']);
    await fake.clickButton({ user: ALICE, channel: CHANNEL, ts: b.ts, actionId: 'restart_deny' });
    await fake.until(() => store().heldLocks().length === 0, { timeoutMs: 60_000, what: `${B} freed` });

    // Outside its window a restart needs --now from an approver; its question then offers the window too.
    const a = await ask(`restart ${A} --now`, A);
    expect(actionIds(a)).toEqual(['restart_approve', 'restart_next_window', 'restart_deny']);
    const button = (
      (a.blocks ?? []) as { type: string; elements?: { action_id: string; confirm?: unknown }[] }[]
    )
      .flatMap((blk) => blk.elements ?? [])
      .find((e) => e.action_id === 'restart_next_window')!;
    expect(button.confirm).toMatchObject({
      confirm: { text: 'At the next window' },
      text: { text: expect.stringContaining(`${windowText}, next opening`) },
    });
  }, 300_000);

  it("refuses a non-approver's press; an approver's restarts the display manager only once the window opens", async () => {
    const question = questionFor(A)!;
    const before = await restartsOn(A);

    await fake.clickButton({ user: BOB, channel: CHANNEL, ts: question.ts, actionId: 'restart_next_window' });
    await fake.until(() => fake.ephemerals({ user: BOB }).length > 0, {
      timeoutMs: 60_000,
      what: "BOB's refusal",
    });
    await bot.bot.slack.settled();
    expect(pendingOf(A)).toBeUndefined();
    expect(hasButtons(fake.messages(CHANNEL).find((m) => m.ts === question.ts)!)).toBe(true);

    const answered = await answerAtNextWindow(fake, question);
    const opening = hms(opensAt).slice(0, 5);
    expect(answered.text).toMatch(
      new RegExp(
        `^Restart of ${A} at the next window, ${windowText}, next opening \\w{3} ${opening}(:\\d\\d)? UTC — approved by <@${ALICE}>$`,
      ),
    );
    const pending = pendingOf(A)!;
    expect(pending).toMatchObject({ verb: 'restart', toplevel: null, reason: 'window' });
    expect(pending.opensAt?.getTime()).toBe(opensAt);
    const audit = store().auditLog({ host: A, limit: 200 });
    expect(
      audit.some(
        (e) => e.argv.includes('--at-next-window') && e.actor.kind === 'slack' && e.actor.userId === ALICE,
      ),
    ).toBe(true);
    // The run that asked has ended: no host is held for the hour to come.
    await fake.until(() => store().heldLocks().length === 0, { timeoutMs: 60_000, what: 'the run to end' });

    // Several ticks of the schedule outside the window: the display manager is left alone.
    await new Promise((r) => setTimeout(r, 6000));
    expect(await restartsOn(A)).toEqual(before);
    expect(pendingOf(A)?.verb).toBe('restart');

    // The bot's clock to eight seconds before the opening; the restart comes once the window is open.
    offset = opensAt - 8000 - Date.now();
    bot.advance(offset);
    let seenAt: number | null = null;
    const deadline = Date.now() + 240_000;
    while (seenAt === null && Date.now() < deadline) {
      const now = await restartsOn(A);
      if (now.length > before.length) seenAt = Date.now() + offset;
      else await new Promise((r) => setTimeout(r, 250));
    }
    expect(seenAt, 'the display manager was never restarted').not.toBeNull();
    expect(seenAt!).toBeGreaterThanOrEqual(opensAt);
    await fake.until(
      () => channelSays(fake, `${A} reached its window and its display manager was restarted`),
      {
        timeoutMs: 120_000,
        what: 'the channel told of the restart',
      },
    );
    expect(pendingOf(A)).toBeUndefined();
    // Once, not at every tick of the open window.
    await new Promise((r) => setTimeout(r, 5000));
    expect(await restartsOn(A)).toEqual([...before, RESTART]);
  }, 600_000);
});
