// The bot's log: one line per event with a time and a level, lines below the level dropped, and a message's
// own line breaks kept inside its line.
import { describe, expect, it } from 'vitest';
import { isLogLevel, lineLogger } from '../../src/main/log.ts';

describe('lineLogger', () => {
  const at = () => new Date('2026-03-04T10:00:00.000Z');

  it('writes one line per event with its time and level, dropping lines below the level', () => {
    const lines: string[] = [];
    const log = lineLogger((l) => lines.push(l), 'info', at);
    log.debug('not shown');
    log.info('slack: connected', 3, { hosts: 2 });
    log.error('could not start:\nsecond line');
    expect(lines).toEqual([
      '2026-03-04T10:00:00.000Z INFO  slack: connected 3 { hosts: 2 }\n',
      '2026-03-04T10:00:00.000Z ERROR could not start:\\nsecond line\n',
    ]);
  });

  it('keeps an error stack on its one line', () => {
    const lines: string[] = [];
    lineLogger((l) => lines.push(l), 'debug', at).warn('failed:', new Error('boom'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^2026-03-04T10:00:00.000Z WARN {2}failed: Error: boom\\n {4}at /);
    expect(lines[0]!.slice(0, -1)).not.toContain('\n');
  });

  it('never writes a Slack token, in a message or in an error and its stack', () => {
    const lines: string[] = [];
    const log = lineLogger((l) => lines.push(l), 'debug', at);
    // What bot.ts logs outside the Slack app: an unhandled rejection, a failure to start or to stop.
    const rejection = new Error('an API call failed: token=xoxb-1111-2222-aVeryRealLookingSecret');
    log.error('unhandled rejection:', rejection);
    log.error('could not start:', 'invalid_auth for xapp-1-A0FAKE-3333-anotherSecretValue');
    log.error('stopping failed:', { token: 'xoxp-4444-5555-userTokenSecretValue' });
    expect(lines).toHaveLength(3);
    const all = lines.join('');
    for (const secret of ['aVeryRealLookingSecret', 'anotherSecretValue', 'userTokenSecretValue'])
      expect(all).not.toContain(secret);
    expect(lines[0]).toContain('unhandled rejection: Error: an API call failed: token=[redacted]');
    expect(lines[1]).toContain('could not start: invalid_auth for [redacted]');
  });

  it('knows its levels', () => {
    expect(['debug', 'info', 'warn', 'error'].every(isLogLevel)).toBe(true);
    expect(isLogLevel('verbose')).toBe(false);
  });
});
