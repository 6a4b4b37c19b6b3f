// `/signage deploy HOST --ref BRANCH` end to end, with the fleet as a git repository and deploying off main
// limited to approvers: a deployer who is not one is refused with the rule named and nothing runs; an
// approver's deploy names the commit in the run's message and in the restart question, and the screen runs
// the system of that commit (built independently, checked on the host itself).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GitFleet, makeGitFleet } from '../office/git-fleet.ts';
import { type Office, officeUnavailable } from '../office/index.ts';
import type { FakeSlack } from '../support/fake-slack/index.ts';
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
const B = 'baard-kitchen';

describe.skipIf(unavailable !== null)('/signage deploy --ref through Slack', () => {
  let office: Office;
  let fake: FakeSlack;
  let bot: SlackOffice;
  let fleet: GitFleet;
  let branch: string;

  const questionFor = (host: string) =>
    fake.messages(CHANNEL).find((m) => m.broadcast && hasButtons(m) && m.text.includes(host));

  beforeAll(async () => {
    ({ office, fake, bot } = await startSlackOfficeSet({
      office: { hosts: [A, B], scale: 0.1 },
      bot: async (o) => {
        fleet = await makeGitFleet(o.fleet);
        branch = await fleet.commit('my-branch', 201, 'Try a darker theme');
        return { flake: fleet.url, refs: { nonDefault: 'approvers' } };
      },
    }));
  });
  afterAll(() => stopSlackOfficeSet({ bot, fake, office }));

  it('refuses a deployer who is not an approver a branch, naming the rule, and runs nothing', async () => {
    const ack = await fake.sendSlashCommand({
      user: BOB,
      channel: CHANNEL,
      text: `deploy ${A} --ref my-branch`,
    });
    expect(ack.latencyMs).toBeLessThan(3000);
    const refusal = () =>
      fake.ephemerals({ user: BOB }).find((e) => JSON.stringify(e).includes('refs.nonDefault is approvers'));
    await fake.until(() => refusal() !== undefined, { timeoutMs: 60_000, what: 'the refusal' });
    const text = JSON.stringify(refusal());
    expect(text).toContain('was not run: a rule of the configuration does not allow it');
    expect(text).toMatch(/only approvers may deploy my-branch @ [0-9a-f]{12}/);
    expect(text).toContain(`<@${BOB}> is not one`);
    await bot.bot.slack.settled();
    const { store } = bot.bot.composed;
    expect(store.recentRuns({ limit: 10 })).toEqual([]);
    expect(store.auditLog({ limit: 10 })).toEqual([]);
    expect(await office.switchLog(A)).toEqual([]);
  });

  it("runs an approver's branch on the screen, naming the commit in the run and the question", async () => {
    await fake.sendSlashCommand({ user: ALICE, channel: CHANNEL, text: `deploy ${A} --ref my-branch` });
    await fake.until(() => questionFor(A) !== undefined, {
      timeoutMs: 180_000,
      what: 'the restart question',
    });
    await bot.bot.slack.settled();
    const question = questionFor(A)!;
    expect(blocksText(question)).toContain(`It now runs my-branch @ ${branch.slice(0, 12)}`);
    const main = fake.message(CHANNEL, question.threadTs!)!;
    expect(blocksText(main)).toContain(`Fleet: my-branch @ ${branch.slice(0, 12)}`);
    expect(blocksText(main)).toContain('Try a darker theme');
    expect(blocksText(main)).toContain('not main');
    const running = (await office.onHost(A, ['readlink', '/run/current-system'])).stdout.trim();
    expect(running).toBe(await fleet.buildAt(branch, A));
    expect(bot.bot.composed.store.lastDeployment(A)?.revision?.rev).toBe(branch);
  });
});
