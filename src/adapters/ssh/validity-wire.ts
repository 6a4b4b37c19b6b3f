// The validity question on the wire, both sides in one file: what the bot sends (store path hash prefixes,
// packed), the fixed script the host runs on it, and how the bot reads the answer (a bitmap in the order
// asked). Pure: no I/O here, so every encoding and every way an answer can be wrong is unit-tested.
//
// Question (stdin): each path's hash, or its first 8 digits, its Nix base32 digits packed 5 bits each, in the
// order asked; the number of digits is the script's one parameter. 8 digits are 40 bits in 5 bytes, a
// quarter of the whole hash's 20 and a sixteenth of the name's 80; measured for 2,000 paths: names 141 KB
// (51 KB gzipped), whole hashes packed 40 KB, prefixes packed 10 KB. Packed hashes are random, so gzip
// cannot shrink them: the question is sent packed and not gzipped.
//
// Answer (stdout), two lines: the SHA-256 (hex) of the held paths' names, one a line in the order asked, then
// one '0' or '1' a path in the order asked, gzipped and in base64. A site holds most of a closure or little
// of it, so runs dominate: 2,000 paths answer in 48 bytes when all or none are held, about 190 when 3 % are
// missing, 520 at worst (half held at random). The digest makes the answer exact although the host was only
// told hashes: a path is held only if the host holds it under the name asked.
//
// Prefixes and collisions: another path of the host's store may share a prefix asked (about 2,000 x 20,000
// / 2^40, one question in 27,000, for a 2,000-path question to a store of 20,000 paths). The host then lists
// the path it holds under that prefix, or both, and the names' digest is not the bot's: the bot asks the
// same question again with whole hashes (digestMismatch), and a prefix never makes a path count as held.
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { STORE_DIR } from '../../core/storepath.ts';

/** Nix's base32 digits, in value order. */
const NIX32 = '0123456789abcdfghijklmnpqrsvwxyz';
/** RFC 4648 base32 digits (coreutils `base32`), in value order. */
const RFC32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const HASH_CHARS = 32;
export const PACKED_HASH_BYTES = 20;
/** Digits of a hash the first question sends: 40 bits, whole bytes (5) and whole base32 digits. */
export const PREFIX_CHARS = 8;
/** The digits a question may send per path: a prefix, or the whole hash (the question asked again). */
export type QuestionDigits = typeof PREFIX_CHARS | typeof HASH_CHARS;
export const WHOLE_HASH_CHARS: QuestionDigits = HASH_CHARS;

/** Bytes a path takes in a question of `digits` digits a hash. */
export function packedBytes(digits: QuestionDigits): number {
  return (digits * 5) / 8;
}
const PREFIX_LENGTH = STORE_DIR.length + 1;

/**
 * Runs on the host with the packed hashes (or prefixes) on stdin and one argument, the digits a hash (8 or 32,
 * checked here again): nothing from the question reaches a shell as code. `base32` turns every packed hash back
 * into its digits, which `tr` maps to Nix's alphabet; the store directory's listing names the candidates for
 * each (every name starting so), and `nix-store --check-validity` says which are valid (a path on disk that
 * Nix does not list as valid is not held); it runs even when no candidate is listed, so a store Nix cannot
 * open is an error, not "nothing held". Only POSIX sh, coreutils, gzip and nix-store, as every NixOS host
 * has. Numbers are zero-padded so that a plain sort orders them.
 */
export const VALIDITY_SCRIPT = `set -eu
export LC_ALL=C
case $1 in ${PREFIX_CHARS}|${HASH_CHARS}) d=$1 ;; *) echo "digits: $1" >&2; exit 2 ;; esac
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
trap 'exit 129' HUP INT TERM
cd ${STORE_DIR}
base32 -w "$d" > "$t/b32"
tr ${RFC32} ${NIX32} < "$t/b32" > "$t/hashes"
nl -ba -nrz -w9 -s' ' "$t/hashes" > "$t/asked"
ls -A ${STORE_DIR} > "$t/ls"
cut -c1-"$d" "$t/ls" > "$t/lsh"
paste -d' ' "$t/lsh" "$t/ls" | sort -k1,1 > "$t/store"
sort -k2,2 "$t/asked" > "$t/q"
join -1 2 -2 1 -o 1.1,2.2 "$t/q" "$t/store" | sort -k2,2 > "$t/cand"
cut -d' ' -f2 "$t/cand" > "$t/names"
split -a 4 -l 1000 "$t/names" "$t/part."
: > "$t/invalid"
n=0
for f in "$t"/part.*; do
  [ -f "$f" ] || continue
  n=$((n + 1))
  set -f
  nix-store --check-validity --print-invalid $(cat "$f") >> "$t/invalid"
  set +f
done
[ "$n" -gt 0 ] || nix-store --check-validity
cut -c${PREFIX_LENGTH + 1}- "$t/invalid" | sort > "$t/inv"
join -v 1 -1 2 -2 1 -o 1.1,1.2 "$t/cand" "$t/inv" | sort > "$t/valid"
cut -d' ' -f1 "$t/asked" > "$t/all"
cut -d' ' -f1 "$t/valid" > "$t/held"
cut -d' ' -f2 "$t/valid" | sha256sum | cut -c1-64
comm -2 "$t/all" "$t/held" | cut -c1 | tr -d '\\n' | tr '\\0110' 10 | gzip -cn | base64 -w 0
echo`;

/** The hash part of a store path already checked by parseStorePath. */
export function hashOf(path: string): string {
  return path.slice(PREFIX_LENGTH, PREFIX_LENGTH + HASH_CHARS);
}

/** The name under the store directory (`<hash>-<name>`), as the host lists it. */
export function baseNameOf(path: string): string {
  return path.slice(PREFIX_LENGTH);
}

/**
 * Each hash's first `digits` Nix base32 digits (all 32 by default) as `digits * 5 / 8` bytes: digit i is bits
 * 5i..5i+4, most significant first (as RFC 4648).
 */
export function packHashes(hashes: readonly string[], digits: QuestionDigits = HASH_CHARS): Uint8Array {
  const size = packedBytes(digits);
  const out = new Uint8Array(hashes.length * size);
  hashes.forEach((hash, n) => {
    if (hash.length !== HASH_CHARS) throw new RangeError(`${JSON.stringify(hash)} is not a 32-digit hash`);
    let acc = 0;
    let bits = 0;
    let at = n * size;
    for (const c of hash.slice(0, digits)) {
      const v = NIX32.indexOf(c);
      if (v < 0)
        throw new RangeError(`${JSON.stringify(hash)} has ${JSON.stringify(c)}, not a Nix base32 digit`);
      acc = (acc << 5) | v;
      bits += 5;
      if (bits >= 8) {
        bits -= 8;
        out[at++] = (acc >> bits) & 0xff;
        acc &= (1 << bits) - 1;
      }
    }
    // The hash's later digits are checked too: only a whole Nix hash is ever sent in part.
    for (const c of hash.slice(digits)) {
      if (NIX32.indexOf(c) < 0)
        throw new RangeError(`${JSON.stringify(hash)} has ${JSON.stringify(c)}, not a Nix base32 digit`);
    }
  });
  return out;
}

/** The inverse of packHashes, as the host's `base32 | tr` computes it: for tests and the benchmark. */
export function unpackHashes(bytes: Uint8Array, digits: QuestionDigits = HASH_CHARS): string[] {
  const size = packedBytes(digits);
  if (bytes.length % size !== 0) throw new RangeError(`${bytes.length} bytes is no whole hash count`);
  const hashes: string[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    let acc = 0;
    let bits = 0;
    let hash = '';
    for (let i = at; i < at + size; i++) {
      acc = (acc << 8) | bytes[i]!;
      bits += 8;
      while (bits >= 5) {
        bits -= 5;
        hash += NIX32[(acc >> bits) & 31];
      }
      acc &= (1 << bits) - 1;
    }
    hashes.push(hash);
  }
  return hashes;
}

/** SHA-256 (hex) of the names, one a line: what the host prints for the paths it holds. */
export function namesDigest(baseNames: readonly string[]): string {
  const h = createHash('sha256');
  for (const n of baseNames) h.update(`${n}\n`);
  return h.digest('hex');
}

export type DecodedAnswer =
  | { readonly ok: true; readonly held: readonly boolean[] }
  | {
      readonly ok: false;
      readonly error: string;
      /**
       * A well-formed answer whose digest of the held names is not the bot's: with prefixes, another path
       * shares one (ask again with whole hashes); with whole hashes, the host is wrong.
       */
      readonly digestMismatch?: true;
    };

/**
 * Reads the host's two lines against the question: `baseNames` in the order asked. Anything but exactly one
 * bit for each path asked and a digest of the held paths' names equal to the bot's own is an error, never a
 * "not held".
 */
export function decodeAnswer(stdout: string, baseNames: readonly string[]): DecodedAnswer {
  const lines = stdout.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length !== 2) return fail(`${lines.length} lines instead of 2 (a digest and a bitmap)`);
  const [digest, bitmap] = lines as [string, string];
  if (!/^[0-9a-f]{64}$/.test(digest)) return fail(`a first line that is no SHA-256: ${show(digest)}`);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(bitmap) || bitmap.length % 4 !== 0)
    return fail(`a bitmap that is not base64: ${show(bitmap)}`);
  let text: string;
  try {
    // One byte a path, and a little room to see that there were more.
    text = gunzipSync(Buffer.from(bitmap, 'base64'), { maxOutputLength: baseNames.length + 16 }).toString(
      'latin1',
    );
  } catch (e) {
    return fail(`a bitmap that does not unzip to one digit a path (${(e as Error).message})`);
  }
  if (text.length !== baseNames.length)
    return fail(`${text.length} answers for ${baseNames.length} paths asked`);
  if (!/^[01]*$/.test(text)) return fail(`a bitmap with something other than 0 and 1: ${show(text)}`);
  const held = [...text].map((c) => c === '1');
  const heldNames = baseNames.filter((_, i) => held[i]);
  if (namesDigest(heldNames) !== digest) {
    return {
      ok: false,
      error: `a digest of the held paths' names that is not the bot's: it holds a path under a hash asked but another name, or answered wrongly`,
      digestMismatch: true,
    };
  }
  return { ok: true, held };
}

function fail(error: string): DecodedAnswer {
  return { ok: false, error };
}

function show(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}
