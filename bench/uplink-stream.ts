// The builder's copy over the uplink, `nix copy --to ssh://` against the stream (src/engine/uplink-stream.ts),
// on the simulated office: wall time and the bytes the uplink's kernel counters saw, for a closure of real
// files (compressible, as real store paths are) and one of many small paths (where per-path round trips
// show), at the bare uplink and through a relay on the builder that delays every chunk by half the given
// round-trip time (the office has no netem). The host's store is emptied between runs.
// Run: `node bench/uplink-stream.ts [--rtt 60] [--uplink-kbit 16000] [--paths 1000] [--level 3]
// [--only real-files,many-paths]`.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { closureOf } from '../src/adapters/nix/closure.ts';
import { copyTo } from '../src/adapters/nix/copy-to.ts';
import { runNix } from '../src/adapters/nix/run.ts';
import { signClosure } from '../src/adapters/nix/sign.ts';
import { formatBytes, formatDuration } from '../src/core/bytes.ts';
import type { PathInfo, StorePath } from '../src/core/types.ts';
import { copyPlan } from '../src/engine/copy.ts';
import type { UplinkSettings } from '../src/engine/deps.ts';
import { planFromHoldings } from '../src/engine/plan-host.ts';
import { openRun } from '../src/engine/run-scope.ts';
import { type Office, officeUnavailable, startOffice } from '../test/office/index.ts';
import { officeEngineDeps } from '../test/support/office-bot.ts';
import { hostSpec } from '../test/support/ssh-office.ts';
import { table } from './table.ts';

const HOST = 'bench-uplink';
const RELAY_PORT = 2223;

// Real files: each top-level entry of Python's standard library (modules, C extensions) as a store path of
// its own, under one root.
const REAL_FILES = `{ src, nonce }:
let
  names = builtins.attrNames (builtins.readDir src);
  part = n: derivation {
    name = "py-\${builtins.replaceStrings ["." "_"] ["-" "-"] n}";
    system = builtins.currentSystem;
    builder = "/bin/sh";
    PATH = "/usr/bin:/bin";
    inherit nonce;
    args = [ "-c" "mkdir $out; cp -r \${src}/\${n} $out/" ];
  };
in derivation {
  name = "py-root";
  system = builtins.currentSystem;
  builder = "/bin/sh";
  PATH = "/usr/bin:/bin";
  parts = map part names;
  args = [ "-c" "echo $parts > $out" ];
}
`;

// Many small text paths under one root, like the small files of a system.
const MANY_PATHS = `{ n, nonce }:
let
  leaf = i: derivation {
    name = "uplink-leaf-\${toString i}";
    system = builtins.currentSystem;
    builder = "/bin/sh";
    PATH = "/usr/bin:/bin";
    inherit nonce;
    args = [ "-c" "seq \${toString i} \${toString (i + 600)} > $out" ];
  };
in derivation {
  name = "uplink-leaves";
  system = builtins.currentSystem;
  builder = "/bin/sh";
  PATH = "/usr/bin:/bin";
  leaves = builtins.genList leaf n;
  args = [ "-c" "echo $leaves > $out" ];
}
`;

const RELAY = `import net from 'node:net';
const [port, host, hostPort, delay] = process.argv.slice(2).map((v, i) => (i === 1 ? v : Number(v)));
const later = (fn) => (delay > 0 ? setTimeout(fn, delay) : fn());
net.createServer((a) => {
  const b = net.connect(hostPort, host);
  a.on('data', (d) => later(() => b.write(d)));
  b.on('data', (d) => later(() => a.write(d)));
  a.on('end', () => later(() => b.end()));
  b.on('end', () => later(() => a.end()));
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
}).listen(port, '127.0.0.1', () => console.log('ready'));
`;

interface Subject {
  readonly name: string;
  readonly root: StorePath;
  readonly closure: readonly PathInfo[];
}

interface Row {
  readonly subject: string;
  readonly paths: number;
  readonly narBytes: number;
  readonly rttMs: number;
  readonly transport: string;
  readonly ms: number;
  readonly uplinkTx: number;
  readonly uplinkRx: number;
}

async function build(office: Office, name: string, text: string, args: string[]): Promise<Subject> {
  const file = join(office.dir, `${name}.nix`);
  await writeFile(file, text);
  const out = await runNix(['nix-build', '--no-out-link', '--max-jobs', '4', file, ...args], {
    timeoutMs: 1_200_000,
  });
  const root = out.stdout.trim().split('\n').at(-1)! as StorePath;
  const office_key = office.signingKeyFile;
  await signClosure(office_key, [root]);
  return { name, root, closure: await closureOf([root]) };
}

async function startRelay(office: Office, oneWayMs: number): Promise<{ stop: () => void }> {
  const file = join(office.dir, 'uplink-relay.mjs');
  await writeFile(file, RELAY);
  const h = office.host(HOST);
  const child = execa(
    process.execPath,
    [file, String(RELAY_PORT), h.address, String(h.port), String(oneWayMs)],
    {
      reject: false,
    },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    void child.then((r) => reject(new Error(`the relay did not start: ${r.stderr}`)));
  });
  return { stop: () => child.kill() };
}

export async function benchUplinkStream(args: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      rtt: { type: 'string', default: '60' },
      'uplink-kbit': { type: 'string', default: '16000' },
      paths: { type: 'string', default: '1000' },
      level: { type: 'string', default: '3' },
      only: { type: 'string', default: 'real-files,many-paths' },
    },
  });
  const rtt = Number(values.rtt);
  const why = officeUnavailable();
  if (why) throw new Error(why);
  const office = await startOffice({ hosts: [HOST], scale: 0.05 });
  let relay: { stop: () => void } | undefined;
  try {
    await office.setUplinkRate(Number(values['uplink-kbit']));
    const py = (await execa('sh', ['-c', 'ls -d /usr/lib/python3.1*'])).stdout.split('\n')[0]!;
    const only = values.only.split(',');
    const subjects = [
      ...(only.includes('real-files')
        ? [
            await build(office, 'real-files', REAL_FILES, [
              '--arg',
              'src',
              py,
              '--argstr',
              'nonce',
              'uplink-1',
            ]),
          ]
        : []),
      ...(only.includes('many-paths')
        ? [
            await build(office, 'many-paths', MANY_PATHS, [
              '--arg',
              'n',
              values.paths,
              '--argstr',
              'nonce',
              'uplink-1',
            ]),
          ]
        : []),
    ];
    relay = await startRelay(office, rtt / 2);
    // The relay's address must be in the bot's known_hosts for strict checking: the host's own key.
    const hostLine = (await execa('grep', [`^${office.host(HOST).address} `, office.knownHostsFile])).stdout;
    await writeFile(
      office.knownHostsFile,
      `${hostLine}\n[127.0.0.1]:${RELAY_PORT} ${hostLine.slice(hostLine.indexOf(' ') + 1)}\n`,
      { flag: 'a' },
    );
    const rows: Row[] = [];
    for (const s of subjects) {
      const narBytes = s.closure.reduce((n, i) => n + i.narSize, 0);
      for (const rttMs of [0, rtt]) {
        const spec = hostSpec(
          office,
          HOST,
          rttMs === 0 ? {} : { address: '127.0.0.1', port: RELAY_PORT, lanAddress: '127.0.0.1' },
        );
        for (const transport of ['nix-copy', 'stream'] as const) {
          await office.onHost(HOST, ['nix-store', '--gc']);
          const uplink: UplinkSettings = {
            transport,
            deltas: false,
            compressionLevel: Number(values.level),
            tempSpaceBytes: 512 * 1024 * 1024,
          };
          const before = office.uplinkBytes();
          const started = performance.now();
          if (transport === 'nix-copy') {
            await copyTo(spec, [s.root], {
              ssh: { knownHostsFile: office.knownHostsFile, agentSocket: office.agentSocket },
              timeoutMs: 3_600_000,
            });
          } else {
            const stateDir = join(office.dir, `bench-state-${rows.length}`);
            const d = Object.assign(officeEngineDeps(office, { hosts: [spec], stateDir }), { uplink });
            try {
              const built = { host: HOST, toplevel: s.root, closure: s.closure };
              const scope = openRun(d, {
                verb: 'deploy',
                hosts: [HOST],
                actor: { kind: 'cli', user: 'bench' },
                onEvent: () => {},
                lock: true,
              });
              const plan = await planFromHoldings(d, scope, spec, built);
              await copyPlan(d, scope, spec, built, plan);
              scope.finish('ok');
            } finally {
              await d.close();
            }
          }
          const ms = performance.now() - started;
          const after = office.uplinkBytes();
          const held = await office.onHost(HOST, ['nix-store', '--check-validity', s.root]);
          if (held.exitCode !== 0) throw new Error(`${transport}: ${HOST} lacks ${s.root} after the copy`);
          const row = {
            subject: s.name,
            paths: s.closure.length,
            narBytes,
            rttMs,
            transport,
            ms,
            uplinkTx: after.tx - before.tx,
            uplinkRx: after.rx - before.rx,
          };
          rows.push(row);
          console.log(JSON.stringify(row));
        }
      }
    }
    console.log(
      table(
        ['closure', 'paths', 'NAR bytes', 'rtt', 'transport', 'wall', 'uplink tx', 'uplink rx'],
        rows.map((r) => [
          r.subject,
          String(r.paths),
          formatBytes(r.narBytes),
          `${r.rttMs} ms`,
          r.transport,
          formatDuration(r.ms),
          formatBytes(r.uplinkTx),
          formatBytes(r.uplinkRx),
        ]),
      ),
    );
  } finally {
    relay?.stop();
    await office.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchUplinkStream(process.argv.slice(2));
}
