// Peers serve their stores read-only, and no agent is forwarded anywhere: checked on the simulated office,
// whose hosts serve as NixOS's nix.sshServe does (a nix-ssh account forced to `nix-store --serve`, each
// host's own nix-daemon behind it). Everything is checked on the hosts directly (their namespaces, their
// processes, their daemon's log), not through the bot's own SSH code.
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../src/core/events.ts';
import type { HostSpec } from '../../src/core/types.ts';
import { copyPlan } from '../../src/engine/copy.ts';
import type { EngineDeps } from '../../src/engine/deps.ts';
import type { Asker } from '../../src/engine/engine.ts';
import { planFromHoldings } from '../../src/engine/plan-host.ts';
import { openRun } from '../../src/engine/run-scope.ts';
import { sshdPid } from '../office/host.ts';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { inMountNamespace, mountNamespace } from '../office/proc.ts';
import { run, sleep } from '../office/run.ts';
import { officeEngine, officeEngineDeps } from '../support/office-bot.ts';
import { copyTo, hostSpec } from '../support/ssh-office.ts';

const unavailable = officeUnavailable();
const [A, B, C] = ['serve-a', 'serve-b', 'serve-c'];
const HOST_KEY = '/etc/ssh/ssh_host_ed25519_key';
const quiet: Asker = { actor: { kind: 'cli', user: 'tester' }, onEvent: () => {} };

/** argv for ssh on a host, as that host (its own host key, no agent), checking the peer against `kh`. */
function sshFromHost(kh: string, ...rest: string[]): string[] {
  return [
    'ssh',
    '-o',
    `UserKnownHostsFile=${kh}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'IdentityAgent=none',
    '-i',
    HOST_KEY,
    ...rest,
  ];
}

/** What the processes in a host's mount namespace carry that could reach an agent. */
async function agentTraces(office: Office, host: string): Promise<string[]> {
  const ns = mountNamespace(await sshdPid(office.host(host)));
  const found: string[] = [];
  for (const pid of ns === null ? [] : inMountNamespace(ns)) {
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      const sock = env.find((e) => e.startsWith('SSH_AUTH_SOCK='));
      if (sock) found.push(`${host}: pid ${pid} has ${sock}`);
    } catch {
      // ended while we looked
    }
  }
  // A forwarded agent is a listening socket sshd makes (/tmp/ssh-XXXX/agent.PID) in the host's network
  // namespace; /proc/net/unix, read there, lists every one.
  const unix = await office.onHost(host, ['cat', '/proc/net/unix']);
  for (const line of unix.stdout.split('\n')) {
    if (/\/ssh-[^/\s]+\/agent\.\d+/.test(line)) found.push(`${host}: agent socket ${line.trim()}`);
  }
  return found;
}

describe.skipIf(unavailable !== null)('peers serve their stores read-only, with no agent anywhere', () => {
  let office: Office;
  let kh = '';
  beforeAll(async () => {
    office = await startOffice({ hosts: [A, B, C], scale: 0.1 });
    // Each host may check each other's key: the lines the bot would send with a copy.
    kh = '/run/peers_known_hosts';
    const lines = await readFile(office.knownHostsFile, 'utf8');
    for (const h of [A, B, C]) await office.onHost(h, ['sh', '-c', 'cat > "$1"', 'sh', kh], lines);
  });
  afterAll(async () => {
    await office?.close();
  });

  it('finds an agent in a host process when there is one (the check below can fail)', async () => {
    const marker = office.onHost(B, ['env', 'SSH_AUTH_SOCK=/tmp/ssh-planted/agent.1', 'sleep', '3']);
    let traces: string[] = [];
    for (let i = 0; i < 100 && traces.length === 0; i++) {
      traces = await agentTraces(office, B);
      if (traces.length === 0) await sleep(20);
    }
    await marker;
    expect(traces.join('\n')).toContain('SSH_AUTH_SOCK=/tmp/ssh-planted/agent.1');
  });

  it('rolls out with host-to-host copies as nix-ssh, and no host ever sees an agent', async () => {
    const bot = await officeEngine(office, { tags: () => ['lobby'] });
    const traces = new Set<string>();
    let samples = 0;
    let rolling = true;
    const sampler = (async () => {
      // Bounded: a rollout of this size takes well under the 3,000 rounds allowed.
      for (let i = 0; rolling && i < 3000; i++) {
        for (const h of [A, B, C]) for (const t of await agentTraces(office, h)) traces.add(t);
        samples++;
        await sleep(50);
      }
    })();
    try {
      const result = await bot.engine.deploy(['@lobby'], { until: 'switch', restart: 'no' }, quiet);
      rolling = false;
      await sampler;
      expect(result.hosts.map((h) => `${h.host}: ${h.error ?? h.status}`)).toEqual(
        [A, B, C].map((h) => `${h}: ok`),
      );
      const others = result.hosts.filter((h) => h.host !== result.canaries[0]);
      for (const h of others) expect(h.copy!.lanBytes).toBeGreaterThan(h.copy!.uplinkBytes);
      expect(samples).toBeGreaterThan(3);
      expect([...traces]).toEqual([]);
      // The canary served the others as nix-ssh, through its own daemon (which logs each client's user).
      const canary = office.host(result.canaries[0]!);
      const daemonLog = await readFile(join(canary.dir, 'run', 'nix-daemon.log'), 'utf8');
      expect(daemonLog).toMatch(/accepted connection from pid \d+, user nix-ssh/);
      for (const h of [A, B, C]) {
        const current = (await office.onHost(h, ['readlink', '/run/current-system'])).stdout.trim();
        expect(current).toBe(result.hosts.find((x) => x.host === h)!.toplevel);
      }
    } finally {
      rolling = false;
      await sampler;
      await bot.dispose();
    }
  });

  it('lets a target’s key run nothing on a peer but the store protocol', async () => {
    const a = office.host(A);
    const shell = await office.onHost(
      B,
      sshFromHost(kh, `nix-ssh@${a.address}`, 'echo pwned; id; cat /etc/ssh/ssh_host_ed25519_key'),
    );
    expect(shell.stdout).not.toContain('pwned');
    expect(shell.stdout).not.toContain('uid=');
    expect(shell.stdout).not.toContain('PRIVATE KEY');
    // What ran instead was nix-store --serve, which found no protocol on its input.
    expect(shell.exitCode).not.toBe(0);
    expect(shell.stderr).toMatch(/unexpected end-of-file|serve protocol mismatch/);

    const tty = await office.onHost(B, sshFromHost(kh, '-tt', `nix-ssh@${a.address}`, 'echo pwned'));
    expect(tty.stdout).not.toContain('pwned');
    expect(tty.stderr).toMatch(/PTY allocation request failed/);

    // No forwarding of ports either: the peer refuses to listen for the target.
    const forward = await office.onHost(
      B,
      sshFromHost(
        kh,
        '-o',
        'ExitOnForwardFailure=yes',
        '-N',
        '-R',
        '127.0.0.1:40022:127.0.0.1:22',
        `nix-ssh@${a.address}`,
      ),
    );
    expect(forward.exitCode).toBe(255);
    expect(forward.stderr).toMatch(/remote port forwarding failed/);
  });

  it('does not let a target’s key log in to a peer as root', async () => {
    const a = office.host(A);
    const root = await office.onHost(B, sshFromHost(kh, `root@${a.address}`, 'echo pwned'));
    expect(root.exitCode).toBe(255);
    expect(root.stdout).not.toContain('pwned');
    expect(root.stderr).toContain('Permission denied (publickey)');
  });

  it('does not let a target write to a peer’s store', async () => {
    // A signed path the target holds and the peer lacks: a copy the peer's store would accept from root.
    const drv = `derivation { name = "offered-${office.id}-${Date.now()}"; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" "echo offered > $out" ]; }`;
    const built = await run(['nix-build', '--no-out-link', '-E', drv]);
    const path = built.stdout.trim();
    await run(['nix', 'store', 'sign', '--key-file', office.signingKeyFile, path]);
    await copyTo(office, B, [path]);
    expect((await office.onHost(B, ['nix-store', '--check-validity', path])).exitCode).toBe(0);

    const a = office.host(A);
    const pushed = await office.onHost(B, [
      'env',
      `NIX_SSHOPTS=-o UserKnownHostsFile=${kh} -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes -o IdentitiesOnly=yes -o IdentityAgent=none`,
      'nix',
      '--extra-experimental-features',
      'nix-command',
      'copy',
      '--to',
      `ssh://nix-ssh@${a.address}?ssh-key=${HOST_KEY}`,
      path,
    ]);
    expect(pushed.exitCode).not.toBe(0);
    expect((await office.onHost(A, ['nix-store', '--check-validity', path])).exitCode).not.toBe(0);
    // The same copy works as root with the bot's credentials: what stopped it was the account, not the path.
    await copyTo(office, A, [path]);
    expect((await office.onHost(A, ['nix-store', '--check-validity', path])).exitCode).toBe(0);
  });
});

describe.skipIf(unavailable !== null)('a peer step with more than 1,000 roots', () => {
  let office: Office;
  let stateDir = '';
  let root = '';
  let leaves: string[] = [];
  beforeAll(async () => {
    office = await startOffice({ hosts: [A, B], scale: 0.05 });
    stateDir = await mkdtemp(join(tmpdir(), 'signage-peer-steps-'));
    // 1,100 small paths and one that refers to them all, written by evaluation alone (text paths need no
    // build). Unique to this run, so neither host holds any of them yet.
    const nonce = `${office.id}-${Date.now()}`;
    const expr = `let leaves = builtins.genList (i: builtins.toFile "leaf-\${toString i}" "${nonce} \${toString i}\\n") 1100;
      in builtins.toFile "many-roots-${nonce}" (builtins.concatStringsSep "\\n" leaves)`;
    root = JSON.parse(
      (await run(['nix-instantiate', '--eval', '--read-write-mode', '--json', '-E', expr])).stdout,
    ) as string;
    leaves = (await run(['nix-store', '--query', '--references', root])).stdout.split('\n').filter(Boolean);
    expect(leaves).toHaveLength(1100);
  });
  afterAll(async () => {
    await office?.close();
    if (stateDir.startsWith(join(tmpdir(), 'signage-peer-steps-')))
      await rm(stateDir, { recursive: true, force: true });
  });

  /** The engine's dependencies on this office, with every command run on a host counted. */
  function deps(
    hosts: HostSpec[],
    execs: { host: string; argv: readonly string[] }[],
  ): EngineDeps & { close(): Promise<void> } {
    return officeEngineDeps(office, {
      hosts,
      stateDir,
      limits: { parallelHosts: 2 },
      connection: (conn, host) => ({
        ...conn,
        exec: (argv, opts) => {
          execs.push({ host: host.name, argv });
          return conn.exec(argv, opts);
        },
      }),
    });
  }

  async function copyRootTo(
    d: EngineDeps & { close(): Promise<void> },
    target: HostSpec,
    events: EngineEvent[] = [],
  ) {
    const closure = await d.builder.closure([root]);
    const built = { host: target.name, toplevel: root, closure };
    const scope = openRun(d, {
      verb: 'deploy',
      hosts: [target.name],
      actor: quiet.actor,
      onEvent: (e) => events.push(e),
      lock: true,
    });
    try {
      const plan = await planFromHoldings(d, scope, target, built);
      const result = await copyPlan(d, scope, target, built, plan);
      scope.finish('ok');
      return { plan, result, closure };
    } finally {
      await d.close();
    }
  }

  it('copies them from the peer in commands of at most 1,000 roots, and nothing falls back', async () => {
    // The peer holds the 1,100 leaves, the target nothing: the plan's peer step names all 1,100.
    await copyTo(office, A, leaves);
    const execs: { host: string; argv: readonly string[] }[] = [];
    const d = deps([hostSpec(office, A), hostSpec(office, B)], execs);
    const { plan, result, closure } = await copyRootTo(d, hostSpec(office, B));
    const peerStep = plan.steps.find((s) => s.source.kind === 'peer');
    expect(peerStep?.roots).toHaveLength(1100);
    const copies = execs.filter((e) => e.host === B && e.argv[0] === 'sh' && e.argv.includes('nix-ssh'));
    expect(copies.map((c) => c.argv.filter((w) => w.startsWith('/nix/store/')).length)).toEqual([1000, 100]);
    expect(result.fellBack).toEqual([]);
    const leafBytes = closure.filter((i) => i.path !== root).reduce((s, i) => s + i.narSize, 0);
    expect(result.bySource[`peer:${A}`]).toBe(leafBytes);
    const held = await office.onHost(B, ['nix-store', '--check-validity', root, ...leaves]);
    expect(held.exitCode).toBe(0);
  });

  it('lets the builder stand in when a peer step cannot even be put into a command', async () => {
    await office.onHost(B, ['nix-store', '--delete', root]);
    const leafOnB = leaves.slice(0, 10);
    await office.onHost(B, ['nix-store', '--delete', ...leafOnB]);
    expect((await office.onHost(B, ['nix-store', '--check-validity', leafOnB[0]!])).exitCode).not.toBe(0);
    // A peer the target could not be told how to reach (a LAN address the copy refuses): before, the step
    // failed the whole copy stage; now it is a failed peer like any other.
    const execs: { host: string; argv: readonly string[] }[] = [];
    const d = deps([hostSpec(office, A, { lanAddress: 'fe80::1' }), hostSpec(office, B)], execs);
    const { result } = await copyRootTo(d, hostSpec(office, B));
    expect(result.fellBack).toEqual([A]);
    expect(result.uplinkBytes).toBeGreaterThan(0);
    const held = await office.onHost(B, ['nix-store', '--check-validity', root, ...leaves]);
    expect(held.exitCode).toBe(0);
  });

  it('falls back to the builder from a peer that does not serve its store to the target, saying why', async () => {
    // A screen set up before peers served their stores: its nix-ssh account does not know the target's key.
    await copyTo(office, A, [root]);
    await office.onHost(B, ['nix-store', '--delete', root]);
    await office.onHost(B, ['nix-store', '--delete', ...leaves.slice(0, 10)]);
    await office.onHost(A, ['sh', '-c', ': > /etc/ssh/authorized_keys.d/nix-ssh']);
    const events: EngineEvent[] = [];
    const d = deps([hostSpec(office, A), hostSpec(office, B)], []);
    const { result } = await copyRootTo(d, hostSpec(office, B), events);
    expect(result.fellBack).toEqual([A]);
    const said = events.flatMap((e) => (e.type === 'log' ? [e.message] : []));
    expect(said.join('\n')).toContain(`nix-ssh@${office.host(A).address} refused the SSH key`);
    expect(said.join('\n')).toContain(`with ${B}'s SSH host public key in nix.sshServe.keys`);
    expect((await office.onHost(B, ['nix-store', '--check-validity', root, ...leaves])).exitCode).toBe(0);
  });
});
