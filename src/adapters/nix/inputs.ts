// Checks for the values this adapter puts into Nix command lines, run before anything starts. They are
// passed as separate arguments (never through a shell), so the checks are about what Nix itself would misread:
// an argument taken for an option, a flake reference with a fragment, an attribute name it cannot quote.
import { isHostAddress, isSshUser } from '../../core/endpoint.ts';
import { isStorePath } from '../../core/storepath.ts';
import type { StorePath } from '../../core/types.ts';

/** The experimental features builder commands need, enabled per command so nix.conf need not list them. */
export const BUILDER_FEATURES = ['--extra-experimental-features', 'nix-command flakes'] as const;
/** What a host's `nix` needs for `nix copy` and `nix path-info` (NixOS does not enable it by default). */
export const HOST_FEATURES = ['--extra-experimental-features', 'nix-command'] as const;

/**
 * The OpenSSH options every copy runs with, builder to host and peer to target alike: only the bot's own
 * known_hosts is trusted (no global files, no trust on first use), no prompts, no agent forwarded whatever an
 * ssh_config says, and keepalives so a host that loses power mid-copy is noticed in about 15 s instead of
 * hanging the copy until its timeout.
 */
export function strictSshOptions(knownHostsFile: string, connectTimeoutS: number): string[] {
  return [
    `-o UserKnownHostsFile=${knownHostsFile}`,
    '-o GlobalKnownHostsFile=/dev/null',
    '-o StrictHostKeyChecking=yes',
    '-o BatchMode=yes',
    '-o ForwardAgent=no',
    `-o ConnectTimeout=${connectTimeoutS}`,
    '-o ServerAliveInterval=5',
    '-o ServerAliveCountMax=3',
  ];
}

export type Checked<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string };

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

export function checkFlakeRef(ref: unknown): Checked<string> {
  if (typeof ref !== 'string' || ref === '') return { ok: false, error: 'the flake reference is empty' };
  if (/\s/.test(ref) || hasControl(ref)) {
    return { ok: false, error: `flake reference ${JSON.stringify(ref)} contains white space` };
  }
  if (ref.startsWith('-'))
    return { ok: false, error: `flake reference ${JSON.stringify(ref)} starts with "-"` };
  if (ref.includes('#')) {
    return {
      ok: false,
      error: `flake reference ${JSON.stringify(ref)} has a "#fragment": give the flake only`,
    };
  }
  return { ok: true, value: ref };
}

// Nix's attribute-path syntax quotes with double quotes and has no escapes inside them, so a name is safe to
// quote when it has no quote, no white space and no control character. Host names are stricter than this
// (validated by the configuration); this is the adapter's own guard.
const ATTR_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.'+-]{0,127}$/;

export function checkAttrName(name: unknown): Checked<string> {
  if (typeof name !== 'string' || !ATTR_NAME.test(name)) {
    return { ok: false, error: `host name ${JSON.stringify(name)} cannot be used as a flake attribute` };
  }
  return { ok: true, value: name };
}

/** `<flake>#nixosConfigurations."<host>".config.system.build.toplevel`. */
export function toplevelInstallable(flakeRef: string, host: string): string {
  return `${flakeRef}#nixosConfigurations."${host}".config.system.build.toplevel`;
}

export function checkStorePaths(paths: unknown, what = 'paths'): Checked<StorePath[]> {
  if (!Array.isArray(paths) || paths.length === 0) return { ok: false, error: `no ${what} given` };
  for (const p of paths) {
    if (!isStorePath(p))
      return { ok: false, error: `not a store path: ${JSON.stringify(String(p).slice(0, 120))}` };
  }
  return { ok: true, value: [...new Set(paths as StorePath[])] };
}

/** A file name passed as an option's value: absolute, on one line. */
export function checkFilePath(path: unknown, what: string): Checked<string> {
  if (typeof path !== 'string' || !path.startsWith('/'))
    return { ok: false, error: `${what} must be an absolute path` };
  if (hasControl(path)) return { ok: false, error: `${what} contains a control character` };
  return { ok: true, value: path };
}

// IPv6 literals are refused: newer Nix parses store URIs as URLs, where `user@fe80::1` is ambiguous.

/** `user@address` for a store URL, once user, address and port are each what they should be. */
export function checkSshEndpoint(user: unknown, address: unknown, port: unknown): Checked<string> {
  if (!isSshUser(user)) {
    return { ok: false, error: `SSH user ${JSON.stringify(user)} is not a user name` };
  }
  if (!isHostAddress(address)) {
    return { ok: false, error: `address ${JSON.stringify(address)} is not a host name or IPv4 address` };
  }
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    return { ok: false, error: `port ${JSON.stringify(port)} is not from 1 to 65535` };
  }
  return { ok: true, value: `${user}@${address}` };
}

/**
 * A value for NIX_SSHOPTS. Nix splits that variable on white space (newer versions also honour quotes), so a
 * value with white space, a quote or a backslash would come apart differently than written: refused.
 */
export function checkSshOptionValue(value: string, what: string): Checked<string> {
  if (value === '' || /[\s'"\\]/.test(value) || hasControl(value)) {
    return {
      ok: false,
      error: `${what} ${JSON.stringify(value)} cannot go into NIX_SSHOPTS (white space, quotes or backslashes)`,
    };
  }
  return { ok: true, value };
}
