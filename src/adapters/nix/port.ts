// The Nix adapter as the engine sees it: BuilderPort (this machine's Nix, the fleet flake, the signing key, the
// uplink) and NixKnowledge (what hosts run and what their output means).
import { readFile } from 'node:fs/promises';
import type { BuilderPort, CopyLogReader, NixKnowledge } from '../../core/ports/builder.ts';
import { buildToplevel, buildToplevels } from './build.ts';
import { closureOf, closureQueryArgv, type NixVersion, nixVersion } from './closure.ts';
import { diagnoseCopyFailure } from './copy-failure.ts';
import { copyTo, type SshAccess } from './copy-to.ts';
import { listConfigurations } from './flake.ts';
import { addGcRoot, readGcRoot, removeGcRoot } from './gcroot.ts';
import { buildHostZstd, hostZstdCache } from './host-zstd.ts';
import { parsePathInfo } from './path-info.ts';
import { type CopyProtocol, peerCopyInvocations } from './peer-copy.ts';
import { copyLineReader } from './progress.ts';
import { commitsBehind, resolveRevision } from './revision.ts';
import { invalidInput } from './run.ts';
import { signClosure } from './sign.ts';
import { systemBoot } from './system-boot.ts';
import { END_FRAME, NO_SPACE_EXIT, readImporterLine, uplinkImportCommand } from './uplink-import.ts';
import { stageForUplink } from './uplink-stage.ts';

export interface NixBuilderConfig {
  readonly flakeRef: string;
  readonly signingKeyFile: string;
  readonly ssh: SshAccess;
  /** The bot's GC roots: `<dir>/built/<host>` for the last build, `<dir>/deployed/<host>` for what runs. */
  readonly gcRootsDir: string;
  readonly buildTimeoutMs?: number;
  readonly copyTimeoutMs?: number;
  /** builder.nixBinDir: the folder of the Nix to run, instead of the one on PATH. */
  readonly nixBinDir?: string;
  /** The default branch's name when the flake URL and Nix cannot say (`refs.defaultBranch`). */
  readonly defaultBranch?: string;
}

export function nixBuilder(config: NixBuilderConfig): BuilderPort {
  const bin = config.nixBinDir === undefined ? {} : { nixBinDir: config.nixBinDir };
  // Asked once, for the few commands whose flags differ between versions (path-info's JSON from 2.33).
  let version: Promise<NixVersion | null> | undefined;
  // Each batch keeps its roots in a folder of its own while it builds: runs at once never share one.
  let batches = 0;
  const builderVersion = () => {
    version ??= nixVersion(bin).catch(() => null);
    return version;
  };
  const zstdOf = hostZstdCache(async (flake, host) =>
    buildHostZstd(flake, host, config.signingKeyFile, { ...bin, version: await builderVersion() }),
  );
  return {
    listConfigurations: () => listConfigurations(config.flakeRef, bin),
    hostZstd: (host, opts) => zstdOf(opts.flake ?? config.flakeRef, host),
    resolveRevision: (ref) =>
      resolveRevision(config.flakeRef, ref, {
        ...bin,
        ...(config.defaultBranch ? { defaultBranch: config.defaultBranch } : {}),
      }),
    commitsBehind: (older, head) => commitsBehind(older, head),
    systemBoot: (toplevel) => systemBoot(toplevel),
    async build(host, opts) {
      const built = await buildToplevel(opts.flake ?? config.flakeRef, host, {
        ...bin,
        outLink: `${config.gcRootsDir}/built/${host}`,
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.onLog ? { onLog: opts.onLog } : {}),
        ...(config.buildTimeoutMs ? { timeoutMs: config.buildTimeoutMs } : {}),
      });
      return built.toplevel;
    },
    buildMany: (hosts, opts) =>
      buildToplevels(opts.flake ?? config.flakeRef, hosts, {
        ...bin,
        batchRootsDir: `${config.gcRootsDir}/building/${process.pid}-${++batches}`,
        hostRootsDir: `${config.gcRootsDir}/built`,
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(config.buildTimeoutMs ? { timeoutMs: config.buildTimeoutMs } : {}),
      }),
    async signingKeyName() {
      // Only the name before the colon is read out of the file; the secret part is never kept or logged.
      const text = await readFile(config.signingKeyFile, 'utf8');
      const name = text.slice(0, text.indexOf(':'));
      if (text.indexOf(':') <= 0 || !/^[A-Za-z0-9._-]+$/.test(name)) {
        throw invalidInput(
          ['nix', 'store', 'sign', '--key-file', config.signingKeyFile],
          'the file does not hold a Nix signing key (name:base64)',
        );
      }
      return name;
    },
    async sign(paths) {
      await signClosure(config.signingKeyFile, paths, bin);
    },
    closure: async (paths) => closureOf(paths, { ...bin, version: await builderVersion() }),
    async copyTo(host, roots, opts) {
      await copyTo(host, roots, {
        ...bin,
        ssh: config.ssh,
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
        ...(config.copyTimeoutMs ? { timeoutMs: config.copyTimeoutMs } : {}),
      });
    },
    async stageForUplink(missing, closure, opts) {
      const staged = await stageForUplink(missing, closure, {
        ...bin,
        compressionLevel: opts.compressionLevel,
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.deltaBases ? { deltaBases: opts.deltaBases } : {}),
      });
      return {
        bytes: new Map([...staged.paths].map(([p, s]) => [p, s.bytes])),
        tempBytes: new Map([...staged.paths].map(([p, s]) => [p, s.tempBytes])),
        deltas: new Map([...staged.paths].flatMap(([p, s]) => (s.delta ? [[p, s.delta] as const] : []))),
        frame: (batch) => staged.frame(batch),
        cleanup: () => staged.cleanup(),
      };
    },
    async keepRoot(host, toplevel) {
      const dir = `${config.gcRootsDir}/deployed`;
      // A root that points there already (a rollout with nothing to do) needs no Nix call.
      if ((await readGcRoot(dir, host).catch(() => null)) === toplevel) return;
      await addGcRoot(dir, host, toplevel, bin);
    },
    async keepPendingRoot(host, toplevel) {
      const dir = `${config.gcRootsDir}/pending`;
      if (toplevel === null) await removeGcRoot(dir, host);
      else await addGcRoot(dir, host, toplevel, bin);
    },
  };
}

export function nixKnowledge(opts: { readonly protocol?: CopyProtocol } = {}): NixKnowledge {
  return {
    peerCopy: (peer, roots, knownHosts) =>
      peerCopyInvocations(
        { lanAddress: peer.lanAddress, port: peer.port },
        roots,
        knownHosts,
        opts.protocol ? { protocol: opts.protocol } : {},
      ),
    copyLogReader(): CopyLogReader {
      const read = copyLineReader();
      return (line) => {
        const r = read(line);
        if (r === null || (r.done === undefined && r.error === undefined && r.copied === undefined))
          return null;
        return {
          ...(r.done ? { done: r.done } : {}),
          ...(r.copied ? { copied: r.copied } : {}),
          ...(r.error ? { error: r.error } : {}),
        };
      };
    },
    diagnoseCopyFailure: (lines, endpoint) => diagnoseCopyFailure(lines, endpoint),
    closureQuery: (path) => closureQueryArgv(path),
    parsePathInfo: (stdout) => parsePathInfo(stdout),
    uplinkImporter: {
      command: uplinkImportCommand,
      readLine: readImporterLine,
      end: END_FRAME,
      noSpaceExit: NO_SPACE_EXIT,
    },
  };
}
