// The uplink stream on the simulated office: the builder's share of a copy crosses as one compressed stream
// into the host's fixed importer, on Nix 2.8 and 2.24 hosts. Checked on the hosts directly (their namespaces,
// their own Nix): the closure is there whole, with the builder's signatures, and `nix store verify` passes;
// a damaged stream is refused by the host's Nix and the paths come whole in a second stream; a host without
// the space is refused before anything is sent, and holds what it held before.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMPORT_DIR } from '../../src/adapters/nix/uplink-import.ts';
import type { EngineEvent } from '../../src/core/events.ts';
import type { UplinkStage } from '../../src/core/ports/builder.ts';
import type { HostSpec, PathInfo, StorePath } from '../../src/core/types.ts';
import { copyPlan } from '../../src/engine/copy.ts';
import type { EngineDeps, UplinkSettings } from '../../src/engine/deps.ts';
import type { Asker } from '../../src/engine/engine.ts';
import { planFromHoldings } from '../../src/engine/plan-host.ts';
import { openRun } from '../../src/engine/run-scope.ts';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { mixedOfficeUnavailable } from '../office/nix-versions.ts';
import { run } from '../office/run.ts';
import { officeEngineDeps } from '../support/office-bot.ts';
import { hostSpec } from '../support/ssh-office.ts';

const why = officeUnavailable() ?? mixedOfficeUnavailable();
const [OLD, NEW] = ['stream-old', 'stream-new'];
const quiet: Asker = { actor: { kind: 'cli', user: 'tester' }, onEvent: () => {} };
const STREAM: UplinkSettings = {
  transport: 'stream',
  deltas: false,
  compressionLevel: 3,
  tempSpaceBytes: 2 * 1024 * 1024,
};

describe.skipIf(why !== null)('the uplink stream', () => {
  let office: Office;
  let stateDir = '';
  const systems = new Map<string, { toplevel: StorePath; closure: readonly PathInfo[] }>();

  beforeAll(async () => {
    office = await startOffice({
      hosts: [
        { name: OLD, nix: '2.8' },
        { name: NEW, nix: '2.24' },
      ],
      scale: 0.1,
    });
    stateDir = await mkdtemp(join(tmpdir(), 'signage-uplink-stream-'));
    for (const h of [OLD, NEW]) {
      const toplevel = (await office.fleet.build(h)) as StorePath;
      await run(['nix', 'store', 'sign', '--key-file', office.signingKeyFile, '-r', toplevel]);
      const d = deps();
      try {
        systems.set(h, { toplevel, closure: await d.builder.closure([toplevel]) });
      } finally {
        await d.close();
      }
    }
  });
  afterAll(async () => {
    await office?.close();
    if (stateDir.startsWith(join(tmpdir(), 'signage-uplink-stream-')))
      await rm(stateDir, { recursive: true, force: true });
  });

  function deps(uplink: UplinkSettings = STREAM): EngineDeps & { close(): Promise<void> } {
    const d = officeEngineDeps(office, { hosts: [OLD, NEW].map((h) => hostSpec(office, h)), stateDir });
    return Object.assign(d, { uplink });
  }

  /** Copies `host`'s system to it with the engine's copy stage (no peers: the hosts are on other sites). */
  async function copySystem(d: EngineDeps, host: string, events: EngineEvent[] = []) {
    const target: HostSpec = hostSpec(office, host, { site: host });
    const s = systems.get(host)!;
    const built = { host, toplevel: s.toplevel, closure: s.closure };
    const scope = openRun(d, {
      verb: 'deploy',
      hosts: [host],
      actor: quiet.actor,
      onEvent: (e) => events.push(e),
      lock: true,
    });
    try {
      const plan = await planFromHoldings(d, scope, target, built);
      const result = await copyPlan(d, scope, target, built, plan);
      scope.finish('ok');
      return result;
    } catch (e) {
      scope.finish('failed');
      throw e;
    }
  }

  /** What the host's own Nix says of its store: valid paths of the system and their signatures. */
  async function heldWithSigs(host: string): Promise<Map<string, string[]>> {
    const s = systems.get(host)!;
    const out = await office.onHost(host, [
      'nix',
      '--extra-experimental-features',
      'nix-command',
      'path-info',
      '--sigs',
      '--',
      ...s.closure.map((i) => i.path),
    ]);
    const held = new Map<string, string[]>();
    for (const line of out.stdout.split('\n').filter(Boolean)) {
      const [path, ...sigs] = line.trim().split(/\s+/);
      held.set(path!, sigs);
    }
    return held;
  }

  async function verify(host: string): Promise<{ exitCode: number | null; stderr: string }> {
    const s = systems.get(host)!;
    return office.onHost(host, [
      'nix',
      '--extra-experimental-features',
      'nix-command',
      'store',
      'verify',
      '--recursive',
      '--sigs-needed',
      '1',
      s.toplevel,
    ]);
  }

  /** Deletes the system and a few of its larger paths that only the system refers to. */
  async function dropSome(host: string): Promise<void> {
    const s = systems.get(host)!;
    const deleted = await office.onHost(host, ['nix-store', '--delete', s.toplevel]);
    expect(deleted.exitCode, deleted.stderr).toBe(0);
    const referrers = new Map<string, number>();
    for (const i of s.closure)
      for (const r of i.references) if (r !== i.path) referrers.set(r, (referrers.get(r) ?? 0) + 1);
    const only = s.closure.filter(
      (i) =>
        i.path !== s.toplevel &&
        i.narSize > 100_000 &&
        referrers.get(i.path) === 1 &&
        s.closure.find((t) => t.path === s.toplevel)!.references.includes(i.path),
    );
    const dropped = only.slice(0, 4).map((i) => i.path);
    expect(dropped.length).toBeGreaterThan(0);
    const r = await office.onHost(host, ['nix-store', '--delete', ...dropped]);
    expect(r.exitCode, r.stderr).toBe(0);
  }

  async function leftovers(host: string): Promise<string> {
    return (
      await office.onHost(host, ['sh', '-c', 'ls -A "$1" 2>/dev/null || true', 'sh', IMPORT_DIR])
    ).stdout.trim();
  }

  it.each([OLD, NEW])(
    'delivers exactly the closure to %s with the builder’s signatures, in batches within the bound',
    async (host) => {
      const d = deps();
      const events: EngineEvent[] = [];
      const batches: number[] = [];
      const real = d.builder.stageForUplink;
      const builder = {
        ...d.builder,
        // Counts the batches and their bytes on their way, as the host unpacks them.
        stageForUplink: async (...args: Parameters<typeof real>): Promise<UplinkStage> => {
          const staged = await real(...args);
          return {
            ...staged,
            frame(batch) {
              batches.push(batch.reduce((sum, p) => sum + (staged.bytes.get(p) ?? 0), 0));
              return staged.frame(batch);
            },
          };
        },
      };
      const before = office.uplinkBytes();
      try {
        const result = await copySystem({ ...d, builder }, host, events);
        const sent = office.uplinkBytes().tx - before.tx;
        const s = systems.get(host)!;
        const held = await heldWithSigs(host);
        expect([...held.keys()].sort()).toEqual(s.closure.map((i) => i.path).sort());
        const keyName = office.publicKey.split(':')[0]!;
        for (const [path, sigs] of held)
          expect(
            sigs.some((sig) => sig.startsWith(`${keyName}:`)),
            path,
          ).toBe(true);
        const verified = await verify(host);
        expect(verified.exitCode, verified.stderr).toBe(0);
        // The bytes the bot counts are what crossed, give or take SSH's framing and the queries around it.
        expect(result.uplinkBytes).toBe(s.closure.reduce((n, i) => n + i.narSize, 0));
        expect(result.uplinkSentBytes).toBeGreaterThan(0);
        expect(sent).toBeGreaterThan(result.uplinkSentBytes);
        expect(sent).toBeLessThan(result.uplinkSentBytes * 1.1 + 256 * 1024);
        const progress = events.filter((e) => e.type === 'stage.progress' && e.source === 'builder');
        expect(progress.at(-1)).toMatchObject({ doneBytes: result.uplinkSentBytes });
        expect(await leftovers(host)).toBe('');
        expect(batches.length).toBeGreaterThan(1);
        for (const b of batches) expect(b).toBeLessThanOrEqual(STREAM.tempSpaceBytes);
      } finally {
        await d.close();
      }
    },
  );

  it('refuses a damaged stream on the host, and the paths come whole in a second stream', async () => {
    const host = OLD;
    const s = systems.get(host)!;
    await dropSome(host);
    const d = deps();
    let damaged = 0;
    const real = d.builder.stageForUplink;
    const builder = {
      ...d.builder,
      // The first stream has one byte of a compressed NAR flipped on its way, as a bad disk or link would.
      stageForUplink: async (...args: Parameters<typeof real>): Promise<UplinkStage> => {
        const staged = await real(...args);
        return {
          ...staged,
          async *frame(batch) {
            for await (const chunk of staged.frame(batch)) {
              if (damaged === 0 && chunk.byteLength > 50_000) {
                const copy = new Uint8Array(chunk);
                copy[Math.floor(copy.length / 2)]! ^= 0xff;
                damaged++;
                yield copy;
              } else yield chunk;
            }
          },
        };
      },
    };
    const events: EngineEvent[] = [];
    try {
      await copySystem({ ...d, builder }, host, events);
    } finally {
      await d.close();
    }
    expect(damaged).toBe(1);
    const said = events.flatMap((e) => (e.type === 'log' ? [e.message] : [])).join('\n');
    expect(said).toMatch(/the stream to stream-old failed in batch \d+ of \d+/);
    expect(said).toContain('second stream');
    const held = await heldWithSigs(host);
    expect([...held.keys()].sort()).toEqual(s.closure.map((i) => i.path).sort());
    const verified = await verify(host);
    expect(verified.exitCode, verified.stderr).toBe(0);
    expect(await leftovers(host)).toBe('');
  });

  it('refuses a host without the space before sending anything, naming the setting; the host holds what it held', async () => {
    const host = NEW;
    await dropSome(host);
    const heldBefore = [...(await heldWithSigs(host)).keys()].sort();
    // The importer's directory on a file system of 1 MiB: less than one batch.
    await office.onHost(host, ['mkdir', '-p', IMPORT_DIR]);
    const mounted = await office.onHost(host, ['mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', IMPORT_DIR]);
    expect(mounted.exitCode, mounted.stderr).toBe(0);
    const d = deps();
    const before = office.uplinkBytes();
    try {
      const err = await copySystem(d, host).then(
        () => null,
        (e: unknown) => e as Error & { hint?: string },
      );
      const sent = office.uplinkBytes().tx - before.tx;
      expect(err?.message).toMatch(
        new RegExp(
          `^${host} has not the space for the copy: it needs .+ for the new paths in its store and .+ to unpack the largest batch \\(at most uplink.tempSpaceMiB: 2 MiB\\), and has .+ free for the temporary files`,
        ),
      );
      expect(err?.message).toContain(`Nothing was sent or imported: ${host} holds what it held before`);
      expect(err?.hint).toContain('uplink.tempSpaceMiB');
      // The question and the refusal, a few kilobytes; the NARs are megabytes.
      expect(sent).toBeLessThan(200 * 1024);
      expect([...(await heldWithSigs(host)).keys()].sort()).toEqual(heldBefore);
      expect(await leftovers(host)).toBe('');
    } finally {
      await d.close();
      await office.onHost(host, ['umount', IMPORT_DIR]);
    }
  });

  it('still copies with nix copy --to ssh:// when uplink.transport is nix-copy', async () => {
    const host = NEW;
    const d = deps({ ...STREAM, transport: 'nix-copy' });
    try {
      await copySystem(d, host);
    } finally {
      await d.close();
    }
    const s = systems.get(host)!;
    expect([...(await heldWithSigs(host)).keys()].sort()).toEqual(s.closure.map((i) => i.path).sort());
  });
});
