import { Console } from 'node:console';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { format, inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/adapters/config/parse.ts';
import { Secret } from '../../src/adapters/config/secret.ts';
import { loadSecrets } from '../../src/adapters/config/secrets.ts';

const PREFIX = join(tmpdir(), 'signage-secrets-test-');
const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) if (dir.startsWith(PREFIX)) rmSync(dir, { recursive: true, force: true });
});
function dir(): string {
  const d = mkdtempSync(PREFIX);
  made.push(d);
  return d;
}

const BOT = 'xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx';
const APP = 'xapp-1-A0123456789-1234567890123-0123456789abcdef0123456789abcdef';
const SIGNING = '8f742231b10e8888abcd99yyyzzz85a5';
const socket = { needSocket: true, needHttp: false };
const http = { needSocket: false, needHttp: true };

describe('Slack credentials', () => {
  it('come from the environment, only the ones the mode needs', async () => {
    const r = await loadSecrets(
      { SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: APP, SLACK_SIGNING_SECRET: SIGNING },
      socket,
    );
    if (!r.ok) throw new Error(r.message);
    expect(r.value.botToken.reveal()).toBe(BOT);
    expect(r.value.appToken?.reveal()).toBe(APP);
    expect(r.value.signingSecret).toBeUndefined();
  });

  it('come from files named by VARIABLE_FILE, without the trailing newline', async () => {
    const d = dir();
    writeFileSync(join(d, 'bot'), `${BOT}\n`);
    writeFileSync(join(d, 'signing'), `${SIGNING}\n`);
    const r = await loadSecrets(
      { SLACK_BOT_TOKEN_FILE: join(d, 'bot'), SLACK_SIGNING_SECRET_FILE: join(d, 'signing') },
      http,
    );
    if (!r.ok) throw new Error(r.message);
    expect(r.value.botToken.reveal()).toBe(BOT);
    expect(r.value.signingSecret?.reveal()).toBe(SIGNING);
    expect(r.value.appToken).toBeUndefined();
  });

  it("come from systemd's credentials directory, after the environment", async () => {
    const d = dir();
    writeFileSync(join(d, 'slack-bot-token'), 'xoxb-from-credentials');
    writeFileSync(join(d, 'slack-app-token'), APP);
    const r = await loadSecrets({ CREDENTIALS_DIRECTORY: d }, socket);
    if (!r.ok) throw new Error(r.message);
    expect(r.value.botToken.reveal()).toBe('xoxb-from-credentials');
    expect(r.value.appToken?.reveal()).toBe(APP);
    const preferred = await loadSecrets({ CREDENTIALS_DIRECTORY: d, SLACK_BOT_TOKEN: BOT }, socket);
    expect(preferred.ok && preferred.value.botToken.reveal()).toBe(BOT);
  });

  it('missing ones are listed together, with where to get them', async () => {
    const r = await loadSecrets({ CREDENTIALS_DIRECTORY: dir() }, socket);
    expect(r).toEqual({
      ok: false,
      message:
        'missing Slack credentials: SLACK_BOT_TOKEN, SLACK_APP_TOKEN. Give each as an environment variable, as a file named by SLACK_BOT_TOKEN_FILE and the like, or as a systemd credential (slack-bot-token, slack-app-token). The Slack app is created from manifest.yml; docs/slack.md says where to find each one.',
    });
    const h = await loadSecrets({ SLACK_BOT_TOKEN: BOT }, http);
    expect(h.ok ? '' : h.message).toMatch(/^missing Slack credentials: SLACK_SIGNING_SECRET\. /);
  });

  it('refuse a value of the wrong shape without ever showing it', async () => {
    const d = dir();
    writeFileSync(join(d, 'empty'), '\n');
    const cases: [Record<string, string>, string][] = [
      [
        { SLACK_BOT_TOKEN: APP, SLACK_APP_TOKEN: APP },
        '$SLACK_BOT_TOKEN holds the app-level token (connections:write) (xapp-…), where the Bot User OAuth Token (xoxb-…) belongs',
      ],
      [
        { SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: BOT },
        '$SLACK_APP_TOKEN holds the Bot User OAuth Token (xoxb-…), where the app-level token (connections:write) (xapp-…) belongs',
      ],
      [
        { SLACK_BOT_TOKEN: 'hunter2-not-a-token', SLACK_APP_TOKEN: APP },
        '$SLACK_BOT_TOKEN does not start with xoxb-; it should hold the Bot User OAuth Token',
      ],
      [
        { SLACK_BOT_TOKEN: `${BOT} ${BOT}`, SLACK_APP_TOKEN: APP },
        '$SLACK_BOT_TOKEN contains whitespace; it should hold only the Bot User OAuth Token',
      ],
      [
        { SLACK_BOT_TOKEN: BOT, SLACK_BOT_TOKEN_FILE: join(d, 'x'), SLACK_APP_TOKEN: APP },
        'set SLACK_BOT_TOKEN or SLACK_BOT_TOKEN_FILE, not both',
      ],
      [
        { SLACK_BOT_TOKEN_FILE: join(d, 'absent'), SLACK_APP_TOKEN: APP },
        `${join(d, 'absent')} (named by $SLACK_BOT_TOKEN_FILE) does not exist`,
      ],
      [
        { SLACK_BOT_TOKEN_FILE: join(d, 'empty'), SLACK_APP_TOKEN: APP },
        `${join(d, 'empty')} (named by $SLACK_BOT_TOKEN_FILE) is empty; it should hold the Bot User OAuth Token`,
      ],
    ];
    for (const [env, message] of cases) {
      const r = await loadSecrets(env, socket);
      expect(r).toEqual({ ok: false, message });
      for (const value of [BOT, APP, 'hunter2']) expect(message).not.toContain(value);
    }
  });

  it('several problems are reported together, one per line', async () => {
    const r = await loadSecrets({ SLACK_BOT_TOKEN: 'nope' }, socket);
    expect(r.ok ? [] : r.message.split('\n')).toEqual([
      expect.stringMatching(/^missing Slack credentials: SLACK_APP_TOKEN\. /),
      '$SLACK_BOT_TOKEN does not start with xoxb-; it should hold the Bot User OAuth Token',
    ]);
  });
});

describe('a secret', () => {
  it('never shows in console.log, util.inspect, JSON or a string, even beside the configuration', async () => {
    const r = await loadSecrets({ SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: APP }, socket);
    if (!r.ok) throw new Error(r.message);
    const parsed = parseConfig(
      'flake: ./fleet\nstateDir: /s\nbuilder: {signingKeyFile: /k}\nssh: {knownHostsFile: /kh, identityFile: /i}\n',
      'signage.yml',
      { SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: APP },
    );
    if (!parsed.ok) throw new Error('config');
    const everything = { config: parsed.value, secrets: r.value, list: [r.value.botToken] };

    let logged = '';
    const sink = new Writable({
      write(chunk, _enc, done) {
        logged += String(chunk);
        done();
      },
    });
    const console = new Console({ stdout: sink, stderr: sink });
    console.log(everything);
    console.log('%s %o %O %j', r.value.botToken, r.value.appToken, everything, everything);
    console.dir(everything, { showHidden: true, depth: null });
    console.error(r.value.botToken);

    const shown = [
      logged,
      inspect(everything, { showHidden: true, depth: null, getters: true }),
      inspect(r.value.botToken, { showHidden: true, customInspect: false }),
      JSON.stringify(everything),
      `${r.value.botToken}`,
      String(r.value.appToken),
      // biome-ignore lint/style/useTemplate: string concatenation is what is being checked
      '' + r.value.botToken,
      format('%s', r.value.botToken),
      Object.keys(r.value.botToken).join(','),
    ];
    for (const text of shown) {
      expect(text).not.toContain(BOT);
      expect(text).not.toContain(APP);
      expect(text).not.toContain('AbCdEf');
    }
    expect(logged).toContain('[redacted]');
    expect(JSON.stringify(r.value)).toBe('{"botToken":"[redacted]","appToken":"[redacted]"}');
    expect(new Secret('s3cr3t').reveal()).toBe('s3cr3t');
  });
});
