import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MAX_ROOTS,
  PEER_COPY_SCRIPT,
  PeerCopyInputError,
  type PeerEndpoint,
  peerCopyInvocation,
} from '../../src/adapters/nix/peer-copy.ts';

const BASE32 = '0123456789abcdfghijklmnpqrsvwxyz';
/** A valid store path, its hash spread from the seed. */
function storePath(name: string, seed: number): string {
  let x = (seed * 2_654_435_761 + 97) >>> 0;
  let hash = '';
  for (let k = 0; k < 32; k++) {
    x = (Math.imul(x ^ (x >>> 13), 1_274_126_177) + k) >>> 0;
    hash += BASE32[x & 31];
  }
  return `/nix/store/${hash}-${name}`;
}

const peer: PeerEndpoint = { user: 'root', lanAddress: '10.1.2.3', port: 22 };
const line = '10.1.2.3 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH6ega+ZqPFsHTBiBzpq7ccgFxnnc7wHvoiD7R4JfhZr';
const roots = [storePath('nixos-system-a', 1), storePath('kiosk', 2)];

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const addressArb = fc.oneof(
  fc.ipV4(),
  fc.array(label, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('.')),
);
const endpointArb = fc.record({
  user: fc.stringMatching(/^[a-z_][a-z0-9_-]{0,31}$/),
  lanAddress: addressArb,
  port: fc.integer({ min: 1, max: 65535 }),
});
const rootsArb = fc
  .array(
    fc.tuple(
      fc.stringMatching(/^[A-Za-z0-9+._?=-]{1,40}$/).filter((n) => !n.startsWith('.')),
      fc.nat(),
    ),
    { minLength: 1, maxLength: 30 },
  )
  .map((xs) => xs.map(([name, seed]) => storePath(name, seed)));

describe('peerCopyInvocation', () => {
  it('puts everything variable after the fixed script, as positional parameters', () => {
    const inv = peerCopyInvocation(peer, roots, line);
    expect(inv.argv).toEqual(['sh', '-c', PEER_COPY_SCRIPT, 'sh', 'ssh', 'root', '10.1.2.3', '22', ...roots]);
    expect(inv.stdin).toBe(`${line}\n`);
  });

  it('never changes the script, whatever the roots and the address (property)', () => {
    fc.assert(
      fc.property(
        endpointArb,
        rootsArb,
        fc.constantFrom('ssh' as const, 'ssh-ng' as const),
        (ep, rs, protocol) => {
          const known = `${ep.port === 22 ? ep.lanAddress : `[${ep.lanAddress}]:${ep.port}`} ssh-ed25519 AAAA`;
          const inv = peerCopyInvocation(ep, rs, known, { protocol });
          expect(inv.argv.slice(0, 4)).toEqual(['sh', '-c', PEER_COPY_SCRIPT, 'sh']);
          expect(inv.argv.slice(4)).toEqual([
            protocol,
            ep.user,
            ep.lanAddress,
            String(ep.port),
            ...new Set(rs),
          ]);
          for (const r of rs) expect(PEER_COPY_SCRIPT).not.toContain(r);
        },
      ),
    );
  });

  it('never passes --no-check-sigs and keeps strict host keys', () => {
    expect(PEER_COPY_SCRIPT).not.toContain('no-check-sigs');
    expect(PEER_COPY_SCRIPT).toContain('StrictHostKeyChecking=yes');
    expect(PEER_COPY_SCRIPT).toContain('BatchMode=yes');
  });

  it.each([
    ['a user with a space', { ...peer, user: 'ro ot' }, /SSH user/],
    ['an address starting with "-"', { ...peer, lanAddress: '-oProxyCommand=x' }, /not a host name or IPv4/],
    ['an IPv6 literal', { ...peer, lanAddress: 'fe80::1' }, /not a host name or IPv4/],
    ['an address with a space', { ...peer, lanAddress: '10.1.2.3 -p 2' }, /not a host name or IPv4/],
    ['port 0', { ...peer, port: 0 }, /port 0/],
    ['port 70000', { ...peer, port: 70000 }, /port 70000/],
  ])('refuses %s', (_what, ep, message) => {
    expect(() => peerCopyInvocation(ep, roots, line)).toThrow(PeerCopyInputError);
    expect(() => peerCopyInvocation(ep, roots, line)).toThrow(message);
  });

  it('refuses roots that are not store paths, none, or too many', () => {
    expect(() => peerCopyInvocation(peer, [], line)).toThrow(/no roots to copy/);
    expect(() => peerCopyInvocation(peer, ['/nix/store/x; rm -rf /'], line)).toThrow(/not a store path/);
    const many = Array.from({ length: MAX_ROOTS + 1 }, (_, i) => storePath('p', i));
    expect(() => peerCopyInvocation(peer, many, line)).toThrow(`at most ${MAX_ROOTS}`);
  });

  it('refuses known_hosts lines that cannot vouch for the peer', () => {
    expect(() => peerCopyInvocation(peer, roots, '10.9.9.9 ssh-ed25519 AAAA')).toThrow(
      /no entry for 10\.1\.2\.3/,
    );
    expect(() => peerCopyInvocation(peer, roots, '10.1.2.3 ssh-ed25519')).toThrow(/line 1 is not/);
    expect(() => peerCopyInvocation(peer, roots, `${line}\0`)).toThrow(/NUL/);
    expect(() => peerCopyInvocation({ ...peer, port: 2222 }, roots, line)).toThrow(
      /no entry for \[10\.1\.2\.3\]:2222/,
    );
    // Hashed names and wildcards may match: ssh decides.
    expect(() => peerCopyInvocation(peer, roots, '|1|abc=|def= ssh-ed25519 AAAA')).not.toThrow();
    expect(() =>
      peerCopyInvocation(peer, roots, '# office\n@revoked 10.1.* ssh-ed25519 AAAA\n'),
    ).not.toThrow();
  });
});

// The script run by a real sh, with a stand-in `nix` that records what it was given: this checks the shell
// text itself (the real copy is checked on the simulated office in test/integration/nix-office.test.ts).
describe('the peer copy script', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'peer-copy-'));
    await writeFile(
      join(dir, 'nix'),
      [
        '#!/bin/sh',
        'printf "%s\\n" "$@" > "$OUT/args"',
        'printf "%s" "$NIX_SSHOPTS" > "$OUT/sshopts"',
        'file=$(printf "%s" "$NIX_SSHOPTS" | sed -n "s/.*UserKnownHostsFile=\\([^ ]*\\).*/\\1/p")',
        'cp "$file" "$OUT/known_hosts"',
        'echo "$file" > "$OUT/file"',
        'exit "$STATUS"',
      ].join('\n'),
    );
    await chmod(join(dir, 'nix'), 0o755);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function runScript(status: number) {
    const out = await mkdtemp(join(dir, 'out-'));
    const tmp = await mkdtemp(join(dir, 'tmp-'));
    const inv = peerCopyInvocation(
      { user: 'deploy', lanAddress: 'pi-kitchen.lan', port: 2222 },
      roots,
      '[pi-kitchen.lan]:2222 ssh-ed25519 AAAA',
    );
    const [file, ...args] = inv.argv;
    const r = await execa(file!, args, {
      input: inv.stdin,
      reject: false,
      env: { PATH: `${dir}:/usr/bin:/bin`, OUT: out, STATUS: String(status), TMPDIR: tmp },
      extendEnv: false,
    });
    return { r, out, tmp };
  }

  it('hands nix the URL, the roots and the known_hosts lines, then removes the file and exits with nix', async () => {
    const { r, out, tmp } = await runScript(0);
    expect(r.exitCode).toBe(0);
    expect((await readFile(join(out, 'args'), 'utf8')).trim().split('\n')).toEqual([
      '--extra-experimental-features',
      'nix-command',
      'copy',
      '--from',
      'ssh://deploy@pi-kitchen.lan',
      '--log-format',
      'internal-json',
      '--',
      ...roots,
    ]);
    const file = (await readFile(join(out, 'file'), 'utf8')).trim();
    expect(await readFile(join(out, 'sshopts'), 'utf8')).toBe(
      `-o UserKnownHostsFile=${file} -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=15 -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -p 2222`,
    );
    expect(await readFile(join(out, 'known_hosts'), 'utf8')).toBe('[pi-kitchen.lan]:2222 ssh-ed25519 AAAA\n');
    expect(file.startsWith(tmp)).toBe(true);
    expect(await readdir(tmp)).toEqual([]);
  });

  it("exits with nix's failure status and still removes the file", async () => {
    const { r, tmp } = await runScript(7);
    expect(r.exitCode).toBe(7);
    expect(await readdir(tmp)).toEqual([]);
  });
});
