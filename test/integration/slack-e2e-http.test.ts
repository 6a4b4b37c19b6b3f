// The whole bot in HTTP mode: Slack's signature is checked before anything runs. A request signed with
// the wrong secret, or signed more than five minutes ago (a replay), gets 401 and reaches no host; a properly
// signed one is answered within Slack's three seconds and then runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { FAKE_TOKENS, FakeSlack } from '../support/fake-slack/index.ts';
import {
  ALICE,
  CHANNEL,
  FAKE_DIRECTORY,
  type SlackOffice,
  startSlackOffice,
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
    office = await startOffice({ hosts: [A], scale: 0.1 });
    fake = await FakeSlack.start(FAKE_DIRECTORY);
    bot = await startSlackOffice(office, fake, { mode: 'http' });
    expect(bot.bot.port).toBeGreaterThan(0);
    url = `http://127.0.0.1:${bot.bot.port}/slack/events`;
  });
  afterAll(async () => {
    await bot?.stop();
    await fake?.stop();
    await office?.close();
  });

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
});
