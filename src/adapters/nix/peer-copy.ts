// What a target runs to pull paths from a peer on its LAN: one command, one round trip. The bot's agent is
// forwarded for it (no key is stored on any host), and the peer's host key is checked against lines the bot
// sends on stdin, because the target's own known_hosts may not know its peers. Signatures are checked by the
// target's Nix as for any copy: --no-check-sigs is never passed.
//
// The script is fixed text. Everything variable (protocol, user, address, port, roots) reaches sh as
// positional parameters and the known_hosts lines as stdin, so no input is ever read as shell code, however
// the SSH layer quotes the argv. NIX_SSHOPTS is split on whitespace by Nix; the only value put into it here
// that is not a constant, the temporary file's name, is checked for anything but plain path characters.
//
// Protocol: `ssh://` (nix-store --serve). Measured with bench/ssh-vs-ssh-ng.ts on the simulated office (Nix
// 2.8, median of 3, the whole invocation from the bot; "rtt" is a delay added between target and peer):
//   target holds                          ssh://     ssh-ng://
//   nothing of 1001 small paths, rtt 0     1.7 s      1.8 s
//   nothing of 1001 small paths, rtt 10    25.3 s     25.5 s
//   all but 6 of 1001 paths, rtt 10        0.83 s     11.8 s   (peer sent and got 91 vs 2088 packets)
//   all of 1001 paths, rtt 10              0.58 s     11.8 s
//   all but 3 of a 43-path system, rtt 10  0.67 s     1.12 s
// ssh-ng costs one round trip per path the target already holds (Nix issue 6950), which is the common case
// for a peer copy: the target has most of the closure, the plan names the peer's roots. Fresh copies cost the
// same on both (about 2.5 round trips per path in Nix 2.8: it copies path by path). `ssh-ng://` would also
// need `nix-daemon --stdio` on the peer (it works for root without a running daemon).
import type { StorePath } from '../../core/types.ts';
import { checkSshEndpoint, checkStorePaths, HOST_FEATURES, strictSshOptions } from './inputs.ts';

export type CopyProtocol = 'ssh' | 'ssh-ng';

export const DEFAULT_PEER_PROTOCOL: CopyProtocol = 'ssh';

/** Seconds a target waits for its peer's sshd before giving up, so the builder can stand in quickly. */
export const PEER_CONNECT_TIMEOUT_S = 15;

/** Roots in one command: far below the exec request and ARG_MAX limits, far above what a plan produces. */
export const MAX_ROOTS = 1000;
const MAX_KNOWN_HOSTS_BYTES = 64 * 1024;

export const PEER_COPY_SCRIPT = [
  'f=$(mktemp) || exit 1',
  `trap 'rm -f "$f"' EXIT`,
  "trap 'exit 129' HUP",
  "trap 'exit 130' INT",
  "trap 'exit 143' TERM",
  'case $f in *[!A-Za-z0-9/._-]*) echo "error: temporary file name $f cannot go into NIX_SSHOPTS" >&2; exit 1 ;; esac',
  'cat >"$f" || exit 1',
  'url="$1://$2@$3"',
  'port=$4',
  'shift 4',
  `NIX_SSHOPTS="${strictSshOptions('$f', PEER_CONNECT_TIMEOUT_S).join(' ')} -p $port" \\`,
  `  nix ${HOST_FEATURES[0]} '${HOST_FEATURES[1]}' copy --from "$url" --log-format internal-json -- "$@"`,
  'exit $?',
].join('\n');

export interface PeerEndpoint {
  readonly user: string;
  /** How the target reaches the peer: a host name or an IPv4 address. */
  readonly lanAddress: string;
  readonly port: number;
}

export interface Invocation {
  readonly argv: readonly string[];
  readonly stdin: string;
}

export class PeerCopyInputError extends Error {
  override readonly name = 'PeerCopyInputError';
}

/**
 * The invocation for the target: `argv` to run there (through its shell, quoted by the SSH layer) and `stdin`
 * to feed it. Throws PeerCopyInputError, before anything runs, on anything it cannot pass on safely.
 */
export function peerCopyInvocation(
  peer: PeerEndpoint,
  roots: readonly StorePath[],
  knownHostsLines: string,
  opts: { readonly protocol?: CopyProtocol } = {},
): Invocation {
  const endpoint = checkSshEndpoint(peer.user, peer.lanAddress, peer.port);
  if (!endpoint.ok) throw new PeerCopyInputError(`peer: ${endpoint.error}`);
  const protocol = opts.protocol ?? DEFAULT_PEER_PROTOCOL;
  if (protocol !== 'ssh' && protocol !== 'ssh-ng') {
    throw new PeerCopyInputError(`protocol must be "ssh" or "ssh-ng", not ${JSON.stringify(protocol)}`);
  }
  const unique = checkRoots(roots);
  const stdin = checkKnownHosts(knownHostsLines, peer.lanAddress, peer.port);
  return {
    argv: [
      'sh',
      '-c',
      PEER_COPY_SCRIPT,
      'sh',
      protocol,
      peer.user,
      peer.lanAddress,
      String(peer.port),
      ...unique,
    ],
    stdin,
  };
}

function checkRoots(roots: readonly StorePath[]): StorePath[] {
  const checked = checkStorePaths(roots, 'roots to copy');
  if (!checked.ok) throw new PeerCopyInputError(checked.error);
  if (checked.value.length > MAX_ROOTS) {
    throw new PeerCopyInputError(`${checked.value.length} roots in one copy; at most ${MAX_ROOTS}`);
  }
  return checked.value;
}

/**
 * known_hosts lines for the peer: at least one entry that can match `address` (plainly, as `[address]:port`,
 * hashed, or through a wildcard), nothing that is not a known_hosts line, no NUL.
 */
function checkKnownHosts(text: string, address: string, port: number): string {
  if (typeof text !== 'string') throw new PeerCopyInputError('known_hosts lines must be a string');
  if (text.includes('\0')) throw new PeerCopyInputError('known_hosts lines contain a NUL byte');
  if (new TextEncoder().encode(text).length > MAX_KNOWN_HOSTS_BYTES) {
    throw new PeerCopyInputError(`known_hosts lines are longer than ${MAX_KNOWN_HOSTS_BYTES} bytes`);
  }
  const wanted = port === 22 ? [address, `[${address}]:22`] : [`[${address}]:${port}`];
  let couldMatch = false;
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    if (fields[0]?.startsWith('@')) fields.shift();
    if (fields.length < 3) {
      throw new PeerCopyInputError(
        `known_hosts line ${i + 1} is not "hosts keytype key": ${JSON.stringify(line.slice(0, 80))}`,
      );
    }
    const patterns = fields[0]!.split(',');
    if (patterns.some((p) => p.startsWith('|1|') || /[*?]/.test(p) || wanted.includes(p))) couldMatch = true;
  }
  if (!couldMatch) {
    throw new PeerCopyInputError(
      `the known_hosts lines have no entry for ${port === 22 ? address : `[${address}]:${port}`}: ` +
        "the target could not check the peer's host key",
    );
  }
  return text.endsWith('\n') ? text : `${text}\n`;
}
