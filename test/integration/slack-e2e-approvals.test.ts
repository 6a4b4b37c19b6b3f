// Restart questions over time: one that expired (answered too late, or swept up by the schedule) restarts
// nothing and says so on its message; one asked before the bot restarted is still answered once, and the run's
// message is brought up to date from what the state store kept. The whole bot runs as `npm start` runs it,
// against the fake Slack, on the simulated office; its clock is moved forward instead of waiting.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WARN_EXPIRING_JOB } from '../../src/main/start-bot.ts';
import { EXPIRE_JOB } from '../../src/scheduler/jobs.ts';
import { type Office, officeUnavailable } from '../office/index.ts';
import type { FakeSlack, StoredMessage } from '../support/fake-slack/index.ts';
import { expectStoredRun } from '../support/outcome.ts';
import {
  ALICE,
  APPROVERS_GROUP,
  blocksText,
  CAROL,
  CHANNEL,
  hasButtons,
  type SlackOffice,
  startSlackOfficeSet,
  stopSlackOfficeSet,
} from '../support/slack-office.ts';

const unavailable = officeUnavailable();
const A = 'baard-entrance';
const B = 'baard-kitchen';
const HALF_AN_HOUR = 31 * 60_000;

describe.skipIf(unavailable !== null)('restart questions that expire, and that outlive the bot', () => {
  let office: Office;
  let fake: FakeSlack;
  let bot: SlackOffice;

  const questionFor = (host: string) =>
    fake.messages(CHANNEL).find((m) => m.broadcast && hasButtons(m) && m.text.includes(host));

  async function ask(text: string, host: string): Promise<StoredMessage> {
    const ack = await fake.sendSlashCommand({ user: ALICE, channel: CHANNEL, text });
    expect(ack.latencyMs).toBeLessThan(3000);
    await fake.until(() => questionFor(host) !== undefined, {
      timeoutMs: 120_000,
      what: `a question about ${host}`,
    });
    await bot.bot.slack.settled();
    return questionFor(host)!;
  }

  beforeAll(async () => {
    ({ office, fake, bot } = await startSlackOfficeSet({
      office: { hosts: [A, B], scale: 0.1 },
      bot: {
        limits: { approvalTimeoutMinutes: 30 },
        slack: { approvers: { users: [ALICE], usergroup: APPROVERS_GROUP, directMessage: true } },
      },
    }));
  });
  afterAll(() => stopSlackOfficeSet({ bot, fake, office }));

  it('tells the approvers: mentions, a direct message, a confirmation dialog, a warning before it expires', async () => {
    const question = await ask(`restart ${B}`, B);
    // Mentions notify: each named approver and the user group.
    expect(question.text).toContain(`<@${ALICE}>`);
    expect(question.text).toContain(`<!subteam^${APPROVERS_GROUP}>`);
    expect(blocksText(question)).toContain(`Approvers: <@${ALICE}> <!subteam^${APPROVERS_GROUP}>`);
    // "Restart now" asks first; "Not now" does not.
    const buttons = (question.blocks as { type: string; elements?: Record<string, unknown>[] }[])
      .filter((b) => b.type === 'actions')
      .flatMap((b) => b.elements ?? []);
    const approve = buttons.find((b) => b.action_id === 'restart_approve')!;
    expect(approve.confirm).toMatchObject({
      title: { type: 'plain_text', text: `Restart ${B}?` },
      confirm: { type: 'plain_text', text: 'Restart now' },
      deny: { type: 'plain_text', text: 'Not yet' },
    });
    expect(buttons.find((b) => b.action_id === 'restart_deny')?.confirm).toBeUndefined();
    // The named approver also hears of it directly, pointed at the channel.
    await fake.until(() => fake.messages(ALICE).length === 1, { what: 'the direct message' });
    expect(fake.messages(ALICE)[0]!.text).toMatch(
      new RegExp(`^A restart question waits for you in <#${CHANNEL}>: .*${B}`),
    );

    const warnings = () =>
      fake.messages(CHANNEL).filter((m) => m.threadTs === question.threadTs && /expires soon/.test(m.text));
    expect(await bot.bot.schedule.runNow(WARN_EXPIRING_JOB)).toBe('ran');
    await bot.bot.slack.settled();
    expect(warnings()).toHaveLength(0);
    // Four minutes before it expires (the default warns five minutes ahead).
    bot.advance(26 * 60_000);
    expect(await bot.bot.schedule.runNow(WARN_EXPIRING_JOB)).toBe('ran');
    await bot.bot.slack.settled();
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]!.text).toBe(
      `The restart question for ${B} expires soon: <@${ALICE}> <!subteam^${APPROVERS_GROUP}>`,
    );
    expect(await bot.bot.schedule.runNow(WARN_EXPIRING_JOB)).toBe('ran');
    await bot.bot.slack.settled();
    expect(warnings()).toHaveLength(1);

    await fake.clickButton({ user: ALICE, channel: CHANNEL, ts: question.ts, actionId: 'restart_deny' });
    await bot.bot.slack.settled();
    expect(hasButtons(fake.message(CHANNEL, question.ts))).toBe(false);
    expect(await office.systemctlLog(B)).toEqual([]);
  });

  it('answers a click on an expired question with "expired", restarts nothing, and the schedule ends the run', async () => {
    const question = await ask(`restart ${A}`, A);
    const approval = bot.bot.composed.store.pendingApprovals().find((a) => a.host === A)!;
    bot.advance(HALF_AN_HOUR);

    await fake.clickButton({ user: ALICE, channel: CHANNEL, ts: question.ts, actionId: 'restart_approve' });
    await bot.bot.slack.settled();
    const said = fake.ephemerals({ user: ALICE }).at(-1)!;
    expect(said.text).toMatch(
      /^This question expired at \d{4}-\d\d-\d\d \d\d:\d\d UTC; nothing was restarted\./,
    );
    const expired = fake.message(CHANNEL, question.ts)!;
    expect(hasButtons(expired)).toBe(false);
    expect(expired.text).toBe(`The restart question for ${A} expired; nothing was restarted`);
    expect(await office.systemctlLog(A)).toEqual([]);

    // The schedule's sweep ends the run that waited for it, and its message says what became of the restart.
    expect(await bot.bot.schedule.runNow(EXPIRE_JOB)).toBe('ran');
    await bot.bot.slack.settled();
    expectStoredRun(bot.bot.composed.store, approval.runId, 'ok');
    const main = fake.message(CHANNEL, question.threadTs!)!;
    // Nothing was restarted: the host's only stage was skipped.
    expect(main.text).toMatch(/^Restart · 1 host: 1 skipped — finished/);
    expect(blocksText(main)).toContain('– restart');
    expect(await office.systemctlLog(A)).toEqual([]);
  });

  it('takes the buttons off a question the schedule expired, so nobody can click it', async () => {
    const question = await ask(`restart ${B}`, B);
    bot.advance(HALF_AN_HOUR);
    expect(await bot.bot.schedule.runNow(EXPIRE_JOB)).toBe('ran');
    await bot.bot.slack.settled();
    const expired = fake.message(CHANNEL, question.ts)!;
    expect(hasButtons(expired)).toBe(false);
    expect(blocksText(expired)).toMatch(/the question expired <!date\^\d+\^/);
    await expect(
      fake.clickButton({ user: ALICE, channel: CHANNEL, ts: question.ts, actionId: 'restart_approve' }),
    ).rejects.toThrow(/no button/);
    expect(await office.systemctlLog(B)).toEqual([]);
    expect(bot.log.text()).toContain('1 restart question(s) expired, 1 message(s) updated');
  });

  it('restarts once for two clicks after the bot restarted, and brings the run message up to date', async () => {
    const question = await ask(`deploy ${A}`, A);
    const mainTs = question.threadTs!;
    const connectionsBefore = fake.calls('apps.connections.open').length;
    const restartsBefore = (await office.systemctlLog(A)).length;

    await bot.restart();
    expect(fake.calls('apps.connections.open').length).toBe(connectionsBefore + 1);
    expect(bot.log.text()).toContain('state: nothing left over from a previous process');

    await fake.clickButton({ user: ALICE, channel: CHANNEL, ts: question.ts, actionId: 'restart_approve' });
    await bot.bot.slack.settled();
    const answered = fake.message(CHANNEL, question.ts)!;
    expect(hasButtons(answered)).toBe(false);
    expect(answered.text).toBe(`Restart of ${A} approved by <@${ALICE}>`);
    // Carol's screen still showed the buttons: her click comes after Alice's was answered.
    const carolBefore = fake.ephemerals({ user: CAROL }).length;
    await fake.clickButton({
      user: CAROL,
      channel: CHANNEL,
      ts: question.ts,
      actionId: 'restart_approve',
      seen: question,
    });
    await bot.bot.slack.settled();
    const told = fake.ephemerals({ user: CAROL }).slice(carolBefore);
    expect(told).toHaveLength(1);
    expect(told[0]!.text).toMatch(
      new RegExp(`^Already decided: approved by <@${ALICE}> at .*\\. Your click changed nothing\\.$`),
    );

    const restarts = (await office.systemctlLog(A)).slice(restartsBefore);
    expect(restarts).toEqual(['restart display-manager.service']);
    expect(hasButtons(fake.message(CHANNEL, question.ts))).toBe(false);
    // The new process found the run's message through the store and rebuilt it from the recorded stages.
    const main = fake.message(CHANNEL, mainTs)!;
    expect(main.text).toMatch(/^Deploy · 1 host: 1 done — finished/);
    for (const stage of ['build', 'plan', 'copy', 'switch', 'restart'])
      expect(blocksText(main)).toContain(`✓ ${stage}`);
  });

  it('restarts each host once when both questions of one run are approved one right after the other', async () => {
    const before = { [A]: (await office.systemctlLog(A)).length, [B]: (await office.systemctlLog(B)).length };
    const ack = await fake.sendSlashCommand({ user: ALICE, channel: CHANNEL, text: `restart ${A} ${B}` });
    expect(ack.ack?.text).toBeUndefined();
    await fake.until(() => questionFor(A) !== undefined && questionFor(B) !== undefined, {
      timeoutMs: 120_000,
      what: 'both restart questions',
    });
    await bot.bot.slack.settled();
    const qa = questionFor(A)!;
    const qb = questionFor(B)!;
    // One run, one channel message: both questions are in its thread.
    expect(qa.threadTs).toBeDefined();
    expect(qb.threadTs).toBe(qa.threadTs);
    const approval = bot.bot.composed.store.pendingApprovals().find((a) => a.host === A)!;
    expect(bot.bot.composed.store.pendingApprovals().find((a) => a.host === B)?.runId).toBe(approval.runId);

    // The second click is acknowledged while the first answer is still being carried out.
    await fake.clickButton({ user: ALICE, channel: CHANNEL, ts: qa.ts, actionId: 'restart_approve' });
    await fake.clickButton({ user: CAROL, channel: CHANNEL, ts: qb.ts, actionId: 'restart_approve' });
    await bot.bot.slack.settled();

    expect((await office.systemctlLog(A)).slice(before[A])).toEqual(['restart display-manager.service']);
    expect((await office.systemctlLog(B)).slice(before[B])).toEqual(['restart display-manager.service']);
    expect(fake.message(CHANNEL, qa.ts)!.text).toBe(`Restart of ${A} approved by <@${ALICE}>`);
    expect(fake.message(CHANNEL, qb.ts)!.text).toBe(`Restart of ${B} approved by <@${CAROL}>`);
    expectStoredRun(bot.bot.composed.store, approval.runId, 'ok');
    const main = fake.message(CHANNEL, qa.threadTs!)!;
    expect(main.text).toMatch(/^Restart · 2 hosts: 2 done — finished/);
  });
});
