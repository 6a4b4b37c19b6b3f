// The App Home tab, kept from a cache rather than looked up per view: the fleet's status rows as the scheduled
// status job and the end of each run (or a change of its questions) last saw them. Opening the tab publishes
// from the cache (hosts the cache lacks are looked at once); a change republishes to everyone who opened the
// tab recently. Every views.publish goes through the app-wide budget, and publishes to one user
// coalesce: however many changes arrive, a user gets at most one publish in flight and one queued.
import type { EngineEvent } from '../../core/events.ts';
import type { Engine } from '../../engine/engine.ts';
import type { HostStatusRow } from '../../engine/status.ts';
import type { SlackApp } from '../app.ts';
import type { LogSink } from '../bolt-logger.ts';
import { rateLimitedCall } from '../chat.ts';
import { type HostNote, homeView } from './view.ts';

/** Users who opened the tab within this long get it republished after a change. */
export const RECENT_VIEWER_MS = 24 * 60 * 60_000;

export const HOME_JOB = 'app-home';

export interface FleetHomeOptions {
  readonly app: Pick<SlackApp, 'api' | 'budget' | 'logger'>;
  readonly engine: Pick<Engine, 'status' | 'hosts'>;
  readonly log: LogSink;
  /** Hosts that get a Show screen button. */
  readonly screenshots: ReadonlySet<string>;
  /** Lines about hosts from other parts of the bot (work waiting for a host), read at each publish. */
  readonly notes?: () => readonly HostNote[];
  /** Run ID to the hosts of that run (from the state database). */
  readonly hostsOfRun: (runId: string) => readonly string[];
  readonly now?: () => Date;
  readonly recentViewerMs?: number;
}

export interface FleetHome {
  /** Someone opened the tab. */
  opened(userId: string): Promise<void>;
  /** New rows for some or all hosts (the scheduled status job): cached, and the tab republished. */
  update(rows: readonly HostStatusRow[]): void;
  /** An event of a run: its end, a question asked or answered, makes its hosts looked at again. */
  observe(event: EngineEvent): void;
  /** Resolves once every refresh and publish in flight is done. */
  settled(): Promise<void>;
}

export function createFleetHome(options: FleetHomeOptions): FleetHome {
  const { app, engine, log } = options;
  const now = options.now ?? (() => new Date());
  const recentMs = options.recentViewerMs ?? RECENT_VIEWER_MS;
  const rows = new Map<string, HostStatusRow>();
  let checkedAt: Date | null = null;
  const viewers = new Map<string, number>();
  const pending = new Set<Promise<unknown>>();

  const track = <T>(work: Promise<T>): Promise<T> => {
    pending.add(work);
    const forget = () => pending.delete(work);
    work.then(forget, forget);
    return work;
  };

  // ---- publishing --------------------------------------------------------------------------------------
  const publishing = new Map<string, { queued: boolean; urgent: boolean; running: Promise<void> }>();

  const missing = () => engine.hosts.map((h) => h.name).filter((name) => !rows.has(name));

  function view() {
    const order = engine.hosts.map((h) => h.name);
    const cached = order.flatMap((name) => {
      const row = rows.get(name);
      return row === undefined ? [] : [row];
    });
    return homeView({
      rows: cached,
      // A fleet only partly known is not shown as if it were the whole fleet.
      checkedAt: missing().length === 0 ? checkedAt : null,
      notes: options.notes?.() ?? [],
      screenshots: options.screenshots,
    });
  }

  async function publishOnce(userId: string, urgent: boolean): Promise<void> {
    const release = await app.budget.turn('views.publish', 'app', () => urgent);
    try {
      await rateLimitedCall(
        'views.publish',
        () => app.api.views.publish({ user_id: userId, view: view() as never }),
        app.budget,
      );
    } finally {
      release();
    }
  }

  /** Publishes to `userId` now, or once the publish in flight is done (with the newest cache by then). */
  function publish(userId: string, urgent = false): Promise<void> {
    const current = publishing.get(userId);
    if (current !== undefined) {
      current.queued = true;
      current.urgent ||= urgent;
      return current.running;
    }
    const state = { queued: false, urgent, running: Promise.resolve() };
    state.running = track(
      (async () => {
        try {
          do {
            state.queued = false;
            try {
              await publishOnce(userId, state.urgent);
            } catch (error) {
              const off = (error as { data?: { error?: unknown } }).data?.error === 'not_enabled';
              log.warn(
                `slack: could not publish the Home tab of ${userId}:`,
                off
                  ? 'the app has no Home tab; update the app from manifest.yml (App Manifest, then Save Changes)'
                  : describe(error),
              );
            }
          } while (state.queued);
        } finally {
          publishing.delete(userId);
        }
      })(),
    );
    publishing.set(userId, state);
    return state.running;
  }

  /** Forgets viewers who have not opened the tab recently; says whether any is left. */
  function recentViewers(): boolean {
    const since = now().getTime() - recentMs;
    for (const [user, at] of viewers) if (at < since) viewers.delete(user);
    return viewers.size > 0;
  }

  function publishToRecent(): void {
    if (!recentViewers()) return;
    for (const user of viewers.keys()) void publish(user);
  }

  /**
   * After a change: the hosts are looked at again when someone may be looking at the tab; otherwise their rows
   * are dropped, and the next opening looks at them (no host is asked on behalf of nobody).
   */
  function changed(hosts: readonly string[]): void {
    if (recentViewers()) {
      void refresh(hosts);
      return;
    }
    for (const host of hosts) rows.delete(host);
  }

  // ---- the cache ---------------------------------------------------------------------------------------
  function update(fresh: readonly HostStatusRow[]): void {
    for (const row of fresh) rows.set(row.host, row);
    checkedAt = now();
    publishToRecent();
  }

  let refreshing: Promise<void> | undefined;
  const wanted = new Set<string>();

  /** Looks at `hosts` again; refreshes asked for while one runs are made together once it is done. */
  function refresh(hosts: readonly string[]): Promise<void> {
    const known = new Set(engine.hosts.map((h) => h.name));
    for (const h of hosts) if (known.has(h)) wanted.add(h);
    if (refreshing !== undefined || wanted.size === 0) return refreshing ?? Promise.resolve();
    refreshing = track(
      (async () => {
        try {
          while (wanted.size > 0) {
            const batch = [...wanted];
            wanted.clear();
            try {
              update(
                await engine.status(batch, { actor: { kind: 'schedule', job: HOME_JOB }, onEvent: () => {} }),
              );
            } catch (error) {
              log.warn('slack: the Home tab could not look at the fleet:', describe(error));
            }
          }
        } finally {
          refreshing = undefined;
        }
      })(),
    );
    return refreshing;
  }

  return {
    async opened(userId) {
      viewers.set(userId, now().getTime());
      const unknown = missing();
      // Published at once from the cache; hosts it lacks (the first opening since start) are looked at, and
      // the tab is published again once they have answered.
      await publish(userId, true);
      if (unknown.length > 0) await refresh(unknown);
    },
    update,
    observe(event) {
      switch (event.type) {
        case 'run.finished':
          changed(options.hostsOfRun(event.runId));
          return;
        case 'approval.requested':
          changed([event.host]);
          return;
        case 'stage.finished':
          if (event.stage === 'restart') changed([event.host]);
          return;
        default:
          return;
      }
    },
    async settled() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
