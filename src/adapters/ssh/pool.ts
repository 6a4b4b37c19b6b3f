// Connections shared per host: opened on first use, reused by every command that follows (many at once, each
// on its own session channel, up to a limit; the rest wait their turn), reopened after a loss, and closed after
// a while unused.
import type { HostSpec } from '../../core/types.ts';
import { type Client, openClient, seconds } from './connect.ts';
import type { SshSettings } from './settings.ts';

export interface PoolStats {
  /** Connections that completed the handshake and logged in. */
  readonly connectionsOpened: number;
  /** Session channels opened, one per command (and per signal sent to a stopped command). */
  readonly channelsOpened: number;
  /** Connections open now. */
  readonly open: number;
}

/** A session slot on a live connection. */
export interface Lease {
  readonly client: Client;
  /** Why this lease's connection went away, once it has; null while it lives. */
  lostReason(): string | null;
  /** Counts a channel opened on this connection. */
  countChannel(): void;
  release(): void;
}

/** Raised to a waiter when its signal fires; the caller turns it into its own failure. */
export class Aborted extends Error {
  override readonly name = 'Aborted';
}

interface Waiter {
  readonly grant: () => void;
  readonly fail: (e: unknown) => void;
}

class Entry {
  client: Client | null = null;
  private connecting: Promise<Client> | null = null;
  active = 0;
  readonly waiters: Waiter[] = [];
  private idleTimer: NodeJS.Timeout | null = null;
  private shut = false;
  readonly losses = new WeakMap<Client, string>();
  readonly host: HostSpec;
  private readonly pool: ConnectionPool;

  constructor(pool: ConnectionPool, host: HostSpec) {
    this.pool = pool;
    this.host = host;
  }

  /** Waits for a free session slot, first come first served. */
  slot(signal: AbortSignal | undefined): Promise<void> {
    this.stopIdleTimer();
    if (this.active < this.pool.settings.maxSessionsPerConnection && this.waiters.length === 0) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const fail = (e: unknown) => {
        signal?.removeEventListener('abort', onAbort);
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(e);
      };
      const onAbort = () => fail(new Aborted('cancelled while waiting for a free session'));
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          this.active++;
          resolve();
        },
        fail,
      };
      this.waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  free(): void {
    this.active--;
    const next = this.waiters.shift();
    if (next) next.grant();
    else if (this.active === 0) this.startIdleTimer();
  }

  /** The live connection, opening one if there is none (one attempt shared by all who ask meanwhile). */
  ready(): Promise<Client> {
    if (this.client) return Promise.resolve(this.client);
    if (this.connecting) return this.connecting;
    const attempt = openClient(this.host, this.pool.settings).then(
      (client) => {
        this.connecting = null;
        if (this.shut) {
          // closeAll came while this connection was being opened: it must not outlive it.
          client.end();
          throw new Aborted('cancelled: the connection was closed');
        }
        this.adopt(client);
        return client;
      },
      (e: unknown) => {
        this.connecting = null;
        // Those queued behind this attempt would only try again and wait as long to fail the same way.
        for (const w of [...this.waiters]) w.fail(e);
        throw e;
      },
    );
    this.connecting = attempt;
    return attempt;
  }

  private adopt(client: Client): void {
    this.client = client;
    this.pool.opened(1);
    let reason: string | null = null;
    client.on('error', (err: Error & { level?: string; code?: string }) => {
      reason ??= lossReason(err, this.pool.settings);
    });
    client.once('close', () => {
      if (!this.losses.has(client)) this.losses.set(client, reason ?? 'the host closed the connection');
      this.pool.opened(-1);
      if (this.client === client) this.client = null;
      this.stopIdleTimer();
      if (this.active === 0 && this.waiters.length === 0) this.pool.forget(this);
    });
  }

  private startIdleTimer(): void {
    this.stopIdleTimer();
    if (!this.client) {
      this.pool.forget(this);
      return;
    }
    const client = this.client;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.active === 0 && this.client === client) {
        this.losses.set(client, `closed after ${seconds(this.pool.settings.idleCloseMs)} unused`);
        // Let go of it before it has finished closing: a command arriving meanwhile opens a new one.
        this.client = null;
        client.end();
      }
    }, this.pool.settings.idleCloseMs);
  }

  private stopIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  /** Closes the connection now; commands on it fail as lost, waiters are cancelled. */
  close(): Promise<void> {
    this.shut = true;
    this.stopIdleTimer();
    for (const w of [...this.waiters]) w.fail(new Aborted('cancelled: the connection was closed'));
    const client = this.client;
    this.client = null;
    if (!client) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = setTimeout(() => {
        client.destroy();
        resolve();
      }, 2000);
      client.once('close', () => {
        clearTimeout(done);
        resolve();
      });
      this.losses.set(client, 'closed by the bot');
      client.end();
    });
  }
}

export class ConnectionPool {
  readonly settings: SshSettings;
  private readonly entries = new Map<string, Entry>();
  private counts = { connectionsOpened: 0, channelsOpened: 0, open: 0 };

  constructor(settings: SshSettings) {
    this.settings = settings;
  }

  /**
   * A session slot on a live connection to the host. Rejects with a HostError when the host cannot be
   * reached or trusted, or with Aborted when `signal` fires first.
   */
  async acquire(host: HostSpec, signal?: AbortSignal): Promise<Lease> {
    if (signal?.aborted) throw new Aborted('cancelled before it started');
    const entry = this.entry(host);
    await entry.slot(signal);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      entry.free();
    };
    try {
      const client = await abortable(entry.ready(), signal);
      return {
        client,
        lostReason: () => entry.losses.get(client) ?? null,
        countChannel: () => {
          this.counts.channelsOpened++;
        },
        release,
      };
    } catch (e) {
      release();
      throw e;
    }
  }

  stats(): PoolStats {
    return { ...this.counts };
  }

  async closeAll(): Promise<void> {
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(entries.map((e) => e.close()));
  }

  /** @internal */
  opened(delta: 1 | -1): void {
    if (delta === 1) this.counts.connectionsOpened++;
    this.counts.open += delta;
  }

  /** @internal */
  forget(entry: Entry): void {
    for (const [key, e] of this.entries) if (e === entry) this.entries.delete(key);
  }

  private entry(host: HostSpec): Entry {
    // Keyed by where and as whom: two names for one endpoint are still two configurations to honour.
    const key = JSON.stringify([host.name, host.address, host.port, host.user]);
    let entry = this.entries.get(key);
    if (!entry) {
      entry = new Entry(this, host);
      this.entries.set(key, entry);
    }
    return entry;
  }
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(new Aborted('cancelled before it started'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Aborted('cancelled while connecting'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function lossReason(err: Error & { level?: string; code?: string }, settings: SshSettings): string {
  if (err.level === 'client-timeout' && /keepalive/i.test(err.message)) {
    return `no answer to ${settings.keepaliveCountMax} keepalives sent every ${seconds(settings.keepaliveIntervalMs)}`;
  }
  if (err.code === 'ECONNRESET') return 'the connection was reset';
  if (err.code === 'EPIPE') return 'the connection broke';
  return err.message;
}
