// A fleet upgraded one NixOS release at a time: the builder on Nix 2.24, one screen on 2.24 and one still on
// Debian's 2.8. Host-to-host copies run both ways between the versions (a 2.24 peer serving a 2.8 target, then
// a 2.8 peer serving a 2.24 target), and status and overlap read both kinds of host. Each claim is checked on
// the hosts directly (their namespaces, their own Nix), not through the bot's SSH code.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Asker } from '../../src/engine/engine.ts';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { mixedOfficeUnavailable } from '../office/nix-versions.ts';
import { run } from '../office/run.ts';
import { officeEngine } from '../support/office-bot.ts';

const NEW = 'baard-new-nix';
const OLD = 'baard-old-nix';
const why = officeUnavailable() ?? mixedOfficeUnavailable();

async function requisites(office: Office, host: string, path = '/run/current-system'): Promise<Set<string>> {
  const out = await office.onHost(host, ['nix-store', '-q', '--requisites', path]);
  expect(out.exitCode, out.stderr).toBe(0);
  return new Set(out.stdout.trim().split('\n'));
}

async function narSizes(toplevel: string): Promise<Map<string, number>> {
  const out = await run(['nix-store', '-q', '--size', ...(await builderRequisites(toplevel))]);
  const paths = await builderRequisites(toplevel);
  const sizes = out.stdout.trim().split('\n').map(Number);
  return new Map(paths.map((p, i) => [p, sizes[i]!]));
}

async function builderRequisites(toplevel: string): Promise<string[]> {
  return (await run(['nix-store', '-q', '--requisites', toplevel])).stdout.trim().split('\n');
}

describe.skipIf(why !== null)('a fleet on two Nix versions (builder 2.24, hosts 2.24 and 2.8)', () => {
  let office: Office;
  let bot: Awaited<ReturnType<typeof officeEngine>>;
  const asker: Asker = { actor: { kind: 'cli', user: 'tester' }, onEvent: () => {} };

  beforeAll(async () => {
    office = await startOffice({
      hosts: [
        { name: NEW, nix: '2.24' },
        { name: OLD, nix: '2.8' },
      ],
      builderNix: '2.24',
      scale: 0.1,
    });
    bot = await officeEngine(office);
  });
  afterAll(async () => {
    await bot?.dispose();
    await office?.close();
  });

  it('runs the version each host was given, as the hosts themselves say', async () => {
    expect((await office.onHost(NEW, ['nix-store', '--version'])).stdout.trim()).toBe(
      'nix-store (Nix) 2.24.15',
    );
    expect((await office.onHost(OLD, ['nix-store', '--version'])).stdout.trim()).toBe(
      'nix-store (Nix) 2.8.0',
    );
    const [status] = await bot.engine.status([NEW], asker);
    expect(status?.facts?.nixVersion).toBe('2.24.15');
  });

  /** Deploys `first` from the builder, then `second`, which must take the shared paths from `first`. */
  async function peerToTarget(first: string, second: string) {
    const a = await bot.engine.deploy([first], { until: 'switch', restart: 'no' }, asker);
    expect(a.hosts[0]?.error).toBeUndefined();
    expect(a.status).toBe('ok');
    // What the target lacks of its new system, by its own Nix, before the deploy.
    const planned = await bot.engine.deploy([second], { until: 'plan', restart: 'no' }, asker);
    const sizes = await narSizes(planned.hosts[0]!.toplevel!);
    const invalid = await office.onHost(second, [
      'nix-store',
      '--check-validity',
      '--print-invalid',
      ...sizes.keys(),
    ]);
    const lacks = new Set(
      invalid.stdout
        .trim()
        .split('\n')
        .filter((l) => l !== ''),
    );
    const before = office.uplinkBytes();
    const b = await bot.engine.deploy([second], { until: 'switch', restart: 'no' }, asker);
    const after = office.uplinkBytes();
    expect(b.hosts[0]?.error).toBeUndefined();
    expect(b.status).toBe('ok');
    const toplevel = b.hosts[0]!.toplevel!;
    expect(toplevel).toBe(planned.hosts[0]!.toplevel);
    const peerHolds = await requisites(office, first);
    const bytes = (keep: (p: string) => boolean) =>
      [...sizes].filter(([p]) => lacks.has(p) && keep(p)).reduce((s, [, n]) => s + n, 0);
    const shared = bytes((p) => peerHolds.has(p));
    const own = bytes((p) => !peerHolds.has(p));
    // The shared paths came from the peer of the other version, over the LAN; only the target's own over
    // the uplink (plus protocol chatter), as the uplink's kernel counter says.
    expect(b.hosts[0]!.plan!.sources.map((s) => s.source)).toContain(`peer:${first}`);
    expect(b.lanBytes).toBe(shared);
    expect(shared).toBeGreaterThan(own);
    expect(after.tx - before.tx).toBeLessThan(own + 400_000);
    // The target runs it and holds its whole closure, by its own Nix's account.
    expect((await office.onHost(second, ['readlink', '/run/current-system'])).stdout.trim()).toBe(toplevel);
    expect(await requisites(office, second, toplevel)).toEqual(new Set(sizes.keys()));
    const check = await office.onHost(second, ['nix-store', '--verify-path', ...sizes.keys()]);
    expect(check.exitCode, check.stderr).toBe(0);
  }

  it('copies from a 2.24 peer to a 2.8 target', async () => {
    await peerToTarget(NEW, OLD);
  });

  it('copies from a 2.8 peer to a 2.24 target, for the next revision', async () => {
    await office.fleet.setRevision(2);
    await peerToTarget(OLD, NEW);
  });

  it('reads the status of both as in sync, with the Nix each runs and the generations each has', async () => {
    const rows = await bot.engine.status([NEW, OLD], asker);
    for (const [host, version] of [
      [NEW, '2.24.15'],
      [OLD, '2.8.0'],
    ] as const) {
      const row = rows.find((r) => r.host === host);
      expect(row?.sync, host).toBe('in-sync');
      expect(row?.facts?.nixVersion).toBe(version);
      // The generations as the host's own nix-env lists them.
      const listed = await office.onHost(host, [
        'nix-env',
        '-p',
        '/nix/var/nix/profiles/system',
        '--list-generations',
      ]);
      const numbers = listed.stdout
        .trim()
        .split('\n')
        .map((l) => Number(l.trim().split(/\s+/)[0]));
      expect(row?.facts?.generations.map((g) => g.number)).toEqual(numbers);
    }
  });

  it('reports the overlap of their running systems as each host lists its own', async () => {
    const result = await bot.engine.overlap([NEW, OLD], 'running', asker);
    expect(result.missing).toEqual([]);
    const [n, o] = [await requisites(office, NEW), await requisites(office, OLD)];
    const both = [...n].filter((p) => o.has(p)).length;
    expect(result.report.groups.find((g) => g.labels.length === 2)?.paths).toBe(both);
    expect(result.report.perLabel.find((l) => l.label === `${NEW} (running)`)?.paths).toBe(n.size);
    expect(result.report.perLabel.find((l) => l.label === `${OLD} (running)`)?.paths).toBe(o.size);
  });
});
