// The host's side of the uplink stream: a fixed importer script (its text is a constant here, its two numbers
// positional parameters it checks itself), the command that runs it, and how its answers read. Its input is
// the stream on stdin:
//
//   B <tarBytes> <paths>\n<tarBytes bytes: a ustar archive of a file:// binary cache>   one frame per batch
//   E\n                                                                                 the end
//
// Before reading a byte it checks the free space for the largest batch ($1) and the new paths' NARs ($2),
// prints `free <temp KiB> <store KiB> <same|apart>`, then `ready` or exits 75. For each batch it unpacks the
// archive into a fresh directory of its own, checks the narinfo count, imports the paths its narinfos name
// with `nix copy --no-recursive --from file://DIR` (signatures and NAR hashes checked by the host's Nix:
// nothing here can turn that off; not `--all`, whose paths Nix 2.8 lists without their names, so that it
// cannot order them by their references),
// deletes the directory and prints `imported N`; so the temporary space never exceeds one batch. A batch with
// deltas carries a manifest (`deltas`: `<hash> <base store path>` a line): before importing, the importer
// checks each base is valid in its store, dumps it, and rebuilds the path's NAR with the zstd of its own store
// named by its third parameter (`zstd -d --patch-from`); the narinfo names that NAR, so Nix checks its hash
// and the builder's signature as for any other. A delta that does not rebuild fails the batch (exit 67). Nix imports
// each path on its own and atomically: a batch that fails leaves the paths imported before it, whole, and
// nothing of the others.
import type { UplinkImporterLine } from '../../core/ports/builder.ts';
import { STORE_DIR } from '../../core/storepath.ts';
import { HOST_FEATURES } from './inputs.ts';

/** The importer's exit status when the host lacks the space: nothing was read or imported. */
export const NO_SPACE_EXIT = 75;
/** The importer's exit status when a delta could not be rebuilt (the paths before it were imported whole). */
export const DELTA_EXIT = 67;
/** A store path, as the importer accepts it in a delta manifest (Nix's base-32 hash and name characters). */
const PATH_RE = `${STORE_DIR}/[0-9a-df-np-sv-z]\\{32\\}-[A-Za-z0-9+._?=-]\\{1,200\\}`;
/** The zstd the importer rebuilds deltas with: a store path's `bin/zstd` (uplinkImportCommand checks it too). */
const ZSTD_RE = `${PATH_RE}/bin/zstd`;
export const ZSTD_PROGRAM = /^\/nix\/store\/[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+._?=-]{1,200}\/bin\/zstd$/;

/** Where the importer unpacks, on the store's file system on a NixOS host (not /tmp: often RAM). */
export const IMPORT_DIR = '/nix/var/signage-import';

export const IMPORT_SCRIPT = `set -eu
export LC_ALL=C
case "$1" in ''|*[!0-9]*) echo "signage-import: the temporary space wanted is not a number" >&2; exit 64;; esac
case "$2" in ''|*[!0-9]*) echo "signage-import: the store space wanted is not a number" >&2; exit 64;; esac
z=$3
if [ "$z" != - ] && ! printf '%s\\n' "$z" | grep -qx '${ZSTD_RE}'; then
  echo "signage-import: the zstd named is not a store path's bin/zstd" >&2; exit 64
fi
mkdir -p ${IMPORT_DIR}
chmod 700 ${IMPORT_DIR}
t=$(mktemp -d ${IMPORT_DIR}/stream.XXXXXX)
trap 'rm -rf "$t"' EXIT
trap 'exit 129' HUP INT TERM
avail() { df -Pk "$1" | tail -n 1 | tr -s ' ' | cut -d' ' -f4,6; }
set -- $(( ($1 + 1023) / 1024 )) $(( ($2 + 1023) / 1024 )) $(avail "$t") $(avail /nix/store)
if [ "$4" = "$6" ]; then same=same; need=$(( $1 + $2 )); else same=apart; need=$1; fi
echo "free $3 $5 $same"
if [ "$3" -lt "$need" ] || [ "$5" -lt "$2" ]; then
  echo "signage-import: not enough free space" >&2
  exit ${NO_SPACE_EXIT}
fi
echo ready
n=0
while read -r kind size count; do
  case $kind in
    B)
      case "$size:$count" in *[!0-9:]*|:*|*:) echo "signage-import: a malformed batch header" >&2; exit 65;; esac
      n=$((n + 1))
      d="$t/batch$n"
      mkdir "$d"
      head -c "$size" | tar -x -f - -C "$d" --no-same-owner --no-same-permissions
      got=$(find "$d" -maxdepth 1 -name '*.narinfo' | wc -l)
      if [ "$got" -ne "$count" ]; then
        echo "signage-import: batch $n holds $got narinfos, not $count: the stream was cut or damaged" >&2
        exit 65
      fi
      sed -n 's/^StorePath: //p' "$d"/*.narinfo | grep -x '${STORE_DIR}/[0-9a-z]*-[A-Za-z0-9+._?=-]*' > "$t/paths" || :
      if [ "$(wc -l < "$t/paths")" -ne "$count" ]; then
        echo "signage-import: batch $n names $(wc -l < "$t/paths") store paths, not $count" >&2
        exit 65
      fi
      if [ -f "$d/deltas" ]; then
        if [ "$z" = - ] || [ ! -x "$z" ]; then
          echo "signage-import: batch $n holds deltas, and no zstd of this store was named to rebuild them" >&2
          exit ${DELTA_EXIT}
        fi
        while read -r h base; do
          if ! printf '%s %s\\n' "$h" "$base" | grep -qx '[0-9a-z]\\{32\\} ${PATH_RE}'; then
            echo "signage-import: batch $n has a malformed delta manifest" >&2; exit 65
          fi
          size=$(sed -n 's/^NarSize: //p' "$d/$h.narinfo")
          case "$size" in ''|*[!0-9]*) echo "signage-import: the delta of $h has no NAR size" >&2; exit 65;; esac
          if ! nix-store --check-validity "$base" < /dev/null 2>/dev/null; then
            echo "signage-import: the delta of $h is against $base, which this store does not hold" >&2
            exit ${DELTA_EXIT}
          fi
          nix-store --dump "$base" < /dev/null > "$t/base.nar"
          kib=$(( ($(wc -c < "$t/base.nar") + size) / 512 + 4096 ))
          if ! "$z" -d -q -f --long=31 --memory="\${kib}KB" --patch-from="$t/base.nar" "$d/nar/$h.delta" -o "$d/nar/$h.nar" < /dev/null; then
            echo "signage-import: the delta of $h did not rebuild against $base: it was damaged on its way" >&2
            exit ${DELTA_EXIT}
          fi
          rm -f "$t/base.nar" "$d/nar/$h.delta"
        done < "$d/deltas"
      fi
      set -f
      nix ${HOST_FEATURES.map((w) => `'${w}'`).join(' ')} copy --no-recursive --from "file://$d" -- $(cat "$t/paths") < /dev/null
      set +f
      rm -rf "$d"
      echo "imported $n"
      ;;
    E) echo done; exit 0;;
    *) echo "signage-import: a frame that is no batch" >&2; exit 65;;
  esac
done
echo "signage-import: the stream ended before its end mark" >&2
exit 66`;

/** The name the script runs under ($0): what the host's sudo rule and the audit log show. */
export const IMPORT_NAME = 'signage-import';

/**
 * The importer's command: `sh -c SCRIPT signage-import TEMP STORE ZSTD`, under `sudo --non-interactive` for a
 * bot user that is not root (the host module's sudo rule allows exactly this shape). ZSTD is the store's zstd
 * that rebuilds deltas (`<store path>/bin/zstd`), or `-` for a stream without deltas.
 */
export function uplinkImportCommand(
  target: { readonly sudo: boolean },
  tempBytes: number,
  storeBytes: number,
  zstd: string | null = null,
): readonly string[] {
  for (const n of [tempBytes, storeBytes]) {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${n} is not a byte count`);
  }
  if (zstd !== null && !ZSTD_PROGRAM.test(zstd))
    throw new RangeError(`${JSON.stringify(zstd)} is not a store path's bin/zstd`);
  const argv = ['sh', '-c', IMPORT_SCRIPT, IMPORT_NAME, String(tempBytes), String(storeBytes), zstd ?? '-'];
  return target.sudo ? ['sudo', '--non-interactive', '--', ...argv] : argv;
}

export const END_FRAME: Uint8Array = new TextEncoder().encode('E\n');

/** One line of the importer's stdout; null for anything else. */
export function readImporterLine(line: string): UplinkImporterLine | null {
  const w = line.trim().split(' ');
  if (w[0] === 'ready' && w.length === 1) return { kind: 'ready' };
  if (w[0] === 'done' && w.length === 1) return { kind: 'done' };
  if (w[0] === 'imported' && w.length === 2 && /^\d+$/.test(w[1]!))
    return { kind: 'imported', batch: Number(w[1]) };
  if (
    w[0] === 'free' &&
    w.length === 4 &&
    /^\d+$/.test(w[1]!) &&
    /^\d+$/.test(w[2]!) &&
    /^(same|apart)$/.test(w[3]!)
  ) {
    return { kind: 'free', tempKiB: Number(w[1]), storeKiB: Number(w[2]), sameFileSystem: w[3] === 'same' };
  }
  return null;
}
