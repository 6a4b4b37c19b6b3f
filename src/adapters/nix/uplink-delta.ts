// Deltas on the builder: a missing path whose predecessor the target holds may cross the uplink as a
// `zstd --patch-from` delta against the predecessor's NAR instead of its whole compressed NAR, when that is
// smaller. Both NARs come from the builder's store (`nix-store --dump`, into the staging directory), the delta
// is made with the bot box's own zstd (on PATH, like nix), and the host rebuilds the NAR with its own store's
// zstd (uplink-import.ts); Nix checks the rebuilt NAR's hash and the builder's signature on import.
//
// Measured on real Debian packages (tar of the unpacked package standing in for the NAR; zstd 1.5.4, one core,
// the machine shared): whole at level 3 / 9 / 19, then as a delta against the older version at the same level
// (`--long=27 --patch-from`), with the time the delta took:
//   libssl3 3.0.17 -> 3.0.22 (5.9 MB)   whole 2.59 / 2.42 / 2.16 MB   delta 1.58 MB 1.4 s / 0.92 MB 1.5 s / 0.75 MB 21 s
//   openssl 3.0.17 -> 3.0.22 (2.4 MB)   whole 1.53 / 1.50 / 1.46 MB   delta 1.17 MB 0.3 s / 1.08 MB 1.5 s / 1.06 MB 10 s
//   libcurl4, a rebuild (0.86 MB)       whole 0.46 / 0.44 / 0.41 MB   delta 156 / 139 / 130 bytes, 0.5-1 s
// So deltas are made at the stream's own level (uplink.compressionLevel, 9 by default): level 19 gains 20% on
// a point release's delta at 14 times the time, and nothing worth it on rebuilds, the bulk of an update.
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { STORE_DIR } from '../../core/storepath.ts';
import type { StorePath } from '../../core/types.ts';
import { nixEnv } from './run.ts';

export interface DeltaRequest {
  readonly path: StorePath;
  readonly base: StorePath;
}

export interface MadeDelta {
  /** The delta's file name in the staging directory: `nar/<hash>.delta`. */
  readonly name: string;
  readonly bytes: number;
  /** The base's NAR size: what the host dumps beside the delta to rebuild the NAR. */
  readonly baseBytes: number;
}

export interface DeltaCallOptions {
  readonly level: number;
  readonly signal?: AbortSignal;
  readonly nixBinDir?: string;
  /** The zstd to make deltas with: `zstd` on PATH by default. */
  readonly zstd?: string;
}

const hashOf = (p: StorePath) => p.slice(STORE_DIR.length + 1, STORE_DIR.length + 33);

/** `nar/<hash>.nar`: the NAR the host rebuilds, named by the rewritten narinfo's URL. */
export function rebuiltNarName(p: StorePath): string {
  return `nar/${hashOf(p)}.nar`;
}

export function deltaName(p: StorePath): string {
  return `nar/${hashOf(p)}.delta`;
}

/**
 * zstd's window for a delta: it must reach back over the whole base into the new NAR, so 2^N covers both
 * (zstd's --long takes 10 to 31; the host's decompression memory is the window, bounded by
 * uplink.deltaMaxBaseMiB through the base's size).
 */
export function deltaWindowLog(baseBytes: number, newBytes: number): number {
  const need = Math.max(1, baseBytes + newBytes);
  return Math.min(31, Math.max(10, Math.ceil(Math.log2(need))));
}

/**
 * Makes `path`'s delta against `base` in `dir`; null when zstd or a dump fails (the path then comes whole:
 * a delta is an optimisation, never a reason to fail).
 */
export async function makeDelta(
  dir: string,
  req: DeltaRequest,
  opts: DeltaCallOptions,
): Promise<MadeDelta | null> {
  const baseNar = join(dir, `${hashOf(req.path)}.base.nar`);
  const newNar = join(dir, `${hashOf(req.path)}.new.nar`);
  const name = deltaName(req.path);
  try {
    if (!(await dump(req.base, baseNar, opts)) || !(await dump(req.path, newNar, opts))) return null;
    const [b, n] = await Promise.all([stat(baseNar), stat(newNar)]);
    const r = await execa(
      opts.zstd ?? 'zstd',
      [
        '-q',
        '-f',
        `-${opts.level}`,
        `--long=${deltaWindowLog(b.size, n.size)}`,
        `--patch-from=${baseNar}`,
        newNar,
        '-o',
        join(dir, name),
      ],
      {
        env: nixEnv(),
        extendEnv: false,
        reject: false,
        stdin: 'ignore',
        ...(opts.signal ? { cancelSignal: opts.signal } : {}),
      },
    );
    if (r.exitCode !== 0) return null;
    return { name, bytes: (await stat(join(dir, name))).size, baseBytes: b.size };
  } finally {
    await Promise.all([rm(baseNar, { force: true }), rm(newNar, { force: true })]);
  }
}

async function dump(p: StorePath, file: string, opts: DeltaCallOptions): Promise<boolean> {
  const program = opts.nixBinDir === undefined ? 'nix-store' : join(opts.nixBinDir, 'nix-store');
  const r = await execa(program, ['--dump', '--', p], {
    env: nixEnv(),
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    stdout: { file },
    ...(opts.signal ? { cancelSignal: opts.signal } : {}),
  });
  return r.exitCode === 0;
}

/**
 * The narinfo of a path that comes as a delta: its NAR is the one the host rebuilds, uncompressed, under
 * `nar/<hash>.nar`; the compressed file's hash and size no longer apply. Everything else (the NAR's hash and
 * size, references, the builder's signatures, which sign only the path's fingerprint) stays as it was.
 */
export function deltaNarinfo(text: string, p: StorePath): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const key = line.slice(0, line.indexOf(':'));
    if (key === 'FileHash' || key === 'FileSize') continue;
    if (key === 'URL') out.push(`URL: ${rebuiltNarName(p)}`);
    else if (key === 'Compression') out.push('Compression: none');
    else out.push(line);
  }
  if (!out.some((l) => l.startsWith('Compression:'))) out.push('Compression: none');
  return `${out.join('\n')}\n`;
}

/** The batch's manifest (`deltas` in its archive): one `<hash> <base store path>` line a delta path. */
export function deltaManifest(entries: readonly DeltaRequest[]): string {
  return entries.map((e) => `${hashOf(e.path)} ${e.base}\n`).join('');
}
