// A peer copy (a target pulling from a peer on its LAN, the command peer-copy.ts builds) with `ssh://`
// (nix-store --serve) against `ssh-ng://` (nix-daemon --stdio on the peer), on the simulated office:
//   fresh     the target holds nothing of the closure;
//   most      the target holds all but a few paths (a deploy that changed one host's configuration);
//   all       the target holds everything (the case of Nix issue 6950: one round trip per path on ssh-ng).
// Two closures: a host system of the test fleet (43 paths, megabytes) and a synthetic one of many small
// paths (a real NixOS system has 1000 to 2000), where per-path costs show. Each timing is the whole
// invocation as the bot runs it: ssh to the target, which runs nix copy --from the peer with its own host key
// (over ssh:// as the peer's nix-ssh account; over ssh-ng:// as root, whom the bench lets the target's host key
// log in as, since nix-ssh's forced command speaks only the ssh:// protocol).
// The office LAN has no latency (and no netem to add it), so the target also reaches the peer through a
// small TCP relay in the target's network namespace that delays every chunk by half the round-trip time
// given with --rtt: Pis on Wi-Fi or behind a VPN see several milliseconds per round trip.
// Run: `node bench/ssh-vs-ssh-ng.ts [--runs 3] [--paths 1000] [--scale 0.5] [--rtt 10]`.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { buildToplevel } from '../src/adapters/nix/build.ts';
import { closureOf } from '../src/adapters/nix/closure.ts';
import { copyTo } from '../src/adapters/nix/copy-to.ts';
import { type CopyProtocol, PEER_SERVE_USER, peerCopyInvocation } from '../src/adapters/nix/peer-copy.ts';
import { runNix } from '../src/adapters/nix/run.ts';
import { signClosure } from '../src/adapters/nix/sign.ts';
import type { PathInfo, StorePath } from '../src/core/types.ts';
import { type Office, officeUnavailable, startOffice } from '../test/office/index.ts';

const PEER = 'bench-peer';
const TARGET = 'bench-target';
const SCENARIOS = ['fresh', 'most', 'all'] as const;
type Scenario = (typeof SCENARIOS)[number];
const PROTOCOLS: readonly CopyProtocol[] = ['ssh', 'ssh-ng'];

export interface Row {
  /** Round-trip time between target and peer added by the relay, in ms (0: the bare LAN). */
  readonly rttMs: number;
  readonly closure: string;
  readonly paths: number;
  readonly bytes: number;
  readonly scenario: Scenario;
  /** Paths the copy moved (what the target lacked). */
  readonly moved: number;
  readonly protocol: CopyProtocol;
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  /**
   * Packets the peer sent and received on the LAN during the copy (median). Every round trip costs at least
   * one packet each way, and on a real LAN or VPN each costs a round-trip time.
   */
  readonly peerPackets: number;
}

interface Subject {
  readonly name: string;
  readonly root: StorePath;
  readonly closure: readonly PathInfo[];
  /** Roots whose closures make "most" of it: everything except a few paths near the top. */
  readonly mostRoots: readonly StorePath[];
}

/** How the target reaches the peer: directly, or through the delaying relay. */
interface Route {
  readonly rttMs: number;
  readonly address: string;
  readonly port: number;
  readonly knownHosts: string;
}

// Many small paths, each referenced by one root, like the libraries under a system.
const MANY_PATHS = `{ n, nonce }:
let
  leaf = i: derivation {
    name = "bench-leaf-\${toString i}";
    system = builtins.currentSystem;
    builder = "/bin/sh";
    PATH = "/usr/bin:/bin";
    inherit nonce;
    args = [ "-c" "echo \${toString i} > $out; head -c 4096 /dev/urandom >> $out" ];
  };
  leaves = builtins.genList leaf n;
in
derivation {
  name = "bench-root-\${toString n}";
  system = builtins.currentSystem;
  builder = "/bin/sh";
  inherit leaves nonce;
  args = [ "-c" "for l in $leaves; do echo $l; done > $out" ];
}
`;

const RELAY = `import net from 'node:net';
const [listen, host, port, delay] = process.argv.slice(2).map((x, i) => (i === 1 ? x : Number(x)));
const pipe = (from, to) => {
  from.on('data', (d) => setTimeout(() => to.write(d), delay));
  from.on('end', () => setTimeout(() => to.end(), delay));
  from.on('error', () => to.destroy());
};
net.createServer((c) => { const u = net.connect(port, host); pipe(c, u); pipe(u, c); }).listen(listen, '127.0.0.1', () => console.log('ready'));
`;

const RELAY_PORT = 2222;

async function manyPaths(office: Office, n: number): Promise<Subject> {
  const file = join(office.dir, 'many-paths.nix');
  await writeFile(file, MANY_PATHS);
  // A fixed nonce: a second run of the bench reuses the builder's paths; the targets start empty anyway.
  const argv = ['nix-build', '--no-out-link', '--max-jobs', '4', file, '--arg', 'n', String(n)];
  const out = await runNix([...argv, '--argstr', 'nonce', 'signage-bench-1'], { timeoutMs: 600_000 });
  const root = out.stdout.trim().split('\n').at(-1)!;
  const closure = await closureOf([root]);
  const leaves = closure
    .filter((i) => i.path !== root)
    .map((i) => i.path)
    .sort();
  // All but the root and five leaves.
  return { name: `synthetic (${closure.length} paths)`, root, closure, mostRoots: leaves.slice(5) };
}

async function fleetSystem(office: Office): Promise<Subject> {
  const { toplevel } = await buildToplevel(office.fleet.flakeRef, TARGET);
  const closure = await closureOf([toplevel]);
  const top = closure.find((i) => i.path === toplevel)!;
  // A host-configuration change: the host's etc, its kiosk settings and the toplevel are new, the rest held.
  const mostRoots = top.references.filter((r) => r !== toplevel && !/-etc$/.test(r));
  return { name: `fleet system (${closure.length} paths)`, root: toplevel, closure, mostRoots };
}

/** Starts the relay in the target's network namespace; `stop` ends it (our own child, by its pid). */
async function startRelay(office: Office, oneWayMs: number): Promise<{ stop: () => void }> {
  const file = join(office.dir, 'relay.mjs');
  await writeFile(file, RELAY);
  const peer = office.host(PEER);
  const argv = [
    office.host(TARGET).netns,
    process.execPath,
    file,
    String(RELAY_PORT),
    peer.address,
    String(peer.port),
  ];
  const child = execa('ip', ['netns', 'exec', ...argv, String(oneWayMs)], { reject: false });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    void child.then((r) => reject(new Error(`the relay did not start: ${r.stderr}`)));
  });
  return { stop: () => child.kill() };
}

async function routes(office: Office, rtts: readonly number[]): Promise<Route[]> {
  const peer = office.host(PEER);
  const lines = (await readFile(office.knownHostsFile, 'utf8')).split('\n');
  const line = lines.find((l) => l.startsWith(`${peer.address} `))!;
  const key = line.slice(line.indexOf(' ') + 1);
  return rtts.map((rttMs) =>
    rttMs === 0
      ? { rttMs, address: peer.address, port: peer.port, knownHosts: line }
      : {
          rttMs,
          address: '127.0.0.1',
          port: RELAY_PORT,
          knownHosts: `[127.0.0.1]:${RELAY_PORT} ${key}`,
        },
  );
}

/** Packets through the host's eth0 so far; /proc/net/dev shows the reader's network namespace. */
async function packets(office: Office, host: string): Promise<number> {
  const r = await office.onHost(host, ['cat', '/proc/net/dev']);
  const line = r.stdout.split('\n').find((l) => l.trim().startsWith('eth0:'));
  if (!line) throw new Error(`no eth0 on ${host}`);
  const f = line.split(':')[1]!.trim().split(/\s+/).map(Number);
  // Received: bytes, packets, then six more counters; sent: bytes, packets, ...
  return f[1]! + f[9]!;
}

async function peerCopy(
  office: Office,
  route: Route,
  roots: readonly StorePath[],
  protocol: CopyProtocol,
): Promise<number> {
  const target = office.host(TARGET);
  const endpoint = { lanAddress: route.address, port: route.port };
  const user = protocol === 'ssh' ? PEER_SERVE_USER : 'root';
  const inv = peerCopyInvocation(endpoint, roots, route.knownHosts, { protocol, user });
  const command = inv.argv.map((w) => `'${w.replaceAll("'", "'\\''")}'`).join(' ');
  const started = performance.now();
  const ssh = [...office.sshOptions, '-p', String(target.port), `${target.user}@${target.address}`, command];
  const r = await execa('ssh', ssh, {
    input: inv.stdin,
    reject: false,
    env: { SSH_AUTH_SOCK: office.agentSocket, PATH: process.env.PATH ?? '/usr/bin:/bin' },
    extendEnv: false,
  });
  const ms = performance.now() - started;
  if (r.exitCode !== 0)
    throw new Error(`peer copy over ${protocol} failed (${r.exitCode}): ${r.stderr.slice(-2000)}`);
  return ms;
}

async function emptyTarget(office: Office): Promise<void> {
  const r = await office.onHost(TARGET, ['nix-store', '--gc']);
  if (r.exitCode !== 0) throw new Error(`emptying the target's store failed: ${r.stderr}`);
}

async function holds(office: Office, paths: readonly StorePath[]): Promise<boolean> {
  return (await office.onHost(TARGET, ['nix-store', '--check-validity', ...paths])).exitCode === 0;
}

async function prepare(office: Office, direct: Route, s: Subject, scenario: Scenario): Promise<void> {
  await emptyTarget(office);
  if (scenario === 'most') await peerCopy(office, direct, s.mostRoots, 'ssh');
  if (scenario === 'all') await peerCopy(office, direct, [s.root], 'ssh');
}

async function measure(
  office: Office,
  route: Route,
  direct: Route,
  s: Subject,
  runs: number,
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const scenario of SCENARIOS) {
    await prepare(office, direct, s, scenario);
    const listed = await office.onHost(TARGET, ['sh', '-c', 'ls /nix/store | wc -l']);
    const held = Number(listed.stdout.trim());
    const times = new Map<CopyProtocol, number[]>(PROTOCOLS.map((p) => [p, []]));
    const counts = new Map<CopyProtocol, number[]>(PROTOCOLS.map((p) => [p, []]));
    // Interleaved, so drift on a shared machine hits both protocols alike.
    for (let i = 0; i < runs; i++) {
      for (const protocol of PROTOCOLS) {
        await prepare(office, direct, s, scenario);
        const before = await packets(office, PEER);
        times.get(protocol)!.push(await peerCopy(office, route, [s.root], protocol));
        counts.get(protocol)!.push((await packets(office, PEER)) - before);
        if (
          !(await holds(
            office,
            s.closure.map((c) => c.path),
          ))
        )
          throw new Error(`${protocol}: target lacks paths`);
      }
    }
    for (const protocol of PROTOCOLS) {
      const t = times.get(protocol)!.sort((a, b) => a - b);
      const c = counts.get(protocol)!.sort((a, b) => a - b);
      rows.push({
        rttMs: route.rttMs,
        closure: s.name,
        paths: s.closure.length,
        bytes: s.closure.reduce((sum, x) => sum + x.narSize, 0),
        scenario,
        moved: s.closure.length - Math.min(held, s.closure.length),
        protocol,
        medianMs: t[Math.floor(t.length / 2)]!,
        minMs: t[0]!,
        maxMs: t.at(-1)!,
        peerPackets: c[Math.floor(c.length / 2)]!,
      });
    }
  }
  return rows;
}

export async function benchSshVsSshNg(opts: {
  runs: number;
  paths: number;
  scale: number;
  rttMs: number;
}): Promise<Row[]> {
  const office = await startOffice({ hosts: [PEER, TARGET], scale: opts.scale });
  let relay: { stop: () => void } | undefined;
  try {
    const subjects = [await fleetSystem(office), await manyPaths(office, opts.paths)];
    for (const s of subjects) {
      await signClosure(office.signingKeyFile, [s.root]);
      await copyTo(office.host(PEER), [s.root], {
        ssh: { knownHostsFile: office.knownHostsFile, agentSocket: office.agentSocket },
      });
    }
    // ssh-ng:// needs `nix-daemon --stdio` on the peer, which nix-ssh's forced command does not run.
    const targetKey = await readFile(
      join(office.host(TARGET).dir, 'etc', 'ssh', 'ssh_host_ed25519_key.pub'),
      'utf8',
    );
    await writeFile(join(office.host(PEER).dir, 'etc', 'authorized_keys'), targetKey, { flag: 'a' });
    const [direct, ...delayed] = await routes(office, [0, ...(opts.rttMs > 0 ? [opts.rttMs] : [])]);
    if (delayed.length > 0) relay = await startRelay(office, opts.rttMs / 2);
    const rows: Row[] = [];
    for (const route of [direct!, ...delayed]) {
      for (const s of subjects) rows.push(...(await measure(office, route, direct!, s, opts.runs)));
    }
    return rows;
  } finally {
    relay?.stop();
    await office.close();
  }
}

function mib(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${Math.round(bytes / 1024)} KiB`;
}

function table(rows: readonly Row[]): string {
  const head = [
    'rtt',
    'closure',
    'bytes',
    'target holds',
    'moved',
    'protocol',
    'median',
    'min',
    'max',
    'peer packets',
  ];
  const body = rows.map((r) => [
    `${r.rttMs} ms`,
    r.closure,
    mib(r.bytes),
    r.scenario === 'fresh' ? 'nothing' : r.scenario === 'most' ? 'all but a few' : 'everything',
    String(r.moved),
    r.protocol,
    `${Math.round(r.medianMs)} ms`,
    `${Math.round(r.minMs)} ms`,
    `${Math.round(r.maxMs)} ms`,
    String(r.peerPackets),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [head, ...body].map((cells) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n');
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '3' },
      paths: { type: 'string', default: '1000' },
      scale: { type: 'string', default: '0.5' },
      rtt: { type: 'string', default: '10' },
    },
    strict: true,
  });
  const why = officeUnavailable();
  if (why !== null) {
    console.error(`cannot run: ${why}`);
    process.exit(1);
  }
  const rows = await benchSshVsSshNg({
    runs: Number(values.runs),
    paths: Number(values.paths),
    scale: Number(values.scale),
    rttMs: Number(values.rtt),
  });
  const version = (await runNix(['nix', '--version'])).stdout.trim();
  console.log(`peer copy, ssh:// vs ssh-ng://, ${version}, ${values.runs} runs each\n`);
  console.log(table(rows));
}
