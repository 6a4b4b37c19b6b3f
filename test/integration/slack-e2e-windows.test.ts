// Screens that are sometimes off, and screens that may only change at night: a host down during a rollout is
// pending and caught up by the schedule once it answers, with the channel told; a host outside its maintenance
// window is copied to and activated by the schedule only once its window opens; a newer deploy replaces what
// was pending; `--now` (approvers only) goes ahead outside the window; a host down in its off hours is "off
// (on schedule)", not unreachable. Every outcome is checked on the hosts themselves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import statusVerb from '../../commands/status.ts';
import { STATUS_JOB } from '../../src/scheduler/jobs.ts';
import { statusText } from '../../src/verbs/render-status.ts';
import { systemOf } from '../faults/support.ts';
import { type Office, officeUnavailable } from '../office/index.ts';
import type { FakeSlack } from '../support/fake-slack/index.ts';
import {
  ALICE,
  BOB,
  blocksText,
  CHANNEL,
  hasButtons,
  NEVER,
  type SlackOffice,
  startSlackOfficeSet,
  stopSlackOfficeSet,
} from '../support/slack-office.ts';

const unavailable = officeUnavailable();
const A = 'baard-entrance';
const B = 'baard-kitchen';
const HOUR = 3_600_000;

/** "HH:MM:SS" of an instant in UTC. */
const hms = (ms: number) => new Date(ms).toISOString().slice(11, 19);

describe.skipIf(unavailable !== null)('maintenance windows, catch-up and off hours', () => {
  let office: Office;
  let fake: FakeSlack;
  let bot: SlackOffice;
  let revision = 1;
  // A's window: ten minutes, an hour from now (the bot's clock is moved to it).
  const opensAt = Math.ceil((Date.now() + HOUR) / 1000) * 1000;
  const closesAt = opensAt + 10 * 60_000;
  const store = () => bot.bot.composed.store;
  const pendingOf = (host: string) =>
    store()
      .pendingWork()
      .find((w) => w.host === host);
  let offset = 0;
  const advance = (ms: number) => {
    offset += ms;
    bot.advance(ms);
  };
  const questionFor = (host: string) =>
    fake.messages(CHANNEL).find((m) => m.broadcast && hasButtons(m) && m.text.includes(host));
  /** Answers "Not now" to the host's restart question, so its run ends and frees the host. */
  async function decline(host: string): Promise<void> {
    await fake.until(() => questionFor(host) !== undefined, {
      timeoutMs: 60_000,
      what: `a question about ${host}`,
    });
    await fake.clickButton({
      user: ALICE,
      channel: CHANNEL,
      ts: questionFor(host)!.ts,
      actionId: 'restart_deny',
    });
    await fake.until(
      () =>
        !store()
          .heldLocks()
          .some((l) => l.host === host),
      {
        timeoutMs: 60_000,
        what: `${host} freed`,
      },
    );
  }
  const channelSays = (text: string) =>
    fake.messages(CHANNEL).some((m) => m.text.includes(text) || blocksText(m).includes(text));

  beforeAll(async () => {
    ({ office, fake, bot } = await startSlackOfficeSet({
      office: { hosts: [A, B], scale: 0.1 },
      bot: {
        tags: (h) => (h === A ? ['shop'] : ['cafe']),
        // Pending work is looked at every two seconds, as a real tick would (six fields: seconds first).
        schedule: { status: NEVER, pendingWork: '*/2 * * * * *' },
        sections: {
          tags: {
            shop: { timezone: 'UTC', windows: [`${hms(opensAt)}-${hms(closesAt)}`] },
            cafe: { timezone: 'UTC', offHours: ['00:00-24:00'] },
          },
        },
      },
    }));
  }, 300_000);
  afterAll(() => stopSlackOfficeSet({ bot, fake, office }));

  it('a host down in its off hours is "off (on schedule)" in status and the report, not a failure', async () => {
    await office.stopHost(B);
    const rows = await bot.bot.composed.engine.status([], {
      actor: { kind: 'cli', user: 't' },
      onEvent: () => {},
    });
    const b = rows.find((r) => r.host === B)!;
    expect(b.reachable).toBe(false);
    expect(b.offSchedule).toBe(true);
    expect(statusText(rows)).toMatch(new RegExp(`${B}\\s+off \\(on schedule\\)`));
    // Not a failure for `status`'s exit code, where the same host merely unreachable is.
    expect(statusVerb.exitCode([b])).toBe(0);
    expect(statusVerb.exitCode([{ ...b, offSchedule: false }])).toBe(1);
    expect(await bot.bot.schedule.runNow(STATUS_JOB)).toBe('ran');
    await bot.bot.slack.settled();
    const report = fake.messages(CHANNEL).at(-1)!;
    expect(report.text).toMatch(/0 unreachable.*1 off on schedule/);
    expect(blocksText(report)).toContain('off (on schedule)');
  }, 120_000);

  it('a rollout copies to a host outside its window and leaves its activation pending; a host that is down is pending; it is caught up when it comes back', async () => {
    revision += 1;
    await office.fleet.setRevision(revision);
    const beforeA = await systemOf(office, A);
    await fake.sendSlashCommand({ user: ALICE, channel: CHANNEL, text: `deploy ${A} ${B}` });
    await fake.until(() => pendingOf(A) !== undefined && pendingOf(B) !== undefined, {
      timeoutMs: 240_000,
      what: 'both hosts pending',
    });
    await bot.bot.slack.settled();
    const a = pendingOf(A)!;
    const b = pendingOf(B)!;
    expect(a.reason).toBe('window');
    expect(a.opensAt?.getTime()).toBe(opensAt);
    expect(b.reason).toBe('unreachable');
    // Copied, not activated: A holds its new system whole and still runs the old one.
    expect((await office.onHost(A, ['nix-store', '--verify-path', a.toplevel!])).exitCode).toBe(0);
    expect(await systemOf(office, A)).toEqual(beforeA);
    // The run's message says what waits for when; the run ended (no lock held for the hours to come).
    expect(channelSays(`activation waits for the window ${hms(opensAt)}-${hms(closesAt)} (UTC)`)).toBe(true);
    expect(store().heldLocks()).toEqual([]);

    const rows = await bot.bot.composed.engine.status([], {
      actor: { kind: 'cli', user: 't' },
      onEvent: () => {},
    });
    expect(rows.find((r) => r.host === A)?.pending?.text).toMatch(
      /its activation waits for the window, next opening/,
    );
    expect(rows.find((r) => r.host === B)?.pending?.text).toMatch(/it did not answer/);
    // The Home tab says the same of each pending host.
    await fake.openHome(ALICE);
    await fake.until(() => JSON.stringify(fake.homeView(ALICE)?.blocks ?? []).includes('did not answer'), {
      timeoutMs: 60_000,
      what: 'the Home tab showing the pending hosts',
    });
    const home = JSON.stringify(fake.homeView(ALICE)?.blocks);
    expect(home).toContain('its activation waits for the window, next opening');
    expect(home).toContain('it did not answer; brought up to date when it answers again');

    await office.startHost(B);
    await fake.until(() => channelSays(`${B} came back and was brought up to date`), {
      timeoutMs: 240_000,
      what: 'the channel told of the catch-up',
    });
    const afterB = await systemOf(office, B);
    expect(afterB.current).toBe(b.toplevel);
    expect(afterB.profile).toBe(b.toplevel);
    expect(pendingOf(B)).toBeUndefined();
    // The same restart question as any deploy.
    await decline(B);
    // A's window is still an hour away: many ticks later it still runs its old system.
    expect(await systemOf(office, A)).toEqual(beforeA);
    expect(pendingOf(A)?.toplevel).toBe(a.toplevel);
  }, 600_000);

  it("activates a window's host once the window opens, not before", async () => {
    const a = pendingOf(A)!;
    const before = await systemOf(office, A);
    // The bot's clock to eight seconds before the opening.
    advance(opensAt - 8000 - (Date.now() + offset));
    let seenAt: number | null = null;
    const deadline = Date.now() + 240_000;
    while (seenAt === null && Date.now() < deadline) {
      const now = await systemOf(office, A);
      if (now.current === a.toplevel) seenAt = Date.now() + offset;
      else {
        expect(now).toEqual(before);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    expect(seenAt, 'A never switched').not.toBeNull();
    expect(seenAt!).toBeGreaterThanOrEqual(opensAt);
    await fake.until(() => channelSays(`${A} reached its window and was brought up to date`), {
      timeoutMs: 120_000,
      what: 'the channel told of the activation',
    });
    // Confirmed: the new system is the profile too.
    expect(await systemOf(office, A)).toEqual({ current: a.toplevel, profile: a.toplevel });
    expect(pendingOf(A)).toBeUndefined();
    await decline(A);
  }, 300_000);

  it('a newer deploy replaces what was pending; --now (approvers only) activates outside the window, audited', async () => {
    // Past the window's end: closed again.
    advance(closesAt + 60_000 - (Date.now() + offset));
    const before = await systemOf(office, A);
    const deployed = async (text: string, done: () => boolean) => {
      await fake.sendSlashCommand({ user: ALICE, channel: CHANNEL, text });
      await fake.until(done, { timeoutMs: 240_000, what: text });
      await fake.until(() => store().heldLocks().length === 0, { timeoutMs: 60_000, what: 'the run to end' });
    };
    revision += 1;
    await office.fleet.setRevision(revision);
    await deployed(`deploy ${A} --no-restart`, () => pendingOf(A) !== undefined);
    const first = pendingOf(A)!;
    revision += 1;
    await office.fleet.setRevision(revision);
    await deployed(`deploy ${A} --no-restart`, () => pendingOf(A)?.toplevel !== first.toplevel);
    const second = pendingOf(A)!;
    expect(
      store()
        .pendingWork()
        .filter((w) => w.host === A),
    ).toHaveLength(1);
    expect(second.toplevel).not.toBe(first.toplevel);
    expect(await systemOf(office, A)).toEqual(before);

    // A deployer who is not an approver may not say --now: refused privately, nothing runs.
    const runsBefore = store().recentRuns({ limit: 100 }).length;
    await fake.sendSlashCommand({ user: BOB, channel: CHANNEL, text: `deploy ${A} --now --no-restart` });
    await fake.until(() => fake.ephemerals({ user: BOB }).some((e) => e.text.includes('--now')), {
      timeoutMs: 60_000,
      what: "BOB's refusal",
    });
    expect(store().recentRuns({ limit: 100 }).length).toBe(runsBefore);
    expect(await systemOf(office, A)).toEqual(before);

    await deployed(`deploy ${A} --now --no-restart`, () => pendingOf(A) === undefined);
    const after = await systemOf(office, A);
    expect(after.current).toBe(second.toplevel);
    expect(after.profile).toBe(second.toplevel);
    const audit = store().auditLog({ host: A, limit: 200 });
    expect(audit.some((e) => e.argv.includes('--now') && e.actor.kind === 'slack')).toBe(true);
  }, 600_000);
});
