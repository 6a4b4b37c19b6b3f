// What a peer copy sends back to the bot. The target's `nix copy --from ssh://PEER` logs in Nix's internal-json
// format, and its stderr crosses the office's uplink on the way to the bot: some 4 kB a path as Nix writes it
// (a start naming the path twice and the peer's URL, a stop, and on newer Nix about twenty byte-progress
// results), 1.5 MB a screen of a 345-path system, which is about 8 MB a screen at 2,000 paths. The bot needs
// far less: the error and warning messages (and any plain text, such as ssh's) for the failure's diagnosis,
// and how far the copy got. So the target runs Nix's stderr through this fixed awk program, which passes
// on messages at level error or warning and plain lines as they are, the `copying N paths` start, and in place
// of every path's activities a count of the paths done, in Nix's own shape for it (a progress result on the
// copyPaths activity: done, expected, running, failed) at most about twenty times a copy. What stays is some
// 1.3 kB a copy whatever its size; the engine turns the count into bytes from the plan's sizes.
//
// POSIX awk (gawk on NixOS, mawk and the one-true-awk elsewhere): match, substr, printf and fflush only, so a
// count reaches the bot when it is made, not when a buffer fills. No single quote anywhere: the program sits
// in single quotes in the copy's fixed shell script. It reads Nix's output, never anything the bot sent.
export const PEER_LOG_FILTER = String.raw`function num(key) { if (match($0, "\"" key "\":[0-9]+")) return substr($0, RSTART + length(key) + 3, RLENGTH - length(key) - 3); return "" }
function report() { if (cp == "") return; printf "@nix {\"action\":\"result\",\"id\":%s,\"type\":105,\"fields\":[%d,%d,0,0]}\n", cp, done, total; fflush(); told = done }
!/^@nix [{]/ { print; fflush(); next }
/"action":"msg"/ { if ($0 ~ /"level":[01][,}]/) { print; fflush() } next }
/"action":"start"/ {
  if ($0 ~ /"type":100[,}]/) path[num("id")] = 1
  else if ($0 ~ /"type":103[,}]/ && match($0, /"text":"copying [0-9]+ path/)) { total = substr($0, RSTART + 16, RLENGTH - 21) + 0; cp = num("id"); print; fflush() }
  next
}
/"action":"stop"/ { id = num("id"); if (id in path) { delete path[id]; done++; step = total > 20 ? total / 20 : 1; if (done - told >= step || done == total) report() } next }
END { if (done > told) report() }`;
