// The builder's share of a copy as one compressed, signed stream over one SSH exec channel (the `uplink`
// transport "stream"): the builder stages the paths as a file:// binary cache with zstd (narinfos carry its
// signatures), the host's fixed importer unpacks each batch into a temporary directory, imports it with
// `nix copy --from file://` (signatures and NAR hashes checked) and deletes it before the next. No round trip
// per path: `nix copy --to ssh://` waits on the host once for every path, which is what bounds it on a
// high-latency uplink, and sends NARs uncompressed.
//
// Measured on the office (test/integration/uplink-stream.test.ts prints the figures; the numbers here are from
// its measurement run): see MEASURED below.
import { formatBytes } from '../core/bytes.ts';
import { closureGraph, topologicalOrder } from '../core/closure.ts';
import type { UplinkStage } from '../core/ports/builder.ts';
import type { HostSpec, StorePath } from '../core/types.ts';
import { type StagedFile, uplinkBatches } from '../core/uplink-batches.ts';
import type { Built } from './build.ts';
import { DEFAULT_UPLINK, type EngineDeps } from './deps.ts';
import { EngineError } from './errors.ts';
import type { RunScope } from './run-scope.ts';

export interface StreamResult {
  /** Bytes sent on the channel: frames, archives, narinfos and compressed NARs. */
  readonly bytes: number;
  /** The same paths' NAR bytes, as `nix copy --to ssh://` would have sent them. */
  readonly narBytes: number;
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
): Promise<StreamResult> {
  const settings = deps.uplink ?? DEFAULT_UPLINK;
  const wanted = new Set(paths);
  const ordered = topologicalOrder(closureGraph(built.closure)).filter((p) => wanted.has(p));
  const narSizes = new Map(built.closure.map((i) => [i.path, i.narSize]));
  const narBytes = ordered.reduce((s, p) => s + (narSizes.get(p) ?? 0), 0);
  const staged = await deps.builder.stageForUplink(ordered, built.closure, {
    compressionLevel: settings.compressionLevel,
    signal: scope.signal,
  });
  try {
    const batching = uplinkBatches(
      ordered.map((p) => ({ path: p, bytes: staged.bytes.get(p) ?? 0 })),
      settings.tempSpaceBytes,
    );
    if (!batching.ok) {
      throw new EngineError(
        `${batching.path} is ${formatBytes(batching.bytes)} compressed, more than ${target.name} may hold ` +
          `unpacked at once (uplink.tempSpaceMiB: ${settings.tempSpaceBytes / MIB} MiB); nothing was sent`,
        `raise uplink.tempSpaceMiB above ${Math.ceil(batching.bytes / MIB)} if ${target.name} has the space, ` +
          'or set uplink.transport: nix-copy',
      );
    }
    const total = batching.batches.reduce((s, b) => s + b.reduce((t, f) => t + f.bytes, 0), 0);
    const sent = await runStream(deps, scope, target, staged, batching, narSizes, narBytes, total, settings);
    return { bytes: sent, narBytes };
  } finally {
    await staged.cleanup();
  }
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
  settings: { readonly tempSpaceBytes: number },
): Promise<number> {
  const importer = deps.nix.uplinkImporter;
  const argv = importer.command({ sudo: target.user !== 'root' }, batching.largest, narBytes);
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
  async function* input(): AsyncGenerator<Uint8Array> {
    if (!(await readyP)) return;
    for (const batch of batching.batches) {
      for await (const chunk of staged.frame(batch.map((f) => f.path))) {
        sent += chunk.byteLength;
        emit();
        yield chunk;
      }
    }
    sent += importer.end.byteLength;
    yield importer.end;
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
