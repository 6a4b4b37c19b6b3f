// Connections to real hosts in the simulated office: shared and reused, closed when idle, lost when a host
// dies or its cable is pulled, refused or unanswered when it is down, logged into with an agent or a key
// file, and never forwarding the agent, so that no host can use the bot's key.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostError } from '../../src/adapters/ssh/errors.ts';
import { createSshHosts, type SshHosts } from '../../src/adapters/ssh/hosts.ts';
import type { SshSettingsInput } from '../../src/adapters/ssh/settings.ts';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { eventually, hostSpec, officeSettings, onHostOk } from '../support/ssh-office.ts';

const TMP_PREFIX = join(tmpdir(), 'signage-ssh-conn-');

describe.skipIf(officeUnavailable() !== null)('SSH connections to real hosts', () => {
  let office: Office;
  let tmp = '';
  const opened: SshHosts[] = [];
  const adapter = (overrides: Partial<SshSettingsInput> = {}, base?: SshSettingsInput) => {
    const hosts = createSshHosts({ ...(base ?? officeSettings(office)), ...overrides });
    opened.push(hosts);
    return hosts;
  };
  const failureOf = (e: unknown) => (e as HostError).failure;

  beforeAll(async () => {
    office = await startOffice({ hosts: ['pool', 'crash', 'wire', 'peer-a', 'peer-b'] });
    tmp = mkdtempSync(TMP_PREFIX);
  });

  afterAll(async () => {
    for (const h of opened) await h.closeAll();
    await office?.close();
    if (tmp.startsWith(TMP_PREFIX)) rmSync(tmp, { recursive: true, force: true });
  });

  it('runs 24 commands at once over one TCP connection, 8 at a time, the rest waiting their turn', async () => {
    const hosts = adapter();
    const conn = hosts.connection(hostSpec(office, 'pool'));
    // Each command waits until 8 have entered: only 8 running side by side get past it. Each also counts
    // how many run as it starts: never more than 8.
    const script = [
      'd=/run/pool; mkdir -p $d/entered $d/running; touch $d/entered/$$ $d/running/$$',
      'n=$(ls $d/running | wc -l); i=0',
      'while [ "$(ls $d/entered | wc -l)" -lt 8 ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done',
      'echo "$SSH_CLIENT|$n|$i"; rm $d/running/$$',
    ].join('\n');
    const results = await Promise.all(Array.from({ length: 24 }, () => conn.exec(['sh', '-c', script])));
    const rows = results.map((r) => r.stdout.trim().split('|'));
    // SSH_CLIENT is "address port 22": one source port means one TCP connection.
    expect(new Set(rows.map(([client]) => client)).size).toBe(1);
    expect(Math.max(...rows.map(([, n]) => Number(n)))).toBeLessThanOrEqual(8);
    expect(rows.every(([, , i]) => Number(i) < 1200)).toBe(true);
    expect(hosts.stats()).toEqual({ connectionsOpened: 1, channelsOpened: 24, open: 1 });
  });

  it('closes a connection left idle and opens a new one when needed', async () => {
    const hosts = adapter({ idleCloseMs: 300 });
    const conn = hosts.connection(hostSpec(office, 'pool'));
    const first = (await conn.exec(['sh', '-c', 'echo $SSH_CLIENT'])).stdout;
    await eventually(() => hosts.stats().open === 0, 'the idle connection is closed');
    // The host agrees: no SSH connection from the builder is established any more.
    await eventually(async () => {
      const ss = await onHostOk(office, 'pool', ['ss', '-Htn', 'state', 'established', '( sport = :22 )']);
      return !ss.includes(first.split(' ')[1] ?? '-');
    }, 'the host sees the connection closed');
    const second = (await conn.exec(['sh', '-c', 'echo $SSH_CLIENT'])).stdout;
    expect(second).not.toBe(first);
    expect(hosts.stats()).toMatchObject({ connectionsOpened: 2, open: 1 });
  });

  it('reports ConnectionLost when the host dies under a command, and reconnects once it is back', async () => {
    const hosts = adapter();
    const conn = hosts.connection(hostSpec(office, 'crash'));
    const error = await conn
      .exec(['sh', '-c', 'echo started; exec sleep 600'], {
        onStdout: (line) => {
          if (line === 'started') void office.crashHost('crash');
        },
      })
      .catch((e: unknown) => e);
    expect(failureOf(error)).toMatchObject({ kind: 'ConnectionLost', host: 'crash' });
    expect(failureOf(error).message).toContain('sh -c');
    await office.startHost('crash');
    expect((await conn.exec(['echo', 'back'])).stdout).toBe('back\n');
    expect(hosts.stats().connectionsOpened).toBe(2);
  });

  it('notices through keepalives that a host was unplugged in the middle of a command', async () => {
    const hosts = adapter({ keepaliveIntervalMs: 300, keepaliveCountMax: 2 });
    const conn = hosts.connection(hostSpec(office, 'wire'));
    try {
      const error = await conn
        .exec(['sh', '-c', 'echo $$ > /run/ka.pid; echo started; exec sleep 600'], {
          onStdout: (line) => {
            if (line === 'started') void office.unplugHost('wire');
          },
        })
        .catch((e: unknown) => e);
      expect(failureOf(error)).toMatchObject({ kind: 'ConnectionLost', host: 'wire' });
      expect(failureOf(error).message).toMatch(/keepalive/);
    } finally {
      await office.plugHost('wire');
      await office.onHost('wire', ['sh', '-c', 'kill "$(cat /run/ka.pid)"']);
    }
  });

  it('reports an unplugged host as unreachable once the connect timeout has passed', async () => {
    const hosts = adapter({ connectTimeoutMs: 3000 });
    await office.unplugHost('wire');
    try {
      // More commands than sessions: those queued fail with the same attempt rather than wait for another.
      const conn = hosts.connection(hostSpec(office, 'wire'));
      const errors = await Promise.all(
        Array.from({ length: 12 }, () => conn.exec(['touch', '/run/ran']).catch((e: unknown) => e)),
      );
      for (const error of errors) {
        expect(failureOf(error)).toMatchObject({
          kind: 'HostUnreachable',
          reason: 'timeout',
          timeoutMs: 3000,
        });
      }
      expect(failureOf(errors[0]).message).toContain('wire');
      expect(failureOf(errors[0]).hint).not.toBe('');
    } finally {
      await office.plugHost('wire');
    }
    expect(hosts.stats()).toMatchObject({ connectionsOpened: 0, channelsOpened: 0 });
    expect((await office.onHost('wire', ['ls', '/run/ran'])).exitCode).not.toBe(0);
  });

  it('reports a host whose sshd is stopped as refusing connections', async () => {
    const hosts = adapter();
    await office.stopHost('crash');
    try {
      const error = await hosts
        .connection(hostSpec(office, 'crash'))
        .probe()
        .catch((e: unknown) => e);
      expect(failureOf(error)).toMatchObject({ kind: 'HostUnreachable', reason: 'refused', host: 'crash' });
    } finally {
      await office.startHost('crash');
    }
  });

  it('logs in with an identity file alone, with or without a passphrase', async () => {
    const plain = adapter({}, { knownHostsFile: office.knownHostsFile, identityFile: office.sshKeyFile });
    expect((await plain.connection(hostSpec(office, 'pool')).exec(['id', '-u'])).stdout).toBe('0\n');

    const locked = join(tmp, 'locked_key');
    copyFileSync(office.sshKeyFile, locked);
    execFileSync('ssh-keygen', ['-q', '-p', '-P', '', '-N', 'open sesame', '-f', locked]);
    const withPassphrase = adapter(
      {},
      { knownHostsFile: office.knownHostsFile, identityFile: locked, identityPassphrase: 'open sesame' },
    );
    expect((await withPassphrase.connection(hostSpec(office, 'pool')).exec(['id', '-u'])).stdout).toBe('0\n');

    const wrong = adapter(
      {},
      { knownHostsFile: office.knownHostsFile, identityFile: locked, identityPassphrase: 'wrong-xyzzy' },
    );
    const error = await wrong
      .connection(hostSpec(office, 'pool'))
      .exec(['true'])
      .catch((e: unknown) => e);
    expect(failureOf(error)).toMatchObject({ kind: 'AuthFailed', user: 'root' });
    // A secret never reaches a message.
    expect(JSON.stringify(failureOf(error))).not.toContain('wrong-xyzzy');
  });

  it('reports AuthFailed for a key the host does not accept', async () => {
    const stranger = join(tmp, 'stranger');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger]);
    const hosts = adapter({}, { knownHostsFile: office.knownHostsFile, identityFile: stranger });
    const error = await hosts
      .connection(hostSpec(office, 'pool'))
      .exec(['true'])
      .catch((e: unknown) => e);
    expect(failureOf(error)).toMatchObject({ kind: 'AuthFailed', host: 'pool', user: 'root' });
    expect(failureOf(error).hint).toContain('authorized_keys');
  });

  describe('no agent forwarding', () => {
    const reachB = (bAddress: string) => [
      'ssh',
      '-o',
      'UserKnownHostsFile=/run/peer_known_hosts',
      '-o',
      'GlobalKnownHostsFile=/dev/null',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
      `root@${bAddress}`,
      'cat',
      '/run/marker',
    ];

    beforeAll(async () => {
      const b = office.host('peer-b');
      const bLine = readFileSync(office.knownHostsFile, 'utf8')
        .split('\n')
        .find((l) => l.startsWith(`${b.address} `));
      if (!bLine) throw new Error('peer-b is missing from the office known_hosts');
      await onHostOk(office, 'peer-a', ['sh', '-c', 'cat > /run/peer_known_hosts'], `${bLine}\n`);
      await onHostOk(office, 'peer-b', ['sh', '-c', 'echo peer-b-marker > /run/marker']);
      // A's sshd would forward an agent here if one were asked for (office hosts refuse, as screens should),
      // so what follows shows that the adapter never asks.
      const config = join(office.host('peer-a').dir, 'etc', 'sshd_config');
      const text = readFileSync(config, 'utf8');
      if (!text.includes('AllowAgentForwarding no\n')) throw new Error('peer-a refuses no agent forwarding');
      writeFileSync(config, text.replace('AllowAgentForwarding no\n', 'AllowAgentForwarding yes\n'));
      await office.stopHost('peer-a');
      await office.startHost('peer-a');
    });

    it('never forwards the bot’s agent, even to a host that would take it: A cannot use the bot’s key', async () => {
      // The control: plain `ssh -A` with the same agent does get a forwarded agent on A.
      const a = office.host('peer-a');
      const forwarded = execFileSync(
        'ssh',
        ['-A', ...office.sshOptions, `root@${a.address}`, 'echo "$SSH_AUTH_SOCK."'],
        { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SSH_AUTH_SOCK: office.agentSocket } },
      ).toString();
      expect(forwarded).toMatch(/^\/tmp\/ssh-.+\.\n$/);

      const hosts = adapter();
      const conn = hosts.connection(hostSpec(office, 'peer-a'));
      expect((await conn.exec(['sh', '-c', 'echo "$SSH_AUTH_SOCK."'])).stdout).toBe('.\n');
      const r = await conn.exec(reachB(office.host('peer-b').address));
      expect(r.exitCode).toBe(255);
      expect(r.stderr).toContain('Permission denied');
      // Nothing of the bot's key was written on A either.
      const stored = await onHostOk(office, 'peer-a', ['find', '/root', '-type', 'f']);
      expect(stored).not.toMatch(/id_|\.pem/);
    });
  });

  it('closeAll ends every connection', async () => {
    const hosts = adapter();
    await Promise.all(
      ['pool', 'crash', 'peer-a'].map((h) => hosts.connection(hostSpec(office, h)).exec(['true'])),
    );
    expect(hosts.stats().open).toBe(3);
    await hosts.closeAll();
    expect(hosts.stats().open).toBe(0);
    // A connection still being opened when closeAll comes is not left behind either.
    const late = hosts.connection(hostSpec(office, 'pool')).exec(['touch', '/run/late']);
    await hosts.closeAll();
    expect(failureOf(await late.catch((e: unknown) => e)).kind).toBe('CommandAborted');
    await eventually(() => hosts.stats().open === 0, 'no connection is left open');
    expect((await office.onHost('pool', ['ls', '/run/late'])).exitCode).not.toBe(0);
  });
});
