// The SSH settings: defaults as documented, and a bad value refused up front with the setting named.
import { describe, expect, it } from 'vitest';
import { parseSshSettings, SshSettingsError } from '../../src/adapters/ssh/settings.ts';

describe('parseSshSettings', () => {
  it('fills in the documented defaults', () => {
    expect(parseSshSettings({ knownHostsFile: '/etc/kh', agentSocket: '/run/agent' })).toEqual({
      knownHostsFile: '/etc/kh',
      agentSocket: '/run/agent',
      connectTimeoutMs: 10_000,
      keepaliveIntervalMs: 5_000,
      keepaliveCountMax: 3,
      idleCloseMs: 60_000,
      commandTimeoutMs: 30 * 60_000,
      maxSessionsPerConnection: 8,
      keepOutputBytes: 256 * 1024,
    });
  });

  it('needs an agent or an identity file', () => {
    expect(() => parseSshSettings({ knownHostsFile: '/etc/kh' })).toThrow(/agentSocket or identityFile/);
    expect(parseSshSettings({ knownHostsFile: '/etc/kh', identityFile: '/k' }).identityFile).toBe('/k');
  });

  it('names each bad setting, and never echoes a passphrase', () => {
    let error: unknown;
    try {
      parseSshSettings({
        knownHostsFile: '',
        agentSocket: '/a',
        connectTimeoutMs: -5,
        keepaliveIntervalMs: 1.5,
        maxSessionsPerConnection: 0,
        identityPassphrase: 42,
        extra: true,
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SshSettingsError);
    const problems = (error as SshSettingsError).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        'knownHostsFile: must name a file',
        'connectTimeoutMs: must be more than 0',
        'keepaliveIntervalMs: must be a whole number of milliseconds',
        'maxSessionsPerConnection: must be at least 1',
        expect.stringMatching(/^identityPassphrase: /),
        expect.stringMatching(/extra/),
      ]),
    );
    expect(() =>
      parseSshSettings({
        knownHostsFile: '/k',
        agentSocket: '/a',
        identityPassphrase: 'hunter2',
        idleCloseMs: 0,
      }),
    ).toThrow(/^(?!.*hunter2).*idleCloseMs/);
  });
});
