// The realistic fleet (test/office/real-content.ts, test/fleet/real.nix) on a small subset of its real Debian
// packages: its store paths carry the packages' real files (ELF objects byte for byte as Debian ships them),
// revision 2 brings the newer real libssl3 and openssl, and every package depending on them is rebuilt into
// paths that differ from revision 1's only in the store paths they embed; the rest is the same path. Needs
// the packages scripts/setup fetches (never fetched here).
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { type RealContent, realContent } from '../office/real-content.ts';
import { run } from '../office/run.ts';

const unavailable = officeUnavailable();
// libcurl4 depends on libssl3, libssh2-1 (itself on libssl3) and libzstd1; curl on libcurl4.
const SUBSET = ['libssl3', 'openssl', 'libssh2-1', 'libcurl4', 'curl', 'libzstd1'];
const HASH = 32;

async function closure(root: string): Promise<Map<string, string>> {
  const r = await run(['nix-store', '-qR', root]);
  const byName = new Map<string, string>();
  for (const p of r.stdout.split('\n').filter(Boolean))
    byName.set(p.slice('/nix/store/'.length + HASH + 1), p);
  return byName;
}

/** Every file and link under a store path: relative name -> bytes (links: their target). */
async function contents(root: string, rel = ''): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
    const r = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) for (const [k, v] of await contents(root, r)) out.set(k, v);
    else if (e.isSymbolicLink()) out.set(r, Buffer.from(`-> ${await readlink(join(root, r))}`));
    else out.set(r, await readFile(join(root, r)));
  }
  return out;
}

function replaceAll(b: Buffer, from: Buffer, to: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (let i = b.indexOf(from); i >= 0; i = b.indexOf(from, i + from.length)) {
    parts.push(b.subarray(at, i), to);
    at = i + from.length;
  }
  parts.push(b.subarray(at));
  return Buffer.concat(parts);
}

const ELF = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

describe.skipIf(unavailable !== null)('the realistic fleet', () => {
  let office: Office;
  let content: RealContent;
  let rev1: Map<string, string>;
  let rev2: Map<string, string>;
  beforeAll(async () => {
    content = await realContent({ only: SUBSET, parts: 16 });
    office = await startOffice({ hosts: ['real-a'], scale: 0.05, realContent: content });
    rev1 = await closure(await office.fleet.build('real-a'));
    await office.fleet.setRevision(2);
    rev2 = await closure(await office.fleet.build('real-a'));
  });
  afterAll(async () => {
    await office?.close();
  });

  const partsOf = (c: Map<string, string>, storeName: string) =>
    [...c.keys()].filter((n) => n.startsWith(`${storeName}-part`)).sort();
  const pkg = (rev: string, name: string) => content.revisions[rev]!.find((p) => p.name === name)!;

  it("carries the packages' real files: libssl3 3.0.17, then 3.0.22, byte for byte as Debian ships them", async () => {
    const lib = 'usr/lib/x86_64-linux-gnu/libssl.so.3';
    const found: Buffer[] = [];
    for (const [rev, c] of [
      ['1', rev1],
      ['2', rev2],
    ] as const) {
      const p = pkg(rev, 'libssl3');
      expect(p.version).toBe(rev === '1' ? '3.0.17-1~deb12u2' : '3.0.22-1~deb12u2');
      const holder = partsOf(c, p.storeName).find((n) => p.parts[Number(n.split('-part')[1])]!.includes(lib));
      expect(holder, `no part of ${p.storeName} holds ${lib}`).toBeDefined();
      const bytes = await readFile(join(c.get(holder!)!, lib));
      expect(bytes.subarray(0, 4)).toEqual(ELF);
      expect(bytes.equals(await readFile(join(p.tree, lib)))).toBe(true);
      found.push(bytes);
    }
    expect(found[0]!.equals(found[1]!)).toBe(false);
  });

  it('rebuilds what depends on libssl3 into paths that differ only in the store paths they embed', async () => {
    // Revision 1's store path -> revision 2's: by name, and for a package with a new version, its index and
    // parts by package (their names carry the version).
    const pairs = new Map<string, string>();
    for (const [name, p] of rev1) if (rev2.has(name)) pairs.set(p, rev2.get(name)!);
    for (const p1 of content.revisions['1']!) {
      const p2 = pkg('2', p1.name);
      pairs.set(rev1.get(p1.storeName)!, rev2.get(p2.storeName)!);
      p1.parts.forEach((_, i) => {
        pairs.set(rev1.get(`${p1.storeName}-part${i}`)!, rev2.get(`${p2.storeName}-part${i}`)!);
      });
    }
    const renames = [...pairs].map(([a, b]) => [Buffer.from(a), Buffer.from(b)] as const);
    let rebuilt = 0;
    let elfsDiffering = 0;
    for (const name of ['openssl', 'libssh2-1', 'libcurl4', 'curl']) {
      const storeName1 = pkg('1', name).storeName;
      const storeName2 = pkg('2', name).storeName;
      // openssl itself is new in revision 2; the others keep their version and are only rebuilt.
      const parts1 = partsOf(rev1, storeName1);
      const parts2 = partsOf(rev2, storeName2);
      expect(parts1.length).toBeGreaterThan(0);
      if (name === 'openssl') continue;
      expect(parts2).toEqual(parts1);
      for (const part of parts1) {
        const a = rev1.get(part)!;
        const b = rev2.get(part)!;
        expect(b).not.toBe(a);
        rebuilt++;
        const fa = await contents(a);
        const fb = await contents(b);
        expect([...fb.keys()].sort()).toEqual([...fa.keys()].sort());
        for (const [file, bytesA] of fa) {
          const bytesB = fb.get(file)!;
          if (!bytesA.equals(bytesB) && bytesA.subarray(0, 4).equals(ELF)) elfsDiffering++;
          let mapped = bytesA;
          for (const [from, to] of renames) mapped = replaceAll(mapped, from, to);
          expect(mapped.equals(bytesB), `${part}/${file} differs beyond its store paths`).toBe(true);
        }
      }
    }
    expect(rebuilt).toBeGreaterThan(0);
    expect(elfsDiffering).toBeGreaterThan(0);
    // The ELF objects carry the path of what they link to, as a RUNPATH would.
    const curl = pkg('2', 'curl');
    const bin = partsOf(rev2, curl.storeName).find((n) =>
      curl.parts[Number(n.split('-part')[1])]!.includes('usr/bin/curl'),
    )!;
    const tail = (await readFile(join(rev2.get(bin)!, 'usr/bin/curl'))).toString('latin1');
    const want = `NIX_RUNPATH=${rev2.get(pkg('2', 'libcurl4').storeName)}`;
    expect(tail.includes(want), `usr/bin/curl does not embed ${want}`).toBe(true);
  });

  it('keeps every path that depends on neither the same', () => {
    const zstd = pkg('1', 'libzstd1').storeName;
    const parts = partsOf(rev1, zstd);
    expect(parts.length).toBeGreaterThan(0);
    for (const p of [zstd, ...parts]) expect(rev2.get(p)).toBe(rev1.get(p));
  });
});
