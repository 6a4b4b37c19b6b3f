// The fake Slack itself, driven without Bolt: the tests of the bot are only as good as the fake's
// faithfulness on the points the bot depends on.

import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { FAKE_TOKENS, FakeSlack } from '../support/fake-slack/index.ts';

let fake: FakeSlack | undefined;
afterEach(async () => {
  await fake?.stop();
  fake = undefined;
});

async function api(
  f: FakeSlack,
  method: string,
  body: Record<string, unknown>,
  opts: { json?: boolean; token?: string } = {},
) {
  const token = opts.token ?? FAKE_TOKENS.bot;
  const response = await fetch(`${f.apiUrl}${method}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': opts.json ? 'application/json; charset=utf-8' : 'application/x-www-form-urlencoded',
    },
    body: opts.json
      ? JSON.stringify(body)
      : new URLSearchParams(
          Object.entries(body).map(([k, v]): [string, string] => [
            k,
            typeof v === 'string' ? v : JSON.stringify(v),
          ]),
        ).toString(),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function connect(url: string): Promise<{ ws: WebSocket; first: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('message', (data) => resolve({ ws, first: JSON.parse(String(data)) as Record<string, unknown> }));
    ws.once('error', reject);
  });
}

describe('fake Slack', () => {
  it('takes form and JSON bodies, checks the token, and answers unknown methods as Slack does', async () => {
    fake = await FakeSlack.start();
    const form = await api(fake, 'chat.postMessage', {
      channel: 'C1',
      text: 'form',
      blocks: [{ type: 'divider' }],
    });
    expect(form.body).toMatchObject({ ok: true, channel: 'C1' });
    const json = await api(fake, 'chat.postMessage', { channel: 'C1', text: 'json' }, { json: true });
    expect(json.body.ok).toBe(true);
    expect(fake.messages('C1').map((m) => m.text)).toEqual(['form', 'json']);
    expect(fake.messages('C1')[0]?.blocks).toEqual([{ type: 'divider' }]);
    expect((await api(fake, 'auth.test', {}, { token: 'xoxb-wrong' })).body).toEqual({
      ok: false,
      error: 'invalid_auth',
    });
    const unknown = await api(fake, 'admin.everything.delete', {});
    expect(unknown).toEqual({ status: 200, body: { ok: false, error: 'unknown_method' } });
    // The recorded call keeps the token out of its arguments.
    expect(fake.calls('chat.postMessage')[0]?.token).toBe(FAKE_TOKENS.bot);
  });

  it('keeps a message as it stands after updates, and refuses blocks beyond the limits', async () => {
    fake = await FakeSlack.start();
    const posted = await api(fake, 'chat.postMessage', { channel: 'C1', text: 'one' });
    const ts = posted.body.ts as string;
    await api(fake, 'chat.update', { channel: 'C1', ts, text: 'two' });
    expect(fake.message('C1', ts)?.text).toBe('two');
    const tooMany = Array.from({ length: 51 }, () => ({ type: 'divider' }));
    const refused = await api(fake, 'chat.update', { channel: 'C1', ts, text: 'x', blocks: tooMany });
    expect(refused.body).toMatchObject({ ok: false, error: 'invalid_blocks' });
    const longSection = [{ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3001) } }];
    expect(
      (await api(fake, 'chat.postMessage', { channel: 'C1', text: 'x', blocks: longSection })).body.error,
    ).toBe('invalid_blocks');
    expect(fake.message('C1', ts)?.text).toBe('two');
    expect(fake.violations).toHaveLength(2);
  });

  it('lets a response URL be used five times', async () => {
    fake = await FakeSlack.start();
    const url = fake.responseUrlFor({ user: 'U1', channel: 'C1' });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await fetch(url, { method: 'POST', body: JSON.stringify({ text: `r${i}` }) });
      statuses.push(r.status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 404]);
    expect(fake.ephemerals().map((e) => e.text)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
  });

  it('says hello on connect, sends envelopes, and records a late acknowledgement as a violation', async () => {
    fake = await FakeSlack.start();
    const opened = await api(fake, 'apps.connections.open', {}, { token: FAKE_TOKENS.app });
    const { ws, first } = await connect(opened.body.url as string);
    expect(first.type).toBe('hello');
    ws.on('message', (data) => {
      const envelope = JSON.parse(String(data)) as { envelope_id?: string; type: string };
      if (envelope.envelope_id === undefined) return;
      // Acknowledges a little too late.
      setTimeout(() => ws.send(JSON.stringify({ envelope_id: envelope.envelope_id })), 3200);
    });
    const result = await fake.sendSlashCommand({ user: 'U1', channel: 'C1', text: 'status' });
    expect(result.latencyMs).toBeGreaterThan(3000);
    expect(fake.violations).toEqual([expect.stringMatching(/^late ack: slash_commands/)]);
    const closed = new Promise((r) => ws.once('message', (d) => r(JSON.parse(String(d)))));
    fake.disconnect();
    expect(await closed).toMatchObject({ type: 'disconnect', reason: 'refresh_requested' });
    ws.close();
  });

  it('refuses a socket without a ticket from apps.connections.open, and the bot token for it', async () => {
    fake = await FakeSlack.start();
    await expect(connect(`ws://127.0.0.1:${fake.port}/link/?ticket=made-up`)).rejects.toThrow(/401/);
    expect((await api(fake, 'apps.connections.open', {})).body.error).toBe('not_allowed_token_type');
  });

  it('refuses to click a button that is not there', async () => {
    fake = await FakeSlack.start();
    const posted = await api(fake, 'chat.postMessage', { channel: 'C1', text: 'no buttons' });
    await expect(
      fake.clickButton({ user: 'U1', channel: 'C1', ts: posted.body.ts as string, actionId: 'a' }),
    ).rejects.toThrow(/no button a/);
  });

  it('answers 429 with Retry-After when told to', async () => {
    fake = await FakeSlack.start();
    fake.rateLimitNext('chat.postMessage', 7);
    const response = await fetch(`${fake.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${FAKE_TOKENS.bot}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'channel=C1&text=hi',
    });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('7');
    expect((await api(fake, 'chat.postMessage', { channel: 'C1', text: 'hi' })).body.ok).toBe(true);
  });

  it('answers user groups and users', async () => {
    fake = await FakeSlack.start({
      usergroups: { S0OPS: ['U1', 'U2'] },
      users: [{ id: 'U1', name: 'alice' }],
    });
    expect((await api(fake, 'usergroups.users.list', { usergroup: 'S0OPS' })).body.users).toEqual([
      'U1',
      'U2',
    ]);
    expect((await api(fake, 'usergroups.users.list', { usergroup: 'S0NONE' })).body.error).toBe(
      'no_such_subteam',
    );
    expect((await api(fake, 'users.info', { user: 'U1' })).body.user).toMatchObject({
      id: 'U1',
      name: 'alice',
    });
  });
});
