// What a deploy changes, as an approver sees it in Slack before answering: the whole bot on the simulated
// office with the fleet as a git repository, a host running one commit and a deploy of the next. The run's
// message names the biggest changes, its thread lists them all with the bytes from peers and over the
// uplink, and the restart question says what the restart puts on screen; the versions are checked against
// the host's own store and the builder's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageId } from '../../src/core/package-name.ts';
import { storePathName } from '../../src/core/storepath.ts';
import { type GitFleet, makeGitFleet } from '../office/git-fleet.ts';
import { type Office, officeUnavailable } from '../office/index.ts';
import { run } from '../office/run.ts';
import { messageProblems } from '../support/fake-slack/block-limits.ts';
import type { FakeSlack } from '../support/fake-slack/index.ts';
import { expectStoredRun } from '../support/outcome.ts';
import {
  ALICE,
  blocksText,
  CHANNEL,
  hasButtons,
  type SlackOffice,
  startSlackOfficeSet,
  stopSlackOfficeSet,
} from '../support/slack-office.ts';

const unavailable = officeUnavailable();
const A = 'baard-foyer';

describe.skipIf(unavailable !== null)('what a deploy changes, in Slack', () => {
  let office: Office;
  let fleet: GitFleet;
  let fake: FakeSlack;
  let bot: SlackOffice;

  const chromiumOf = (paths: readonly string[]) =>
    paths.map((p) => packageId(storePathName(p))).find((id) => id.name === 'chromium')?.version;

  beforeAll(async () => {
    ({ office, fake, bot } = await startSlackOfficeSet({
      office: { hosts: [A], scale: 0.05 },
      bot: async (o) => {
        fleet = await makeGitFleet(o.fleet, 'Fleet for the office');
        return { flake: fleet.url };
      },
    }));
  });
  afterAll(() => stopSlackOfficeSet({ bot, fake, office }));

  it('shows the changes in the run, its thread and the restart question before anyone approves', async () => {
    await fake.sendSlashCommand({ user: ALICE, channel: CHANNEL, text: `deploy ${A} --no-restart` });
    await fake.until(
      () => bot.bot.composed.store.recentRuns({ limit: 10 }).some((r) => r.status !== 'running'),
      {
        timeoutMs: 180_000,
        what: 'the first deploy',
      },
    );
    const first = bot.bot.composed.store.recentRuns({ limit: 10 })[0]!;
    expectStoredRun(bot.bot.composed.store, first.id, 'ok');
    const rev2 = await fleet.commit('main', 2, 'New browser and kiosk');
    const oldChromium = chromiumOf(
      (
        await office.onHost(A, ['sh', '-c', 'nix-store -q --requisites "$(readlink /run/current-system)"'])
      ).stdout
        .trim()
        .split('\n'),
    );
    const newSystem = await fleet.buildAt(rev2, A);
    const newChromium = chromiumOf(
      (await run(['nix-store', '-q', '--requisites', newSystem])).stdout.trim().split('\n'),
    );
    expect(oldChromium).toBe('131.0.6778.85');
    expect(newChromium).toBe('131.0.6778.86');
    const line = `chromium: ${oldChromium} → ${newChromium}`;

    await fake.sendSlashCommand({ user: ALICE, channel: CHANNEL, text: `deploy ${A}` });
    const question = () =>
      fake.messages(CHANNEL).find((m) => m.broadcast && hasButtons(m) && m.text.includes(A));
    await fake.until(() => question() !== undefined, { timeoutMs: 180_000, what: 'the restart question' });
    await bot.bot.slack.settled();
    const q = question()!;

    // The question: what changes, the biggest first, and what was copied from where.
    expect(blocksText(q)).toContain('What changes:* 3 upgraded');
    expect(blocksText(q)).toContain(line);
    expect(blocksText(q)).toMatch(/Copied: .* from peers over the LAN, .* over the uplink/);
    // The run's message: the summary and the biggest changes, collapsed.
    const main = fake.message(CHANNEL, q.threadTs!)!;
    expect(blocksText(main)).toMatch(/changes: 3 upgraded · \d+ rebuilt/);
    expect(blocksText(main)).toContain(`\`${line}`);
    // The thread: every change, with where the bytes come from.
    const listed = fake
      .messages(CHANNEL)
      .find((m) => m.threadTs === main.ts && m.text.startsWith(`Changes on ${A}:`));
    expect(listed, 'the list of changes in the thread').toBeDefined();
    for (const name of ['chromium', 'signage-kiosk', `nixos-system-${A}`])
      expect(blocksText(listed)).toContain(`${name}: `);
    expect(blocksText(listed)).toMatch(/Comes from: .* from peers over the LAN, .* over the uplink/);
    for (const m of [q, main, listed!]) expect(messageProblems(m)).toEqual([]);

    // Nothing was restarted by showing it: the answer is still the approver's.
    expect(await office.systemctlLog(A)).toEqual([]);
    await fake.clickButton({ user: ALICE, channel: CHANNEL, ts: q.ts, actionId: 'restart_deny' });
    await fake.until(() => !hasButtons(fake.message(CHANNEL, q.ts)), {
      timeoutMs: 30_000,
      what: 'the answer',
    });
    expect(await office.systemctlLog(A)).toEqual([]);
  }, 420_000);
});
