// The probe and the store-validity query against real hosts, each compared field by field with what the
// host itself says when asked directly through its namespaces (readlink, nix-env, df, nix-store), not SSH.
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostError } from '../../src/adapters/ssh/errors.ts';
import { createSshHosts, type SshHosts } from '../../src/adapters/ssh/hosts.ts';
import type { HostFacts } from '../../src/core/host-facts.ts';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
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
    office = await startOffice({ hosts: [{ name: 'deployed', systemd: true }, 'fresh', 'broken'] });
    hosts = createSshHosts(officeSettings(office));
    // A host deployed twice: generation 1 some older store path, generation 2 its system, which it runs.
    toplevel = await putSystem(office, 'deployed');
    older = (await closureOf(toplevel)).find((p) => p !== toplevel) ?? '';
    await onHostOk(office, 'deployed', ['nix-env', '-p', PROFILE, '--set', older]);
    await onHostOk(office, 'deployed', ['nix-env', '-p', PROFILE, '--set', toplevel]);
    await onHostOk(office, 'deployed', [`${toplevel}/bin/switch-to-configuration`, 'switch']);
    await onHostOk(office, 'deployed', ['ln', '-sfn', older, '/run/booted-system']);
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

  it('answers which of 2,000 paths a host holds in one exec, as nix-store says on the host', async () => {
    const closure = await closureOf(toplevel);
    const elsewhere = await closureOf(await office.fleet.build('fresh'));
    const fakes = Array.from({ length: 2000 - closure.length - elsewhere.length }, (_, i) =>
      fakeStorePath(i),
    );
    const paths = [...new Set([...fakes, ...elsewhere, ...closure])];
    const before = hosts.stats();
    const valid = await hosts.connection(hostSpec(office, 'deployed')).validPaths(paths);
    expect(hosts.stats().channelsOpened).toBe(before.channelsOpened + 1);

    const printed = await onHostOk(office, 'deployed', [
      'nix-store',
      '--check-validity',
      '--print-invalid',
      ...paths,
    ]);
    const invalid = new Set(printed.split('\n').filter(Boolean));
    expect([...valid].sort()).toEqual(paths.filter((p) => !invalid.has(p)).sort());
    for (const p of closure) expect(valid.has(p)).toBe(true);
    expect(fakes.some((p) => valid.has(p))).toBe(false);
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
