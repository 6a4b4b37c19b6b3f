// What a target needs to check a peer's host key: the bot's own trust in that peer, written for the address
// the target dials (the peer's LAN address). Read from the bot's known_hosts at each copy, so a key changed or
// revoked there takes effect without a restart.
import { readFileSync } from 'node:fs';
import type { HostSpec } from '../../core/types.ts';
import { lookupName, parseKnownHosts, trustedKeys } from './known-hosts.ts';

/** known_hosts lines for `peer` at its LAN address; empty when the bot itself does not know the peer's key. */
export function peerKnownHostsLines(
  knownHostsText: string,
  peer: Pick<HostSpec, 'address' | 'lanAddress' | 'port'>,
): string {
  const allowed = trustedKeys(parseKnownHosts(knownHostsText), peer.address, peer.port);
  const name = lookupName(peer.lanAddress, peer.port);
  return allowed.map((k) => `${name} ${k.type} ${k.blob.toString('base64')}`).join('\n');
}

export function peerKnownHostsFrom(knownHostsFile: string): (peer: HostSpec) => string {
  return (peer) => peerKnownHostsLines(readFileSync(knownHostsFile, 'utf8'), peer);
}
