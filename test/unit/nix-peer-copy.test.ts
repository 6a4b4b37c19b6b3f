import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chunkRoots,
  DEFAULT_CLIENT_KEY,
  MAX_ROOT_BYTES,
  MAX_ROOTS,
  PEER_COPY_SCRIPT,
  PeerCopyInputError,
  type PeerEndpoint,
  peerCopyInvocation,
  peerCopyInvocations,
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

const peer: PeerEndpoint = { lanAddress: '10.1.2.3', port: 22 };
const line = '10.1.2.3 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH6ega+ZqPFsHTBiBzpq7ccgFxnnc7wHvoiD7R4JfhZr';
const roots = [storePath('nixos-system-a', 1), storePath('kiosk', 2)];

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const addressArb = fc.oneof(
  fc.ipV4(),
  fc.array(label, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('.')),
);
const endpointArb = fc.record({
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
    expect(inv.argv).toEqual([
      'sh',
      '-c',
      PEER_COPY_SCRIPT,
      'sh',
      'ssh',
      'nix-ssh',
      '10.1.2.3',
      '22',
      '/etc/ssh/ssh_host_ed25519_key',
      ...roots,
    ]);
    expect(DEFAULT_CLIENT_KEY).toBe('/etc/ssh/ssh_host_ed25519_key');
    expect(inv.stdin).toBe(`${line}\n`);
  });

  it('never changes the script, whatever the roots and the address (property)', () => {
    fc.assert(
      fc.property(
        endpointArb,
        rootsArb,
        fc.constantFrom('ssh' as const, 'ssh-ng' as const),
        fc.stringMatching(/^[a-z_][a-z0-9_-]{0,31}$/),
        (ep, rs, protocol, user) => {
          const known = `${ep.port === 22 ? ep.lanAddress : `[${ep.lanAddress}]:${ep.port}`} ssh-ed25519 AAAA`;
          const inv = peerCopyInvocation(ep, rs, known, { protocol, user });
          expect(inv.argv.slice(0, 4)).toEqual(['sh', '-c', PEER_COPY_SCRIPT, 'sh']);
          expect(inv.argv.slice(4)).toEqual([
            protocol,
            user,
            ep.lanAddress,
            String(ep.port),
            DEFAULT_CLIENT_KEY,
            ...new Set(rs),
          ]);
          for (const r of rs) expect(PEER_COPY_SCRIPT).not.toContain(r);
        },
      ),
    );
  });

  it('never passes --no-check-sigs, keeps strict host keys, and offers the peer no agent', () => {
    expect(PEER_COPY_SCRIPT).not.toContain('no-check-sigs');
    expect(PEER_COPY_SCRIPT).toContain('StrictHostKeyChecking=yes');
    expect(PEER_COPY_SCRIPT).toContain('BatchMode=yes');
    expect(PEER_COPY_SCRIPT).toContain('IdentitiesOnly=yes');
    expect(PEER_COPY_SCRIPT).toContain('IdentityAgent=none');
    expect(PEER_COPY_SCRIPT).toContain('ForwardAgent=no');
    expect(PEER_COPY_SCRIPT).toContain('unset SSH_AUTH_SOCK');
  });

  it('refuses a serving user or a client key it cannot pass on safely', () => {
    expect(() => peerCopyInvocation(peer, roots, line, { user: 'ro ot' })).toThrow(/SSH user/);
    for (const key of ['relative/key', '/etc/ssh/key&x=1', '/etc/ssh/../shadow', '/etc/ssh/a key']) {
      expect(() => peerCopyInvocation(peer, roots, line, { clientKey: key })).toThrow(/client key/);
    }
    expect(peerCopyInvocation(peer, roots, line, { clientKey: '/var/lib/keys/peer_ed25519' }).argv[8]).toBe(
      '/var/lib/keys/peer_ed25519',
    );
  });

  it.each([
    ['an address starting with "-"', { ...peer, lanAddress: '-oProxyCommand=x' }, /not a host name or IPv4/],
    ['an IPv6 literal', { ...peer, lanAddress: 'fe80::1' }, /not a host name or IPv4/],
    ['an address with a space', { ...peer, lanAddress: '10.1.2.3 -p 2' }, /not a host name or IPv4/],
    ['port 0', { ...peer, port: 0 }, /port 0/],
    ['port 70000', { ...peer, port: 70000 }, /port 70000/],
  ])('refuses %s', (_what, ep, message) => {
    expect(() => peerCopyInvocation(ep, roots, line)).toThrow(PeerCopyInputError);
    expect(() => peerCopyInvocation(ep, roots, line)).toThrow(message);
  });

  it('refuses roots that are not store paths, or none, and more than one command takes', () => {
    expect(() => peerCopyInvocations(peer, [], line)).toThrow(/no roots to copy/);
    expect(() => peerCopyInvocations(peer, ['/nix/store/x; rm -rf /'], line)).toThrow(/not a store path/);
    const many = Array.from({ length: MAX_ROOTS + 1 }, (_, i) => storePath('p', i));
    expect(() => peerCopyInvocation(peer, many, line)).toThrow(`at most ${MAX_ROOTS} roots`);
  });

  it('splits a step of 3,742 roots into commands of at most 1,000 roots, in order, each whole', () => {
    const many = Array.from({ length: 3742 }, (_, i) => storePath(`p${i}`, i));
    const invs = peerCopyInvocations(peer, many, line);
    expect(invs.map((i) => i.argv.length - 9)).toEqual([1000, 1000, 1000, 742]);
    expect(invs.flatMap((i) => i.argv.slice(9))).toEqual(many);
    for (const inv of invs) {
      expect(inv.argv.slice(0, 9)).toEqual(peerCopyInvocation(peer, roots, line).argv.slice(0, 9));
      expect(inv.stdin).toBe(`${line}\n`);
    }
  });

  it('keeps every command line under the size one shell argument may have (property)', () => {
    const longName = fc.stringMatching(/^[a-z0-9-]{1,200}$/);
    fc.assert(
      fc.property(fc.array(fc.tuple(longName, fc.nat()), { minLength: 1, maxLength: 2500 }), (xs) => {
        const rs = [...new Set(xs.map(([n, seed]) => storePath(n, seed)))];
        const chunks = chunkRoots(rs);
        expect(chunks.flat()).toEqual(rs);
        for (const c of chunks) {
          expect(c.length).toBeGreaterThan(0);
          expect(c.length).toBeLessThanOrEqual(MAX_ROOTS);
          expect(c.reduce((sum, r) => sum + r.length + 3, 0)).toBeLessThanOrEqual(MAX_ROOT_BYTES);
        }
      }),
      { numRuns: 30 },
    );
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
        'if env | grep -q "^SSH_AUTH_SOCK="; then printf set > "$OUT/agent"; else printf unset > "$OUT/agent"; fi',
        'file=$(printf "%s" "$NIX_SSHOPTS" | sed -n "s/.*UserKnownHostsFile=\\([^ ]*\\).*/\\1/p")',
        'cp "$file" "$OUT/known_hosts"',
        'echo "$file" > "$OUT/file"',
        // What fd 3 and stderr are: two different pipes, so what ssh does to one (O_NONBLOCK) leaves the other be.
        'readlink /proc/$$/fd/2 > "$OUT/fd2"',
        'readlink /proc/$$/fd/3 > "$OUT/fd3"',
        '[ -e /proc/$$/fd/4 ] && echo open > "$OUT/fd4"',
        '[ -e /proc/$$/fd/5 ] && echo open > "$OUT/fd5"',
        'echo "from ssh" >&3',
        'echo "from nix" >&2',
        'echo "nix stdout"',
        'if [ -n "$HANG" ]; then : > "$OUT/hanging"; sleep 30; fi',
        'exit "$STATUS"',
      ].join('\n'),
    );
    await chmod(join(dir, 'nix'), 0o755);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function runScript(status: number, protocol: 'ssh' | 'ssh-ng' = 'ssh') {
    const out = await mkdtemp(join(dir, 'out-'));
    const tmp = await mkdtemp(join(dir, 'tmp-'));
    const inv = peerCopyInvocation(
      { lanAddress: 'pi-kitchen.lan', port: 2222 },
      roots,
      '[pi-kitchen.lan]:2222 ssh-ed25519 AAAA',
      { protocol },
    );
    const [file, ...args] = inv.argv;
    const r = await execa(file!, args, {
      input: inv.stdin,
      reject: false,
      // An agent in the session's environment must not reach ssh.
      env: {
        PATH: `${dir}:/usr/bin:/bin`,
        OUT: out,
        STATUS: String(status),
        TMPDIR: tmp,
        SSH_AUTH_SOCK: '/tmp/agent.sock',
      },
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
      'ssh://nix-ssh@pi-kitchen.lan?ssh-key=/etc/ssh/ssh_host_ed25519_key&log-fd=3',
      '--log-format',
      'internal-json',
      '--',
      ...roots,
    ]);
    const file = (await readFile(join(out, 'file'), 'utf8')).trim();
    expect(await readFile(join(out, 'sshopts'), 'utf8')).toBe(
      `-o UserKnownHostsFile=${file} -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes -o ForwardAgent=no -o ConnectTimeout=15 -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -o IdentitiesOnly=yes -o IdentityAgent=none -o ClearAllForwardings=yes -p 2222`,
    );
    expect(await readFile(join(out, 'agent'), 'utf8')).toBe('unset');
    expect(await readFile(join(out, 'known_hosts'), 'utf8')).toBe('[pi-kitchen.lan]:2222 ssh-ed25519 AAAA\n');
    expect(file.startsWith(tmp)).toBe(true);
    expect(await readdir(tmp)).toEqual([]);
  });

  it("exits with nix's failure status and still removes the file", async () => {
    const { r, tmp } = await runScript(7);
    expect(r.exitCode).toBe(7);
    expect(await readdir(tmp)).toEqual([]);
  });

  it("gives ssh a stderr of its own (fd 3, a pipe that is not the session's), passed on to the session's stderr", async () => {
    for (const status of [0, 3]) {
      const { r, out } = await runScript(status);
      expect(r.exitCode).toBe(status);
      const [fd2, fd3] = [await readFile(join(out, 'fd2'), 'utf8'), await readFile(join(out, 'fd3'), 'utf8')];
      expect(fd3).toMatch(/^pipe:\[\d+\]\n$/);
      expect(fd3).not.toBe(fd2);
      // The descriptors the script uses for itself do not reach nix (nor, through it, ssh).
      expect(await readdir(out)).not.toContain('fd4');
      expect(await readdir(out)).not.toContain('fd5');
      expect(String(r.stderr).split('\n').sort()).toEqual(['from nix', 'from ssh']);
      expect(r.stdout).toBe('nix stdout');
    }
  });

  it('names log-fd only for ssh://, whose store reads it (ssh-ng:// would warn of an unknown setting)', async () => {
    const { r, out } = await runScript(0, 'ssh-ng');
    expect(r.exitCode).toBe(0);
    expect((await readFile(join(out, 'args'), 'utf8')).split('\n')).toContain(
      'ssh-ng://nix-ssh@pi-kitchen.lan?ssh-key=/etc/ssh/ssh_host_ed25519_key',
    );
  });

  it('exits 143 when its session is ended with SIGTERM, and removes the file', async () => {
    const out = await mkdtemp(join(dir, 'out-'));
    const tmp = await mkdtemp(join(dir, 'tmp-'));
    const inv = peerCopyInvocation(peer, roots, line);
    const [file, ...args] = inv.argv;
    const child = execa(file!, args, {
      input: inv.stdin,
      reject: false,
      env: { PATH: `${dir}:/usr/bin:/bin`, OUT: out, STATUS: '0', TMPDIR: tmp, HANG: '1' },
      extendEnv: false,
      // Its own process group, signalled as a whole, as the end of a session signals what runs in it.
      detached: true,
    });
    // Bounded: the stand-in announces itself at once; 400 rounds of 25 ms is 10 s.
    for (let i = 0; i < 400 && !(await readdir(out)).includes('hanging'); i++) await sleep(25);
    expect(await readdir(out)).toContain('hanging');
    process.kill(-child.pid!, 'SIGTERM');
    const r = await child;
    expect(r.exitCode).toBe(143);
    expect(await readdir(tmp)).toEqual([]);
  });
});
