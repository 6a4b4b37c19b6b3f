// `npm start` as an operator meets it: `node src/main/bot.ts` as a child process. What it refuses to start
// with is said on stderr in one line per problem, naming what to fix, with exit status 2; no secret is
// printed, even a malformed one. And it runs against the fake Slack the way it runs against Slack: the
// configuration's slack.apiUrl is all that points it there.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { FAKE_TOKENS, FakeSlack } from '../support/fake-slack/index.ts';
import { CHANNEL, FAKE_DIRECTORY, slackOfficeConfig, VICTOR } from '../support/slack-office.ts';

const ROOT = join(import.meta.dirname, '..', '..');

function bot(args: string[], env: Record<string, string>, cwd = ROOT) {
  return execa(process.execPath, [join(ROOT, 'src', 'main', 'bot.ts'), ...args], {
    reject: false,
    stdin: 'ignore',
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    extendEnv: false,
    timeout: 30_000,
  });
}

const LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO |WARN |ERROR) /;

describe('node src/main/bot.ts', () => {
  let dir: string;
  let withSlack: string;
  let withoutSlack: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'signage-main-'));
    const base = [
      'flake: ./fleet',
      'stateDir: ./state',
      'builder: { signingKeyFile: ./key }',
      'ssh: { knownHostsFile: ./known_hosts, agentSocket: ./agent.sock }',
    ];
    withSlack = join(dir, 'signage.yml');
    writeFileSync(
      withSlack,
      [...base, 'slack:', '  channel: C0SIGNAGE', '  approvers: { users: [U0ALICE] }', ''].join('\n'),
    );
    withoutSlack = join(dir, 'terminal-only.yml');
    writeFileSync(withoutSlack, [...base, ''].join('\n'));
  });
  afterAll(() => {
    if (dir?.startsWith(join(tmpdir(), 'signage-main-'))) rmSync(dir, { recursive: true, force: true });
  });

  it('names the missing Slack tokens and where to get them, and exits 2', async () => {
    const out = await bot(['--config', withSlack], {});
    expect(out.exitCode).toBe(2);
    const lines = out.stderr.trim().split('\n');
    for (const line of lines) expect(line).toMatch(LINE);
    const error = lines.filter((l) => l.includes(' ERROR '));
    expect(error).toHaveLength(1);
    expect(error[0]).toContain('missing Slack credentials: SLACK_BOT_TOKEN, SLACK_APP_TOKEN');
    expect(error[0]).toContain('manifest.yml');
    expect(error[0]).toContain('docs/slack.md');
  });

  it('says which token is of the wrong kind without printing it', async () => {
    const out = await bot(['--config', withSlack], {
      SLACK_BOT_TOKEN: 'xapp-1-A0SECRET-9999-verySecretValue',
      SLACK_APP_TOKEN: 'xapp-1-A0SECRET-8888-otherSecretValue',
    });
    expect(out.exitCode).toBe(2);
    expect(out.stderr).toContain('SLACK_BOT_TOKEN');
    expect(out.stderr).not.toContain('verySecretValue');
    expect(out.stderr).not.toContain('otherSecretValue');
  });

  it('finds its configuration through $SIGNAGE_CONFIG, and refuses one without a slack section', async () => {
    const out = await bot([], { SIGNAGE_CONFIG: withoutSlack });
    expect(out.exitCode).toBe(2);
    expect(out.stderr).toContain(`${withoutSlack} has no slack section`);
  });

  it('defaults to ./signage.yml, and says so when there is none', async () => {
    const empty = mkdtempSync(join(dir, 'empty-'));
    const out = await bot([], {}, empty);
    expect(out.exitCode).toBe(2);
    expect(out.stderr).toContain('signage.yml: no such file');
  });

  it('refuses an unknown option with its usage', async () => {
    const out = await bot(['--verbose'], {});
    expect(out.exitCode).toBe(2);
    expect(out.stderr).toContain("Unknown option '--verbose'");
    expect(out.stderr).toContain('usage: node src/main/bot.ts [--config FILE]');
  });
});

// `npm start` itself against the fake Slack: nothing but its configuration file (slack.apiUrl) points it there.
describe.skipIf(officeUnavailable() !== null)('npm start against the fake Slack, on the office', () => {
  const HOST = 'baard-entrance';
  let office: Office;
  let fake: FakeSlack;

  beforeAll(async () => {
    office = await startOffice({ hosts: [HOST], scale: 0.1 });
    fake = await FakeSlack.start(FAKE_DIRECTORY);
  });
  afterAll(async () => {
    await fake?.stop();
    await office?.close();
  });

  it('connects through slack.apiUrl, answers a command, and stops on SIGTERM with status 0', async () => {
    const config = slackOfficeConfig(office, fake);
    try {
      const child = execa(process.execPath, [join(ROOT, 'src', 'main', 'bot.ts'), '--config', config.file], {
        reject: false,
        stdin: 'ignore',
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', ...config.env },
        extendEnv: false,
        timeout: 120_000,
      });
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
      });
      await fake.until(() => stderr.includes(' ready'), { timeoutMs: 60_000, what: 'the bot to be ready' });
      expect(stderr).toContain('connected in Socket Mode');

      const sent = await fake.sendSlashCommand({ user: VICTOR, channel: CHANNEL, text: `status ${HOST}` });
      expect(sent.latencyMs).toBeLessThan(3000);
      await fake.until(() => fake.ephemerals({ user: VICTOR }).length === 1, {
        timeoutMs: 30_000,
        what: 'the status reply',
      });
      expect(fake.ephemerals({ user: VICTOR })[0]!.text).toMatch(/^Status of 1 host/);

      child.kill('SIGTERM');
      const out = await child;
      expect(out.exitCode).toBe(0);
      expect(stderr).toContain('stopped');
      expect(stderr).not.toContain(FAKE_TOKENS.bot);
    } finally {
      config.cleanup();
    }
  }, 180_000);
});
