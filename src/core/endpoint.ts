// What an SSH user and a host address may look like, checked once and alike wherever they are used: in the
// configuration, before an SSH connection, and in a Nix store URL (`ssh://USER@ADDRESS`). Nix's store URLs
// cannot carry IPv6 addresses unambiguously, so a host is named by a DNS name (a tailnet's MagicDNS name, say)
// or an IPv4 address.

/** A host name or an IPv4 address: letters, digits, dots and dashes, not starting or ending with either. */
export const HOST_ADDRESS = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

/**
 * The account a peer serves its store through, read-only: the one NixOS's `nix.sshServe` creates (forced
 * command `nix-store --serve`). Targets log in to it with their own SSH host keys.
 */
export const PEER_SERVE_USER = 'nix-ssh';

/** A Unix user name as useradd accepts it by default. */
export const SSH_USER = /^[a-z_][a-z0-9_-]{0,31}$/;

export function isHostAddress(v: unknown): v is string {
  return typeof v === 'string' && HOST_ADDRESS.test(v);
}

export function isSshUser(v: unknown): v is string {
  return typeof v === 'string' && SSH_USER.test(v);
}
