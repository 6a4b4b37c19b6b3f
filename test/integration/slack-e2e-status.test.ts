// Asking about the screens: `@signage status` and plain questions answered in the mention's thread, changes
// asked for in a mention pointed at the slash command, and the schedule's fleet report, which speaks on its
// first check and afterwards only when a host changed (here: its sshd crashed, then came back).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATUS_JOB } from '../../src/scheduler/jobs.ts';
import { type Office, officeUnavailable } from '../office/index.ts';
import type { FakeSlack, StoredMessage } from '../support/fake-slack/index.ts';
import {
  ALICE,
  blocksText,
  CHANNEL,
  NEVER,
  type SlackOffice,
  startSlackOfficeSet,
  stopSlackOfficeSet,
  VICTOR,
} from '../support/slack-office.ts';

const unavailable = officeUnavailable();
const A = 'baard-entrance';
const B = 'baard-kitchen';

describe.skipIf(unavailable !== null)('status questions and the fleet report', () => {
  let office: Office;
  let fake: FakeSlack;
  let bot: SlackOffice;
  const reports = () =>
    fake.messages(CHANNEL).filter((m) => m.threadTs === undefined && m.user === fake.botUserId);

  async function mention(user: string, text: string): Promise<StoredMessage[]> {
    const { ts, latencyMs } = await fake.mention({
      user,
      channel: CHANNEL,
      text: `<@${fake.botUserId}> ${text}`,
    });
    expect(latencyMs).toBeLessThan(3000);
    await bot.bot.slack.settled();
    return fake.messages(CHANNEL).filter((m) => m.threadTs === ts);
  }

  beforeAll(async () => {
    ({ office, fake, bot } = await startSlackOfficeSet({
      office: { hosts: [A, B], scale: 0.1 },
      bot: { schedule: { status: NEVER } },
    }));
    // A runs what the bot deployed; B has never been deployed.
    await fake.sendSlashCommand({ user: ALICE, channel: CHANNEL, text: `switch ${A}` });
    await fake.until(() => bot.bot.composed.store.lastDeployment(A) !== undefined, { timeoutMs: 120_000 });
    await bot.bot.slack.settled();
  });
  afterAll(() => stopSlackOfficeSet({ bot, fake, office }));

  it('answers @signage status in the thread, naming each host and its state', async () => {
    const [reply, ...more] = await mention(VICTOR, 'status');
    expect(more).toEqual([]);
    expect(reply!.text).toBe('Status of 2 hosts: 0 unreachable, 1 not in sync');
    const blocks = blocksText(reply);
    expect(blocks).toMatch(new RegExp(`\\*${A}\\*\\\\nin sync; generation 1; running nixos-system-${A}`));
    expect(blocks).toMatch(new RegExp(`\\*${B}\\*\\\\nno NixOS system`));
    expect(blocks).toMatch(/\/nix: [\d.]+ \w?i?B free of/);
    expect(blocks).toContain(`last switch ok by <@${ALICE}>`);
  });

  it('reads "what is running on HOST" as the status of that host alone', async () => {
    const [reply] = await mention(VICTOR, `what is running on ${A}?`);
    expect(reply!.text).toBe('Status of 1 host: 0 unreachable, 0 not in sync');
    expect(blocksText(reply)).toContain(`*${A}*`);
    expect(blocksText(reply)).not.toContain(`*${B}*`);
  });

  it('points a change asked for in a mention at the slash command, and runs nothing', async () => {
    const runs = bot.bot.composed.store.recentRuns({ limit: 100 }).length;
    const replies = await mention(ALICE, `deploy ${B}`);
    expect(replies).toEqual([]);
    const said = fake.ephemerals({ user: ALICE }).at(-1)!;
    expect(said.text).toContain(`\`/signage deploy ${B}\``);
    expect(bot.bot.composed.store.recentRuns({ limit: 100 })).toHaveLength(runs);
  });

  it('answers a mistyped host privately with the nearest name', async () => {
    const replies = await mention(VICTOR, 'status baard-kitchn');
    expect(replies).toEqual([]);
    expect(JSON.stringify(fake.ephemerals({ user: VICTOR }).at(-1)!.blocks)).toContain(
      'did you mean baard-kitchen',
    );
  });

  it('reports the fleet on its first check, then only what changed', async () => {
    const before = reports().length;
    expect(await bot.bot.schedule.runNow(STATUS_JOB)).toBe('ran');
    const first = reports().slice(before);
    expect(first).toHaveLength(1);
    expect(first[0]!.text).toBe('Watching the fleet. Status of 2 hosts: 0 unreachable, 1 not in sync');
    expect(blocksText(first[0])).toContain(`*${A}*`);
    expect(blocksText(first[0])).toContain(`*${B}*`);

    expect(await bot.bot.schedule.runNow(STATUS_JOB)).toBe('ran');
    expect(reports()).toHaveLength(before + 1);

    await office.crashHost(B);
    expect(await bot.bot.schedule.runNow(STATUS_JOB)).toBe('ran');
    const down = reports().slice(before + 1);
    expect(down).toHaveLength(1);
    expect(down[0]!.text).toBe(`1 host changed: ${B}`);
    expect(blocksText(down[0])).toContain(`*${B}* became unreachable`);
    expect(blocksText(down[0])).not.toContain(`*${A}*`);

    await office.startHost(B);
    expect(await bot.bot.schedule.runNow(STATUS_JOB)).toBe('ran');
    const back = reports().slice(before + 2);
    expect(back).toHaveLength(1);
    expect(blocksText(back[0])).toContain(`*${B}* recovered: reachable again, no NixOS system`);
    // The schedule's checks are in the audit log as the schedule's own.
    const audit = bot.bot.composed.store.auditLog({ host: B, limit: 5 });
    expect(audit[0]?.actor).toEqual({ kind: 'schedule', job: STATUS_JOB });
  });
});
