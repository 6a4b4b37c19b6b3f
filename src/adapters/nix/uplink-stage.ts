// The builder's side of the uplink stream: the paths a target lacks, staged as a file:// binary cache in a
// temporary directory (`nix copy --no-recursive --to 'file://DIR?compression=zstd&compression-level=N'`: Nix
// writes each path's compressed NAR and a narinfo with its NAR hash, references and the builder's signatures,
// the same in Nix 2.8 and 2.24), then read out as the importer's frames (uplink-import.ts): one ustar archive
// a batch. A file:// cache refuses a path whose references it does not know ("the reference is not valid"),
// so the paths the target already holds get a narinfo stub each (their true NAR hash, size and references,
// no NAR): they tell the staging Nix that the references exist and are never sent.
import { mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STORE_DIR } from '../../core/storepath.ts';
import type { PathInfo, StorePath } from '../../core/types.ts';
import { BUILDER_FEATURES, checkStorePaths } from './inputs.ts';
import { invalidInput, runNix } from './run.ts';
import { deltaManifest, deltaNarinfo, makeDelta } from './uplink-delta.ts';
import { TarWriter, tarSize } from './uplink-tar.ts';

export interface StagedPath {
  readonly path: StorePath;
  readonly narSize: number;
  /** The narinfo and the compressed NAR, as the host unpacks them. */
  readonly files: readonly { readonly name: string; readonly bytes: number }[];
  /** Their sum: what the path takes on the uplink. */
  readonly bytes: number;
  /** What it takes at most in the host's temporary space: with a delta, also the base's and the rebuilt NAR. */
  readonly tempBytes: number;
  /** When it comes as a delta: against which path, the delta file (in `dir`), and the path's bytes whole. */
  readonly delta?: { readonly base: StorePath; readonly file: string; readonly wholeBytes: number };
}

export interface Staged {
  readonly dir: string;
  readonly paths: ReadonlyMap<StorePath, StagedPath>;
  /** The importer's input for one batch: its header line and archive, in chunks. */
  frame(batch: readonly StorePath[]): AsyncGenerator<Uint8Array>;
  cleanup(): Promise<void>;
}

export interface StageOptions {
  readonly compressionLevel: number;
  readonly signal?: AbortSignal;
  readonly nixBinDir?: string;
  /** Where the temporary cache goes; the system's temporary directory by default. */
  readonly tmpDir?: string;
  /**
   * Missing paths to try as deltas, each with the base the host holds (the caller bounded the bases' sizes).
   * A path keeps its delta only when that is smaller than its compressed NAR.
   */
  readonly deltaBases?: ReadonlyMap<StorePath, StorePath>;
  /** The zstd that makes the deltas (uplink-delta.ts); `zstd` on PATH by default. */
  readonly zstd?: string;
}

/**
 * A path this small compressed comes whole: its delta would save at most this much, and costs the host a dump
 * of the base, a zstd run and, for the stream, the question about its zstd and bases.
 */
const DELTA_MIN_BYTES = 16 * 1024;
/** Deltas made at once (zstd on one core each). */
const DELTA_JOBS = 2;

/** More roots than this go to several `nix copy` commands, in dependency order. */
const PATHS_PER_COMMAND = 1000;
const CACHE_INFO = `StoreDir: ${STORE_DIR}\nWantMassQuery: 1\nPriority: 90\n`;

/**
 * Stages `missing` (dependencies first) from the builder's store; `closure` describes every path they
 * reference (the target holds those not in `missing`).
 */
export async function stageForUplink(
  missing: readonly StorePath[],
  closure: readonly PathInfo[],
  opts: StageOptions,
): Promise<Staged> {
  const level = opts.compressionLevel;
  const base = ['nix', ...BUILDER_FEATURES, 'copy', '--no-recursive'];
  if (!Number.isInteger(level) || level < 1 || level > 19)
    throw invalidInput(base, `compression level ${level}`);
  const checked = checkStorePaths(missing, 'paths');
  if (!checked.ok) throw invalidInput(base, checked.error);
  const dir = await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'signage-uplink-'));
  try {
    await writeFile(join(dir, 'nix-cache-info'), CACHE_INFO);
    const infos = new Map(closure.map((i) => [i.path, i]));
    const wanted = new Set(missing);
    const held = new Set<StorePath>();
    for (const p of missing) {
      for (const r of infos.get(p)?.references ?? []) if (!wanted.has(r)) held.add(r);
    }
    await writeStubs(dir, [...held], infos, opts);
    const bin = opts.nixBinDir === undefined ? {} : { nixBinDir: opts.nixBinDir };
    const url = `file://${dir}?compression=zstd&compression-level=${level}`;
    for (let i = 0; i < missing.length; i += PATHS_PER_COMMAND) {
      await runNix([...base, '--to', url, '--', ...missing.slice(i, i + PATHS_PER_COMMAND)], {
        ...bin,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    }
    const paths = new Map<StorePath, StagedPath>();
    const deltaJobs: Promise<void>[] = [];
    for (const p of missing) {
      const info = join(dir, narinfoName(p));
      const text = await readFile(info, 'utf8');
      const url = /^URL: (nar\/[A-Za-z0-9.]+)$/m.exec(text)?.[1];
      if (url === undefined) throw new Error(`the staged narinfo of ${p} names no NAR file`);
      const nar = await stat(join(dir, url));
      const files = [
        { name: narinfoName(p), bytes: Buffer.byteLength(text) },
        { name: url, bytes: nar.size },
      ];
      const bytes = files.reduce((s, f) => s + f.bytes, 0);
      paths.set(p, { path: p, narSize: infos.get(p)?.narSize ?? 0, files, bytes, tempBytes: bytes });
    }
    const tries = missing.filter((p) => {
      const base = opts.deltaBases?.get(p);
      return base !== undefined && (paths.get(p)?.files[1]?.bytes ?? 0) >= DELTA_MIN_BYTES;
    });
    let next = 0;
    const worker = async () => {
      while (next < tries.length) {
        const p = tries[next++]!;
        const base = opts.deltaBases!.get(p)!;
        const whole = paths.get(p)!;
        const made = await makeDelta(
          dir,
          { path: p, base },
          {
            level,
            ...bin,
            ...(opts.signal ? { signal: opts.signal } : {}),
            ...(opts.zstd ? { zstd: opts.zstd } : {}),
          },
        );
        if (made === null || made.bytes >= whole.files[1]!.bytes) {
          if (made) await rm(join(dir, made.name), { force: true });
          continue;
        }
        // The compressed NAR stays where it is (another path with the same contents may name it) but is not sent.
        const info = join(dir, narinfoName(p));
        const text = deltaNarinfo(await readFile(info, 'utf8'), p);
        await writeFile(info, text);
        const files = [
          { name: narinfoName(p), bytes: Buffer.byteLength(text) },
          { name: made.name, bytes: made.bytes },
        ];
        const bytes = files.reduce((s, f) => s + f.bytes, 0);
        paths.set(p, {
          ...whole,
          files,
          bytes,
          tempBytes: bytes + whole.narSize + made.baseBytes,
          delta: { base, file: join(dir, made.name), wholeBytes: whole.bytes },
        });
      }
    };
    for (let i = 0; i < DELTA_JOBS; i++) deltaJobs.push(worker());
    await Promise.all(deltaJobs);
    return {
      dir,
      paths,
      frame: (batch) =>
        frame(
          dir,
          batch.map((p) => paths.get(p)!),
        ),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/** `<hash>.narinfo`, as Nix names a path's narinfo in a binary cache. */
export function narinfoName(p: StorePath): string {
  return `${p.slice(STORE_DIR.length + 1, STORE_DIR.length + 33)}.narinfo`;
}

const baseName = (p: StorePath) => p.slice(STORE_DIR.length + 1);

/** Narinfos for paths the target holds: enough for the staging Nix to accept references to them. */
async function writeStubs(
  dir: string,
  held: readonly StorePath[],
  infos: ReadonlyMap<StorePath, PathInfo>,
  opts: StageOptions,
): Promise<void> {
  for (let i = 0; i < held.length; i += PATHS_PER_COMMAND) {
    const chunk = held.slice(i, i + PATHS_PER_COMMAND);
    const out = await runNix(['nix-store', '--query', '--hash', '--', ...chunk], {
      ...(opts.nixBinDir === undefined ? {} : { nixBinDir: opts.nixBinDir }),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const hashes = out.stdout.trim().split('\n');
    if (hashes.length !== chunk.length)
      throw new Error(`nix-store --query --hash answered ${hashes.length} of ${chunk.length} paths`);
    for (const [k, p] of chunk.entries()) {
      const info = infos.get(p);
      const refs = (info?.references ?? []).map(baseName).join(' ');
      await writeFile(
        join(dir, narinfoName(p)),
        `StorePath: ${p}\nURL: nar/held.nar\nCompression: none\nNarHash: ${hashes[k]}\nNarSize: ${info?.narSize ?? 0}\nReferences: ${refs}\n`,
      );
    }
  }
}

const CHUNK = 256 * 1024;

async function* frame(dir: string, batch: readonly StagedPath[]): AsyncGenerator<Uint8Array> {
  // A batch with deltas carries its manifest (`deltas`), read by the importer before it imports.
  const manifest = deltaManifest(
    batch.flatMap((p) => (p.delta ? [{ path: p.path, base: p.delta.base }] : [])),
  );
  if (manifest !== '') await writeFile(join(dir, 'deltas'), manifest);
  const entries = [
    { name: 'nix-cache-info', bytes: Buffer.byteLength(CACHE_INFO) },
    ...(manifest === '' ? [] : [{ name: 'deltas', bytes: Buffer.byteLength(manifest) }]),
    ...batch.flatMap((p) => p.files),
  ];
  const size = tarSize(
    entries.map((e) => e.bytes),
    ['nar/'],
  );
  yield Buffer.from(`B ${size} ${batch.length}\n`);
  const tar = new TarWriter();
  yield tar.directory('nar/');
  for (const e of entries) {
    yield tar.fileHeader(e.name, e.bytes);
    const fh = await open(join(dir, e.name), 'r');
    try {
      let left = e.bytes;
      while (left > 0) {
        const buf = Buffer.allocUnsafe(Math.min(CHUNK, left));
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) throw new Error(`${e.name} is shorter than staged`);
        left -= bytesRead;
        yield buf.subarray(0, bytesRead);
      }
    } finally {
      await fh.close();
    }
    yield tar.padding(e.bytes);
  }
  yield tar.end();
}
