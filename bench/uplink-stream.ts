// The builder's copy over the uplink, `nix copy --to ssh://` against the stream (src/engine/uplink-stream.ts),
// on the simulated office: wall time and the bytes the uplink's kernel counters saw, for a closure of real
// files (compressible, as real store paths are) and one of many small paths (where per-path round trips
// show), at the bare uplink and with the office's uplink delay (startOffice's uplinkRttMs: every TCP connection
// over the uplink relayed half a round trip later each way, test/office/delay.ts), one office for each. The
// host's store is emptied between runs.
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

/** One copy of `s` to the host with `transport`, its store emptied first: wall time and the uplink's counters. */
async function measure(
  office: Office,
  s: Subject,
  transport: UplinkSettings['transport'],
  level: number,
): Promise<{ ms: number; tx: number; rx: number }> {
  await office.onHost(HOST, ['nix-store', '--gc']);
  const spec = hostSpec(office, HOST);
  const before = office.uplinkBytes();
  const started = performance.now();
  if (transport === 'nix-copy') {
    await copyTo(spec, [s.root], {
      ssh: { knownHostsFile: office.knownHostsFile, agentSocket: office.agentSocket },
      timeoutMs: 3_600_000,
    });
  } else {
    const uplink: UplinkSettings = {
      transport,
      deltas: false,
      compressionLevel: level,
      tempSpaceBytes: 512 * 1024 * 1024,
    };
    const stateDir = join(office.dir, `bench-state-${transport}-${s.name}`);
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
  return { ms, tx: after.tx - before.tx, rx: after.rx - before.rx };
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
  const py = (await execa('sh', ['-c', 'ls -d /usr/lib/python3.1*'])).stdout.split('\n')[0]!;
  const only = values.only.split(',');
  const rows: Row[] = [];
  for (const rttMs of [0, rtt]) {
    const office = await startOffice({
      hosts: [HOST],
      scale: 0.05,
      uplinkKbit: Number(values['uplink-kbit']),
      uplinkRttMs: rttMs,
    });
    try {
      // The same derivations for both offices: the second office's builds are already in the builder's store.
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
      for (const s of subjects) {
        for (const transport of ['nix-copy', 'stream'] as const) {
          const m = await measure(office, s, transport, Number(values.level));
          const row = {
            subject: s.name,
            paths: s.closure.length,
            narBytes: s.closure.reduce((n, i) => n + i.narSize, 0),
            rttMs,
            transport,
            ms: m.ms,
            uplinkTx: m.tx,
            uplinkRx: m.rx,
          };
          rows.push(row);
          console.log(JSON.stringify(row));
        }
      }
    } finally {
      await office.close();
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
  // What the round trip adds per closure and transport: per-path round trips show here, bytes do not.
  for (const r of rows.filter((x) => x.rttMs === rtt && rtt > 0)) {
    const bare = rows.find((x) => x.rttMs === 0 && x.subject === r.subject && x.transport === r.transport);
    if (bare)
      console.log(
        `${r.subject}, ${r.transport}: ${r.paths} paths at ${rtt} ms round trip take ${formatDuration(r.ms - bare.ms)} more than at 0 ms`,
      );
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchUplinkStream(process.argv.slice(2));
}
