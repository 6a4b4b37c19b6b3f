// The simulated office is the ground every other integration test stands on: check that it behaves like the
// real thing (separate stores, strict SSH, an uplink that sees builder traffic only) and leaves nothing behind.
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { mixedOfficeUnavailable, NIX_BIN_DIRS } from '../office/nix-versions.ts';
import { alive, isOfficeProcess } from '../office/proc.ts';
import { OFFICES_DIR, type OfficeRecord, teardown } from '../office/registry.ts';
import { run } from '../office/run.ts';

const unavailable = officeUnavailable();

async function ssh(office: Office, host: string, argv: string[], extra: string[] = []) {
  const h = office.host(host);
  return run(['ssh', ...office.sshOptions, ...extra, `${h.user}@${h.address}`, ...argv], {
    env: { ...process.env, SSH_AUTH_SOCK: office.agentSocket } as Record<string, string>,
    allowFailure: true,
  });
}

/** A peer's store as its nix-ssh account serves it, logged in to with the host's own key (quoted for ssh). */
const servedBy = (address: string) => `'ssh://nix-ssh@${address}?ssh-key=/etc/ssh/ssh_host_ed25519_key'`;

// Hosts are like NixOS: no experimental feature is on unless the command asks for it.
const NIX_ON_HOST = ['nix', '--extra-experimental-features', 'nix-command'];

/** Pids of every process whose mount table shows something under `dir` (the office's bind mounts). */
function processesMounting(dir: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/mountinfo`, 'utf8').includes(`${dir}/`)) out.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return out;
}

describe.skipIf(unavailable !== null)('the simulated office', () => {
  let office: Office;
  beforeAll(async () => {
    office = await startOffice({ hosts: ['office-a', 'office-b'], scale: 0.05 });
  });
  afterAll(async () => {
    await office?.close();
  });

  it('lets the builder in over SSH with strict host keys, and each host has its own store and /run', async () => {
    // ssh hands the remote shell one string: this one is ours, fixed, and meant to be expanded there.
    const out = await ssh(office, 'office-a', ['echo $NIX_CONF_DIR; ls /run']);
    expect(out.exitCode).toBe(0);
    expect(out.stdout).toContain(`${office.host('office-a').dir}/etc/nix`);
    const path = await office.fleet.build('office-a');
    // The builder holds the path; a fresh host holds nothing.
    const onA = await office.onHost('office-a', ['nix-store', '--check-validity', path]);
    expect(onA.exitCode).not.toBe(0);
    expect(existsSync(path)).toBe(true);
  });

  // The default office mixes versions as a fleet upgraded one NixOS release at a time does.
  it.skipIf(mixedOfficeUnavailable() !== null)(
    'runs Nix 2.24 on the first host and 2.8 on the second, over SSH as in their namespaces, and 2.24 on the builder',
    async () => {
      const expected = { 'office-a': '2.24.15', 'office-b': '2.8.0' } as const;
      for (const [host, version] of Object.entries(expected)) {
        for (const tool of ['nix', 'nix-store', 'nix-env', 'nix-daemon']) {
          const direct = await office.onHost(host, [tool, '--version']);
          expect(direct.stdout.trim(), `${tool} on ${host}`).toMatch(
            new RegExp(`^${tool} \\(Nix\\) ${version}$`),
          );
        }
        // What the bot's commands and a peer's nix-store --serve run: the sshd session's PATH decides.
        const overSsh = await ssh(office, host, ['nix-store', '--version']);
        expect(overSsh.stdout.trim()).toBe(`nix-store (Nix) ${version}`);
      }
      expect(office.builderNix).toEqual({ release: '2.24', binDir: NIX_BIN_DIRS['2.24'] });
      expect((await run([join(office.builderNix.binDir, 'nix'), '--version'])).stdout.trim()).toBe(
        'nix (Nix) 2.24.15',
      );
    },
  );

  it('is configured like a NixOS host: no experimental Nix features, no global known hosts', async () => {
    const plain = await office.onHost('office-a', ['nix', 'store', 'ping']);
    expect(plain.exitCode).not.toBe(0);
    expect(plain.stderr).toContain("experimental Nix feature 'nix-command' is disabled");
    expect((await office.onHost('office-a', [...NIX_ON_HOST, 'store', 'ping'])).exitCode).toBe(0);
    // Whatever the builder's global known_hosts files hold, a host's ssh does not see it.
    const global = await office.onHost('office-a', [
      'sh',
      '-c',
      'cat /etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2 2>/dev/null; true',
    ]);
    expect(global.stdout).toBe('');
  });

  it('counts on the uplink what the builder sends, and nothing of host-to-host copies', async () => {
    const path = await office.fleet.build('office-a');
    await run(['nix', 'store', 'sign', '--key-file', office.signingKeyFile, '-r', path]);
    const env = {
      ...process.env,
      NIX_SSHOPTS: office.sshOptions.join(' '),
      SSH_AUTH_SOCK: office.agentSocket,
    } as Record<string, string>;
    const size = Number((await run(['nix', 'path-info', '-S', path])).stdout.trim().split(/\s+/)[1]);

    const before = office.uplinkBytes();
    await run(['nix', 'copy', '--to', `ssh://root@${office.host('office-a').address}`, path], { env });
    const afterUplink = office.uplinkBytes();
    expect(afterUplink.tx - before.tx).toBeGreaterThan(size);
    expect(afterUplink.tx - before.tx).toBeLessThan(size * 1.1 + 200_000);

    // B pulls from A as A's read-only nix-ssh account, with B's own host key and no agent; B learns A's key
    // from the builder's known_hosts.
    const lines = (await run(['cat', office.knownHostsFile])).stdout;
    await office.onHost(
      'office-b',
      ['sh', '-c', 'mkdir -p /root/.ssh && cat > "$1"', 'sh', '/root/.ssh/known_hosts'],
      lines,
    );
    const a = office.host('office-a');
    const pulled = await ssh(office, 'office-b', [
      ...NIX_ON_HOST,
      'copy',
      '--from',
      servedBy(a.address),
      path,
    ]);
    expect(pulled.stderr).not.toContain('error');
    expect(pulled.exitCode).toBe(0);
    const afterPeer = office.uplinkBytes();
    expect(afterPeer.tx - afterUplink.tx).toBeLessThan(64_000);
    const onB = await office.onHost('office-b', ['nix-store', '--check-validity', path]);
    expect(onB.exitCode).toBe(0);
  });

  it('refuses a store path its builder did not sign', async () => {
    // Built on host A itself: valid there, signed by nobody the other hosts trust.
    const built = await office.onHost('office-a', [
      'nix-build',
      '--no-out-link',
      '-E',
      `derivation { name = "unsigned-${office.id}"; system = builtins.currentSystem; builder = "/bin/sh"; args = ["-c" "echo x > $out"]; }`,
    ]);
    expect(built.exitCode).toBe(0);
    const path = built.stdout.trim();
    const a = office.host('office-a');
    const pulled = await ssh(office, 'office-b', [
      ...NIX_ON_HOST,
      'copy',
      '--from',
      servedBy(a.address),
      path,
    ]);
    expect(pulled.exitCode).not.toBe(0);
    expect(pulled.stderr).toContain('lacks a valid signature');
    expect((await office.onHost('office-b', ['nix-store', '--check-validity', path])).exitCode).not.toBe(0);
  });

  it('refuses a host whose key changed', async () => {
    await office.changeHostKey('office-b');
    const out = await ssh(office, 'office-b', ['true']);
    expect(out.exitCode).toBe(255);
    // Not just "Host key verification failed", which an unknown host gets too: the key on file differs.
    expect(out.stderr).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
    expect(out.stderr).toMatch(/Host key for \S+ has changed/);
  });

  it('can run two offices at once, and tears one down leaving nothing behind', async () => {
    const second = await startOffice({ hosts: ['office-a'], scale: 0.05 });
    expect(second.host('office-a').address).not.toBe(office.host('office-a').address);
    expect(second.uplinkInterface).not.toBe(office.uplinkInterface);
    const sshdPid = Number((await run(['cat', `${second.host('office-a').dir}/run/sshd.pid`])).stdout.trim());
    expect(alive(sshdPid)).toBe(true);
    // A session still open at teardown: its processes live in the host's mount namespace, under sshd.
    const a = second.host('office-a');
    const session = execa(
      'ssh',
      [...second.sshOptions, `${a.user}@${a.address}`, 'echo $$; exec sleep 600'],
      {
        env: { SSH_AUTH_SOCK: second.agentSocket },
        reject: false,
        stdin: 'ignore',
      },
    );
    const sleepPid = await new Promise<number>((resolve, reject) => {
      session.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      void session.then((r) => reject(new Error(`the session ended early: ${r.stderr}`)));
    });
    expect(alive(sleepPid)).toBe(true);
    expect(processesMounting(second.dir)).toContain(sleepPid);
    await second.close();
    expect(alive(sshdPid)).toBe(false);
    expect(alive(sleepPid)).toBe(false);
    expect(processesMounting(second.dir)).toEqual([]);
    // The builder's ssh saw its connection end.
    expect((await session).exitCode).not.toBe(0);
    const netns = (await run(['ip', 'netns', 'list'])).stdout;
    expect(netns).not.toContain(`so-${second.id}-`);
    const links = (await run(['ip', 'link', 'show'])).stdout;
    expect(links).not.toContain(second.uplinkInterface);
    expect(existsSync(second.dir)).toBe(false);
    // The first office is untouched.
    expect((await ssh(office, 'office-a', ['true'])).exitCode).toBe(0);
  });

  it('signals no process that merely holds a pid an office recorded, and acts on no damaged record', async () => {
    const a = office.host('office-a');
    const sshd = Number(readFileSync(join(a.dir, 'run', 'sshd.pid'), 'utf8').trim());
    expect(isOfficeProcess(sshd, 'sshd', a.dir)).toBe(true);
    expect(isOfficeProcess(sshd, 'sshd', office.host('office-b').dir)).toBe(false);
    // A process that now has the pid a dead office recorded for its ssh-agent, even one naming that office.
    const id = randomBytes(3).toString('hex');
    const dir = join(OFFICES_DIR, id);
    expect(existsSync(dir)).toBe(false);
    const bystander = execa(process.execPath, ['-e', 'setTimeout(() => {}, 600_000)', `${dir}/agent.sock`], {
      reject: false,
    });
    try {
      const pid = bystander.pid!;
      // Subnet 255 is never given out, so the record claims no live office's subnet.
      const stale: OfficeRecord = {
        id,
        ownerPid: pid,
        subnet: 255,
        dir,
        netns: [],
        links: [],
        pidFiles: [],
        pids: [pid],
      };
      await teardown(stale);
      expect(alive(pid)).toBe(true);
      // A directory that only starts like the office's own is refused, and nothing is touched.
      await expect(teardown({ ...stale, dir: `${dir}/x/..`, pids: [] })).rejects.toThrow(
        `office record ${id} names the directory`,
      );
      await expect(teardown({ ...stale, id: '../x' })).rejects.toThrow('bad id');
    } finally {
      bystander.kill('SIGKILL');
      await bystander;
    }
  });
});
