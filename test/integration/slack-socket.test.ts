// The real Bolt app in Socket Mode against the fake Slack: starting, stopping, reconnecting, the three-second
// acknowledgement, refusals in the acknowledgement, approvals, mentions, and a log free of secrets.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ApprovalClick, registerApprovalActions } from '../../src/slack/actions.ts';
import { createSlackApp, SlackStartError } from '../../src/slack/app.ts';
import { createApproverCheck, slackGroupResolver } from '../../src/slack/approvers.ts';
import {
  APPROVE_ACTION_ID,
  approvalDecidedMessage,
  approvalQuestionMessage,
  DENY_ACTION_ID,
} from '../../src/slack/blocks/approval.ts';
import { registerSlashCommand } from '../../src/slack/commands.ts';
import { type MentionRequest, registerMentions } from '../../src/slack/mentions.ts';
import { blocksOf } from '../../src/slack/message-port.ts';
import {
  appOptionsFor,
  captureLog,
  FAKE_TOKENS,
  FakeSlack,
  type Harness,
  startHarness,
} from '../support/fake-slack/index.ts';

const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);
beforeAll(() => {
  process.on('unhandledRejection', onRejection);
});
afterAll(() => {
  process.off('unhandledRejection', onRejection);
});

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
  // A rejection from a stop or a reconnect shows up a tick later.
  await new Promise((r) => setTimeout(r, 50));
  expect(rejections).toEqual([]);
});

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function textOf(blocks: unknown[] | undefined): string {
  return JSON.stringify(blocks ?? []);
}

describe('starting and stopping', () => {
  it('connects, checks the token once, and stops with the socket closed', async () => {
    harness = await startHarness();
    const { fake, app } = harness;
    expect(fake.openConnections).toBe(1);
    expect(fake.calls('auth.test')).toHaveLength(1);
    expect(fake.calls('apps.connections.open')).toHaveLength(1);
    await app.stop();
    // stop() resolved: the socket is closed, not merely asked to close.
    expect(fake.openConnections).toBe(0);
    expect(app.signal.aborted).toBe(true);
    // Stopping again is the same stop.
    await app.stop();
  });

  it('skips auth.test when the identity is known', async () => {
    harness = await startHarness({ knownIdentity: true });
    expect(harness.fake.calls('auth.test')).toHaveLength(0);
    expect(harness.fake.openConnections).toBe(1);
  });

  it('leaves no socket when stopped while starting', async () => {
    const fake = await FakeSlack.start();
    try {
      for (const stopWhen of [
        'before auth.test returns',
        'while apps.connections.open is answered',
      ] as const) {
        const app = createSlackApp(appOptionsFor(fake, captureLog()));
        // Slack is slow to hand out the socket URL: the stop lands while the bot waits for it.
        if (stopWhen === 'while apps.connections.open is answered')
          fake.delayNext('apps.connections.open', 400);
        const before = fake.calls('apps.connections.open').length;
        const outcome = app.start().then(
          () => 'started',
          (e: unknown) => e,
        );
        if (stopWhen === 'while apps.connections.open is answered') {
          await fake.until(() => fake.calls('apps.connections.open').length > before);
        }
        await app.stop();
        const result = await outcome;
        expect(result).toBeInstanceOf(SlackStartError);
        expect((result as SlackStartError).kind).toBe('stopped');
        // A connection aborted mid-handshake reaches the fake as a closed TCP socket a moment later.
        await fake.until(() => fake.openConnections === 0, { timeoutMs: 1000, what: 'the socket to close' });
        // And nothing connects afterwards (the delayed answer arrives 400 ms after it was asked for).
        await new Promise((r) => setTimeout(r, 800));
        expect(fake.openConnections).toBe(0);
      }
    } finally {
      await fake.stop();
    }
  });

  it('says Slack refused the bot token, naming the variable, with no socket opened', async () => {
    const fake = await FakeSlack.start({ botToken: 'xoxb-the-one-slack-knows' });
    try {
      const log = captureLog();
      const app = createSlackApp(appOptionsFor(fake, log));
      const error = await app.start().then(
        () => undefined,
        (e: unknown) => e,
      );
      await app.stop();
      expect(error).toBeInstanceOf(SlackStartError);
      expect((error as SlackStartError).kind).toBe('token-refused');
      expect((error as Error).message).toMatch(/SLACK_BOT_TOKEN/);
      expect((error as Error).message).toMatch(/invalid_auth/);
      expect(fake.calls('apps.connections.open')).toHaveLength(0);
      expect(fake.openConnections).toBe(0);
      expect(log.text()).not.toContain(FAKE_TOKENS.bot);
    } finally {
      await fake.stop();
    }
  });

  it('says Slack refused the app-level token', async () => {
    const fake = await FakeSlack.start({ appToken: 'xapp-1-another-app-token' });
    try {
      const app = createSlackApp(appOptionsFor(fake, captureLog()));
      const error = await app.start().then(
        () => undefined,
        (e: unknown) => e,
      );
      await app.stop();
      expect(error).toBeInstanceOf(SlackStartError);
      expect((error as SlackStartError).kind).toBe('token-refused');
      expect((error as Error).message).toMatch(/SLACK_APP_TOKEN/);
      expect(fake.openConnections).toBe(0);
    } finally {
      await fake.stop();
    }
  });

  it('says Slack is unreachable when nothing answers', async () => {
    // A port that was just free: nothing listens there.
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    const fake = await FakeSlack.start();
    try {
      const app = createSlackApp({
        ...appOptionsFor(fake, captureLog()),
        slackApiUrl: `http://127.0.0.1:${port}/api/`,
      });
      const error = await app.start().then(
        () => undefined,
        (e: unknown) => e,
      );
      await app.stop();
      expect(error).toBeInstanceOf(SlackStartError);
      expect((error as SlackStartError).kind).toBe('unreachable');
      expect((error as Error).message).toContain(`http://127.0.0.1:${port}/api/`);
      expect((error as Error).message).toMatch(/ECONNREFUSED/);
    } finally {
      await fake.stop();
    }
  });
});

describe('reconnecting', () => {
  it('reconnects after Slack asks it to, and keeps answering', { timeout: 30_000 }, async () => {
    const ran: string[] = [];
    harness = await startHarness({
      register: (app) =>
        registerSlashCommand(app, {
          onCommand: async (text) => {
            ran.push(text);
          },
        }),
    });
    const { fake } = harness;
    fake.disconnect();
    await fake.until(() => fake.calls('apps.connections.open').length === 2 && fake.openConnections === 1, {
      timeoutMs: 20_000,
      what: 'a second connection',
    });
    const result = await fake.sendSlashCommand({ user: 'UALICE', channel: 'COFFICE', text: 'hosts' });
    expect(result.latencyMs).toBeLessThan(3000);
    await fake.until(() => ran.length === 1);
    expect(ran).toEqual(['hosts']);
  });

  it('keeps trying when Slack cannot be reached while reconnecting', { timeout: 40_000 }, async () => {
    harness = await startHarness();
    const { fake, log } = harness;
    fake.failNext('apps.connections.open', { status: 503 });
    fake.disconnect();
    await fake.until(() => fake.calls('apps.connections.open').length >= 3 && fake.openConnections === 1, {
      timeoutMs: 30_000,
      what: 'a connection after the failed attempt',
    });
    expect(fake.calls('apps.connections.open').map((c) => c.status)).toEqual([200, 503, 200]);
    expect(log.text()).toMatch(/reconnecting failed/);
  });
});

describe('stopping while reconnecting', () => {
  it('leaves no socket when stopped during a reconnection', { timeout: 30_000 }, async () => {
    const fake = await FakeSlack.start();
    try {
      const app = createSlackApp(appOptionsFor(fake, captureLog()));
      await app.start();
      // The stop lands while the reconnection waits for its socket URL.
      fake.delayNext('apps.connections.open', 400);
      fake.disconnect();
      await fake.until(() => fake.calls('apps.connections.open').length === 2, {
        timeoutMs: 20_000,
        what: 'the reconnection attempt',
      });
      await app.stop();
      await fake.until(() => fake.openConnections === 0, { timeoutMs: 1000, what: 'the socket to close' });
      // The delayed answer arrives 400 ms after it was asked for: nothing may connect with it.
      await new Promise((r) => setTimeout(r, 800));
      expect(fake.openConnections).toBe(0);
    } finally {
      await fake.stop();
    }
  });
});

describe('slash commands', () => {
  it('acknowledges within three seconds while the handler takes longer, and answers privately after', async () => {
    const done = deferred();
    harness = await startHarness({
      register: (app) =>
        registerSlashCommand(app, {
          onCommand: async (text, ctx) => {
            await new Promise((r) => setTimeout(r, 3500));
            await ctx.ephemeral({ text: `done: ${text}` });
            done.resolve();
          },
        }),
    });
    const { fake } = harness;
    const result = await fake.sendSlashCommand({
      user: 'UALICE',
      channel: 'COFFICE',
      text: 'deploy baard-entrance',
    });
    expect(result.latencyMs).toBeLessThan(3000);
    expect(fake.acks.map((a) => a.envelopeId)).toContain(result.envelopeId);
    await done.promise;
    expect(fake.ephemerals({ user: 'UALICE' }).map((e) => [e.via, e.text])).toEqual([
      ['response_url', 'done: deploy baard-entrance'],
    ]);
    expect(fake.violations).toEqual([]);
  });

  it('refuses overlong text and control characters in the acknowledgement, running nothing', async () => {
    const ran: string[] = [];
    harness = await startHarness({
      register: (app) =>
        registerSlashCommand(app, {
          onCommand: async (text) => {
            ran.push(text);
          },
        }),
    });
    const { fake } = harness;
    const long = await fake.sendSlashCommand({
      user: 'UALICE',
      channel: 'COFFICE',
      text: `status ${'a'.repeat(1000)}`,
    });
    expect(long.ack?.response_type).toBe('ephemeral');
    expect(textOf(long.ack?.blocks as unknown[])).toMatch(/1007 characters long; at most 1000/);
    const bidi = await fake.sendSlashCommand({
      user: 'UALICE',
      channel: 'COFFICE',
      text: 'deploy baard\u202Eentrance',
    });
    expect(textOf(bidi.ack?.blocks as unknown[])).toMatch(/U\+202E \(RIGHT-TO-LEFT OVERRIDE/);
    expect(textOf(bidi.ack?.blocks as unknown[])).toMatch(/position 13/);
    const nul = await fake.sendSlashCommand({ user: 'UALICE', channel: 'COFFICE', text: 'status \u0000' });
    expect(textOf(nul.ack?.blocks as unknown[])).toMatch(/U\+0000/);
    // Give a wrongly started handler time to show itself.
    await new Promise((r) => setTimeout(r, 200));
    expect(ran).toEqual([]);
    expect(fake.ephemerals({ user: 'UALICE' }).map((e) => e.via)).toEqual(['ack', 'ack', 'ack']);
    expect(fake.responses()).toEqual([]);
  });

  it("turns the caller's refusal into the acknowledgement", async () => {
    const ran: string[] = [];
    harness = await startHarness({
      register: (app) =>
        registerSlashCommand(app, {
          refuse: (text, who) =>
            who.userId === 'UMALLORY' ? { text: `You may not run ${text.split(' ')[0]}.` } : undefined,
          onCommand: async (text) => {
            ran.push(text);
          },
        }),
    });
    const { fake } = harness;
    const refused = await fake.sendSlashCommand({ user: 'UMALLORY', channel: 'COFFICE', text: 'deploy all' });
    expect(refused.ack).toMatchObject({ response_type: 'ephemeral', text: 'You may not run deploy.' });
    const allowed = await fake.sendSlashCommand({
      user: 'UALICE',
      channel: 'COFFICE',
      text: 'deploy\tall\n',
    });
    // A plain acknowledgement: nothing for Slack to show.
    expect(allowed.ack ?? {}).toEqual({});
    await fake.until(() => ran.length === 1);
    // Tabs and line breaks became spaces.
    expect(ran).toEqual(['deploy all']);
  });

  it('tells the requester alone when the handler fails, and logs it', async () => {
    harness = await startHarness({
      register: (app) =>
        registerSlashCommand(app, {
          onCommand: async () => {
            throw new Error('the state store is locked');
          },
        }),
    });
    const { fake, log } = harness;
    await fake.sendSlashCommand({ user: 'UALICE', channel: 'COFFICE', text: 'status' });
    await fake.until(() => fake.ephemerals().length === 1);
    const [reply] = fake.ephemerals();
    expect(reply?.user).toBe('UALICE');
    expect(textOf(reply?.blocks)).toContain('the state store is locked');
    expect(fake.messages('COFFICE')).toEqual([]);
    expect(log.text()).toMatch(/failed unexpectedly/);
  });

  it('answers privately through chat.postEphemeral once the response URL is used up', async () => {
    const done = deferred();
    harness = await startHarness({
      register: (app) =>
        registerSlashCommand(app, {
          onCommand: async (_text, ctx) => {
            for (let i = 1; i <= 7; i++) await ctx.ephemeral({ text: `reply ${i}` });
            done.resolve();
          },
        }),
    });
    const { fake } = harness;
    await fake.sendSlashCommand({ user: 'UALICE', channel: 'COFFICE', text: 'status' });
    await done.promise;
    expect(fake.ephemerals({ user: 'UALICE' }).map((e) => `${e.via}:${e.text}`)).toEqual([
      'response_url:reply 1',
      'response_url:reply 2',
      'response_url:reply 3',
      'response_url:reply 4',
      'response_url:reply 5',
      'chat.postEphemeral:reply 6',
      'chat.postEphemeral:reply 7',
    ]);
  });

  it('keeps its secrets out of the log and out of error replies, even at debug level', async () => {
    harness = await startHarness({
      logLevel: 'debug',
      register: (app) =>
        registerSlashCommand(app, {
          onCommand: async (_text, ctx) => {
            await ctx.inChannel({ text: 'posted' });
            // A library error that quotes the request it failed on, token and all.
            throw new Error(
              `request failed: authorization: Bearer ${FAKE_TOKENS.bot}; app ${FAKE_TOKENS.app}`,
            );
          },
        }),
    });
    const { fake } = harness;
    await fake.sendSlashCommand({ user: 'UALICE', channel: 'COFFICE', text: 'status' });
    await fake.until(() => fake.ephemerals().length === 1);
    const reply = JSON.stringify(fake.ephemerals()[0]);
    expect(reply).toContain('request failed: authorization: Bearer [redacted]');
    expect(reply).not.toContain('fakeBotTokenSecret');
    expect(reply).not.toContain('fakeAppTokenSecret');
    await harness.stop();
    const text = harness.log.text();
    // The log did record the traffic and the error (so the checks below are not vacuous) …
    expect(text).toMatch(/chat\.postMessage/);
    expect(text).toMatch(/request failed: authorization: Bearer \[redacted\]/);
    // … and never the tokens, nor their secret parts.
    expect(text).not.toContain(FAKE_TOKENS.bot);
    expect(text).not.toContain(FAKE_TOKENS.app);
    expect(text).not.toContain('fakeBotTokenSecret');
    expect(text).not.toContain('fakeAppTokenSecret');
  });
});

describe('approval buttons', () => {
  const APPROVER = 'UAPPROVER';
  const GROUP_MEMBER = 'UGROUPIE';
  const OTHER = 'UOTHER';
  const known = new Set(['01JAPPROVAL0001']);

  async function withQuestion(decisions: ApprovalClick[]) {
    const h = await startHarness({
      fake: { usergroups: { S0APPROVERS: [GROUP_MEMBER] } },
      register: (app) =>
        registerApprovalActions(app, {
          isApprover: createApproverCheck(
            { users: [APPROVER], usergroup: 'S0APPROVERS' },
            slackGroupResolver(app.client),
          ),
          onDecision: async (click, ctx) => {
            decisions.push(click);
            if (!known.has(click.approvalId)) {
              await ctx.ephemeral({ text: 'The bot has no record of this question.' });
              return undefined;
            }
            return approvalDecidedMessage({
              host: 'baard-entrance',
              question: 'Restart the display manager?',
              decision: click.decision === 'approve' ? 'approved' : 'denied',
              userId: click.userId,
              at: new Date('2025-11-25T10:00:00Z'),
            });
          },
        }),
    });
    const question = approvalQuestionMessage({
      approvalId: '01JAPPROVAL0001',
      host: 'baard-entrance',
      question: 'Restart the display manager?',
      expiresAt: new Date('2025-11-25T11:00:00Z'),
      requestedBy: 'UALICE',
    });
    const posted = await h.app.client.chat.postMessage({
      channel: 'COFFICE',
      text: question.text,
      ...blocksOf(question),
    });
    return { h, ts: posted.ts as string };
  }

  it('replaces the question with who answered, buttons gone, when an approver clicks', async () => {
    const decisions: ApprovalClick[] = [];
    const { h, ts } = await withQuestion(decisions);
    harness = h;
    const click = await h.fake.clickButton({
      user: APPROVER,
      channel: 'COFFICE',
      ts,
      actionId: APPROVE_ACTION_ID,
    });
    expect(click.latencyMs).toBeLessThan(3000);
    await h.fake.waitForCall('chat.update');
    expect(decisions).toEqual([
      {
        approvalId: '01JAPPROVAL0001',
        decision: 'approve',
        userId: APPROVER,
        channelId: 'COFFICE',
        messageTs: ts,
      },
    ]);
    const now = h.fake.message('COFFICE', ts);
    expect(now?.text).toBe(`Restart of baard-entrance approved by <@${APPROVER}>`);
    expect(textOf(now?.blocks)).not.toContain('"actions"');
    await expect(
      h.fake.clickButton({ user: APPROVER, channel: 'COFFICE', ts, actionId: DENY_ACTION_ID }),
    ).rejects.toThrow(/no button/);
  });

  it('accepts a member of the approvers group', async () => {
    const decisions: ApprovalClick[] = [];
    const { h, ts } = await withQuestion(decisions);
    harness = h;
    await h.fake.clickButton({ user: GROUP_MEMBER, channel: 'COFFICE', ts, actionId: DENY_ACTION_ID });
    await h.fake.waitForCall('chat.update');
    expect(decisions.map((d) => [d.userId, d.decision])).toEqual([[GROUP_MEMBER, 'deny']]);
    expect(h.fake.message('COFFICE', ts)?.text).toMatch(/declined/);
    expect(h.fake.calls('usergroups.users.list')).toHaveLength(1);
  });

  it('refuses anyone else privately and leaves the question as it was', async () => {
    const decisions: ApprovalClick[] = [];
    const { h, ts } = await withQuestion(decisions);
    harness = h;
    const before = h.fake.message('COFFICE', ts);
    await h.fake.clickButton({ user: OTHER, channel: 'COFFICE', ts, actionId: APPROVE_ACTION_ID });
    await h.fake.until(() => h.fake.ephemerals({ user: OTHER }).length === 1);
    expect(h.fake.ephemerals({ user: OTHER })[0]?.text).toMatch(/Only approvers can answer/);
    expect(decisions).toEqual([]);
    expect(h.fake.calls('chat.update')).toEqual([]);
    expect(h.fake.message('COFFICE', ts)?.blocks).toEqual(before?.blocks);
  });

  it('refuses a forged approval id before asking anyone', async () => {
    const decisions: ApprovalClick[] = [];
    const { h, ts } = await withQuestion(decisions);
    harness = h;
    await h.fake.clickButton({
      user: APPROVER,
      channel: 'COFFICE',
      ts,
      actionId: APPROVE_ACTION_ID,
      value: "x'; rm -rf /",
    });
    await h.fake.until(() => h.fake.ephemerals({ user: APPROVER }).length === 1);
    expect(h.fake.ephemerals({ user: APPROVER })[0]?.text).toMatch(
      /does not belong to a question the bot asked/,
    );
    expect(decisions).toEqual([]);
    // Well-formed but unknown: the decision handler says so, and the question stays.
    await h.fake.clickButton({
      user: APPROVER,
      channel: 'COFFICE',
      ts,
      actionId: APPROVE_ACTION_ID,
      value: '01JFORGED',
    });
    await h.fake.until(() => h.fake.ephemerals({ user: APPROVER }).length === 2);
    expect(decisions.map((d) => d.approvalId)).toEqual(['01JFORGED']);
    expect(h.fake.calls('chat.update')).toEqual([]);
  });
});

describe('mentions', () => {
  it('reads the question and answers in its thread', async () => {
    const requests: MentionRequest[] = [];
    harness = await startHarness({
      register: (app) =>
        registerMentions(app, {
          onMention: async (request, ctx) => {
            requests.push(request);
            await ctx.inChannel({ text: `${request.verb} of ${request.tokens.join(', ')}: all good` });
          },
        }),
    });
    const { fake } = harness;
    const asked = await fake.mention({
      user: 'UALICE',
      channel: 'COFFICE',
      text: `<@${fake.botUserId}> what is running on baard-entrance?`,
    });
    await fake.until(() => fake.messages('COFFICE').length === 2);
    expect(requests).toEqual([{ verb: 'status', tokens: ['baard-entrance'] }]);
    const reply = fake.messages('COFFICE')[1];
    expect(reply?.threadTs).toBe(asked.ts);
    expect(reply?.text).toBe('status of baard-entrance: all good');
  });

  it('answers what it cannot read with what it can, in the thread, and runs nothing', async () => {
    const requests: MentionRequest[] = [];
    harness = await startHarness({
      register: (app) =>
        registerMentions(app, {
          onMention: async (request) => {
            requests.push(request);
          },
        }),
    });
    const { fake } = harness;
    const asked = await fake.mention({
      user: 'UALICE',
      channel: 'COFFICE',
      text: `<@${fake.botUserId}> make me a coffee`,
    });
    await fake.until(() => fake.messages('COFFICE').length === 2);
    const reply = fake.messages('COFFICE')[1];
    expect(reply?.threadTs).toBe(asked.ts);
    expect(reply?.text).toMatch(/I did not understand “make me a coffee”/);
    expect(reply?.text).toContain('@signage status baard-entrance');
    expect(requests).toEqual([]);
  });

  it('answers nothing outside the configured channels, not even "I did not understand"', async () => {
    const requests: MentionRequest[] = [];
    harness = await startHarness({
      register: (app) =>
        registerMentions(app, {
          channels: ['COFFICE'],
          onMention: async (request) => {
            requests.push(request);
          },
        }),
    });
    const { fake } = harness;
    for (const text of ['make me a coffee', 'status baard-entrance']) {
      const before = fake.ephemerals({ user: 'UALICE' }).length;
      await fake.mention({ user: 'UALICE', channel: 'CELSEWHERE', text: `<@${fake.botUserId}> ${text}` });
      await fake.until(() => fake.ephemerals({ user: 'UALICE' }).length > before, { what: 'the refusal' });
      const refusal = fake.ephemerals({ user: 'UALICE' }).at(-1)!;
      expect(refusal.channel).toBe('CELSEWHERE');
      expect(refusal.text).toBe('The mention was not answered. The bot takes requests only in <#COFFICE>.');
    }
    // Only the two mentions themselves: the bot wrote nothing in the channel.
    expect(fake.messages('CELSEWHERE').filter((m) => m.user === fake.botUserId)).toEqual([]);
    expect(requests).toEqual([]);

    await fake.mention({ user: 'UALICE', channel: 'COFFICE', text: `<@${fake.botUserId}> status` });
    await fake.until(() => requests.length === 1, { what: 'the request in the configured channel' });
  });
});
