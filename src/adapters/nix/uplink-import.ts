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
// deletes the directory and prints `imported N`; so the temporary space never exceeds one batch. Nix imports
// each path on its own and atomically: a batch that fails leaves the paths imported before it, whole, and
// nothing of the others.
import type { UplinkImporterLine } from '../../core/ports/builder.ts';
import { STORE_DIR } from '../../core/storepath.ts';
import { HOST_FEATURES } from './inputs.ts';

/** The importer's exit status when the host lacks the space: nothing was read or imported. */
export const NO_SPACE_EXIT = 75;
/** Where the importer unpacks, on the store's file system on a NixOS host (not /tmp: often RAM). */
export const IMPORT_DIR = '/nix/var/signage-import';

export const IMPORT_SCRIPT = `set -eu
export LC_ALL=C
case "$1" in ''|*[!0-9]*) echo "signage-import: the temporary space wanted is not a number" >&2; exit 64;; esac
case "$2" in ''|*[!0-9]*) echo "signage-import: the store space wanted is not a number" >&2; exit 64;; esac
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
 * The importer's command: `sh -c SCRIPT signage-import TEMP STORE`, under `sudo --non-interactive` for a bot
 * user that is not root (the host module's sudo rule allows exactly this shape).
 */
export function uplinkImportCommand(
  target: { readonly sudo: boolean },
  tempBytes: number,
  storeBytes: number,
): readonly string[] {
  for (const n of [tempBytes, storeBytes]) {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${n} is not a byte count`);
  }
  const argv = ['sh', '-c', IMPORT_SCRIPT, IMPORT_NAME, String(tempBytes), String(storeBytes)];
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
