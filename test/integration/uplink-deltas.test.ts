// Deltas in the uplink stream, on the simulated office with the realistic fleet (real Debian packages' files;
// revision 2 brings libssl3 and openssl 3.0.22 and rebuilds what depends on them): hosts that hold revision
// 1 get revision 2 partly as `zstd --patch-from` deltas against what they hold, rebuilt with the zstd of
// their own store (sent first when they lack it), on a Nix 2.8 and a 2.24 host. Checked on the hosts
// directly: the closure is there whole with the builder's signatures, `nix store verify` passes, and every
// NAR hash is the builder's. A damaged delta is refused and its paths come whole; `uplink.deltas: false`
// sends none.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMPORT_DIR } from '../../src/adapters/nix/uplink-import.ts';
import type { EngineEvent } from '../../src/core/events.ts';
import type { UplinkStage } from '../../src/core/ports/builder.ts';
import type { HostSpec, PathInfo, StorePath } from '../../src/core/types.ts';
import { copyPlan } from '../../src/engine/copy.ts';
import type { EngineDeps, UplinkSettings } from '../../src/engine/deps.ts';
import { planFromHoldings } from '../../src/engine/plan-host.ts';
import { openRun } from '../../src/engine/run-scope.ts';
import { measureUplink } from '../../src/engine/uplink-measure.ts';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { mixedOfficeUnavailable } from '../office/nix-versions.ts';
import { type RealContent, realContent } from '../office/real-content.ts';
import { run } from '../office/run.ts';
import { officeEngineDeps } from '../support/office-bot.ts';
import { hostSpec } from '../support/ssh-office.ts';

const why = officeUnavailable() ?? mixedOfficeUnavailable();
const [OLD, NEW] = ['delta-old', 'delta-new'];
// libcurl4 depends on libssl3 and libssh2-1 (itself on libssl3); curl on libcurl4: all rebuilt in revision 2.
const SUBSET = ['libssl3', 'openssl', 'libssh2-1', 'libcurl4', 'curl'];
const DELTAS: UplinkSettings = {
  transport: 'stream',
  deltas: true,
  compressionLevel: 9,
  tempSpaceBytes: 64 * 1024 * 1024,
  deltaMaxBaseBytes: 64 * 1024 * 1024,
};
const NIX = ['nix', '--extra-experimental-features', 'nix-command'];

interface System {
  readonly toplevel: StorePath;
  readonly closure: readonly PathInfo[];
}

describe.skipIf(why !== null)('deltas in the uplink stream', () => {
  let office: Office;
  let content: RealContent;
  const rev = new Map<string, System>();
  let zstdPath = '';
  let stateDir = '';

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'signage-uplink-deltas-'));
    content = await realContent({ only: SUBSET, parts: 4 });
    office = await startOffice({
      hosts: [
        { name: OLD, nix: '2.8' },
        { name: NEW, nix: '2.24' },
      ],
      scale: 0.05,
      realContent: content,
    });
    for (const r of [1, 2]) {
      if (r === 2) await office.fleet.setRevision(2);
      for (const h of [OLD, NEW]) rev.set(`${h}@${r}`, await buildSigned(h));
    }
    // Revision 1 on both hosts, whole: what they hold of old versions.
    for (const h of [OLD, NEW]) await copySystem(deps({ ...DELTAS, deltas: false }), h, rev.get(`${h}@1`)!);
    const d = deps();
    try {
      zstdPath = (await d.builder.hostZstd(OLD, {})).program.replace(/\/bin\/zstd$/, '');
    } finally {
      await d.close();
    }
  }, 600_000);
  afterAll(async () => {
    await office?.close();
    if (stateDir.startsWith(join(tmpdir(), 'signage-uplink-deltas-')))
      await rm(stateDir, { recursive: true, force: true });
  });

  async function buildSigned(host: string): Promise<System> {
    const toplevel = (await office.fleet.build(host)) as StorePath;
    await run(['nix', 'store', 'sign', '--key-file', office.signingKeyFile, '-r', toplevel]);
    const d = deps();
    try {
      return { toplevel, closure: await d.builder.closure([toplevel]) };
    } finally {
      await d.close();
    }
  }

  function deps(uplink: UplinkSettings = DELTAS): EngineDeps & { close(): Promise<void> } {
    const d = officeEngineDeps(office, { hosts: [OLD, NEW].map((h) => hostSpec(office, h)), stateDir });
    return Object.assign(d, { uplink });
  }

  /** The engine's copy stage, as a rollout runs it for a host that runs `running` (no peers: sites apart). */
  async function copySystem(
    d: EngineDeps & { close(): Promise<void> },
    host: string,
    s: System,
    running: readonly StorePath[] = [],
    events: EngineEvent[] = [],
  ) {
    const target: HostSpec = hostSpec(office, host, { site: host });
    const built = { host, toplevel: s.toplevel, closure: s.closure };
    const scope = openRun(d, {
      verb: 'deploy',
      hosts: [host],
      actor: { kind: 'cli', user: 'tester' },
      onEvent: (e) => events.push(e),
      lock: true,
    });
    try {
      const plan = await planFromHoldings(d, scope, target, built);
      const result = await copyPlan(d, scope, target, built, plan, undefined, running);
      scope.finish('ok');
      return result;
    } catch (e) {
      scope.finish('failed');
      throw e;
    } finally {
      await d.close();
    }
  }

  /** Deletes what revision 2 added on the host, so that it holds revision 1 alone again. */
  async function backToRevision1(host: string): Promise<void> {
    const old = new Set(rev.get(`${host}@1`)!.closure.map((i) => i.path));
    const added = rev
      .get(`${host}@2`)!
      .closure.filter((i) => !old.has(i.path))
      .map((i) => i.path);
    const r = await office.onHost(host, ['nix-store', '--delete', ...added]);
    expect(r.exitCode, r.stderr).toBe(0);
    const left = await office.onHost(host, ['nix-store', '--check-validity', '--print-invalid', ...added]);
    expect(left.stdout.trim().split('\n').length).toBe(added.length);
  }

  /** The host's own Nix on the closure: valid paths with their signatures and NAR hashes, and verify. */
  async function checkOnHost(host: string, s: System): Promise<void> {
    const paths = s.closure.map((i) => i.path);
    const sigs = await office.onHost(host, [...NIX, 'path-info', '--sigs', '--', ...paths]);
    expect(sigs.exitCode, sigs.stderr).toBe(0);
    const keyName = office.publicKey.split(':')[0]!;
    const held = sigs.stdout.split('\n').filter(Boolean);
    expect(held.map((l) => l.split(/\s+/)[0]).sort()).toEqual([...paths].sort());
    for (const line of held)
      expect(
        line
          .split(/\s+/)
          .slice(1)
          .some((w) => w.startsWith(`${keyName}:`)),
        line,
      ).toBe(true);
    const hashes = await office.onHost(host, ['nix-store', '--query', '--hash', '--', ...paths]);
    const builder = await run(['nix-store', '--query', '--hash', '--', ...paths]);
    expect(hashes.stdout.trim().split('\n')).toEqual(builder.stdout.trim().split('\n'));
    const verified = await office.onHost(host, [
      ...NIX,
      'store',
      'verify',
      '--recursive',
      '--sigs-needed',
      '1',
      s.toplevel,
    ]);
    expect(verified.exitCode, verified.stderr).toBe(0);
    const left = await office.onHost(host, ['sh', '-c', 'ls -A "$1" 2>/dev/null || true', 'sh', IMPORT_DIR]);
    expect(left.stdout.trim()).toBe('');
  }

  /** The compressed NAR bytes of `paths` at the stream's level, as the builder would send them whole. */
  async function wholeCompressed(paths: readonly StorePath[]): Promise<number> {
    let n = 0;
    for (const p of paths) {
      const r = await run(['sh', '-c', 'nix-store --dump "$1" | zstd -q -9 -c | wc -c', 'sh', p]);
      n += Number(r.stdout.trim());
    }
    return n;
  }

  /** Records which paths were staged as deltas (and lets a test damage one). */
  function watching(d: EngineDeps, damage = false) {
    const seen = { deltas: [] as StorePath[], damaged: '' };
    const real = d.builder.stageForUplink;
    const builder = {
      ...d.builder,
      stageForUplink: async (...args: Parameters<typeof real>): Promise<UplinkStage> => {
        const staged = await real(...args);
        if (seen.deltas.length === 0) seen.deltas = [...staged.deltas.keys()];
        if (damage && seen.damaged === '' && staged.deltas.size > 0) {
          // One byte of the largest delta flipped on the builder, as a bad disk or link would.
          const [p, d] = [...staged.deltas].sort(
            (a, b) => (staged.bytes.get(b[0]) ?? 0) - (staged.bytes.get(a[0]) ?? 0),
          )[0]!;
          const bytes = await readFile(d.file);
          bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
          await writeFile(d.file, bytes);
          seen.damaged = p;
        }
        return staged;
      },
    };
    return { deps: { ...d, builder }, seen };
  }

  it.each([OLD, NEW])(
    'sends %s the new versions as deltas against what it holds, its zstd first, and it holds them exactly',
    async (host) => {
      const before = await office.onHost(host, ['nix-store', '--check-validity', zstdPath]);
      expect(before.exitCode).not.toBe(0);
      const d = deps();
      const w = watching(d);
      const events: EngineEvent[] = [];
      const s = rev.get(`${host}@2`)!;
      const result = await copySystem(
        Object.assign(w.deps, { close: d.close }),
        host,
        s,
        [rev.get(`${host}@1`)!.toplevel],
        events,
      );
      expect(result.uplinkDeltaPaths).toBeGreaterThan(0);
      expect(result.uplinkDeltaPaths).toBe(w.seen.deltas.length);
      expect(result.uplinkDeltaBytes).toBeGreaterThan(0);
      // The deltas (with their narinfos) against the same paths compressed whole.
      expect(result.uplinkDeltaBytes).toBeLessThan((await wholeCompressed(w.seen.deltas)) / 2);
      const detail = events.flatMap((e) =>
        e.type === 'stage.finished' && e.stage === 'copy' ? [e.detail] : [],
      );
      expect(detail[0]).toMatch(new RegExp(`compressed, .+ of it as ${result.uplinkDeltaPaths} deltas?\\)`));
      await checkOnHost(host, s);
      const zstd = await office.onHost(host, ['nix-store', '--check-validity', zstdPath]);
      expect(zstd.exitCode, `${host} lacks ${zstdPath}`).toBe(0);
    },
    300_000,
  );

  it('refuses a damaged delta on the host, and its paths come whole in a second stream', async () => {
    const host = NEW;
    await backToRevision1(host);
    const d = deps();
    const w = watching(d, true);
    const events: EngineEvent[] = [];
    const s = rev.get(`${host}@2`)!;
    const result = await copySystem(
      Object.assign(w.deps, { close: d.close }),
      host,
      s,
      [rev.get(`${host}@1`)!.toplevel],
      events,
    );
    expect(w.seen.damaged).not.toBe('');
    const said = events.flatMap((e) => (e.type === 'log' ? [e.message] : [])).join('\n');
    expect(said).toMatch(/the stream to delta-new failed in batch \d+ of \d+/);
    expect(said).toContain(`the delta of ${w.seen.damaged.slice(11, 43)} did not rebuild`);
    expect(said).toContain('second stream, whole (no deltas)');
    expect(result.uplinkDeltaPaths).toBe(0);
    await checkOnHost(host, s);
  }, 300_000);

  it('measures for plan what the stream would send, deltas included, and sends nothing', async () => {
    const host = NEW;
    await backToRevision1(host);
    const d = deps();
    const target: HostSpec = hostSpec(office, host, { site: host });
    const s = rev.get(`${host}@2`)!;
    const built = { host, toplevel: s.toplevel, closure: s.closure };
    const scope = openRun(d, {
      verb: 'plan',
      hosts: [host],
      actor: { kind: 'cli', user: 'tester' },
      onEvent: () => {},
      lock: false,
    });
    const before = office.uplinkBytes();
    try {
      const plan = await planFromHoldings(d, scope, target, built);
      const m = await measureUplink(d, scope, target, built, plan, [rev.get(`${host}@1`)!.toplevel]);
      scope.finish('ok');
      const sent = office.uplinkBytes().tx - before.tx;
      const uplinkBytes = plan.totals.uplinkBytes;
      expect(m).not.toBeNull();
      expect(m!.uplinkDeltaPaths).toBeGreaterThan(0);
      expect(m!.uplinkDeltaBytes).toBeGreaterThan(0);
      expect(m!.uplinkSentBytes).toBeGreaterThan(m!.uplinkDeltaBytes);
      expect(m!.uplinkSentBytes).toBeLessThan(uplinkBytes);
      // Only the plan's question crossed: a few kilobytes, where the stream is megabytes.
      expect(sent).toBeLessThan(100 * 1024);
      const still = await office.onHost(host, ['nix-store', '--check-validity', s.toplevel]);
      expect(still.exitCode).not.toBe(0);
    } finally {
      await d.close();
    }
  }, 300_000);

  it('sends no deltas with uplink.deltas: false', async () => {
    const host = OLD;
    await backToRevision1(host);
    const d = deps({ ...DELTAS, deltas: false });
    const w = watching(d);
    const s = rev.get(`${host}@2`)!;
    const result = await copySystem(Object.assign(w.deps, { close: d.close }), host, s, [
      rev.get(`${host}@1`)!.toplevel,
    ]);
    expect(w.seen.deltas).toEqual([]);
    expect(result.uplinkDeltaPaths).toBe(0);
    expect(result.uplinkDeltaBytes).toBe(0);
    await checkOnHost(host, s);
  }, 300_000);
});
