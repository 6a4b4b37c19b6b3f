// What a target runs to pull paths from a peer on its LAN. The target logs in to the peer as the restricted
// serving account NixOS's `nix.sshServe` sets up (user `nix-ssh`, forced command `nix-store --serve` without
// `--write`, no forwarding, no TTY), authenticating with its own SSH host key. No SSH agent is involved: the
// bot's key never leaves the bot's box, and nothing a target holds lets it log in anywhere as root.
//
// Why the host key is the client identity: every NixOS host has /etc/ssh/ssh_host_ed25519_key, readable by
// root only, and its public half is exactly what the bot's known_hosts already holds for that host, so the
// fleet's `nix.sshServe.keys` is the list it already keeps, and no key has to be made, stored or rotated for
// copies. What that key can do is what the serving account allows: read the peer's store through the store
// protocol (paths the peer holds are no secret from the fleet: every screen runs the same kind of system, all
// built and signed by the builder). A compromised screen, holding its own host key, can therefore read its
// peers' stores and nothing else: it cannot run a command on a peer, cannot write to a peer's store (no
// `--write`; and a path it offered would still need the builder's signature), and cannot log in as root.
//
// The peer's host key is checked against lines the bot sends on stdin, because the target's own known_hosts
// may not know its peers. Signatures are checked by the target's Nix as for any copy: --no-check-sigs is never
// passed.
//
// The script is fixed text. Everything variable (protocol, user, address, port, client key, roots) reaches sh
// as positional parameters and the known_hosts lines as stdin, so no input is ever read as shell code, however
// the SSH layer quotes the argv. NIX_SSHOPTS is split on whitespace by Nix; the only value put into it here
// that is not a constant, the temporary file's name, is checked for anything but plain path characters.
//
// ssh gets a stderr of its own: `?log-fd=3` with fd 3 a pipe to `cat`, which passes ssh's messages on to the
// session's stderr (where the bot reads them to explain a failure). Sharing Nix's stderr, ssh made it
// non-blocking (OpenSSH does so to its stdio), and Nix drops a log line it cannot write at once; Nix 2.24 logs
// some 24 lines a path, so a bot reading slower than that lost some paths' completions and reported short
// byte counts (test/integration/peer-copy-log.test.ts). The builder's own copies do the same (copy-to.ts).
// Only `ssh://` stores read log-fd; an `ssh-ng://` copy is left sharing stderr, as Nix gives it no such
// setting.
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
// need `nix.sshServe.protocol = "ssh-ng"` on the peer (forced command `nix-daemon --stdio`).
import { PEER_SERVE_USER } from '../../core/endpoint.ts';
import type { StorePath } from '../../core/types.ts';
import { checkSshEndpoint, checkStorePaths, HOST_FEATURES, strictSshOptions } from './inputs.ts';
import { PEER_LOG_FILTER } from './peer-log-filter.ts';

/**
 * ssh offers the peer only the key named in the store URL: no agent (even one found in the environment), no
 * default identity files, and no forwarding of anything.
 */
const CLIENT_KEY_ONLY = ['-o IdentitiesOnly=yes', '-o IdentityAgent=none', '-o ClearAllForwardings=yes'];

export type CopyProtocol = 'ssh' | 'ssh-ng';

export const DEFAULT_PEER_PROTOCOL: CopyProtocol = 'ssh';

export { PEER_SERVE_USER };

/** The key a target logs in to its peers with: its own SSH host key (see the top of this file). */
export const DEFAULT_CLIENT_KEY = '/etc/ssh/ssh_host_ed25519_key';

/** Seconds a target waits for its peer's sshd before giving up, so the builder can stand in quickly. */
export const PEER_CONNECT_TIMEOUT_S = 15;

/**
 * Roots in one command. sshd hands the whole command line to the user's shell as one argument, which Linux
 * caps at 128 KiB (MAX_ARG_STRLEN): a step with more roots, or longer ones, becomes several commands.
 */
export const MAX_ROOTS = 1000;
/** Bytes of roots in one command, with room for quoting, well under that cap. */
export const MAX_ROOT_BYTES = 64 * 1024;
const MAX_KNOWN_HOSTS_BYTES = 64 * 1024;

export const PEER_COPY_SCRIPT = [
  'f=$(mktemp) || exit 1',
  `trap 'rm -f "$f"' EXIT`,
  "trap 'exit 129' HUP",
  "trap 'exit 130' INT",
  "trap 'exit 143' TERM",
  'case $f in *[!A-Za-z0-9/._-]*) echo "error: temporary file name $f cannot go into NIX_SSHOPTS" >&2; exit 1 ;; esac',
  'cat >"$f" || exit 1',
  // Whatever the session was given, no agent is offered to the peer: only the host's own key is.
  'unset SSH_AUTH_SOCK',
  'url="$1://$2@$3?ssh-key=$5"',
  // Only the ssh:// store reads log-fd (ssh-ng:// warns of an unknown setting and shares stderr still).
  'case $1 in ssh) url="$url&log-fd=3" ;; esac',
  'port=$4',
  'shift 5',
  // Nix's stderr goes through the fixed log filter (peer-log-filter.ts) to the session's stderr; ssh's is a
  // pipe of its own (fd 3, by way of fd 6), which cat passes on unchanged. The exit status of nix comes back on
  // fd 5 to the command substitution, as a POSIX sh has no pipefail.
  'exec 4>&1',
  'rc=$( { { { \\',
  `  NIX_SSHOPTS="${[...strictSshOptions('$f', PEER_CONNECT_TIMEOUT_S), ...CLIENT_KEY_ONLY].join(' ')} -p $port" \\`,
  `  nix ${HOST_FEATURES[0]} '${HOST_FEATURES[1]}' copy --from "$url" --log-format internal-json -- "$@" \\`,
  '    2>&1 1>&4 3>&6 4>&- 5>&- 6>&-; echo $? >&5; } \\',
  `  | awk '${PEER_LOG_FILTER}' >&2 4>&- 5>&- 6>&-; } 6>&1 | cat >&2 4>&- 5>&-; } 5>&1 )`,
  // No status at all: the subshell was killed before it could say.
  '[ -n "$rc" ] || rc=1',
  'exit "$rc"',
].join('\n');

export interface PeerEndpoint {
  /** How the target reaches the peer: a host name or an IPv4 address. */
  readonly lanAddress: string;
  readonly port: number;
}

export interface PeerCopyOptions {
  readonly protocol?: CopyProtocol;
  /** The serving account on the peer; `nix-ssh` unless a fleet named it otherwise. */
  readonly user?: string;
  /** The target's private key for the peer; its SSH host key unless a fleet chose another. */
  readonly clientKey?: string;
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
 * to feed it. Throws PeerCopyInputError, before anything runs, on anything it cannot pass on safely, and on more
 * roots than one command takes (see peerCopyInvocations).
 */
export function peerCopyInvocation(
  peer: PeerEndpoint,
  roots: readonly StorePath[],
  knownHostsLines: string,
  opts: PeerCopyOptions = {},
): Invocation {
  const [only, ...more] = peerCopyInvocations(peer, roots, knownHostsLines, opts);
  if (more.length > 0 || only === undefined) {
    throw new PeerCopyInputError(
      `${new Set(roots).size} roots do not fit in one copy (at most ${MAX_ROOTS} roots and ${MAX_ROOT_BYTES} bytes)`,
    );
  }
  return only;
}

/**
 * The invocations that together copy `roots` from the peer, in order: one unless the roots do not fit in one
 * command line. Each copies its roots' closures; what an earlier one brought, a later one finds present.
 */
export function peerCopyInvocations(
  peer: PeerEndpoint,
  roots: readonly StorePath[],
  knownHostsLines: string,
  opts: PeerCopyOptions = {},
): Invocation[] {
  const user = opts.user ?? PEER_SERVE_USER;
  const endpoint = checkSshEndpoint(user, peer.lanAddress, peer.port);
  if (!endpoint.ok) throw new PeerCopyInputError(`peer: ${endpoint.error}`);
  const protocol = opts.protocol ?? DEFAULT_PEER_PROTOCOL;
  if (protocol !== 'ssh' && protocol !== 'ssh-ng') {
    throw new PeerCopyInputError(`protocol must be "ssh" or "ssh-ng", not ${JSON.stringify(protocol)}`);
  }
  const clientKey = checkClientKey(opts.clientKey ?? DEFAULT_CLIENT_KEY);
  const checked = checkStorePaths(roots, 'roots to copy');
  if (!checked.ok) throw new PeerCopyInputError(checked.error);
  const stdin = checkKnownHosts(knownHostsLines, peer.lanAddress, peer.port);
  const head = [
    'sh',
    '-c',
    PEER_COPY_SCRIPT,
    'sh',
    protocol,
    user,
    peer.lanAddress,
    String(peer.port),
    clientKey,
  ];
  return chunkRoots(checked.value).map((chunk) => ({ argv: [...head, ...chunk], stdin }));
}

/** Splits roots into runs of at most MAX_ROOTS roots and MAX_ROOT_BYTES bytes, keeping their order. */
export function chunkRoots(roots: readonly StorePath[]): StorePath[][] {
  const chunks: StorePath[][] = [];
  let current: StorePath[] = [];
  let bytes = 0;
  for (const root of roots) {
    // Each root is quoted on the command line: two quotes and a space around it.
    const size = root.length + 3;
    if (current.length > 0 && (current.length >= MAX_ROOTS || bytes + size > MAX_ROOT_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(root);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** The client key goes into the store URL: an absolute path of plain path characters, nothing else. */
function checkClientKey(path: string): string {
  if (typeof path !== 'string' || !/^\/[A-Za-z0-9._/-]{1,255}$/.test(path) || path.includes('..')) {
    throw new PeerCopyInputError(
      `the client key ${JSON.stringify(path)} must be an absolute path of letters, digits, ".", "_", "-" and "/"`,
    );
  }
  return path;
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
