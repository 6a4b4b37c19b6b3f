// Screen health through the whole Slack bot on the office: `@signage status` shows it, and the scheduled
// fleet report tells undervoltage once it has held for two checks, and flapping once, across a restart of
// the bot (what the checks saw is kept in the state database).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATUS_JOB } from '../../src/scheduler/jobs.ts';
import { type Office, officeUnavailable } from '../office/index.ts';
import { setVcgencmd } from '../office/vcgencmd.ts';
import type { FakeSlack, StoredMessage } from '../support/fake-slack/index.ts';
import {
  blocksText,
  CHANNEL,
  NEVER,
  type SlackOffice,
  startSlackOfficeSet,
  stopSlackOfficeSet,
  VICTOR,
} from '../support/slack-office.ts';

const unavailable = officeUnavailable();
const PI = 'baard-entrance';
const PC = 'baard-kitchen';

describe.skipIf(unavailable !== null)('screen health in Slack', () => {
  let office: Office;
  let fake: FakeSlack;
  let bot: SlackOffice;
  const reports = () =>
    fake.messages(CHANNEL).filter((m) => m.threadTs === undefined && m.user === fake.botUserId);
  const setPower = (value: string) => setVcgencmd((argv) => office.onHost(PI, argv), 'get_throttled', value);
  const hostSays = async () => (await office.onHost(PI, ['vcgencmd', 'get_throttled'])).stdout.trim();

  async function mention(text: string): Promise<StoredMessage[]> {
    const { ts } = await fake.mention({
      user: VICTOR,
      channel: CHANNEL,
      text: `<@${fake.botUserId}> ${text}`,
    });
    await bot.bot.slack.settled();
    return fake.messages(CHANNEL).filter((m) => m.threadTs === ts);
  }

  beforeAll(async () => {
    ({ office, fake, bot } = await startSlackOfficeSet({
      office: { hosts: [{ name: PI }, { name: PC, vcgencmd: false }], scale: 0.05 },
      bot: { schedule: { status: NEVER } },
    }));
  });
  afterAll(() => stopSlackOfficeSet({ bot, fake, office }));

  it('answers @signage status with each screen health', async () => {
    await setPower('throttled=0x50005');
    expect(await hostSays()).toBe('throttled=0x50005');
    const [reply] = await mention('status');
    expect(reply!.text).toBe('Status of 2 hosts: 0 unreachable, 2 not in sync, 1 with health warnings');
    const blocks = blocksText(reply);
    expect(blocks).toContain('health: undervoltage now, throttled now');
    expect(blocks).toMatch(/up [\w ]+; power throttled=0x50005; temperature 45\.0 °C/);
    expect(blocks).toContain('power not available; temperature not available');
  });

  it('tells undervoltage in the channel once, after two checks, and flapping once, across a restart', async () => {
    await setPower('throttled=0x0');
    const before = reports().length;
    expect(await bot.bot.schedule.runNow(STATUS_JOB)).toBe('ran');
    expect(reports()).toHaveLength(before + 1);

    await setPower('throttled=0x50005');
    expect(await hostSays()).toBe('throttled=0x50005');
    expect(await bot.bot.schedule.runNow(STATUS_JOB)).toBe('ran');
    expect(reports()).toHaveLength(before + 1);
    expect(await bot.bot.schedule.runNow(STATUS_JOB)).toBe('ran');
    const told = reports().slice(before + 1);
    expect(told.map((m) => m.text)).toEqual([`1 host changed: ${PI}`]);
    expect(blocksText(told[0])).toContain(`*${PI}* health: ok → undervoltage now, throttled now`);

    // Undervoltage goes and comes back; the bot restarts in the middle; the check after the restart still
    // sees, from what the state kept, that it changed at each of the last four checks: told once, as flapping.
    for (const value of ['throttled=0x0', 'throttled=0x50005']) {
      await setPower(value);
      expect(await hostSays()).toBe(value);
      expect(await bot.bot.schedule.runNow(STATUS_JOB)).toBe('ran');
    }
    expect(reports()).toHaveLength(before + 2);
    await bot.restart();
    await setPower('throttled=0x0');
    expect(await bot.bot.schedule.runNow(STATUS_JOB)).toBe('ran');
    const first = reports().at(-1)!;
    expect(first.text).toMatch(/^Watching the fleet\./);
    expect(blocksText(first)).toContain(
      `*${PI}* health flapping: undervoltage now, throttled now / ok (changed at each of the last 4 checks)`,
    );
    const afterRestart = reports().length;
    for (const value of ['throttled=0x50005', 'throttled=0x0', 'throttled=0x50005']) {
      await setPower(value);
      expect(await hostSays()).toBe(value);
      expect(await bot.bot.schedule.runNow(STATUS_JOB)).toBe('ran');
    }
    expect(reports()).toHaveLength(afterRestart);
  });
});
