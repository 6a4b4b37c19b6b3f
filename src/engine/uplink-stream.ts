// The builder's share of a copy as one compressed, signed stream over one SSH exec channel (the `uplink`
// transport "stream"): the builder stages the paths as a file:// binary cache with zstd (narinfos carry its
// signatures), the host's fixed importer unpacks each batch into a temporary directory, imports it with
// `nix copy --from file://` (signatures and NAR hashes checked) and deletes it before the next. No round trip
// per path: `nix copy --to ssh://` waits on the host once for every path, which is what bounds it on a
// high-latency uplink, and sends NARs uncompressed.
//
// Measured on the simulated office (bench/uplink-stream.ts, `--rtt 60 --uplink-kbit 16000 --level 3`; uplink
// bytes from the kernel's counters; the machine shared and loaded, so wall times are pessimistic), a closure of
// real files (Python 3.11's standard library as 207 store paths, 52.6 MB of NARs) from an empty host:
//   nix copy --to ssh://   0 ms RTT: 30.2 s, 54.4 MB on the uplink    60 ms RTT: 45.2 s, 54.5 MB
//   the stream             0 ms RTT: 22.0 s, 16.0 MB on the uplink    60 ms RTT: 23.3 s, 16.0 MB
// The stream sends 3.4x fewer bytes and its time does not grow with the round trip; nix copy's does, by one
// round trip a path. 1,001 small text paths (2.75 MB of NARs): nix copy 2.4 s at 0 ms, 65.8 s at 60 ms; the
// stream 6.0 s and 6.6 s (staging on the builder included), but 3.8 MB on the uplink against nix copy's
// 3.4 MB: the archive's header and padding of two files a path (about 1.5 KB) outweigh what zstd saves on a
// path of a few kilobytes. A `ssh -C` (zlib) channel or
// `nix copy ?compress=true` still pays the round trips; a daemon on the host substituting from a cache on the
// builder would need one reachable from each screen. zstd levels on the same NARs (one core): -3 14.8 MB in
// 1.2 s, -9 12.9 MB in 1.8 s, -19 11.1 MB in 69 s: hence level 9 by default (uplink.compressionLevel).
//
// Deltas (uplink.deltas, uplink-deltas.ts and src/adapters/nix/uplink-delta.ts): a path whose predecessor the
// target holds may come as a `zstd --patch-from` delta against it, rebuilt on the host with its own store's
// zstd (that zstd's closure in the first batches when the host lacks it). On real Debian packages at level 9:
// libssl3 3.0.17 -> 3.0.22 2.42 MB whole, 0.92 MB as a delta; a rebuild that differs only in the store path
// it embeds, 0.44 MB whole, 139 bytes as a delta.
import { formatBytes } from '../core/bytes.ts';
import { closureGraph, topologicalOrder } from '../core/closure.ts';
import type { UplinkStage } from '../core/ports/builder.ts';
import type { HostSpec, PathInfo, StorePath } from '../core/types.ts';
import { type Batching, type StagedFile, uplinkBatches } from '../core/uplink-batches.ts';
import type { Built } from './build.ts';
import { DEFAULT_UPLINK, type EngineDeps } from './deps.ts';
import { EngineError } from './errors.ts';
import type { RunScope } from './run-scope.ts';
import { askForDeltas, planDeltas } from './uplink-deltas.ts';

export interface StreamResult {
  /** Bytes sent on the channel: frames, archives, narinfos and compressed NARs. */
  readonly bytes: number;
  /** The same paths' NAR bytes, as `nix copy --to ssh://` would have sent them. */
  readonly narBytes: number;
  /** Of `bytes`, the deltas (with their narinfos), and how many paths came as one. */
  readonly deltaBytes: number;
  readonly deltaPaths: number;
  /** Why the stream sent no deltas where it might have (the target's zstd could not be built). */
  readonly note?: string;
}

export interface StreamOptions {
  /** Deltas against what the target holds (uplink.deltas); off for the second stream after a failed one. */
  readonly deltas?: boolean;
  /** What the plan found the target holds of the closure. */
  readonly held?: readonly StorePath[];
  /** The systems the rollout's snapshot saw the target run or have as profile (uplink-deltas.ts). */
  readonly systems?: readonly StorePath[];
}

/** The stream failed after it started: the host may hold some of the paths (each whole), not all. */
export class StreamFailed extends EngineError {
  override readonly name = 'StreamFailed';
  /** Bytes sent before it failed. */
  readonly sent: number;
  /** NAR bytes of the batches the host imported before it failed. */
  readonly importedNarBytes: number;
  constructor(message: string, hint: string, sent: number, importedNarBytes: number) {
    super(message, hint);
    this.sent = sent;
    this.importedNarBytes = importedNarBytes;
  }
}

const MIB = 1024 * 1024;
const COALESCE = 64 * 1024;

/**
 * Streams `paths` (those the target lacks, of `built`'s closure) from the builder; returns the bytes sent.
 * Refuses, before anything is sent, when the host lacks the space.
 */
export async function streamFromBuilder(
  deps: EngineDeps,
  scope: RunScope,
  target: HostSpec,
  built: Built,
  paths: readonly StorePath[],
  opts: StreamOptions = {},
): Promise<StreamResult> {
  const settings = deps.uplink ?? DEFAULT_UPLINK;
  const wanted = new Set(paths);
  let ordered = topologicalOrder(closureGraph(built.closure)).filter((p) => wanted.has(p));
  const deltas =
    settings.deltas && opts.deltas !== false
      ? await planDeltas(deps, scope, target, built, ordered, opts)
      : { plan: null };
  if (deltas.note) scope.log(deltas.note, target.name);
  const narSizes = new Map(
    [...built.closure, ...(deltas.plan?.zstdClosure ?? [])].map((i) => [i.path, i.narSize]),
  );
  const stage = (
    ps: readonly StorePath[],
    infos: readonly PathInfo[],
    bases?: ReadonlyMap<StorePath, StorePath>,
  ) =>
    deps.builder.stageForUplink(ps, infos, {
      compressionLevel: settings.compressionLevel,
      signal: scope.signal,
      ...(bases ? { deltaBases: bases } : {}),
    });
  let staged = await stage(ordered, built.closure, deltas.plan?.bases);
  try {
    // The target is asked only once some path really comes as a delta: for its zstd, and for the bases.
    let zstd: string | null = null;
    let zstdFirst: readonly StorePath[] = [];
    if (staged.deltas.size > 0 && deltas.plan) {
      const plan = deltas.plan;
      const zstdPaths = plan.zstdClosure.map((i) => i.path);
      const zstdStaged = await stage(zstdPaths, plan.zstdClosure);
      let keep = false;
      try {
        // Deltas must save more than the target's zstd costs to send: a host that lacks it would otherwise
        // receive more than the deltas save (and one that holds it is not asked about a small saving).
        const zstdBytes = zstdPaths.reduce((n, p) => n + (zstdStaged.bytes.get(p) ?? 0), 0);
        if (deltaSaving(staged) > zstdBytes) {
          const bases = [...new Set([...staged.deltas.values()].map((d) => d.base))];
          const asked = await askForDeltas(scope, target, plan, bases);
          if (asked.basesLacking.length > 0) {
            scope.log(
              `${target.name} no longer holds ${asked.basesLacking[0]}` +
                (asked.basesLacking.length > 1 ? ` and ${asked.basesLacking.length - 1} other bases` : '') +
                '; sending whole paths, no deltas',
              target.name,
            );
          } else {
            keep = true;
            zstd = plan.zstd;
            zstdFirst = asked.zstdMissing;
            const first = new Set(zstdFirst);
            ordered = ordered.filter((p) => !first.has(p));
            staged = joinStages(zstdStaged, first, staged);
          }
        }
      } finally {
        if (!keep) await zstdStaged.cleanup();
      }
      if (!keep) {
        await staged.cleanup();
        staged = await stage(ordered, built.closure);
      }
    }
    const all = [...zstdFirst, ...ordered];
    const narBytes = all.reduce((s, p) => s + (narSizes.get(p) ?? 0), 0);
    const files = (ps: readonly StorePath[]) =>
      ps.map((p) => ({ path: p, bytes: staged.tempBytes.get(p) ?? staged.bytes.get(p) ?? 0 }));
    // The zstd in batches of its own: the host imports it before it rebuilds the first delta with it.
    const batching = joinBatchings(
      uplinkBatches(files(zstdFirst), settings.tempSpaceBytes),
      uplinkBatches(files(ordered), settings.tempSpaceBytes),
    );
    if (!batching.ok) {
      throw new EngineError(
        `${batching.path} takes ${formatBytes(batching.bytes)} unpacked, more than ${target.name} may hold ` +
          `at once (uplink.tempSpaceMiB: ${settings.tempSpaceBytes / MIB} MiB); nothing was sent`,
        `raise uplink.tempSpaceMiB above ${Math.ceil(batching.bytes / MIB)} if ${target.name} has the space, ` +
          'or set uplink.transport: nix-copy',
      );
    }
    const total = all.reduce((s, p) => s + (staged.bytes.get(p) ?? 0), 0);
    const sent = await runStream(deps, scope, target, staged, batching, narSizes, narBytes, total, {
      ...settings,
      zstd,
    });
    const deltaPaths = ordered.filter((p) => staged.deltas.has(p));
    return {
      bytes: sent,
      narBytes,
      deltaBytes: deltaPaths.reduce((s, p) => s + (staged.bytes.get(p) ?? 0), 0),
      deltaPaths: deltaPaths.length,
      ...(deltas.note ? { note: deltas.note } : {}),
    };
  } finally {
    await staged.cleanup();
  }
}

/** The bytes the staged deltas save against their paths sent whole. */
export function deltaSaving(staged: UplinkStage): number {
  let n = 0;
  for (const [p, d] of staged.deltas) n += d.wholeBytes - (staged.bytes.get(p) ?? d.wholeBytes);
  return n;
}

/** Two stagings as one: `first`'s paths (the target's zstd, whole) framed from `a`, the others from `b`. */
function joinStages(a: UplinkStage, first: ReadonlySet<StorePath>, b: UplinkStage): UplinkStage {
  const pick = <T>(ma: ReadonlyMap<StorePath, T>, mb: ReadonlyMap<StorePath, T>) =>
    new Map([...mb, ...[...ma].filter(([p]) => first.has(p))]);
  return {
    bytes: pick(a.bytes, b.bytes),
    tempBytes: pick(a.tempBytes, b.tempBytes),
    deltas: new Map([...b.deltas].filter(([p]) => !first.has(p))),
    frame: (batch) => (batch.length > 0 && first.has(batch[0]!) ? a.frame(batch) : b.frame(batch)),
    cleanup: async () => {
      await Promise.all([a.cleanup(), b.cleanup()]);
    },
  };
}

function joinBatchings(a: Batching, b: Batching): Batching {
  if (!a.ok) return a;
  if (!b.ok) return b;
  return { ok: true, batches: [...a.batches, ...b.batches], largest: Math.max(a.largest, b.largest) };
}

async function runStream(
  deps: EngineDeps,
  scope: RunScope,
  target: HostSpec,
  staged: UplinkStage,
  batching: { readonly batches: readonly (readonly StagedFile[])[]; readonly largest: number },
  narSizes: ReadonlyMap<StorePath, number>,
  narBytes: number,
  total: number,
  settings: { readonly tempSpaceBytes: number; readonly zstd: string | null },
): Promise<number> {
  const importer = deps.nix.uplinkImporter;
  const argv = importer.command({ sudo: target.user !== 'root' }, batching.largest, narBytes, settings.zstd);
  let sent = 0;
  let free: { tempKiB: number; storeKiB: number; sameFileSystem: boolean } | null = null;
  let imported = 0;
  let lastEmit = 0;
  const emit = (force = false) => {
    if (!force && sent - lastEmit < Math.max(256 * 1024, total / 100)) return;
    lastEmit = sent;
    scope.emit({
      type: 'stage.progress',
      runId: scope.runId,
      host: target.name,
      stage: 'copy',
      source: 'builder',
      doneBytes: sent,
      totalBytes: total,
    });
  };
  // The importer answers `ready` once it has checked the space; nothing is sent before, and nothing at all
  // when it refuses (or ends for any other reason).
  let answer: (ready: boolean) => void = () => {};
  const readyP = new Promise<boolean>((resolve) => {
    answer = resolve;
  });
  // Chunks go out gathered to at least COALESCE bytes: written one by one, the archive's 512-byte headers and
  // paddings each became an SSH packet and a TCP segment (1,001 small paths: 4.2 MB on the uplink for 1.8 MB
  // of stream).
  async function* input(): AsyncGenerator<Uint8Array> {
    if (!(await readyP)) return;
    let pending: Uint8Array[] = [];
    let size = 0;
    const flush = () => {
      const out = Buffer.concat(pending, size);
      pending = [];
      sent += size;
      size = 0;
      emit();
      return out;
    };
    for (const batch of batching.batches) {
      for await (const chunk of staged.frame(batch.map((f) => f.path))) {
        pending.push(chunk);
        size += chunk.byteLength;
        if (size >= COALESCE) yield flush();
      }
    }
    pending.push(importer.end);
    size += importer.end.byteLength;
    yield flush();
  }
  emit(true);
  const stderr: string[] = [];
  const result = await scope
    .exec(target, argv, {
      stdin: input(),
      allowFailure: true,
      // A long stream is not a hung one; a dead host is found by SSH keepalives.
      timeoutMs: 0,
      onStdout: (line) => {
        const l = importer.readLine(line);
        if (l?.kind === 'free') free = l;
        else if (l?.kind === 'ready') answer(true);
        else if (l?.kind === 'imported') imported = l.batch;
      },
      onStderrLine: (line) => {
        if (stderr.length < 200) stderr.push(line);
      },
    })
    .finally(() => answer(false));
  emit(true);
  if (result.exitCode === importer.noSpaceExit && free !== null) {
    const f = free as { tempKiB: number; storeKiB: number; sameFileSystem: boolean };
    const needTemp = batching.largest;
    const room = f.sameFileSystem
      ? `${formatBytes(f.storeKiB * 1024)} free in its store's file system`
      : `${formatBytes(f.tempKiB * 1024)} free for the temporary files and ${formatBytes(f.storeKiB * 1024)} in its store`;
    throw new EngineError(
      `${target.name} has not the space for the copy: it needs ${formatBytes(narBytes)} for the new paths in ` +
        `its store${f.sameFileSystem ? ' plus' : ' and'} ${formatBytes(needTemp)} to unpack the largest batch ` +
        `(at most uplink.tempSpaceMiB: ${settings.tempSpaceBytes / MIB} MiB), and has ${room}. Nothing was sent ` +
        `or imported: ${target.name} holds what it held before`,
      `free space on ${target.name} (nix-collect-garbage -d), or lower uplink.tempSpaceMiB if only the temporary files do not fit`,
    );
  }
  if (result.exitCode !== 0) {
    const why = stderr.filter((l) => l.trim() !== '').at(-1) ?? `exit ${result.exitCode}`;
    throw new StreamFailed(
      `the stream to ${target.name} failed in batch ${imported + 1} of ${batching.batches.length} ` +
        `(${formatBytes(sent)} sent): ${why}. Paths of the batches before were imported whole; Nix imports ` +
        'each path atomically, so nothing is half there',
      'run the deploy again; if it repeats, set uplink.transport: nix-copy and report the message',
      sent,
      batching.batches
        .slice(0, imported)
        .flat()
        .reduce((s, f) => s + (narSizes.get(f.path) ?? 0), 0),
    );
  }
  return sent;
}
