// The probe and the store-validity query against real hosts, each compared field by field with what the
// host itself says when asked directly through its namespaces (readlink, nix-env, df, nix-store), not SSH.
import { randomInt } from 'node:crypto';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostError } from '../../src/adapters/ssh/errors.ts';
import { createSshHosts, type SshHosts } from '../../src/adapters/ssh/hosts.ts';
import type { HostFacts } from '../../src/core/host-facts.ts';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { nix224Missing, nixVersionOf } from '../office/nix-versions.ts';
import { closureOf, hostSpec, officeSettings, onHostOk, putSystem } from '../support/ssh-office.ts';

const PROFILE = '/nix/var/nix/profiles/system';

function fakeStorePath(i: number): string {
  const alphabet = '0123456789abcdfghijklmnpqrsvwxyz';
  const hash = Array.from({ length: 32 }, () => alphabet[randomInt(alphabet.length)]).join('');
  return `/nix/store/${hash}-never-built-${i}`;
}

describe.skipIf(officeUnavailable() !== null)('probe and validPaths on real hosts', () => {
  let office: Office;
  let hosts: SshHosts;
  let toplevel = '';
  let older = '';

  beforeAll(async () => {
    // Both Nix releases of the office answer the validity question: `deployed` on 2.24, `old` on 2.8.
    office = await startOffice({
      hosts: [
        { name: 'deployed', systemd: true, nix: '2.24' },
        'fresh',
        'broken',
        { name: 'old', nix: '2.8' },
        { name: 'liar', nix: '2.8' },
      ],
    });
    hosts = createSshHosts(officeSettings(office));
    // A host deployed twice: generation 1 some older store path, generation 2 its system, which it runs.
    toplevel = await putSystem(office, 'deployed');
    older = (await closureOf(toplevel)).find((p) => p !== toplevel) ?? '';
    await onHostOk(office, 'deployed', ['nix-env', '-p', PROFILE, '--set', older]);
    await onHostOk(office, 'deployed', ['nix-env', '-p', PROFILE, '--set', toplevel]);
    await onHostOk(office, 'deployed', [`${toplevel}/bin/switch-to-configuration`, 'switch']);
    await onHostOk(office, 'deployed', ['ln', '-sfn', older, '/run/booted-system']);
    await putSystem(office, 'old');
    await putSystem(office, 'liar');
  });

  afterAll(async () => {
    await hosts?.closeAll();
    await office?.close();
  });

  /** What df says about a directory on the host: [total, available] bytes. */
  async function df(host: string, dir: string): Promise<[number, number]> {
    const out = await onHostOk(office, host, ['df', '-B1', '--output=size,avail', dir]);
    const [size, avail] = (out.trim().split('\n')[1] ?? '').trim().split(/\s+/).map(Number);
    return [size ?? Number.NaN, avail ?? Number.NaN];
  }

  function expectWithin2Percent(actual: number, expected: number) {
    expect(Math.abs(actual - expected)).toBeLessThanOrEqual(expected * 0.02);
  }

  async function expectCommonFacts(host: string, facts: HostFacts, storeDir: string) {
    const [size, avail] = await df(host, storeDir);
    expect(facts.store).not.toBeNull();
    expectWithin2Percent(facts.store?.totalBytes ?? 0, size);
    expectWithin2Percent(facts.store?.freeBytes ?? 0, avail);
    const nixVersion = (await onHostOk(office, host, ['nix-store', '--version'])).trim().split(' ').at(-1);
    expect(facts.nixVersion).toBe(nixVersion);
    const systemd = (await office.onHost(host, ['test', '-d', '/run/systemd/system'])).exitCode === 0;
    expect(facts.systemd).toBe(systemd);
    const uptime = Number((await onHostOk(office, host, ['cat', '/proc/uptime'])).split(' ')[0]);
    expect(Math.abs((facts.uptimeSeconds ?? 0) - uptime)).toBeLessThan(60);
    expect(facts.notes).toEqual([]);
  }

  it('probes a host never deployed: nothing running, no generations, space of /nix', async () => {
    // Its store is empty: its nix-daemon made one at start, as every NixOS host has, and nothing went in.
    expect(
      await onHostOk(office, 'fresh', [
        'find',
        '/nix/store',
        '-mindepth',
        '1',
        '-maxdepth',
        '1',
        '!',
        '-name',
        '.links',
      ]),
    ).toBe('');
    const before = hosts.stats().channelsOpened;
    const facts = await hosts.connection(hostSpec(office, 'fresh')).probe();
    expect(hosts.stats().channelsOpened).toBe(before + 1);
    expect(facts).toMatchObject({
      currentSystem: null,
      bootedSystem: null,
      generations: [],
      currentGeneration: null,
      profileSystem: null,
      nixosVersion: null,
      systemd: false,
    });
    await expectCommonFacts('fresh', facts, '/nix');
  });

  it('probes a deployed host in one round trip, agreeing with the host field by field', async () => {
    const before = hosts.stats().channelsOpened;
    const facts = await hosts.connection(hostSpec(office, 'deployed')).probe();
    expect(hosts.stats().channelsOpened).toBe(before + 1);

    const readlink = async (p: string) => (await onHostOk(office, 'deployed', ['readlink', p])).trim();
    expect(facts.currentSystem).toBe(await readlink('/run/current-system'));
    expect(facts.currentSystem).toBe(toplevel);
    expect(facts.bootedSystem).toBe(await readlink('/run/booted-system'));
    expect(facts.profileSystem).toBe(
      (await onHostOk(office, 'deployed', ['readlink', '-f', PROFILE])).trim(),
    );
    expect(facts.nixosVersion).toBe(
      (await onHostOk(office, 'deployed', ['cat', '/run/current-system/nixos-version'])).trim(),
    );

    // nix-env lists "N   YYYY-MM-DD HH:MM:SS   (current)", in the time zone given.
    const listed = (
      await onHostOk(office, 'deployed', ['env', 'TZ=UTC', 'nix-env', '-p', PROFILE, '--list-generations'])
    )
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/));
    expect(facts.generations.map((g) => g.number)).toEqual(listed.map(([n]) => Number(n)));
    expect(facts.generations.map((g) => g.createdAt.toISOString().slice(0, 19).replace('T', ' '))).toEqual(
      listed.map(([, day, time]) => `${day} ${time}`),
    );
    expect(facts.currentGeneration).toBe(Number(listed.find((l) => l[3] === '(current)')?.[0]));
    for (const g of facts.generations) expect(g.path).toBe(await readlink(`${PROFILE}-${g.number}-link`));
    expect(facts.generations.map((g) => g.path)).toEqual([older, toplevel]);
    await expectCommonFacts('deployed', facts, '/nix/store');
  });

  /** Which of `paths` the host's own nix-store says are valid, asked directly in its namespaces. */
  async function validOnHost(host: string, paths: readonly string[]): Promise<string[]> {
    const printed = await onHostOk(office, host, [
      'nix-store',
      '--check-validity',
      '--print-invalid',
      ...paths,
    ]);
    const invalid = new Set(printed.split('\n').filter(Boolean));
    return paths.filter((p) => !invalid.has(p));
  }

  it('runs the validity question on both Nix releases of the office', async () => {
    const versions = new Set<string>();
    for (const host of ['deployed', 'old']) {
      const said = (await onHostOk(office, host, ['nix-store', '--version'])).trim().split(' ').at(-1);
      expect(said).toBe(nixVersionOf(office.host(host).nix ?? '2.8'));
      versions.add(said ?? '');
    }
    // Without Nix 2.24 installed the office runs 2.8 alone and says so (CI refuses to start without it).
    if (nix224Missing() === null)
      expect(versions).toEqual(new Set([nixVersionOf('2.24'), nixVersionOf('2.8')]));
  });

  for (const host of ['deployed', 'old']) {
    it(`answers which of 2,000 paths ${host} holds in one exec, as nix-store says on the host`, async () => {
      const closure = await closureOf(await office.fleet.build(host));
      const elsewhere = await closureOf(await office.fleet.build('fresh'));
      const real = new Set([...elsewhere, ...closure]);
      const fakes = Array.from({ length: 2000 - real.size }, (_, i) => fakeStorePath(i));
      const paths = [...fakes, ...real];
      expect(new Set(paths).size).toBe(2000);
      const before = hosts.stats();
      const valid = await hosts.connection(hostSpec(office, host)).validPaths(paths);
      expect(hosts.stats().channelsOpened).toBe(before.channelsOpened + 1);

      expect([...valid].sort()).toEqual((await validOnHost(host, paths)).sort());
      for (const p of closure) expect(valid.has(p)).toBe(true);
      expect(fakes.some((p) => valid.has(p))).toBe(false);
    });

    it(`tells apart on ${host} a path on disk but not registered, and hashes sharing 31 digits`, async () => {
      const held = (await closureOf(await office.fleet.build(host))).find((p) => p.includes('glibc'))!;
      const hash = held.slice(11, 43);
      const name = held.slice(44);
      const other = (d: string) => `/nix/store/${hash.slice(0, 31)}${d}-${name}`;
      const last = hash.at(-1)!;
      const digits = '0123456789abcdfghijklmnpqrsvwxyz'.split('').filter((d) => d !== last);
      // On disk, with the held path's name and all but its last digit, but never registered with Nix.
      const onDisk = other(digits[0]!);
      const nowhere = other(digits[1]!);
      // A longer name under the held path's own prefix in the listing: a lock file does this.
      await onHostOk(office, host, ['mkdir', '-p', onDisk, `${held}.lock`]);
      await onHostOk(office, host, ['cp', '-r', `${held}/.`, onDisk]);
      expect((await office.onHost(host, ['test', '-d', onDisk])).exitCode).toBe(0);
      expect(await validOnHost(host, [held, onDisk, nowhere, `${held}.lock`])).toEqual([held]);

      const asked = [onDisk, held, nowhere];
      const valid = await hosts.connection(hostSpec(office, host)).validPaths(asked);
      expect([...valid]).toEqual([held]);
    });
  }

  for (const host of ['deployed', 'old']) {
    it(`asks ${host} once by 8-digit prefixes, and again by whole hashes when a held path shares a prefix`, async () => {
      const closure = await closureOf(await office.fleet.build(host));
      const held = closure.find((p) => p.includes('glibc'))!;
      const hash = held.slice(11, 43);
      const digits = '0123456789abcdfghijklmnpqrsvwxyz';
      // The held path's first 8 digits, every later digit another: a path the host lacks, whose prefix
      // names a path it holds.
      const rest = [...hash.slice(8)].map((d) => digits[(digits.indexOf(d) + 1) % 32]).join('');
      const twin = `/nix/store/${hash.slice(0, 8)}${rest}-never-built-twin`;
      expect(await validOnHost(host, [held, twin])).toEqual([held]);
      const connection = hosts.connection(hostSpec(office, host));

      // No prefix shared: one question, 5 bytes a path.
      const fakes = Array.from({ length: 50 }, (_, i) => fakeStorePath(i));
      let before = hosts.stats();
      const plain = await connection.validPaths([...fakes, ...closure]);
      expect(hosts.stats().channelsOpened).toBe(before.channelsOpened + 1);
      expect([...plain].sort()).toEqual((await validOnHost(host, [...fakes, ...closure])).sort());

      // Asked about the twin and not the held path: the host lists the held path under the twin's prefix; the
      // digest of names shows it, and the second question, by whole hashes, answers exactly: the twin is not
      // held. (Asked about both, the bot sees the shared prefix itself and asks by whole hashes at once.)
      before = hosts.stats();
      const asked = [twin, ...fakes, ...closure.filter((p) => p !== held)];
      const valid = await connection.validPaths(asked);
      expect(hosts.stats().channelsOpened).toBe(before.channelsOpened + 2);
      expect(valid.has(twin)).toBe(false);
      expect([...valid].sort()).toEqual((await validOnHost(host, asked)).sort());
      before = hosts.stats();
      const both = await connection.validPaths([twin, held]);
      expect(hosts.stats().channelsOpened).toBe(before.channelsOpened + 1);
      expect([...both]).toEqual([held]);
    });
  }

  it('refuses, as a failure of the host, an answer for a held hash asked under another name', async () => {
    const held = (await closureOf(toplevel)).find((p) => p.includes('glibc'))!;
    const renamed = `${held.slice(0, 44)}not-its-name`;
    expect(await validOnHost('deployed', [held, renamed])).toEqual([held]);
    const error = await hosts
      .connection(hostSpec(office, 'deployed'))
      .validPaths([renamed])
      .catch((e: unknown) => e);
    expect((error as HostError).failure).toMatchObject({ kind: 'RemoteCommandFailed', host: 'deployed' });
    expect((error as HostError).failure.message).toMatch(/another name/);
  });

  it('refuses an answer with the wrong number of bits, or garbage, as a HostError naming it', async () => {
    const paths = await closureOf(await office.fleet.build('liar'));
    const connection = hosts.connection(hostSpec(office, 'liar'));
    expect((await connection.validPaths(paths)).size).toBe(paths.length);
    // The host's own bin directory comes first on its PATH: a gzip that always answers one bit, then a
    // base64 that prints something that is not base64.
    const bin = join(office.host('liar').dir, 'bin');
    const fake = async (name: string, body: string) => {
      await writeFile(join(bin, name), `#!/bin/sh\ncat > /dev/null\n${body}\n`);
      await chmod(join(bin, name), 0o755);
    };
    await fake('gzip', 'printf 1 | /bin/gzip -cn');
    const short = await connection.validPaths(paths).catch((e: unknown) => e);
    expect((short as HostError).failure).toMatchObject({ kind: 'RemoteCommandFailed', host: 'liar' });
    expect((short as HostError).failure.message).toContain(`1 answers for ${paths.length} paths asked`);
    await onHostOk(office, 'liar', ['rm', join(bin, 'gzip')]);

    await fake('base64', "printf 'all of them, trust me'");
    const garbage = await connection.validPaths(paths).catch((e: unknown) => e);
    expect((garbage as HostError).failure).toMatchObject({ kind: 'RemoteCommandFailed', host: 'liar' });
    expect((garbage as HostError).failure.message).toMatch(/not base64/);
    await onHostOk(office, 'liar', ['rm', join(bin, 'base64')]);
    expect((await connection.validPaths(paths)).size).toBe(paths.length);
  });

  it('makes no round trip for an empty batch, and refuses strings that are not store paths', async () => {
    // Port 1: any attempt to connect would fail loudly.
    const nowhere = hosts.connection(hostSpec(office, 'deployed', { port: 1 }));
    const before = hosts.stats();
    expect(await nowhere.validPaths([])).toEqual(new Set());
    for (const bad of [
      '/etc/passwd',
      '/nix/store/short-name',
      `${toplevel}/bin/switch-to-configuration`,
      '',
    ]) {
      const error = await nowhere.validPaths([toplevel, bad]).catch((e: unknown) => e);
      expect((error as HostError).failure).toMatchObject({ kind: 'InvalidRequest', host: 'deployed' });
    }
    // Two names under one hash: at most one is a real store path, and the question is by hash alone.
    const twin = `${toplevel.slice(0, 44)}twin`;
    const error = await nowhere.validPaths([toplevel, twin]).catch((e: unknown) => e);
    expect((error as HostError).failure).toMatchObject({ kind: 'InvalidRequest', host: 'deployed' });
    expect((error as HostError).failure.message).toMatch(/share a hash/);
    expect(hosts.stats()).toEqual(before);
  });

  it('reports a failing nix-store as RemoteCommandFailed, not as "none valid"', async () => {
    await onHostOk(office, 'broken', [
      'sh',
      '-c',
      'echo "store = bogus://nowhere" >> "$NIX_CONF_DIR/nix.conf"',
    ]);
    const error = await hosts
      .connection(hostSpec(office, 'broken'))
      .validPaths([fakeStorePath(0)])
      .catch((e: unknown) => e);
    expect((error as HostError).failure).toMatchObject({ kind: 'RemoteCommandFailed', host: 'broken' });
    // Nix's own words, as the host's Nix says them when asked directly (2.8 names the URL, 2.24 the scheme).
    const direct = await office.onHost('broken', ['nix-store', '--check-validity', fakeStorePath(1)]);
    const said = direct.stderr
      .trim()
      .split('\n')
      .find((l) => l.startsWith('error:'));
    expect(said).toMatch(/bogus/);
    expect((error as HostError).failure.message).toContain(said!);
  });
});
