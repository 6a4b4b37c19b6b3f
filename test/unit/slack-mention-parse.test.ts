import { describe, expect, it } from 'vitest';
import { parseMention } from '../../src/slack/mention-parse.ts';

const BOT = 'UBOT0SIGN';
const read = (text: string, verbs?: readonly string[]) => parseMention(text, { botUserId: BOT, verbs });

function request(verb: string, tokens: string[]) {
  return { kind: 'request', verb, tokens };
}

describe('parseMention', () => {
  it.each([
    [`<@${BOT}> status baard-entrance`, request('status', ['baard-entrance'])],
    [`<@${BOT}> status`, request('status', [])],
    [`<@${BOT}> Status baard-entrance lobby-1`, request('status', ['baard-entrance', 'lobby-1'])],
    [`<@${BOT}> what is running on baard-entrance`, request('status', ['baard-entrance'])],
    [`<@${BOT}> what's running on baard-entrance?`, request('status', ['baard-entrance'])],
    [`<@${BOT}> is baard-entrance ok?`, request('status', ['baard-entrance'])],
    [`<@${BOT}> are lobby-1 and lobby-2 up?`, request('status', ['lobby-1', 'lobby-2'])],
    [`<@${BOT}> is everything ok?`, request('status', [])],
    [`<@${BOT}> how is baard-entrance doing`, request('status', ['baard-entrance'])],
    [`<@${BOT}> status of @lobby`, request('status', ['@lobby'])],
    [`<@${BOT}> status of <!subteam^S0LOBBY|@lobby>`, request('status', ['@lobby'])],
    [
      `<@${BOT}> please status <http://baard-entrance.local|baard-entrance.local>`,
      request('status', ['baard-entrance.local']),
    ],
    [`<@${BOT}> hosts`, request('hosts', [])],
    [`<@${BOT}> which screens are there?`, request('hosts', [])],
    [`hey <@${BOT}>, status baard-entrance`, request('status', ['baard-entrance'])],
  ])('%s', (text, expected) => {
    expect(read(text)).toEqual(expected);
  });

  it('reads "show HOST" as the show verb, and "show me" as politeness', () => {
    const verbs = ['status', 'hosts', 'show', 'help'];
    expect(read(`<@${BOT}> show baard-entrance`, verbs)).toEqual(request('show', ['baard-entrance']));
    expect(read(`<@${BOT}> please show baard-entrance`, verbs)).toEqual(request('show', ['baard-entrance']));
    expect(read(`<@${BOT}> show me status of baard-entrance`, verbs)).toEqual(
      request('status', ['baard-entrance']),
    );
    expect(read(`<@${BOT}> show status`, verbs)).toEqual(request('status', []));
  });

  it('answers help and an empty mention with what it understands', () => {
    for (const text of [`<@${BOT}>`, `<@${BOT}> help`]) {
      const parsed = read(text);
      expect(parsed.kind).toBe('reply');
      if (parsed.kind === 'reply') {
        expect(parsed.message.text).toMatch(/^I answer questions about the screens/);
        expect(parsed.message.text).toContain('`@signage status baard-entrance`');
      }
    }
  });

  it('says what it did not understand, escaped', () => {
    const parsed = read(`<@${BOT}> make <@U123> a <b>coffee</b>`);
    expect(parsed.kind).toBe('reply');
    if (parsed.kind === 'reply')
      expect(parsed.message.text).toContain('I did not understand “make  a &lt;b&gt;coffee&lt;/b&gt;”');
  });

  it('reads only the verbs it is given (status, hosts, help by default)', () => {
    expect(read(`<@${BOT}> deploy baard-entrance`).kind).toBe('reply');
    expect(read(`<@${BOT}> deploy baard-entrance`, ['status', 'hosts', 'deploy'])).toEqual(
      request('deploy', ['baard-entrance']),
    );
    expect(read(`<@${BOT}> hosts`, ['status']).kind).toBe('reply');
  });

  it('drops a leading mention when the bot user is not known', () => {
    expect(parseMention('<@USOMEBOT> status lobby-1')).toEqual(request('status', ['lobby-1']));
  });
});
