// The whole bot in HTTP mode: Slack's signature is checked before anything runs. A request signed with
// the wrong secret, stamped more than five minutes away in either direction, or sent a second time byte for
// byte (a replay), gets 401 and reaches no host; a properly signed one is answered within Slack's three
// seconds and then runs, once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Office, officeUnavailable } from '../office/index.ts';
import { FAKE_TOKENS, type FakeSlack } from '../support/fake-slack/index.ts';
import { expectStoredRun } from '../support/outcome.ts';
import {
  ALICE,
  CHANNEL,
  type SlackOffice,
  startSlackOfficeSet,
  stopSlackOfficeSet,
  VICTOR,
} from '../support/slack-office.ts';

const unavailable = officeUnavailable();
const A = 'baard-entrance';

describe.skipIf(unavailable !== null)('the bot in HTTP mode', () => {
  let office: Office;
  let fake: FakeSlack;
  let bot: SlackOffice;
  let url: string;

  const nothingRan = () => {
    const { store } = bot.bot.composed;
    expect(store.recentRuns({ limit: 10 })).toEqual([]);
    expect(store.auditLog({ limit: 10 })).toEqual([]);
    expect(fake.calls('chat.postMessage')).toEqual([]);
    expect(fake.ephemerals()).toEqual([]);
  };

  beforeAll(async () => {
    ({ office, fake, bot } = await startSlackOfficeSet({
      office: { hosts: [A], scale: 0.1 },
      bot: { mode: 'http' },
    }));
    expect(bot.bot.port).toBeGreaterThan(0);
    url = `http://127.0.0.1:${bot.bot.port}/slack/events`;
  });
  afterAll(() => stopSlackOfficeSet({ bot, fake, office }));

  it('refuses a request signed with another secret with 401, and runs nothing', async () => {
    const body = fake.slashCommandBody({ user: ALICE, channel: CHANNEL, text: `restart ${A} --yes` });
    const answer = await fake.postSignedEvent(url, body, {
      secret: FAKE_TOKENS.signingSecret,
      badSignature: true,
    });
    expect(answer.status).toBe(401);
    await bot.bot.slack.settled();
    nothingRan();
  });

  it('refuses a correctly signed request from six minutes ago with 401, and runs nothing', async () => {
    const body = fake.slashCommandBody({ user: ALICE, channel: CHANNEL, text: `restart ${A} --yes` });
    const answer = await fake.postSignedEvent(url, body, {
      secret: FAKE_TOKENS.signingSecret,
      ts: Math.floor(Date.now() / 1000) - 6 * 60,
    });
    expect(answer.status).toBe(401);
    await bot.bot.slack.settled();
    nothingRan();
    expect(await office.systemctlLog(A)).toEqual([]);
  });

  it('refuses a correctly signed request stamped ten minutes in the future with 401, and runs nothing', async () => {
    const body = fake.slashCommandBody({ user: ALICE, channel: CHANNEL, text: `restart ${A} --yes` });
    const answer = await fake.postSignedEvent(url, body, {
      secret: FAKE_TOKENS.signingSecret,
      ts: Math.floor(Date.now() / 1000) + 10 * 60,
    });
    expect(answer.status).toBe(401);
    await bot.bot.slack.settled();
    nothingRan();
    expect(await office.systemctlLog(A)).toEqual([]);
  });

  it('acknowledges a signed request at once, refusing in the answer what the requester may not do', async () => {
    const body = fake.slashCommandBody({ user: VICTOR, channel: CHANNEL, text: `restart ${A} --yes` });
    const answer = await fake.postSignedEvent(url, body, { secret: FAKE_TOKENS.signingSecret });
    expect(answer.status).toBe(200);
    expect(answer.latencyMs).toBeLessThan(3000);
    expect(JSON.parse(answer.body)).toMatchObject({ response_type: 'ephemeral' });
    expect(answer.body).toContain('Only deployers can run commands that change the screens.');
    await bot.bot.slack.settled();
    nothingRan();
  });

  it('runs a signed status request and answers the requester privately', async () => {
    const body = fake.slashCommandBody({ user: VICTOR, channel: CHANNEL, text: `status ${A}` });
    const answer = await fake.postSignedEvent(url, body, { secret: FAKE_TOKENS.signingSecret });
    expect(answer.status).toBe(200);
    expect(answer.latencyMs).toBeLessThan(3000);
    await fake.until(() => fake.ephemerals({ user: VICTOR }).length === 1, { what: 'the status reply' });
    const reply = fake.ephemerals({ user: VICTOR })[0]!;
    expect(reply.via).toBe('response_url');
    expect(reply.text).toBe('Status of 1 host: 0 unreachable, 1 not in sync');
    expect(JSON.stringify(reply.blocks)).toContain(`*${A}*`);
  });

  it('runs a signed request once, and refuses the byte-identical request sent again with 401', async () => {
    const body = fake.slashCommandBody({ user: ALICE, channel: CHANNEL, text: `restart ${A} --yes` });
    const ts = Math.floor(Date.now() / 1000);
    const first = await fake.postSignedEvent(url, body, { secret: FAKE_TOKENS.signingSecret, ts });
    expect(first.status).toBe(200);
    const replay = await fake.postSignedEvent(url, body, { secret: FAKE_TOKENS.signingSecret, ts });
    expect(replay.status).toBe(401);
    await fake.until(
      () =>
        bot.bot.composed.store
          .recentRuns({ limit: 10 })
          .some((r) => r.verb === 'restart' && r.status !== 'running'),
      { timeoutMs: 60_000, what: 'the restart to finish' },
    );
    const restarted = bot.bot.composed.store.recentRuns({ limit: 10 }).find((r) => r.verb === 'restart')!;
    expectStoredRun(bot.bot.composed.store, restarted.id, 'ok');
    await bot.bot.slack.settled();
    // The screen was restarted once, as the office's own log shows.
    expect(await office.systemctlLog(A)).toEqual(['restart display-manager.service']);
    expect(bot.bot.composed.store.recentRuns({ limit: 10 }).filter((r) => r.verb === 'restart')).toHaveLength(
      1,
    );
    expect(bot.log.text()).toContain('HTTP request refused: replay of a request already taken');
  });

  it('listens on the configured address (loopback by default)', () => {
    expect(bot.log.text()).toMatch(/listening for HTTP on 127\.0\.0\.1 port \d+/);
  });
});
