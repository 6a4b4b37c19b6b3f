// The Nix adapter on the simulated office, checked against independent sources: plain nix-store on the
// builder, `onHost` (the host's namespaces entered directly, not SSH) for what a host holds, and the kernel's
// byte counter of the uplink for what crossed it.
import { mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildToplevel } from '../../src/adapters/nix/build.ts';
import { closureOf, nixVersion } from '../../src/adapters/nix/closure.ts';
import { diagnoseCopyFailure } from '../../src/adapters/nix/copy-failure.ts';
import { CopyError, type CopyToProgress, copyTo } from '../../src/adapters/nix/copy-to.ts';
import { listConfigurations } from '../../src/adapters/nix/flake.ts';
import { addGcRoot, readGcRoot, removeGcRoot } from '../../src/adapters/nix/gcroot.ts';
import { type Invocation, peerCopyInvocation } from '../../src/adapters/nix/peer-copy.ts';
import { CopyLogReader } from '../../src/adapters/nix/progress.ts';
import { NixError } from '../../src/adapters/nix/run.ts';
import { signClosure } from '../../src/adapters/nix/sign.ts';
import type { PathInfo } from '../../src/core/types.ts';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { run } from '../office/run.ts';

const unavailable = officeUnavailable();
const A = 'nix-a';
const B = 'nix-b';

/** The builder's store asked with the old CLI, which the adapter does not use. */
async function nixStore(args: readonly string[]): Promise<string[]> {
  const out = await run(['nix-store', ...args]);
  return out.stdout.split('\n').filter((l) => l !== '');
}

/** A host as a peer: on the office LAN, the address the builder uses is the LAN address. */
function asPeer(office: Office, host: string) {
  const h = office.host(host);
  return { lanAddress: h.address, port: h.port };
}

/** What ssh with the office's strict options (and no agent forwarded) runs on a host; each word quoted. */
async function runOnHostOverSsh(office: Office, host: string, inv: Invocation) {
  const h = office.host(host);
  const command = inv.argv.map((w) => `'${w.replaceAll("'", "'\\''")}'`).join(' ');
  return execa('ssh', [...office.sshOptions, '-p', String(h.port), `${h.user}@${h.address}`, command], {
    input: inv.stdin,
    reject: false,
    env: { SSH_AUTH_SOCK: office.agentSocket, PATH: process.env.PATH ?? '/usr/bin:/bin' },
    extendEnv: false,
  });
}

async function knownHostsFor(office: Office, host: string): Promise<string> {
  const address = office.host(host).address;
  const lines = (await readFile(office.knownHostsFile, 'utf8')).split('\n');
  return lines.filter((l) => l.split(' ')[0] === address).join('\n');
}

const sumBytes = (infos: readonly PathInfo[]) => infos.reduce((s, i) => s + i.narSize, 0);

describe.skipIf(unavailable !== null)('the Nix adapter on the simulated office', () => {
  let office: Office;
  let stateDir: string;
  let toplevel: string;
  let closure: PathInfo[];
  const log: string[] = [];
  // The Nix the office gives the builder (2.24 where installed), as the bot's builder.nixBinDir names it.
  const bin = () => ({ nixBinDir: office.builderNix.binDir });

  beforeAll(async () => {
    office = await startOffice({ hosts: [A, B], scale: 0.1 });
    // A revision no earlier run built, so the build really builds something.
    await office.fleet.setRevision(1000 + Math.floor(Math.random() * 1e9));
    stateDir = await mkdtemp(join(tmpdir(), 'nix-adapter-'));
  });
  afterAll(async () => {
    await office?.close();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it('lists the fleet flake’s hosts', async () => {
    expect((await listConfigurations(office.fleet.flakeRef, bin())).sort()).toEqual([A, B]);
  });

  it('builds a host’s system as plain nix build does, kept as a GC root, with its build log', async () => {
    const outLink = join(stateDir, 'gcroots', 'built', A);
    const built = await buildToplevel(office.fleet.flakeRef, A, {
      ...bin(),
      outLink,
      onLog: (l) => log.push(l),
    });
    toplevel = built.toplevel;
    expect(toplevel).toBe(await office.fleet.build(A));
    expect(built.drvPath).toBe((await nixStore(['--query', '--deriver', toplevel]))[0]);
    expect(await readlink(outLink)).toBe(toplevel);
    expect(await nixStore(['--gc', '--print-roots'])).toContain(`${outLink} -> ${toplevel}`);
    expect(log).toContain(`building '${built.drvPath}'`);
  });

  it('reports its closure as nix-store does: the same paths, sizes and references', async () => {
    closure = await closureOf([toplevel], bin());
    const requisites = await nixStore(['--query', '--requisites', toplevel]);
    expect(closure.map((i) => i.path).sort()).toEqual(requisites.sort());
    const top = closure.find((i) => i.path === toplevel)!;
    expect([...top.references].sort()).toEqual(
      (await nixStore(['--query', '--references', toplevel])).sort(),
    );
    expect(String(top.narSize)).toBe((await nixStore(['--query', '--size', toplevel]))[0]);
  });

  it('signs the closure with the office key, as path-info then shows for every path', async () => {
    const keyName = office.publicKey.split(':')[0]!;
    await signClosure(office.signingKeyFile, [toplevel], bin());
    closure = await closureOf([toplevel], bin());
    for (const info of closure) expect(info.signatures.some((s) => s.startsWith(`${keyName}:`))).toBe(true);
    const again = await signClosure(office.signingKeyFile, [toplevel], bin());
    expect(again.added).toBe(0);
  });

  it('copies the closure to a host over ssh:// with progress, and the host then holds it', async () => {
    const sizes = new Map(closure.map((i) => [i.path, i.narSize]));
    const seen: CopyToProgress[] = [];
    const result = await copyTo(office.host(A), [toplevel], {
      ...bin(),
      ssh: { knownHostsFile: office.knownHostsFile, agentSocket: office.agentSocket },
      sizes,
      totalBytes: sumBytes(closure),
      onProgress: (p) => seen.push(p),
    });
    const check = await office.onHost(A, ['nix-store', '--check-validity', ...closure.map((i) => i.path)]);
    expect(check.exitCode).toBe(0);
    expect(result).toEqual({ pathsCopied: closure.length, bytes: sumBytes(closure) });
    const done = seen.flatMap((p) => p.done ?? []);
    expect(done.sort()).toEqual(closure.map((i) => i.path).sort());
    expect(seen.at(-1)).toMatchObject({ pathsTotal: closure.length, bytesDone: sumBytes(closure) });
    // Bytes only ever grow.
    const bytes = seen.map((p) => p.bytesDone);
    expect(bytes).toEqual([...bytes].sort((a, b) => a - b));
  });

  it('lets the second host pull the closure from the first over the LAN: almost nothing crosses the uplink', async () => {
    const inv = peerCopyInvocation(asPeer(office, A), [toplevel], await knownHostsFor(office, A));
    const before = office.uplinkBytes();
    const r = await runOnHostOverSsh(office, B, inv);
    const after = office.uplinkBytes();
    expect(r.stderr).not.toMatch(/error/);
    expect(r.exitCode).toBe(0);
    const check = await office.onHost(B, ['nix-store', '--check-validity', ...closure.map((i) => i.path)]);
    expect(check.exitCode).toBe(0);

    const crossed = after.tx - before.tx + (after.rx - before.rx);
    // What crosses is the SSH session to B (key exchange, the bot's login, packet headers) and the copy's
    // filtered log streaming back (counts of the paths done, not Nix's 4 kB a path), against the closure's
    // 7.6 MB that went from A to B on the LAN.
    expect(sumBytes(closure)).toBeGreaterThan(5_000_000);
    expect(crossed).toBeLessThan(Buffer.byteLength(r.stderr) + 48 * 1024);
    expect(crossed).toBeLessThan(sumBytes(closure) / 50);

    const reader = new CopyLogReader();
    for (const line of r.stderr.split('\n')) reader.feed(line);
    expect(reader.snapshot()).toMatchObject({
      pathsDone: closure.length,
      pathsTotal: closure.length,
      errors: [],
    });
  });

  it('refuses, on the peer copy, a path the builder never signed', async () => {
    // Built on A itself (input-addressed: `nix-store --add` would make a content-addressed path, which needs no
    // signature and would be accepted).
    const built = await office.onHost(A, [
      'nix-build',
      '--no-out-link',
      '-E',
      `derivation { name = "built-on-a"; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" "echo ${Math.random()} > $out" ]; }`,
    ]);
    expect(built.exitCode).toBe(0);
    const unsigned = built.stdout.trim();
    expect((await office.onHost(A, ['nix-store', '--check-validity', unsigned])).exitCode).toBe(0);

    const inv = peerCopyInvocation(asPeer(office, A), [unsigned], await knownHostsFor(office, A));
    const r = await runOnHostOverSsh(office, B, inv);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('lacks a valid signature');
    expect(diagnoseCopyFailure(r.stderr.split('\n'), A)?.kind).toBe('unsigned');
    expect((await office.onHost(B, ['nix-store', '--check-validity', unsigned])).exitCode).not.toBe(0);
  });

  it('keeps a deployed system as a GC root and lets it go again', async () => {
    const dir = join(stateDir, 'gcroots', 'deployed');
    const link = await addGcRoot(dir, A, toplevel, bin());
    expect(await nixStore(['--gc', '--print-roots'])).toContain(`${link} -> ${toplevel}`);
    expect(await readGcRoot(dir, A)).toBe(toplevel);
    expect(await removeGcRoot(dir, A)).toBe(true);
    expect(await readGcRoot(dir, A)).toBeNull();
    expect((await nixStore(['--gc', '--print-roots'])).some((l) => l.startsWith(`${link} `))).toBe(false);
    expect(await removeGcRoot(dir, A)).toBe(false);
  });

  it('says which host the flake lacks, in Nix’s words, as a NixError', async () => {
    const err = await buildToplevel(office.fleet.flakeRef, 'no-such-host', bin()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NixError);
    expect(err).toMatchObject({ exitCode: 1, timedOut: false, aborted: false });
    expect((err as NixError).shortMessage).toMatch(
      /does not provide attribute .*nixosConfigurations\."no-such-host"/,
    );
  });

  it('refuses a copy to a host whose SSH key changed, saying so', async () => {
    await office.changeHostKey(A);
    const err = await copyTo(office.host(A), [toplevel], {
      ...bin(),
      ssh: { knownHostsFile: office.knownHostsFile, agentSocket: office.agentSocket },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CopyError);
    expect((err as CopyError).diagnosis?.kind).toBe('host-key-mismatch');
    expect((err as CopyError).message).toContain(
      `the SSH host key of root@${office.host(A).address} does not match known_hosts`,
    );
  });

  it('knows which Nix it runs', async () => {
    const v = await nixVersion(bin());
    const binary = join(office.builderNix.binDir, 'nix');
    expect(`nix (${v.implementation}) ${v.version}`).toBe((await run([binary, '--version'])).stdout.trim());
  });
});
