// The bot's life around its runs: one that crashed mid-run (killed at once, as by a power cut) leaves the run's
// channel message saying "running"; the next start says on that message that the run was interrupted and what
// to do. Stopping lets no scheduled job start once Slack is disconnected, and still delivers the replies in
// flight; a bot process stopped by SIGTERM in the middle of a copy ends the run interrupted, frees its hosts and
// says so on the run's message. The whole bot runs as `npm start` runs it, against the fake Slack, on the
// simulated office.

import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStateStore } from '../../src/adapters/state/open.ts';
import type { SlackMessageRef } from '../../src/core/ports/state.ts';
import { ROOT, rawState, systemOf } from '../faults/support.ts';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { FakeSlack } from '../support/fake-slack/index.ts';
import { expectStoredRun } from '../support/outcome.ts';
import {
  ALICE,
  type BotProcess,
  blocksText,
  CHANNEL,
  FAKE_DIRECTORY,
  type SlackOffice,
  slackOfficeConfig,
  startSlackOffice,
  startSlackOfficeProcess,
  VICTOR,
} from '../support/slack-office.ts';

const unavailable = officeUnavailable();
const A = 'baard-entrance';
const B = 'baard-kitchen';

/** The message recorded with the newest run, if any. */
function recordedMessage(stateDir: string): SlackMessageRef | undefined {
  const opened = openStateStore({ stateDir, now: new Date() });
  if (!opened.ok) throw new Error(opened.message);
  try {
    return opened.state.store.recentRuns({ limit: 1 })[0]?.slack ?? undefined;
  } finally {
    opened.state.close();
  }
}

describe.skipIf(unavailable !== null)('a bot that crashes mid-run, and one that stops', () => {
  let office: Office;
  let fake: FakeSlack;
  let child: BotProcess | undefined;
  const bots: SlackOffice[] = [];

  beforeAll(async () => {
    office = await startOffice({ hosts: [A, B], scale: 0.1 });
    fake = await FakeSlack.start(FAKE_DIRECTORY);
  });
  afterAll(async () => {
    await child?.crash();
    for (const bot of bots) await bot.stop();
    await fake?.stop();
    await office?.close();
  });

  it('says on the message of a run cut short by a crash that it was interrupted, and what to do', async () => {
    // Long enough a connection timeout that the run is surely still waiting for the host when the bot dies.
    const config = slackOfficeConfig(office, fake, { ssh: { connectTimeoutSeconds: 60 } });
    child = await startSlackOfficeProcess(config);
    await office.unplugHost(A);
    try {
      await fake.sendSlashCommand({ user: ALICE, channel: CHANNEL, text: `deploy ${A}` });
      // The crash comes once the run has its message and the state has recorded it (read as a terminal
      // command would, from the same file), while the run waits for the unplugged host.
      await fake.until(() => recordedMessage(config.stateDir) !== undefined, {
        timeoutMs: 120_000,
        what: 'the run message, recorded with the run',
      });
      await child.crash();
    } finally {
      await office.plugHost(A);
    }
    const before = fake.messages(CHANNEL).find((m) => m.threadTs === undefined)!;
    expect(before.text).not.toMatch(/interrupted|finished/);

    const bot = await startSlackOffice(office, fake, { config });
    bots.push(bot);
    expect(bot.log.text()).toContain('1 run(s) marked interrupted');
    const after = fake.message(CHANNEL, before.ts)!;
    expect(after.text).toMatch(/^Deploy · 1 host: .*— interrupted$/);
    expect(blocksText(after)).toContain(
      'Interrupted: the bot stopped while this run was going, so it did not finish.',
    );
    expect(blocksText(after)).toContain(`Check the screens with \`/signage status ${A}\``);
    expect(blocksText(after)).toContain(`run \`/signage deploy ${A}\` again`);
    expect(bot.log.text()).toContain('slack: 1 of 1 interrupted run message(s) say so');
    const [run] = bot.bot.composed.store.recentRuns({ limit: 1 });
    expectStoredRun(bot.bot.composed.store, run!.id, 'interrupted');
    expect(run?.slack).toEqual({ channel: CHANNEL, ts: before.ts });

    // The next start finds nothing new, and the message reads the same.
    await bot.restart();
    expect(bot.log.text()).toContain('state: nothing left over from a previous process');
    expect(fake.message(CHANNEL, before.ts)?.text).toBe(after.text);
    expect(blocksText(fake.message(CHANNEL, before.ts))).toBe(blocksText(after));
    await bot.stop();
  });

  it('starts no scheduled job once stopping began, and still answers the request in flight', async () => {
    const bot = await startSlackOffice(office, fake, { schedule: { expireApprovals: '* * * * * *' } });
    bots.push(bot);
    const ticks = () => bot.log.lines.filter((l) => l.includes('schedule: expire-approvals done')).length;
    await fake.until(() => ticks() >= 1, { timeoutMs: 30_000, what: 'a tick of the schedule' });

    // Slack takes a few seconds to accept the answer: the request is still in flight when stopping begins.
    fake.delayNext('chat.postMessage', 4000);
    const posts = fake.calls('chat.postMessage').length;
    const asked = await fake.mention({
      user: VICTOR,
      channel: CHANNEL,
      text: `<@${fake.botUserId}> status ${B}`,
    });
    await fake.until(() => fake.calls('chat.postMessage').length > posts, {
      timeoutMs: 60_000,
      what: 'the answer on its way',
    });
    const ticksAtStop = ticks();
    await bot.bot.stop();
    // At most the tick that may have come while the Slack app was disconnecting; none during the wait.
    expect(ticks() - ticksAtStop).toBeLessThanOrEqual(1);
    const answer = fake.messages(CHANNEL).find((m) => m.threadTs === asked.ts);
    expect(answer?.text).toBe('Status of 1 host: 0 unreachable, 1 not in sync');
    expect(bot.log.lines.filter((l) => l.startsWith('error'))).toEqual([]);
  });

  it('ends a run interrupted when the bot process gets SIGTERM mid-copy: hosts freed, the message says so', async () => {
    // `node src/main/bot.ts` as `npm start` runs it; a slow uplink keeps the copy from the builder under way.
    const config = slackOfficeConfig(office, fake);
    const before = await systemOf(office, B);
    const posted = fake.messages(CHANNEL).length;
    await office.setUplinkRate(1500);
    try {
      const bot = execa(process.execPath, [join(ROOT, 'src', 'main', 'bot.ts'), '--config', config.file], {
        reject: false,
        stdin: 'ignore',
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', ...config.env },
        extendEnv: false,
        timeout: 300_000,
      });
      let stderr = '';
      bot.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
      });
      await fake.until(() => stderr.includes(' ready'), { timeoutMs: 60_000, what: 'the bot to be ready' });
      await fake.sendSlashCommand({ user: ALICE, channel: CHANNEL, text: `deploy ${B}` });
      const runMessage = () =>
        fake
          .messages(CHANNEL)
          .slice(posted)
          .find((m) => m.threadTs === undefined);
      await fake.until(() => blocksText(runMessage()).includes('from builder (uplink)'), {
        timeoutMs: 180_000,
        what: 'the copy from the builder under way',
      });

      bot.kill('SIGTERM');
      const out = await bot;
      expect(out.exitCode, stderr).toBe(0);
      expect(stderr).toContain('SIGTERM: stopping');

      // The run: recorded interrupted, its host free, as the state file itself says.
      const state = rawState(config.stateDir);
      expect(state.locks).toEqual([]);
      const opened = openStateStore({ stateDir: config.stateDir, now: new Date() });
      if (!opened.ok) throw new Error(opened.message);
      try {
        expectStoredRun(opened.state.store, state.runs.at(-1)!.id, 'interrupted');
      } finally {
        opened.state.close();
      }
      // Its message in the channel says how it ended.
      const final = fake.message(CHANNEL, runMessage()!.ts)!;
      expect(final.text).toMatch(/^Deploy · 1 host: .*— interrupted$/);
      // The host: not switched, nothing half-applied.
      const after = await systemOf(office, B);
      expect(after).toEqual(before);
      expect(after.current).toBe(after.profile);
    } finally {
      await office.setUplinkRate(null);
      config.cleanup();
    }
  }, 420_000);
});
