// HTTP mode: the real Bolt app listening on /slack/events, with Slack's request signatures checked. A
// request signed with the wrong secret, or signed six minutes ago, is refused before any handler runs.
import { afterEach, describe, expect, it } from 'vitest';
import { createSlackApp, SlackStartError } from '../../src/slack/app.ts';
import { registerSlashCommand } from '../../src/slack/commands.ts';
import {
  appOptionsFor,
  captureLog,
  FAKE_TOKENS,
  type Harness,
  startHarness,
} from '../support/fake-slack/index.ts';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

async function start(ran: string[]) {
  harness = await startHarness({
    mode: 'http',
    register: (app) =>
      registerSlashCommand(app, {
        refuse: (text) => (text.startsWith('forbidden') ? { text: 'Not that.' } : undefined),
        onCommand: async (text, ctx) => {
          ran.push(text);
          await ctx.ephemeral({ text: `ran ${text}` });
        },
      }),
  });
  const url = harness.eventsUrl;
  if (url === undefined) throw new Error('HTTP mode reported no port');
  return { h: harness, url };
}

describe('HTTP mode', () => {
  it('runs a correctly signed slash command, acknowledging with 200 before the work', async () => {
    const ran: string[] = [];
    const { h, url } = await start(ran);
    expect(h.fake.calls('apps.connections.open')).toEqual([]);
    const body = h.fake.slashCommandBody({
      user: 'UALICE',
      channel: 'COFFICE',
      text: 'status baard-entrance',
    });
    const answer = await h.fake.postSignedEvent(url, body, { secret: FAKE_TOKENS.signingSecret });
    expect(answer.status).toBe(200);
    await h.fake.until(() => h.fake.ephemerals().length === 1);
    expect(ran).toEqual(['status baard-entrance']);
    expect(h.fake.ephemerals()[0]).toMatchObject({
      user: 'UALICE',
      via: 'response_url',
      text: 'ran status baard-entrance',
    });
  });

  it('answers a refusal in the response body itself', async () => {
    const ran: string[] = [];
    const { h, url } = await start(ran);
    const body = h.fake.slashCommandBody({ user: 'UALICE', channel: 'COFFICE', text: 'forbidden thing' });
    const answer = await h.fake.postSignedEvent(url, body, { secret: FAKE_TOKENS.signingSecret });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ response_type: 'ephemeral', text: 'Not that.' });
    expect(ran).toEqual([]);
  });

  it('refuses a bad signature with 401 and runs nothing', async () => {
    const ran: string[] = [];
    const { h, url } = await start(ran);
    const body = h.fake.slashCommandBody({ user: 'UALICE', channel: 'COFFICE', text: 'deploy all' });
    const answer = await h.fake.postSignedEvent(url, body, {
      secret: FAKE_TOKENS.signingSecret,
      badSignature: true,
    });
    expect(answer.status).toBe(401);
    await new Promise((r) => setTimeout(r, 200));
    expect(ran).toEqual([]);
    expect(h.fake.responses()).toEqual([]);
  });

  it('refuses a request signed six minutes ago with 401 (a replay)', async () => {
    const ran: string[] = [];
    const { h, url } = await start(ran);
    const body = h.fake.slashCommandBody({ user: 'UALICE', channel: 'COFFICE', text: 'deploy all' });
    const sixMinutesAgo = Math.floor(Date.now() / 1000) - 6 * 60;
    const answer = await h.fake.postSignedEvent(url, body, {
      secret: FAKE_TOKENS.signingSecret,
      ts: sixMinutesAgo,
    });
    expect(answer.status).toBe(401);
    await new Promise((r) => setTimeout(r, 200));
    expect(ran).toEqual([]);
  });

  it('says so when the port is taken', async () => {
    const { h, url } = await start([]);
    const port = Number(new URL(url).port);
    const second = createSlackApp({ ...appOptionsFor(h.fake, captureLog(), 'http'), port });
    const error = await second.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    await second.stop();
    expect(error).toBeInstanceOf(SlackStartError);
    expect((error as SlackStartError).kind).toBe('port-in-use');
    expect((error as Error).message).toBe(`Port ${port} is already in use; set slack.port to a free port.`);
  });

  it('stops listening when stopped', async () => {
    const { h, url } = await start([]);
    await h.app.stop();
    await expect(fetch(url, { method: 'POST', body: '' })).rejects.toThrow();
  });
});
