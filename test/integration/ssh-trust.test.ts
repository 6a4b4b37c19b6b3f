// Host keys against real sshd: a changed key, an unknown host, a revoked key or a key of another type is
// refused during the key exchange, before anything runs, with the fingerprints a person needs to decide.
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostError } from '../../src/adapters/ssh/errors.ts';
import { createSshHosts, type SshHosts } from '../../src/adapters/ssh/hosts.ts';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { hostSpec, officeSettings } from '../support/ssh-office.ts';

const TMP_PREFIX = join(tmpdir(), 'signage-ssh-trust-');

describe.skipIf(officeUnavailable() !== null)('SSH host keys against real hosts', () => {
  let office: Office;
  let tmp = '';
  const opened: SshHosts[] = [];
  const adapter = (knownHostsFile: string) => {
    const hosts = createSshHosts(officeSettings(office, { knownHostsFile }));
    opened.push(hosts);
    return hosts;
  };
  const failureOf = (e: unknown) => (e as HostError).failure;
  /** The host's current key fingerprint, as ssh-keygen reads it from the host's own key file. */
  const hostFingerprint = (name: string) => {
    const out = execFileSync('ssh-keygen', [
      '-l',
      '-f',
      join(office.host(name).dir, 'etc', 'ssh', 'ssh_host_ed25519_key.pub'),
    ]);
    return `ssh-ed25519 ${out.toString().split(' ')[1]}`;
  };
  const officeLine = (name: string) => {
    const line = readFileSync(office.knownHostsFile, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${office.host(name).address} `));
    if (!line) throw new Error(`${name} is missing from the office known_hosts`);
    return line;
  };
  let n = 0;
  const knownHosts = (text: string) => {
    const file = join(tmp, `known_hosts_${n++}`);
    writeFileSync(file, text);
    return file;
  };
  /** Runs a command that would leave a mark on the host, expecting it to be refused. */
  const refused = async (hosts: SshHosts, name: string) => {
    const error = await hosts
      .connection(hostSpec(office, name))
      .exec(['touch', '/run/ran'])
      .catch((e: unknown) => e);
    expect((await office.onHost(name, ['ls', '/run/ran'])).exitCode).not.toBe(0);
    expect(hosts.stats()).toMatchObject({ connectionsOpened: 0, channelsOpened: 0 });
    return failureOf(error);
  };

  beforeAll(async () => {
    office = await startOffice({ hosts: ['trusted', 'rekeyed'] });
    tmp = mkdtempSync(TMP_PREFIX);
  });

  afterAll(async () => {
    for (const h of opened) await h.closeAll();
    await office?.close();
    if (tmp.startsWith(TMP_PREFIX)) rmSync(tmp, { recursive: true, force: true });
  });

  it('refuses a host whose key changed, showing both fingerprints and the file, and runs nothing', async () => {
    const before = hostFingerprint('rekeyed');
    await office.changeHostKey('rekeyed');
    const after = hostFingerprint('rekeyed');
    expect(after).not.toBe(before);
    const failure = await refused(adapter(office.knownHostsFile), 'rekeyed');
    expect(failure).toMatchObject({
      kind: 'HostKeyMismatch',
      host: 'rekeyed',
      received: after,
      knownHostsFile: office.knownHostsFile,
    });
    if (failure.kind !== 'HostKeyMismatch') return;
    expect(failure.expected).toEqual([expect.stringContaining(before)]);
    expect(failure.message).toContain(before.split(' ')[1]);
    expect(failure.message).toContain(after.split(' ')[1]);
    expect(failure.message).toContain(office.knownHostsFile);
  });

  it('refuses an unknown host with its fingerprint and an ssh-keyscan hint that works', async () => {
    const file = knownHosts(`${officeLine('rekeyed')}\n`);
    const failure = await refused(adapter(file), 'trusted');
    expect(failure).toMatchObject({
      kind: 'HostKeyUnknown',
      received: hostFingerprint('trusted'),
      knownHostsFile: file,
    });
    expect(failure.hint).toContain('ssh-keyscan');
    // Following the hint (after checking the fingerprint) makes the host trusted.
    const address = office.host('trusted').address;
    appendFileSync(
      file,
      execFileSync('ssh-keyscan', ['-p', '22', '-t', 'ed25519', address], {
        stdio: ['ignore', 'pipe', 'ignore'],
      }),
    );
    const r = await adapter(file).connection(hostSpec(office, 'trusted')).exec(['echo', 'trusted now']);
    expect(r.stdout).toBe('trusted now\n');
  });

  it('refuses every host when the known_hosts file does not exist', async () => {
    const failure = await refused(adapter(join(tmp, 'no-such-file')), 'trusted');
    expect(failure.kind).toBe('HostKeyUnknown');
    expect(failure.message).toContain('does not exist');
  });

  it('refuses a key marked @revoked even when another line lists it', async () => {
    const line = officeLine('trusted');
    const file = knownHosts(`${line}\n@revoked ${line}\n`);
    const failure = await refused(adapter(file), 'trusted');
    expect(failure).toMatchObject({
      kind: 'HostKeyRevoked',
      received: hostFingerprint('trusted'),
      knownHostsFile: file,
    });
    expect(failure.message).toContain('line 2');
  });

  it('refuses a host known only by a key of another type', async () => {
    const other = join(tmp, 'rsa_host_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', other]);
    const [type, key] = readFileSync(`${other}.pub`, 'utf8').split(' ');
    const file = knownHosts(`${office.host('trusted').address} ${type} ${key}\n`);
    const failure = await refused(adapter(file), 'trusted');
    expect(failure).toMatchObject({ kind: 'HostKeyMismatch', host: 'trusted' });
    if (failure.kind === 'HostKeyMismatch')
      expect(failure.expected).toEqual([expect.stringMatching(/^ssh-rsa SHA256:/)]);
  });

  it('trusts a hashed known_hosts file, and keeps port 22 apart from other ports', async () => {
    const hashed = knownHosts(`${officeLine('trusted')}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', hashed], { stdio: 'ignore' });
    expect(readFileSync(hashed, 'utf8')).not.toContain(office.host('trusted').address);
    expect((await adapter(hashed).connection(hostSpec(office, 'trusted')).exec(['true'])).exitCode).toBe(0);

    const otherPort = knownHosts(
      `[${office.host('trusted').address}]:2222 ${officeLine('trusted').split(' ').slice(1).join(' ')}\n`,
    );
    expect((await refused(adapter(otherPort), 'trusted')).kind).toBe('HostKeyUnknown');
  });
});
