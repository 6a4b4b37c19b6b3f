// The office's fleet flake: a copy of test/fleet with a fleet.json naming this office's hosts. A plain
// directory (not a git checkout), so Nix sees every file, and a new revision is one rewrite of fleet.json.
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RealContent } from './real-content.ts';
import { run } from './run.ts';

const TEMPLATE = join(import.meta.dirname, '..', 'fleet');

export interface FleetHost {
  readonly name: string;
  /** Touch-screen hosts carry one extra shared package: overlap is then more than all-or-nothing. */
  readonly touch?: boolean;
  readonly url?: string;
  /** Revisions (as strings) at which this host's system fails, and how (see test/fleet/host.nix). */
  readonly faults?: Readonly<Record<string, Fault>>;
}

export type Fault = 'kiosk' | 'sshd' | 'network' | 'hang' | 'build' | 'eval';

export interface Fleet {
  readonly dir: string;
  /** The flake reference to give `nix build` and the bot's configuration. */
  readonly flakeRef: string;
  readonly hosts: readonly FleetHost[];
  revision(): number;
  /** "A change" to deploy: a new kiosk browser and application for everyone, new host-specific paths. */
  setRevision(revision: number): Promise<void>;
  /** A new kernel version for every system built from now on (null: the fleet's first one). */
  setKernel(version: string | null): Promise<void>;
  /** Makes `host`'s system at `revision` fail in the given way (null: healthy again). */
  setFault(host: string, revision: number, fault: Fault | null): Promise<void>;
  installable(host: string): string;
  /** Builds a host's toplevel with plain `nix build`, independently of the project's Nix adapter. */
  build(host: string): Promise<string>;
}

export async function makeFleet(
  dir: string,
  hosts: readonly FleetHost[],
  opts: { scale: number; revision: number; smallPaths?: number; real?: RealContent },
): Promise<Fleet> {
  await mkdir(dir, { recursive: true });
  for (const f of await readdir(TEMPLATE)) {
    if (f.endsWith('.nix')) await copyFile(join(TEMPLATE, f), join(dir, f));
  }
  if (opts.real) await writeFile(join(dir, 'real-content.json'), JSON.stringify(opts.real));
  const system = process.arch === 'arm64' ? 'aarch64-linux' : 'x86_64-linux';
  let revision = opts.revision;
  let kernel: string | null = null;
  const faults = new Map<string, Record<string, Fault>>();
  const write = () =>
    writeFile(
      join(dir, 'fleet.json'),
      `${JSON.stringify(
        {
          system,
          scale: opts.scale,
          revision,
          ...(kernel === null ? {} : { kernel }),
          ...(opts.smallPaths ? { smallPaths: opts.smallPaths } : {}),
          ...(opts.real ? { real: true } : {}),
          hosts: hosts.map((h) => {
            const own = { ...h.faults, ...faults.get(h.name) };
            return Object.keys(own).length > 0 ? { ...h, faults: own } : h;
          }),
        },
        null,
        2,
      )}\n`,
    );
  await write();
  const flakeRef = `path:${dir}`;
  const installable = (host: string) =>
    `${flakeRef}#nixosConfigurations.${host}.config.system.build.toplevel`;
  return {
    dir,
    flakeRef,
    hosts,
    revision: () => revision,
    async setRevision(next) {
      revision = next;
      await write();
    },
    async setKernel(version) {
      kernel = version;
      await write();
    },
    async setFault(host, rev, fault) {
      const own = { ...faults.get(host) };
      if (fault === null) delete own[String(rev)];
      else own[String(rev)] = fault;
      faults.set(host, own);
      await write();
    },
    installable,
    async build(host) {
      const out = await run(['nix', 'build', '--json', '--no-link', installable(host)]);
      const parsed = JSON.parse(out.stdout) as { outputs: { out: string } }[];
      const path = parsed[0]?.outputs.out;
      if (!path) throw new Error(`nix build printed no output path for ${host}: ${out.stdout}`);
      return path;
    },
  };
}
