// Why a copy failed, in words a user can act on. `nix copy` over ssh reports every SSH failure as "cannot
// connect to 'root@host'"; the reason is in the lines ssh itself wrote to the same stderr. Pure: no I/O.
import { decodeLogLine, firstNixError } from './progress.ts';

export type CopyFailureKind =
  | 'host-key-mismatch'
  | 'host-key-unknown'
  | 'auth-failed'
  | 'unreachable'
  | 'unsigned'
  | 'no-space'
  | 'other';

export interface CopyDiagnosis {
  readonly kind: CopyFailureKind;
  /** One sentence naming the other end. */
  readonly message: string;
  /** What to do next. */
  readonly hint: string;
}

const RULES: readonly {
  readonly kind: Exclude<CopyFailureKind, 'other'>;
  readonly test: RegExp;
  readonly message: (endpoint: string) => string;
  readonly hint: string;
}[] = [
  {
    kind: 'host-key-mismatch',
    test: /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for \S+ has changed/,
    message: (e) => `the SSH host key of ${e} does not match known_hosts, so the copy was refused`,
    hint: 'a reinstalled host, or something impersonating it: check the key on the host itself, then update known_hosts',
  },
  {
    kind: 'host-key-unknown',
    test: /No \S+ host key is known for|Host key verification failed/,
    message: (e) => `${e} is not in known_hosts, so its SSH host key could not be checked`,
    hint: "add the host's key to the known_hosts file the bot uses (never turn strict checking off)",
  },
  {
    kind: 'auth-failed',
    test: /Permission denied \(|Too many authentication failures/,
    message: (e) => `${e} refused the SSH key`,
    hint: "check that the bot's key is in the host's authorized_keys and that the agent holds it",
  },
  {
    kind: 'unreachable',
    test: /Connection refused|Connection timed out|No route to host|Network is unreachable|Could not resolve hostname|Connection closed by|Connection reset by|Operation timed out/,
    message: (e) => `${e} could not be reached over SSH`,
    hint: 'check that the host is up, on the network, and that sshd listens on the configured port',
  },
  {
    kind: 'unsigned',
    test: /lacks a valid signature/,
    message: (e) => `a path from ${e} lacks a signature the destination trusts, so it was refused`,
    hint: "sign the closure with the builder's key (the destination's trusted-public-keys must list it)",
  },
  {
    kind: 'no-space',
    test: /No space left on device/,
    message: (e) => `the copy involving ${e} ran out of disk space`,
    hint: 'free space on the destination (nix-collect-garbage) and try again',
  },
  {
    kind: 'unreachable',
    test: /Timeout, server \S+ not responding|client_loop: send disconnect/,
    message: (e) => `the SSH connection to ${e} stopped answering in the middle of the copy`,
    hint: 'check that the host is up and its network steady; the paths copied so far are kept, so run the deploy again',
  },
];

/**
 * Reads the stderr of a failed copy (plain or internal-json lines). `endpoint` names the other end in the
 * message, e.g. `root@10.0.0.12`. Null when nothing in the lines explains the failure.
 */
export function diagnoseCopyFailure(lines: readonly string[], endpoint: string): CopyDiagnosis | null {
  const texts: string[] = [];
  for (const line of lines) {
    const d = decodeLogLine(line);
    if (d?.kind === 'text' || d?.kind === 'msg') texts.push(d.text);
  }
  const all = texts.join('\n');
  for (const rule of RULES) {
    if (rule.test.test(all)) return { kind: rule.kind, message: rule.message(endpoint), hint: rule.hint };
  }
  const nix = firstNixError(lines);
  if (nix === null) return null;
  // Nix's own words ("writing to file: Broken pipe") rarely say why: the other end's last words do.
  const others = texts.filter((t) => t.trim() !== '' && !t.includes(nix)).slice(-3);
  return {
    kind: 'other',
    message: others.length > 0 ? `${nix} (the other end said: ${others.join(' / ')})` : nix,
    hint: '',
  };
}
