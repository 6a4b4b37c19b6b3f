// The two-person rule end to end: the whole bot against the fake Slack on the simulated office, with the
// site's policy asking for two distinct approvers, neither of them the requester. The question says how many
// approvals it has and from whom; the requester's own approval and a second click by the same approver are
// refused privately; the screen restarts (checked on the host itself) only when the second approval comes; a
// decline by any approver declines; each answer is in the audit log; and nobody approves up front.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { signage } from '../faults/support.ts';
import { type Office, officeUnavailable } from '../office/index.ts';
import type { FakeSlack, StoredMessage } from '../support/fake-slack/index.ts';
import { expectExit, expectStoredRun } from '../support/outcome.ts';
import {
  ALICE,
  APPROVERS_GROUP,
  BOB,
  blocksText,
  CAROL,
  CHANNEL,
  hasButtons,
  type SlackOffice,
  type SlackOfficeConfig,
  slackOfficeConfig,
  startSlackOfficeSet,
  stopSlackOfficeSet,
} from '../support/slack-office.ts';

const unavailable = officeUnavailable();
const A = 'baard-entrance';
const B = 'baard-kitchen';

describe.skipIf(unavailable !== null)('restart questions under the two-person rule', () => {
  let office: Office;
  let fake: FakeSlack;
  let bot: SlackOffice;
  let config: SlackOfficeConfig;

  const store = () => bot.bot.composed.store;
  const questionFor = (host: string) =>
    fake.messages(CHANNEL).find((m) => m.broadcast && hasButtons(m) && m.text.includes(host));
  const lastSaidTo = (user: string) => fake.ephemerals({ user }).at(-1);
  async function click(user: string, q: StoredMessage, actionId: 'restart_approve' | 'restart_deny') {
    const before = fake.ephemerals({ user }).length;
    const result = await fake.clickButton({ user, channel: CHANNEL, ts: q.ts, actionId });
    expect(result.latencyMs).toBeLessThan(3000);
    await bot.bot.slack.settled();
    return fake.ephemerals({ user }).slice(before);
  }

  beforeAll(async () => {
    ({ office, fake, bot } = await startSlackOfficeSet({
      office: { hosts: [A, B], scale: 0.05 },
      bot: (o, f) => {
        // ALICE and BOB are named approvers, CAROL one through the user group.
        config = slackOfficeConfig(o, f, {
          slack: { approvers: { users: [ALICE, BOB], usergroup: APPROVERS_GROUP } },
        });
        const file = parse(readFileSync(config.file, 'utf8')) as Record<string, unknown>;
        file.sites = { baard: { approvals: { count: 2, requesterMayApprove: false } } };
        writeFileSync(config.file, stringify(file));
        return { config };
      },
    }));
  }, 300_000);
  afterAll(() => stopSlackOfficeSet({ bot, fake, office }));

  it('needs two approvers other than the requester, each counted once and audited', async () => {
    await fake.sendSlashCommand({ user: ALICE, channel: CHANNEL, text: `restart ${A}` });
    await fake.until(() => questionFor(A) !== undefined, { timeoutMs: 60_000, what: 'the question' });
    await bot.bot.slack.settled();
    const question = questionFor(A)!;
    expect(blocksText(question)).toContain('0 of 2 approvals · the requester cannot approve');
    const approval = store()
      .pendingApprovals()
      .find((q) => q.host === A)!;

    // The requester is an approver, but not of their own run's restart.
    const own = await click(ALICE, question, 'restart_approve');
    expect(own.map((e) => e.text)).toEqual([
      `You asked for this run, so you cannot approve its restart of ${A}.`,
    ]);
    expect(hasButtons(fake.message(CHANNEL, question.ts))).toBe(true);

    const first = await click(BOB, question, 'restart_approve');
    expect(first.map((e) => e.text)).toEqual(['Your approval counts: 1 of 2 approvals.']);
    const counted = fake.message(CHANNEL, question.ts)!;
    expect(blocksText(counted)).toContain(`1 of 2 approvals: <@${BOB}> · the requester cannot approve`);
    expect(hasButtons(counted)).toBe(true);
    expect(store().getApproval(approval.id)?.status).toBe('pending');
    expect(await office.systemctlLog(A)).toEqual([]);

    // A second click by the same approver changes nothing.
    const twice = await click(BOB, question, 'restart_approve');
    expect(twice[0]?.text).toMatch(/^You already answered this question \(1 of 2 approvals\)/);
    expect(blocksText(fake.message(CHANNEL, question.ts))).toContain(`1 of 2 approvals: <@${BOB}>`);
    expect(await office.systemctlLog(A)).toEqual([]);

    await click(CAROL, question, 'restart_approve');
    await fake.until(() => store().getApproval(approval.id)?.status === 'approved', { what: 'the decision' });
    await bot.bot.slack.settled();
    expect(await office.systemctlLog(A)).toEqual(['restart display-manager.service']);
    const decided = fake.message(CHANNEL, question.ts)!;
    expect(hasButtons(decided)).toBe(false);
    expect(decided.text).toBe(`Restart of ${A} approved by <@${CAROL}>`);
    expectStoredRun(store(), approval.runId, 'ok');

    // Every answer is in the audit log, with what it came to.
    const answers = store()
      .auditLog({ runId: approval.runId, limit: 50 })
      .filter((e) => e.argv[0] === `(restart question ${approval.id})`)
      .reverse()
      .map((e) => [e.actor.kind === 'slack' ? e.actor.userId : '', ...e.argv.slice(1)]);
    expect(answers).toEqual([
      [ALICE, 'approved', 'requester-may-not-approve', '0 of 2 approvals'],
      [BOB, 'approved', 'counted', '1 of 2 approvals'],
      [BOB, 'approved', 'already-voted', '1 of 2 approvals'],
      [CAROL, 'approved', 'decided', '2 of 2 approvals'],
    ]);
  }, 300_000);

  it('a decline by any approver declines at once', async () => {
    await fake.sendSlashCommand({ user: BOB, channel: CHANNEL, text: `restart ${B}` });
    await fake.until(() => questionFor(B) !== undefined, { timeoutMs: 60_000, what: 'the question' });
    await bot.bot.slack.settled();
    const question = questionFor(B)!;
    const approval = store()
      .pendingApprovals()
      .find((q) => q.host === B)!;
    await click(ALICE, question, 'restart_approve');
    await click(CAROL, question, 'restart_deny');
    expect(store().getApproval(approval.id)).toMatchObject({
      status: 'denied',
      decidedBy: { userId: CAROL },
    });
    expect(hasButtons(fake.message(CHANNEL, question.ts))).toBe(false);
    expect(await office.systemctlLog(B)).toEqual([]);
  }, 300_000);

  it('nobody approves up front: --restart in Slack and --yes at a terminal are refused, nothing runs', async () => {
    const runsBefore = store().recentRuns({ limit: 100 }).length;
    await fake.sendSlashCommand({ user: ALICE, channel: CHANNEL, text: `deploy ${A} --restart` });
    await fake.until(() => /was not run/.test(lastSaidTo(ALICE)?.text ?? ''), { what: 'the refusal' });
    expect(JSON.stringify(lastSaidTo(ALICE)!.blocks)).toContain(
      `a restart of ${A} needs 2 distinct approvers (approvals in sites/tags), so it cannot be approved up front`,
    );
    const terminal = await signage(['--config', config.file, 'restart', B, '--yes']);
    expectExit(terminal, 5);
    expect(terminal.stderr).toContain(`a restart of ${B} needs 2 distinct approvers`);
    expect(store().recentRuns({ limit: 100 })).toHaveLength(runsBefore);
    expect(await office.systemctlLog(B)).toEqual([]);
  }, 300_000);
});
