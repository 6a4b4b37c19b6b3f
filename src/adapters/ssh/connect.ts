// Opens one authenticated SSH connection to a host, trusting only the keys the known_hosts file lists for it:
// an unknown host, a changed key or a revoked key is refused during the key exchange, before the bot
// authenticates or runs anything. No agent is forwarded. Every way of failing becomes a HostFailure naming the
// host.
import { readFile } from 'node:fs/promises';
import ssh2, { type ConnectConfig, type ServerHostKeyAlgorithm, type Client as SshClient } from 'ssh2';
import type { HostFailure } from '../../core/ports/hosts.ts';
import type { HostSpec } from '../../core/types.ts';
import { about, HostError, invalidRequest } from './errors.ts';
import {
  fingerprint,
  hostKeyAlgorithms,
  type KnownHosts,
  type KnownKey,
  keysFor,
  lookupName,
  parseKnownHosts,
  sameKey,
} from './known-hosts.ts';
import type { SshSettings } from './settings.ts';

export type Client = SshClient;

/** Opens a connection, resolving once it is ready for sessions. Rejects with a HostError. */
export async function openClient(host: HostSpec, settings: SshSettings): Promise<Client> {
  const trust = await loadTrust(host, settings.knownHostsFile);
  const privateKey = settings.identityFile === undefined ? undefined : await readKey(host, settings);
  const { allowed } = trust.keys;
  // Offer only the key types known for this host, so the server presents a key we can compare rather than
  // one of another type that would look like a change.
  const offered = hostKeyAlgorithms(allowed.map((k) => k.type));

  return new Promise<Client>((resolve, reject) => {
    const client = new ssh2.Client();
    let verdict: HostFailure | null = null;
    let settled = false;
    const fail = (failure: HostFailure, cause?: unknown) => {
      if (settled) return;
      settled = true;
      client.destroy();
      reject(new HostError(failure, { cause }));
    };
    client.on('error', (err: Error & { level?: string; code?: string }) => {
      fail(verdict ?? classify(host, settings, err, offered.length > 0 ? allowed : []), err);
    });
    client.on('close', () => {
      fail(
        verdict ??
          unreachable(host, settings, 'closed', 'the host closed the connection during the handshake'),
      );
    });
    client.once('ready', () => {
      if (settled) return;
      settled = true;
      resolve(client);
    });
    const config: ConnectConfig = {
      host: host.address,
      port: host.port,
      username: host.user,
      readyTimeout: settings.connectTimeoutMs,
      keepaliveInterval: settings.keepaliveIntervalMs,
      keepaliveCountMax: settings.keepaliveCountMax,
      hostVerifier: (key: Buffer): boolean => {
        verdict = judgeHostKey(host, trust, key);
        return verdict === null;
      },
      ...(offered.length > 0 ? { algorithms: { serverHostKey: offered as ServerHostKeyAlgorithm[] } } : {}),
      ...(settings.agentSocket === undefined ? {} : { agent: settings.agentSocket }),
      ...(privateKey === undefined ? {} : { privateKey }),
      ...(settings.identityPassphrase === undefined ? {} : { passphrase: settings.identityPassphrase }),
      // Never forwarded: the agent (when the bot logs in with one) only signs the bot's own logins. Hosts reach
      // their peers with their own keys, so nothing on a host can use the bot's key.
      agentForward: false,
    };
    try {
      client.connect(config);
    } catch (e) {
      // ssh2 checks the private key synchronously: a wrong passphrase or an unreadable key lands here.
      const why = e instanceof Error ? e.message : String(e);
      fail(
        {
          kind: 'AuthFailed',
          ...about(host),
          user: host.user,
          message: `${host.name}: cannot use the identity file ${settings.identityFile ?? ''}: ${why}`,
          hint: 'check the identity file and its passphrase (given through the environment or a file)',
        },
        e,
      );
    }
  });
}

interface Trust {
  readonly file: string;
  readonly missing: boolean;
  readonly keys: { readonly allowed: KnownKey[]; readonly revoked: KnownKey[] };
}

// Read at every connection, so an operator's edit to known_hosts takes effect without a restart.
async function loadTrust(host: HostSpec, file: string): Promise<Trust> {
  let known: KnownHosts = { entries: [], notes: [] };
  let missing = false;
  try {
    known = parseKnownHosts(await readFile(file, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw invalidRequest(
        host,
        `cannot read the known_hosts file ${file}: ${(e as Error).message}`,
        'make the file readable by the bot',
      );
    }
    missing = true;
  }
  return { file, missing, keys: keysFor(known, host.address, host.port) };
}

async function readKey(host: HostSpec, settings: SshSettings): Promise<Buffer> {
  const file = settings.identityFile ?? '';
  try {
    return await readFile(file);
  } catch (e) {
    throw new HostError({
      kind: 'AuthFailed',
      ...about(host),
      user: host.user,
      message: `${host.name}: cannot read the identity file ${file}: ${(e as Error).message}`,
      hint: 'check identityFile in the SSH settings',
    });
  }
}

/** null when the key is trusted for this host; otherwise why not. */
export function judgeHostKey(host: HostSpec, trust: Trust, key: Buffer): HostFailure | null {
  const received = describeKey(key);
  const file = trust.file;
  const revoked = trust.keys.revoked.find((k) => sameKey(k.blob, key));
  if (revoked) {
    return {
      kind: 'HostKeyRevoked',
      ...about(host),
      received,
      knownHostsFile: file,
      message: `${host.name} presented the host key ${received}, which ${file} marks @revoked (line ${revoked.line}): refusing to connect`,
      hint: `the key must never be trusted again: give ${host.name} a new host key, check its fingerprint on the host, and list it in ${file}`,
    };
  }
  if (trust.keys.allowed.some((k) => sameKey(k.blob, key))) return null;
  const name = lookupName(host.address, host.port);
  if (trust.keys.allowed.length === 0) {
    return {
      kind: 'HostKeyUnknown',
      ...about(host),
      received,
      knownHostsFile: file,
      message: `${host.name} (${name}) is not in ${file}${trust.missing ? ', which does not exist' : ''}: it presented ${received}; refusing to trust an unknown host`,
      hint: `compare ${received} with \`ssh-keygen -lf /etc/ssh/ssh_host_${keyKind(key)}_key.pub\` on ${host.name} itself, then add it: ssh-keyscan -p ${host.port} -t ${keyKind(key)} ${host.address} >> ${file}`,
    };
  }
  const expected = trust.keys.allowed.map((k) => `${k.type} ${fingerprint(k.blob)} (line ${k.line})`);
  return {
    kind: 'HostKeyMismatch',
    ...about(host),
    expected,
    received,
    knownHostsFile: file,
    message: `${host.name} (${name}) presented the host key ${received}, but ${file} expects ${expected.join(' or ')}: refusing to connect (the host was reinstalled, or something is impersonating it)`,
    hint: `if ${host.name} was reinstalled, check its new fingerprint on the host itself, then replace its entry: ssh-keygen -R ${name} -f ${file} and add the new key; otherwise treat this as an attack`,
  };
}

/** `type SHA256:...` for a key blob. */
export function describeKey(key: Buffer): string {
  const length = key.length >= 4 ? key.readUInt32BE(0) : 0;
  const type = 4 + length <= key.length ? key.subarray(4, 4 + length).toString('latin1') : 'unknown';
  return `${type} ${fingerprint(key)}`;
}

function keyKind(key: Buffer): string {
  const type = describeKey(key).split(' ')[0] ?? '';
  if (type === 'ssh-ed25519') return 'ed25519';
  if (type.startsWith('ecdsa-')) return 'ecdsa';
  if (type === 'ssh-rsa') return 'rsa';
  return 'ed25519';
}

function classify(
  host: HostSpec,
  settings: SshSettings,
  err: Error & { level?: string; code?: string },
  restrictedTo: readonly KnownKey[],
): HostFailure {
  const code = err.code ?? '';
  switch (err.level) {
    case 'client-authentication':
      return {
        kind: 'AuthFailed',
        ...about(host),
        user: host.user,
        message: `${host.name}: ${host.user}@${host.address} refused the bot's keys (${credentials(settings)})`,
        hint: `add the bot's public key to ${host.user}'s authorized_keys on ${host.name}`,
      };
    case 'agent':
      return {
        kind: 'AuthFailed',
        ...about(host),
        user: host.user,
        message: `${host.name}: the SSH agent at ${settings.agentSocket ?? ''} failed: ${err.message}`,
        hint: 'check that the agent runs and holds the bot key (ssh-add -l)',
      };
    case 'client-timeout':
      return unreachable(
        host,
        settings,
        'timeout',
        `no answer within ${seconds(settings.connectTimeoutMs)} (host down, unplugged or off the network?)`,
      );
    case 'client-dns':
      return unreachable(host, settings, 'dns', `cannot resolve ${host.address}: ${err.message}`);
    case 'handshake':
      if (restrictedTo.length > 0 && /host key|no matching/i.test(err.message)) {
        const expected = restrictedTo.map((k) => `${k.type} ${fingerprint(k.blob)} (line ${k.line})`);
        return {
          kind: 'HostKeyMismatch',
          ...about(host),
          expected,
          received: 'no key of the known types',
          knownHostsFile: settings.knownHostsFile,
          message: `${host.name} offered no host key of the types ${settings.knownHostsFile} lists for it (${expected.join(', ')}): refusing to connect`,
          hint: `if ${host.name} was reinstalled, check its new key on the host itself and replace its entry in ${settings.knownHostsFile}`,
        };
      }
      break;
  }
  if (code === 'ECONNREFUSED') {
    return unreachable(host, settings, 'refused', 'connection refused (is sshd running on it?)');
  }
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EHOSTDOWN') {
    return unreachable(host, settings, 'no-route', `no route to it (${code})`);
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return unreachable(host, settings, 'dns', `cannot resolve ${host.address}`);
  }
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    return unreachable(host, settings, 'reset', 'the connection was reset during the handshake');
  }
  if (code === 'ETIMEDOUT') {
    return unreachable(host, settings, 'timeout', `no answer within ${seconds(settings.connectTimeoutMs)}`);
  }
  return unreachable(host, settings, 'other', err.message);
}

function unreachable(
  host: HostSpec,
  settings: SshSettings,
  reason: Extract<HostFailure, { kind: 'HostUnreachable' }>['reason'],
  why: string,
): HostFailure {
  const hints: Record<typeof reason, string> = {
    refused: `check that sshd runs on ${host.name} and listens on port ${host.port}`,
    timeout: `check that ${host.name} is powered and on the network (tailscale status), then retry`,
    'no-route': `check the network path to ${host.address}`,
    dns: `check the host's address (${host.address}) in the configuration and that the tailnet resolves it`,
    reset: 'retry; if it keeps happening, look at the host sshd log',
    closed: `retry; if it keeps happening, look at the sshd log on ${host.name} (MaxStartups, banned address?)`,
    other: 'retry; if it keeps happening, check the host and the network',
  };
  return {
    kind: 'HostUnreachable',
    ...about(host),
    reason,
    timeoutMs: settings.connectTimeoutMs,
    message: `cannot reach ${host.name} at ${about(host).endpoint}: ${why}`,
    hint: hints[reason],
  };
}

function credentials(settings: SshSettings): string {
  const parts: string[] = [];
  if (settings.agentSocket !== undefined) parts.push(`agent ${settings.agentSocket}`);
  if (settings.identityFile !== undefined) parts.push(`identity file ${settings.identityFile}`);
  return parts.join(', ');
}

export function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
