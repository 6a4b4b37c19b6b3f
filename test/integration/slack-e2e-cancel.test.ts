// Cancelling runs and the next steps a run's message offers, end to end: the whole bot (startBot) against the
// fake Slack on the simulated office, and the terminal command as a process of its own sharing the state
// database. A Cancel click, `/signage cancel` and `signage cancel` stop a run at a safe point whichever
// process runs it; the host is checked on itself (not through the bot) to be whole and unchanged; the run
// ends "cancelled" and says what was done and what was not. A failed host's part of the message offers Retry
// (same ref and options) and Roll back, run as the verbs run.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { lineFrom, rawState, signage, systemOf } from '../faults/support.ts';
import { type Office, officeUnavailable } from '../office/index.ts';
import type { FakeSlack, StoredMessage } from '../support/fake-slack/index.ts';
import { expectExit, expectStoredRun } from '../support/outcome.ts';
import {
  ALICE,
  BOB,
  blocksText,
  CHANNEL,
  type SlackOffice,
  type SlackOfficeConfig,
  slackOfficeConfig,
  startSlackOfficeSet,
  stopSlackOfficeSet,
  VICTOR,
} from '../support/slack-office.ts';

const unavailable = officeUnavailable();
const A = 'baard-entrance';
const B = 'baard-kitchen';
const SLOW_UPLINK_KBIT = 1200;

describe.skipIf(unavailable !== null)('cancelling runs, and the next steps of a failed host', () => {
  let office: Office;
  let fake: FakeSlack;
  let bot: SlackOffice;
  let config: SlackOfficeConfig;
  let revision = 1;

  const store = () => bot.bot.composed.store;
  /** The run's message: the channel message (not a thread reply) whose run is `runId`. */
  const runMessage = (runId: string): StoredMessage | undefined => {
    const ref = store().getRun(runId)?.slack;
    return ref ? fake.message(CHANNEL, ref.ts) : undefined;
  };
  const threadOf = (ts: string) => fake.messages(CHANNEL).filter((m) => m.threadTs === ts);
  const hasAction = (m: StoredMessage | undefined, actionId: string) =>
    blocksText(m).includes(`"action_id":"${actionId}"`);
  /** The newest run of `host`, once it is copying (so a cancel surely finds work to stop). */
  async function copying(host: string): Promise<string> {
    let runId: string | undefined;
    await fake.until(
      () => {
        const run = store().lastRunFor(host);
        if (run?.status !== 'running') return false;
        runId = run.id;
        return store()
          .stagesOf(run.id)
          .some((s) => s.stage === 'copy' && s.status === 'running');
      },
      { timeoutMs: 240_000, what: `a copy to ${host} under way` },
    );
    return runId!;
  }
  async function newRevision(): Promise<void> {
    revision += 1;
    await office.fleet.setRevision(revision);
  }

  beforeAll(async () => {
    ({ office, fake, bot } = await startSlackOfficeSet({
      office: { hosts: [A, B], scale: 0.05, uplinkKbit: SLOW_UPLINK_KBIT },
      bot: (o, f) => {
        config = slackOfficeConfig(o, f);
        // B's display manager cannot be restarted: its restart fails after a good switch.
        const file = parse(readFileSync(config.file, 'utf8')) as {
          hosts: Record<string, Record<string, unknown>>;
        };
        file.hosts[B] = { ...file.hosts[B], restartCommand: ['false'] };
        writeFileSync(config.file, stringify(file));
        return { config };
      },
    }));
  }, 300_000);
  afterAll(() => stopSlackOfficeSet({ bot, fake, office }));

  it('a Cancel click stops a Slack deploy mid-copy: not for viewers, cancelled not ok, host unchanged, Retry offered', async () => {
    await newRevision();
    const before = await systemOf(office, A);
    await fake.sendSlashCommand({ user: ALICE, channel: CHANNEL, text: `deploy ${A}` });
    const runId = await copying(A);
    await fake.until(() => hasAction(runMessage(runId), 'run_cancel'), { what: 'the Cancel button' });
    const main = runMessage(runId)!;

    // A viewer may not cancel: told privately, the run goes on.
    const refused = await fake.clickButton({
      user: VICTOR,
      channel: CHANNEL,
      ts: main.ts,
      actionId: 'run_cancel',
    });
    expect(refused.latencyMs).toBeLessThan(3000);
    await fake.until(() => fake.ephemerals({ user: VICTOR }).length > 0, { what: 'the refusal' });
    expect(fake.ephemerals({ user: VICTOR }).at(-1)!.text).toMatch(/Only deployers/);
    expect(store().getRun(runId)?.status).toBe('running');
    expect(store().getRun(runId)?.cancelRequest).toBeNull();

    const click = await fake.clickButton({
      user: BOB,
      channel: CHANNEL,
      ts: main.ts,
      actionId: 'run_cancel',
    });
    expect(click.latencyMs).toBeLessThan(3000);
    await fake.until(() => store().getRun(runId)?.status !== 'running', {
      timeoutMs: 120_000,
      what: 'the run to stop',
    });
    await bot.bot.slack.settled();
    expectStoredRun(store(), runId, 'cancelled');
    expect(rawState(config.stateDir).locks).toEqual([]);
    // Nothing half-applied: the copy was cut short and the switch never began.
    expect(await systemOf(office, A)).toEqual(before);
    expect(
      store()
        .stagesOf(runId)
        .some((s) => s.stage === 'switch'),
    ).toBe(false);

    // The canceller hears what was done and what was not.
    const said = fake.ephemerals({ user: BOB }).at(-1)!;
    expect(said.text).toMatch(
      new RegExp(`^run ${runId} \\(deploy by <@${ALICE}>\\) cancelled by <@${BOB}>: stopped at a safe point`),
    );
    expect(JSON.stringify(said.blocks)).toMatch(
      /done: build, plan; not done: copy: stopped (during|before) the/,
    );
    // The run's message: cancelled, no Cancel button any more, a Retry for the host it did not finish.
    const after = runMessage(runId)!;
    expect(after.text).toMatch(/— cancelled$/);
    expect(hasAction(after, 'run_cancel')).toBe(false);
    expect(hasAction(after, 'host_retry')).toBe(true);
    // Not switched: no Roll back offered.
    expect(hasAction(after, 'host_rollback')).toBe(false);
    const result = threadOf(after.ts).find((m) => m.text.startsWith(`deploy ${A}: cancelled`));
    expect(result?.text).toBe(`deploy ${A}: cancelled by <@${BOB}>`);
    expect(blocksText(result)).toContain('not done');
    // Audited: who asked to cancel which run.
    const audit = store().auditLog({ runId, limit: 50 });
    expect(audit.find((e) => e.argv[0] === '(cancel requested)')?.actor).toMatchObject({ userId: BOB });

    // Retry: the same verb and options for that host, as its own run with its own message.
    await office.setUplinkRate(null);
    try {
      await fake.clickButton({ user: ALICE, channel: CHANNEL, ts: after.ts, actionId: 'host_retry' });
      await fake.until(() => store().lastRunFor(A)?.id !== runId, { what: 'the retry run' });
      const retry = store().lastRunFor(A)!;
      expect(retry.verb).toBe('deploy');
      expect(retry.options).toEqual({ until: 'restart', restart: 'ask', ref: null });
      await fake.until(() => store().getRun(retry.id)?.status === 'awaiting-approval', {
        timeoutMs: 240_000,
        what: 'the retry to reach its restart question',
      });
      const now = await systemOf(office, A);
      expect(now.current).not.toBe(before.current);
      expect(now.current).toBe(now.profile);

      // Cancelling a run that only waits for its question withdraws the question and ends it at once.
      await fake.sendSlashCommand({ user: BOB, channel: CHANNEL, text: `cancel ${retry.id}` });
      await fake.until(() => store().getRun(retry.id)?.status !== 'awaiting-approval', {
        what: 'the cancel',
      });
      await bot.bot.slack.settled();
      expectStoredRun(store(), retry.id, 'cancelled');
      expect(
        store()
          .pendingApprovals()
          .filter((q) => q.runId === retry.id),
      ).toEqual([]);
      expect(fake.ephemerals({ user: BOB }).at(-1)!.text).toMatch(
        /cancelled by <@U0BOB>: stopped at a safe point/,
      );
      expect(await office.systemctlLog(A)).toEqual([]);
      // Its message ends cancelled, and the withdrawn question loses its buttons and says who declined it.
      await fake.until(() => /— cancelled$/.test(runMessage(retry.id)?.text ?? ''), {
        what: 'the retry message to say cancelled',
      });
      const retryMain = runMessage(retry.id)!;
      expect(hasAction(retryMain, 'run_cancel')).toBe(false);
      const withdrawn = threadOf(retryMain.ts).find(
        (m) => m.broadcast && m.text.startsWith(`Restart of ${A}`),
      );
      expect(withdrawn?.text).toBe(`Restart of ${A} declined by <@${BOB}>`);
      expect(hasAction(withdrawn, 'restart_approve')).toBe(false);
    } finally {
      await office.setUplinkRate(SLOW_UPLINK_KBIT);
    }
  }, 600_000);

  it('a terminal deploy is cancelled from Slack, and a Slack deploy from a terminal', async () => {
    await newRevision();
    const before = await systemOf(office, A);
    const child = signage(['--config', config.file, 'deploy', A, '--no-restart']);
    await lineFrom(child, new RegExp(`^${A}: plan ok`));
    const runId = await copying(A);
    await fake.sendSlashCommand({ user: BOB, channel: CHANNEL, text: `cancel ${A}` });
    const out = await child;
    expectExit(out, 6);
    expect(out.stdout).toContain(`deploy cancelled by <@${BOB}>: stopped at a safe point (run ${runId})`);
    expect(out.stdout).toMatch(new RegExp(`– ${A}\\s+not done`));
    expectStoredRun(store(), runId, 'cancelled');
    expect(await systemOf(office, A)).toEqual(before);
    await fake.until(() => /cancelled by <@U0BOB>/.test(fake.ephemerals({ user: BOB }).at(-1)?.text ?? ''), {
      timeoutMs: 30_000,
      what: "the canceller's answer",
    });

    // A new revision, and A's own port slowed too (peers may hold some of it): a copy long enough to cancel.
    await newRevision();
    await office.setHostRate(A, 600);
    await fake.sendSlashCommand({ user: ALICE, channel: CHANNEL, text: `deploy ${A} --no-restart` });
    const slackRun = await copying(A);
    const cancel = await signage(['--config', config.file, 'cancel', A]);
    await office.setHostRate(A, null);
    expectExit(cancel, 0);
    expect(cancel.stdout).toMatch(
      new RegExp(
        `^cancel: run ${slackRun} \\(deploy by <@${ALICE}>\\) cancelled by \\S+ \\(terminal\\): stopped at a safe point`,
      ),
    );
    expect(cancel.stdout).toMatch(new RegExp(`${A}\\s+done: build, plan; not done: copy`));
    await bot.bot.slack.settled();
    expectStoredRun(store(), slackRun, 'cancelled');
    await fake.until(() => /— cancelled$/.test(runMessage(slackRun)?.text ?? ''), {
      what: 'the message to say so',
    });
    expect(await systemOf(office, A)).toEqual(before);

    // A finished run, an unknown one, a host with nothing going on: each a clear error, nothing done.
    const again = await signage(['--config', config.file, 'cancel', slackRun]);
    expectExit(again, 1);
    expect(again.stderr).toContain(`run ${slackRun} (deploy ${A}) already ended: cancelled`);
    const unknown = await signage(['--config', config.file, 'cancel', 'nosuchrun0']);
    expectExit(unknown, 1);
    expect(unknown.stderr).toContain('there is no run nosuchrun0');
    await fake.sendSlashCommand({ user: BOB, channel: CHANNEL, text: `cancel ${B}` });
    await fake.until(() => /nothing was cancelled/.test(fake.ephemerals({ user: BOB }).at(-1)?.text ?? ''), {
      what: 'the refusal',
    });
    expect(JSON.stringify(fake.ephemerals({ user: BOB }).at(-1)!.blocks)).toContain(
      `${B} has no run going on`,
    );
    const badWord = await signage(['--config', config.file, 'cancel', 'a;b']);
    expectExit(badWord, 2);
    expect(badWord.stderr).toContain('expected a run id or a host name');
  }, 600_000);

  it('a host whose restart failed after its switch offers Roll back, which switches it back', async () => {
    await office.setUplinkRate(null);
    try {
      // A first deploy, so that B has a generation to go back to.
      await newRevision();
      await fake.sendSlashCommand({ user: ALICE, channel: CHANNEL, text: `deploy ${B} --no-restart` });
      await fake.until(() => store().lastRunFor(B)?.status === 'ok', {
        timeoutMs: 240_000,
        what: `the first deploy of ${B}`,
      });
      const first = store().lastRunFor(B)!.id;
      await newRevision();
      const before = await systemOf(office, B);
      // ALICE approves up front; B's restart command fails, after the switch.
      await fake.sendSlashCommand({ user: ALICE, channel: CHANNEL, text: `deploy ${B} --restart` });
      await fake.until(
        () => {
          const last = store().lastRunFor(B);
          return last !== undefined && last.id !== first && ['failed', 'ok'].includes(last.status);
        },
        {
          timeoutMs: 240_000,
          what: `the deploy of ${B} to end`,
        },
      );
      const run = store().lastRunFor(B)!;
      expectStoredRun(store(), run.id, 'failed');
      await bot.bot.slack.settled();
      const switched = await systemOf(office, B);
      expect(switched.current).not.toBe(before.current);
      const main = runMessage(run.id)!;
      expect(hasAction(main, 'run_cancel')).toBe(false);
      expect(hasAction(main, 'host_retry')).toBe(true);
      expect(hasAction(main, 'host_rollback')).toBe(true);

      // A viewer's click is refused as the verb would refuse it.
      await fake.clickButton({ user: VICTOR, channel: CHANNEL, ts: main.ts, actionId: 'host_rollback' });
      await fake.until(
        () => /rollback .* was not run/.test(fake.ephemerals({ user: VICTOR }).at(-1)?.text ?? ''),
        {
          what: 'the refusal',
        },
      );
      expect(store().lastRunFor(B)?.id).toBe(run.id);

      const click = await fake.clickButton({
        user: BOB,
        channel: CHANNEL,
        ts: main.ts,
        actionId: 'host_rollback',
      });
      expect(click.latencyMs).toBeLessThan(3000);
      await fake.until(() => store().lastRunFor(B)?.id !== run.id, { what: 'the rollback run' });
      const rollback = store().lastRunFor(B)!;
      expect(rollback.verb).toBe('rollback');
      await fake.until(() => store().getRun(rollback.id)?.status !== 'running', {
        timeoutMs: 120_000,
        what: 'the rollback to end',
      });
      // Same options as the verb from Slack: the restart is asked, not done.
      expectStoredRun(store(), rollback.id, 'awaiting-approval');
      expect((await systemOf(office, B)).current).toBe(before.current);
      await fake.sendSlashCommand({ user: BOB, channel: CHANNEL, text: `cancel ${B}` });
      await fake.until(() => store().getRun(rollback.id)?.status === 'cancelled', { what: 'the cancel' });
    } finally {
      await office.setUplinkRate(SLOW_UPLINK_KBIT);
    }
  }, 600_000);
});
