// The simulated office is the ground every other integration test stands on: check that it behaves like the
// real thing (separate stores, strict SSH, an uplink that sees builder traffic only) and leaves nothing behind.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { alive, run } from '../office/run.ts';

const unavailable = officeUnavailable();

async function ssh(office: Office, host: string, argv: string[], extra: string[] = []) {
  const h = office.host(host);
  return run(['ssh', ...office.sshOptions, ...extra, `${h.user}@${h.address}`, ...argv], {
    env: { ...process.env, SSH_AUTH_SOCK: office.agentSocket } as Record<string, string>,
    allowFailure: true,
  });
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

    // B pulls from A with the builder's agent forwarded; B learns A's key from the builder's known_hosts.
    const lines = (await run(['cat', office.knownHostsFile])).stdout;
    await office.onHost(
      'office-b',
      ['sh', '-c', 'mkdir -p /root/.ssh && cat > "$1"', 'sh', '/root/.ssh/known_hosts'],
      lines,
    );
    const a = office.host('office-a');
    const pulled = await ssh(
      office,
      'office-b',
      ['nix', 'copy', '--from', `ssh://root@${a.address}`, path],
      ['-A'],
    );
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
    const pulled = await ssh(
      office,
      'office-b',
      ['nix', 'copy', '--from', `ssh://root@${a.address}`, path],
      ['-A'],
    );
    expect(pulled.exitCode).not.toBe(0);
    expect(pulled.stderr).toContain('lacks a valid signature');
    expect((await office.onHost('office-b', ['nix-store', '--check-validity', path])).exitCode).not.toBe(0);
  });

  it('refuses a host whose key changed', async () => {
    await office.changeHostKey('office-b');
    const out = await ssh(office, 'office-b', ['true']);
    expect(out.exitCode).toBe(255);
    expect(out.stderr).toMatch(/HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
  });

  it('can run two offices at once, and tears one down leaving nothing behind', async () => {
    const second = await startOffice({ hosts: ['office-a'], scale: 0.05 });
    expect(second.host('office-a').address).not.toBe(office.host('office-a').address);
    expect(second.uplinkInterface).not.toBe(office.uplinkInterface);
    const sshdPid = Number((await run(['cat', `${second.host('office-a').dir}/run/sshd.pid`])).stdout.trim());
    expect(alive(sshdPid)).toBe(true);
    await second.close();
    expect(alive(sshdPid)).toBe(false);
    const netns = (await run(['ip', 'netns', 'list'])).stdout;
    expect(netns).not.toContain(`so-${second.id}-`);
    const links = (await run(['ip', 'link', 'show'])).stdout;
    expect(links).not.toContain(second.uplinkInterface);
    expect(existsSync(second.dir)).toBe(false);
    // The first office is untouched.
    expect((await ssh(office, 'office-a', ['true'])).exitCode).toBe(0);
  });
});
