// Reads an OpenSSH known_hosts file the way ssh does, so that the bot trusts exactly the host keys its
// operators' own ssh would: comma-separated patterns with `*`, `?` and `!` negation, `[host]:port` names for
// ports other than 22, hashed names (`|1|salt|hash`, HMAC-SHA1), `@revoked` keys, several keys per host.
// `@cert-authority` lines are skipped with a note: the SSH library cannot check host certificates.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface KnownKey {
  /** e.g. `ssh-ed25519`, as written on the line. */
  readonly type: string;
  /** The public key in SSH wire format (the base64 field, decoded). */
  readonly blob: Buffer;
  /** 1-based line number in the file, for messages. */
  readonly line: number;
}

export interface KnownHostsEntry extends KnownKey {
  readonly revoked: boolean;
  /** The host field as written: a pattern list, or one hashed name. */
  readonly hosts: string;
  readonly hashed: { readonly salt: Buffer; readonly hash: Buffer } | null;
}

export interface KnownHosts {
  readonly entries: readonly KnownHostsEntry[];
  /** Lines that were not used, and why. */
  readonly notes: readonly string[];
}

export function parseKnownHosts(text: string): KnownHosts {
  const entries: KnownHostsEntry[] = [];
  const notes: string[] = [];
  const lines = text.split('\n');
  for (const [index, raw] of lines.entries()) {
    const line = index + 1;
    const content = raw.replace(/\r$/, '').trim();
    if (content === '' || content.startsWith('#')) continue;
    const fields = content.split(/[ \t]+/);
    let revoked = false;
    if (fields[0]?.startsWith('@')) {
      const marker = fields.shift();
      if (marker === '@cert-authority') {
        notes.push(
          `line ${line}: @cert-authority skipped: host certificates are not supported, list host keys`,
        );
        continue;
      }
      if (marker !== '@revoked') {
        notes.push(`line ${line}: unknown marker ${marker} (expected @revoked or @cert-authority)`);
        continue;
      }
      revoked = true;
    }
    const [hosts, type, base64] = fields;
    if (hosts === undefined || type === undefined || base64 === undefined) {
      notes.push(`line ${line}: expected "hosts keytype base64-key"`);
      continue;
    }
    if (/^\d+$/.test(type)) {
      notes.push(`line ${line}: an SSH protocol 1 key, which nothing speaks any more`);
      continue;
    }
    const blob = decodeKey(type, base64);
    if (typeof blob === 'string') {
      notes.push(`line ${line}: ${blob}`);
      continue;
    }
    let hashed: KnownHostsEntry['hashed'] = null;
    if (hosts.startsWith('|')) {
      hashed = parseHashed(hosts);
      if (hashed === null) {
        notes.push(`line ${line}: hashed host name not of the form |1|salt|hash`);
        continue;
      }
    }
    entries.push({ revoked, hosts, hashed, type, blob, line });
  }
  return { entries, notes };
}

/** The name ssh looks a host up by: the host alone on port 22, else `[host]:port`; lower case. */
export function lookupName(host: string, port: number): string {
  const name = host.toLowerCase();
  return port === 22 || port === 0 ? name : `[${name}]:${port}`;
}

/** The keys a host may present, and those it must never be trusted with. */
export function keysFor(
  known: KnownHosts,
  host: string,
  port: number,
): { readonly allowed: KnownKey[]; readonly revoked: KnownKey[] } {
  const name = lookupName(host, port);
  const allowed: KnownKey[] = [];
  const revoked: KnownKey[] = [];
  for (const entry of known.entries) {
    if (!entryMatches(entry, name)) continue;
    const key = { type: entry.type, blob: entry.blob, line: entry.line };
    (entry.revoked ? revoked : allowed).push(key);
  }
  return { allowed, revoked };
}

/**
 * The keys a host may present: those listed for it, minus any also marked @revoked, which OpenSSH refuses.
 * What the bot hands to others (a target checking a peer) must be this, not the raw matches.
 */
export function trustedKeys(known: KnownHosts, host: string, port: number): KnownKey[] {
  const { allowed, revoked } = keysFor(known, host, port);
  return allowed.filter((a) => !revoked.some((r) => sameKey(r.blob, a.blob)));
}

/** A key's fingerprint as `ssh-keygen -l` prints it: `SHA256:` and unpadded base64. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

// Host key algorithms a key type can sign with, in the order offered to the server.
const ALGORITHMS: readonly (readonly [string, readonly string[]])[] = [
  ['ssh-ed25519', ['ssh-ed25519']],
  ['ecdsa-sha2-nistp256', ['ecdsa-sha2-nistp256']],
  ['ecdsa-sha2-nistp384', ['ecdsa-sha2-nistp384']],
  ['ecdsa-sha2-nistp521', ['ecdsa-sha2-nistp521']],
  ['ssh-rsa', ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']],
  ['ssh-dss', ['ssh-dss']],
];

/** The host key algorithms to offer when the host is known with keys of these types (unsupported types drop out). */
export function hostKeyAlgorithms(types: Iterable<string>): string[] {
  const wanted = new Set(types);
  return ALGORITHMS.filter(([type]) => wanted.has(type)).flatMap(([, algorithms]) => algorithms);
}

export function sameKey(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function entryMatches(entry: KnownHostsEntry, name: string): boolean {
  if (entry.hashed) {
    const mac = createHmac('sha1', entry.hashed.salt).update(name).digest();
    return sameKey(mac, entry.hashed.hash);
  }
  return matchPatternList(name, entry.hosts);
}

// As OpenSSH's match_pattern_list: any matching negated pattern excludes the name, whatever else matches.
function matchPatternList(name: string, list: string): boolean {
  let positive = false;
  for (const raw of list.split(',')) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).toLowerCase();
    if (!matchPattern(name, pattern)) continue;
    if (negated) return false;
    positive = true;
  }
  return positive;
}

/** Glob match of the whole name: `*` any run of characters, `?` exactly one. */
export function matchPattern(name: string, pattern: string): boolean {
  // Iterative wildcard matching with backtracking to the last `*`.
  let n = 0;
  let p = 0;
  let starP = -1;
  let starN = 0;
  while (n < name.length) {
    const c = pattern[p];
    if (c === '*') {
      starP = p++;
      starN = n;
    } else if (c !== undefined && (c === '?' || c === name[n])) {
      p++;
      n++;
    } else if (starP >= 0) {
      p = starP + 1;
      n = ++starN;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

function parseHashed(field: string): KnownHostsEntry['hashed'] {
  const parts = field.split('|');
  // ['', '1', salt, hash]
  if (parts.length !== 4 || parts[0] !== '' || parts[1] !== '1') return null;
  const salt = strictBase64(parts[2] ?? '');
  const hash = strictBase64(parts[3] ?? '');
  if (salt === null || hash === null || salt.length !== 20 || hash.length !== 20) return null;
  return { salt, hash };
}

function decodeKey(type: string, base64: string): Buffer | string {
  if (type.includes('-cert-'))
    return `${type}: host certificates are not supported, list the host key itself`;
  const blob = strictBase64(base64);
  if (blob === null) return `the ${type} key is not valid base64`;
  // The blob names its own type first; OpenSSH refuses a line whose two names disagree.
  const inner = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  const named =
    inner >= 0 && 4 + inner <= blob.length ? blob.subarray(4, 4 + inner).toString('latin1') : null;
  if (named !== type) return `the key is ${named === null ? 'malformed' : `of type ${named}`}, not ${type}`;
  return blob;
}

function strictBase64(text: string): Buffer | null {
  if (text === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return null;
  return Buffer.from(text, 'base64');
}
