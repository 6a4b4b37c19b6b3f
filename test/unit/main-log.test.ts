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

  it('knows its levels', () => {
    expect(['debug', 'info', 'warn', 'error'].every(isLogLevel)).toBe(true);
    expect(isLogLevel('verbose')).toBe(false);
  });
});
