// `/signage deploy` end to end: the whole bot (startBot, as `npm start` runs it) on the simulated office,
// driven through the real Bolt app by the fake Slack as people would drive Slack. What is checked is what
// people see (the channel message, the thread, the question and its buttons, private replies) and what the
// screens went through (the office's own systemctl log, read without the bot).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Office, officeUnavailable } from '../office/index.ts';
import type { FakeSlack } from '../support/fake-slack/index.ts';
import { expectStoredRun } from '../support/outcome.ts';
import {
  ALICE,
  APPROVERS_GROUP,
  BOB,
  blocksText,
  CAROL,
  CHANNEL,
  hasButtons,
  type SlackOffice,
  startSlackOfficeSet,
  stopSlackOfficeSet,
  VICTOR,
} from '../support/slack-office.ts';

const unavailable = officeUnavailable();
const A = 'baard-entrance';
const B = 'baard-kitchen';
const SLACK_ACK_LIMIT_MS = 3000;

describe.skipIf(unavailable !== null)('/signage deploy through Slack on the simulated office', () => {
  let office: Office;
  let fake: FakeSlack;
  let bot: SlackOffice;
  const ackLatencies: number[] = [];

  async function slash(user: string, text: string) {
    const result = await fake.sendSlashCommand({ user, channel: CHANNEL, text });
    ackLatencies.push(result.latencyMs);
    return result;
  }
  /** The open question about `host`: a broadcast thread reply with the two buttons. */
  const questionFor = (host: string) =>
    fake.messages(CHANNEL).find((m) => m.broadcast && hasButtons(m) && m.text.includes(host));
  const mainMessageOf = (thread: string) => fake.message(CHANNEL, thread);
  const threadOf = (ts: string) => fake.messages(CHANNEL).filter((m) => m.threadTs === ts);

  beforeAll(async () => {
    ({ office, fake, bot } = await startSlackOfficeSet({
      office: { hosts: [A, B], scale: 0.1 },
    }));
  });
  afterAll(async () => {
    await stopSlackOfficeSet({ bot, fake, office });
    if (ackLatencies.length > 0) {
      const worst = Math.max(...ackLatencies);
      process.stderr.write(`slash command acks: ${ackLatencies.length}, worst ${worst.toFixed(1)} ms\n`);
    }
  });

  it('deploys, asks in the thread, and restarts the display once an approver clicks', async () => {
    const ack = await slash(ALICE, `deploy ${A}`);
    expect(ack.ack?.text).toBeUndefined();
    expect(ack.latencyMs).toBeLessThan(SLACK_ACK_LIMIT_MS);

    await fake.until(() => questionFor(A) !== undefined, {
      timeoutMs: 120_000,
      what: 'the restart question',
    });
    await bot.bot.slack.settled();
    const question = questionFor(A)!;
    const main = mainMessageOf(question.threadTs!)!;
    // One channel message for the run, updated in place: every stage up to the question.
    expect(main.threadTs).toBeUndefined();
    expect(main.updateTimes.length).toBeGreaterThan(0);
    expect(main.text).toMatch(/^Deploy · 1 host: 1 waiting for approval — waiting for an approver/);
    for (const stage of ['build', 'plan', 'copy', 'switch']) expect(blocksText(main)).toContain(`✓ ${stage}`);
    expect(blocksText(main)).toMatch(/over the uplink/);
    // The run's thread: what the deploy changes (listed once planned), the question (broadcast), then the
    // result as the verb renders it.
    const thread = threadOf(main.ts);
    expect(thread[0]!.text).toMatch(new RegExp(`^Changes on ${A}: `));
    expect(thread[1]!.ts).toBe(question.ts);
    expect(thread.some((m) => m.text === `deploy ${A}: awaiting-approval`)).toBe(true);
    // Exactly one channel message outside the thread came from this request.
    expect(fake.messages(CHANNEL).filter((m) => m.threadTs === undefined)).toHaveLength(1);
    // The question's message is kept with the approval, for updates after a restart of the bot.
    const [approval] = bot.bot.composed.store.pendingApprovals();
    expect(approval?.slack).toEqual({ channel: CHANNEL, ts: question.ts });
    expect(await office.systemctlLog(A)).toEqual([]);

    // While the question is open the run holds the host: a second deploy is refused, privately, naming who.
    const busy = await slash(BOB, `deploy ${A}`);
    await fake.until(() => fake.ephemerals({ user: BOB }).length > 0, { what: 'the busy reply' });
    expect(busy.ack?.text).toBeUndefined();
    expect(fake.ephemerals({ user: BOB })[0]!.text).toMatch(/was not run: a host is busy.*/);
    expect(JSON.stringify(fake.ephemerals({ user: BOB })[0]!.blocks)).toContain(
      `being deployed by <@${ALICE}>`,
    );

    const click = await fake.clickButton({
      user: ALICE,
      channel: CHANNEL,
      ts: question.ts,
      actionId: 'restart_approve',
    });
    expect(click.latencyMs).toBeLessThan(SLACK_ACK_LIMIT_MS);
    await fake.until(() => !hasButtons(fake.message(CHANNEL, question.ts)), {
      timeoutMs: 30_000,
      what: 'the answer',
    });
    await bot.bot.slack.settled();

    expect(await office.systemctlLog(A)).toEqual(['restart display-manager.service']);
    const answered = fake.message(CHANNEL, question.ts)!;
    expect(answered.text).toBe(`Restart of ${A} approved by <@${ALICE}>`);
    expect(blocksText(answered)).toMatch(/approved\* by <@U0ALICE> at <!date\^\d+\^/);
    const after = mainMessageOf(main.ts)!;
    expect(after.text).toMatch(/^Deploy · 1 host: 1 done — finished/);
    expect(blocksText(after)).toContain('✓ restart');
    expectStoredRun(bot.bot.composed.store, approval!.runId, 'ok');
  });

  it('refuses a non-approver privately, then restarts once for a double click and a second approver', async () => {
    await slash(BOB, `deploy ${B}`);
    await fake.until(() => questionFor(B) !== undefined, {
      timeoutMs: 120_000,
      what: 'the restart question',
    });
    await bot.bot.slack.settled();
    const question = questionFor(B)!;

    for (const outsider of [BOB, VICTOR]) {
      const before = fake.ephemerals({ user: outsider }).length;
      await fake.clickButton({
        user: outsider,
        channel: CHANNEL,
        ts: question.ts,
        actionId: 'restart_approve',
      });
      await fake.until(() => fake.ephemerals({ user: outsider }).length > before, { what: 'the refusal' });
      const refusal = fake.ephemerals({ user: outsider }).at(-1)!;
      expect(refusal.text).toMatch(/^Only approvers can answer/);
      // Whom to ask instead: the configured approvers and their user group.
      expect(refusal.text).toContain(`Ask <@${ALICE}> or a member of <!subteam^${APPROVERS_GROUP}>.`);
    }
    await bot.bot.slack.settled();
    expect(await office.systemctlLog(B)).toEqual([]);
    expect(hasButtons(fake.message(CHANNEL, question.ts))).toBe(true);

    // Carol (an approver through the user group) clicks twice, Alice once, before any answer arrives.
    const clicks = await Promise.all([
      fake.clickButton({ user: CAROL, channel: CHANNEL, ts: question.ts, actionId: 'restart_approve' }),
      fake.clickButton({ user: CAROL, channel: CHANNEL, ts: question.ts, actionId: 'restart_approve' }),
      fake.clickButton({ user: ALICE, channel: CHANNEL, ts: question.ts, actionId: 'restart_approve' }),
    ]);
    for (const c of clicks) expect(c.latencyMs).toBeLessThan(SLACK_ACK_LIMIT_MS);
    await bot.bot.slack.settled();

    expect(await office.systemctlLog(B)).toEqual(['restart display-manager.service']);
    const already = [...fake.ephemerals({ user: CAROL }), ...fake.ephemerals({ user: ALICE })].filter((e) =>
      e.text.startsWith('Already decided'),
    );
    expect(already).toHaveLength(2);
    const answered = fake.message(CHANNEL, question.ts)!;
    expect(hasButtons(answered)).toBe(false);
    const by = /approved by <@(U0\w+)>/.exec(answered.text)?.[1];
    expect([CAROL, ALICE]).toContain(by);
    for (const e of already) expect(e.text).toContain(`approved by <@${by}> at`);
  });

  it('refuses a deploy from a viewer in the acknowledgement, and nothing runs', async () => {
    const runs = bot.bot.composed.store.recentRuns({ limit: 100 }).length;
    const audit = bot.bot.composed.store.auditLog({ limit: 10_000 }).length;
    const posts = fake.calls('chat.postMessage').length;
    const result = await slash(VICTOR, `deploy ${A}`);
    expect(result.ack).toMatchObject({ response_type: 'ephemeral' });
    expect(String(result.ack?.text)).toContain('Only deployers can run commands that change the screens.');
    await bot.bot.slack.settled();
    expect(bot.bot.composed.store.recentRuns({ limit: 100 })).toHaveLength(runs);
    expect(bot.bot.composed.store.auditLog({ limit: 10_000 })).toHaveLength(audit);
    expect(fake.calls('chat.postMessage')).toHaveLength(posts);
  });

  it('answers a mistyped host with the nearest names, privately, before anything runs', async () => {
    const runs = bot.bot.composed.store.recentRuns({ limit: 100 }).length;
    const result = await slash(ALICE, 'deploy baard-entrace');
    expect(result.ack).toMatchObject({ response_type: 'ephemeral' });
    expect(JSON.stringify(result.ack?.blocks)).toContain('did you mean baard-entrance');
    expect(bot.bot.composed.store.recentRuns({ limit: 100 })).toHaveLength(runs);
  });

  it('acknowledged every slash command and click within three seconds', () => {
    expect(fake.violations.filter((v) => v.startsWith('late ack') || v.startsWith('no ack'))).toEqual([]);
    for (const ms of ackLatencies) expect(ms).toBeLessThan(SLACK_ACK_LIMIT_MS);
  });
});
