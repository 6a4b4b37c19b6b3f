// Fault matrix: what a peer offers cannot be trusted. A path whose files were changed on the peer, a path whose
// signature was taken away, and one signed by a key no host trusts: the target must refuse each, take what it
// lacks from the builder, and end with the whole closure, every path valid and signed by the builder. Each from a
// known state (a new fleet revision that the peer holds and the target does not), checked on the hosts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { run } from '../office/run.ts';
import { officeConfig } from '../support/office-bot.ts';
import { expectExit } from '../support/outcome.ts';
import { rawState, signage, systemOf } from './support.ts';

const unavailable = officeUnavailable();
const [A, B] = ['baard-entrance', 'baard-kitchen'];

describe.skipIf(unavailable !== null)('faults: paths a peer cannot vouch for', () => {
  let office: Office;
  let config: ReturnType<typeof officeConfig>;
  let keyName: string;
  let revision = 1;
  const scratch = mkdtempSync(join(tmpdir(), 'signage-faults-'));
  beforeAll(async () => {
    office = await startOffice({ hosts: [A, B], scale: 0.05 });
    config = officeConfig(office);
    keyName = office.publicKey.split(':')[0]!;
  }, 300_000);
  afterAll(async () => {
    config?.cleanup();
    rmSync(scratch, { recursive: true, force: true });
    await office?.close();
  });

  /**
   * A new revision deployed to A only: returns B's new system, its closure, and the paths of it that A holds
   * and B lacks (what the plan would take from A).
   */
  async function peerHoldsTheChange(): Promise<{ system: string; closure: string[]; fromPeer: string[] }> {
    revision += 1;
    await office.fleet.setRevision(revision);
    expectExit(await signage(['--config', config.file, 'deploy', A, '--no-restart']), 0);
    const system = await office.fleet.build(B);
    const closure = (await run(['nix-store', '-qR', system])).stdout.trim().split('\n');
    const invalidOn = async (host: string) =>
      new Set(
        (await office.onHost(host, ['nix-store', '--check-validity', '--print-invalid', ...closure])).stdout
          .trim()
          .split('\n'),
      );
    const [missingOnB, missingOnA] = [await invalidOn(B), await invalidOn(A)];
    const fromPeer = closure.filter((p) => missingOnB.has(p) && !missingOnA.has(p));
    expect(fromPeer.length).toBeGreaterThan(0);
    return { system, closure, fromPeer };
  }

  /** B runs `system`, and holds its whole closure: valid, contents as registered, each signed by the builder. */
  async function wholeAndSigned(system: string, closure: string[]): Promise<void> {
    expect(await systemOf(office, B)).toEqual({ current: system, profile: system });
    const valid = await office.onHost(B, ['nix-store', '--check-validity', ...closure]);
    expect(valid.exitCode, valid.stderr).toBe(0);
    const verified = await office.onHost(B, ['nix-store', '--verify-path', ...closure]);
    expect(verified.exitCode, verified.stderr).toBe(0);
    const info = await office.onHost(B, [
      'nix',
      '--extra-experimental-features',
      'nix-command',
      'path-info',
      '--json',
      ...closure,
    ]);
    expect(info.exitCode, info.stderr).toBe(0);
    const parsed = JSON.parse(info.stdout) as
      | { path: string; signatures?: string[] }[]
      | Record<string, { signatures?: string[] }>;
    const entries = Array.isArray(parsed)
      ? parsed.map((e) => [e.path, e.signatures ?? []] as const)
      : Object.entries(parsed).map(([p, e]) => [p, e.signatures ?? []] as const);
    expect(entries).toHaveLength(closure.length);
    const unsigned = entries.filter(([, sigs]) => !sigs.some((s) => s.startsWith(`${keyName}:`)));
    expect(unsigned).toEqual([]);
    expect(rawState(config.stateDir).locks).toEqual([]);
  }

  /** Takes the signatures of `paths` away in A's own store database, as a path built on A would have none. */
  function stripSignatures(paths: readonly string[]): void {
    const db = new DatabaseSync(join(office.host(A).dir, 'nix', 'var', 'nix', 'db', 'db.sqlite'));
    try {
      const update = db.prepare('UPDATE ValidPaths SET sigs = NULL WHERE path = ?');
      for (const p of paths) expect(update.run(p).changes).toBe(1);
    } finally {
      db.close();
    }
  }

  /** The signatures A's store reports for a path. */
  async function signaturesOnA(path: string): Promise<string[]> {
    const info = await office.onHost(A, [
      'nix',
      '--extra-experimental-features',
      'nix-command',
      'path-info',
      '--json',
      path,
    ]);
    const parsed = JSON.parse(info.stdout) as
      | { signatures?: string[] }[]
      | Record<string, { signatures?: string[] }>;
    const entry = Array.isArray(parsed) ? parsed[0] : Object.values(parsed)[0];
    return entry?.signatures ?? [];
  }

  it('a path changed on the peer: the target refuses it (hash mismatch), the builder stands in, the closure is whole', async () => {
    const { system, closure, fromPeer } = await peerHoldsTheChange();
    // The largest file of the first path the plan takes from A: same size, other bytes.
    const file = (await office.onHost(A, ['find', fromPeer[0]!, '-type', 'f', '-size', '+1k'])).stdout
      .trim()
      .split('\n')[0];
    expect(file).toBeTruthy();
    const tamper = await office.onHost(A, [
      'dd',
      'if=/dev/urandom',
      `of=${file}`,
      'bs=512',
      'count=1',
      'conv=notrunc',
    ]);
    expect(tamper.exitCode, tamper.stderr).toBe(0);
    expect((await office.onHost(A, ['nix-store', '--verify-path', fromPeer[0]!])).exitCode).not.toBe(0);

    const out = await signage(['--config', config.file, 'deploy', B, '--no-restart']);
    expectExit(out, 0);
    expect(out.all).toMatch(/hash mismatch/i);
    expect(out.all).toContain(`builder stood in for ${A}`);
    await wholeAndSigned(system, closure);
  }, 300_000);

  it('unsigned paths on the peer: refused, nothing unsigned enters the target, the deploy completes from the builder', async () => {
    const { system, closure, fromPeer } = await peerHoldsTheChange();
    stripSignatures(fromPeer);
    expect(await signaturesOnA(fromPeer[0]!)).toEqual([]);

    const out = await signage(['--config', config.file, 'deploy', B, '--no-restart']);
    expectExit(out, 0);
    expect(out.all).toContain('lacks a signature the destination trusts, so it was refused');
    expect(out.all).toContain(`builder stood in for ${A}`);
    await wholeAndSigned(system, closure);
  }, 300_000);

  it('paths on the peer signed by a key no host trusts: refused, the deploy completes from the builder', async () => {
    const { system, closure, fromPeer } = await peerHoldsTheChange();
    const secret = join(scratch, 'foreign.sec');
    await run([
      'nix-store',
      '--generate-binary-cache-key',
      'foreign-1',
      secret,
      join(scratch, 'foreign.pub'),
    ]);
    stripSignatures(fromPeer);
    const signed = await office.onHost(A, [
      'nix',
      '--extra-experimental-features',
      'nix-command',
      'store',
      'sign',
      '--key-file',
      secret,
      ...fromPeer,
    ]);
    expect(signed.exitCode, signed.stderr).toBe(0);
    const sigs = await signaturesOnA(fromPeer[0]!);
    expect(sigs.length).toBeGreaterThan(0);
    expect(sigs.every((s) => s.startsWith('foreign-1:'))).toBe(true);

    const out = await signage(['--config', config.file, 'deploy', B, '--no-restart']);
    expectExit(out, 0);
    expect(out.all).toContain('lacks a signature the destination trusts, so it was refused');
    expect(out.all).toContain(`builder stood in for ${A}`);
    await wholeAndSigned(system, closure);
  }, 300_000);
});
