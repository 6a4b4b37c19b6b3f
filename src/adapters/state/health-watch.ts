// Each host's health as the scheduled checks last settled it, and its recent checks: kept in the state so
// that flapping is still recognised, and a settled change not told twice, across the bot's restarts.
import type { DatabaseSync } from 'node:sqlite';
import type { HealthWatch, Settled } from '../../core/health-watch.ts';
import type { HealthWatchPort } from '../../core/ports/state.ts';
import { immediate, ms, type Row, str, strOrNull } from './sql.ts';

function watchOf(row: Row): HealthWatch {
  const settled: Settled =
    str(row.settled_kind) === 'flapping'
      ? { kind: 'flapping' }
      : { kind: 'states', key: strOrNull(row.settled_key) ?? '' };
  const recent: unknown = JSON.parse(str(row.recent));
  return {
    settled,
    recent: Array.isArray(recent) ? recent.filter((k): k is string => typeof k === 'string') : [],
  };
}

export function healthWatchPort(db: DatabaseSync): HealthWatchPort {
  const all = db.prepare('SELECT * FROM health_watch');
  const upsert = db.prepare(
    `INSERT INTO health_watch (host, settled_kind, settled_key, recent, updated_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (host) DO UPDATE SET settled_kind = excluded.settled_kind, settled_key = excluded.settled_key,
       recent = excluded.recent, updated_at = excluded.updated_at`,
  );
  return {
    healthWatches: () => new Map((all.all() as Row[]).map((row) => [str(row.host), watchOf(row)])),
    saveHealthWatches(watches, now) {
      immediate(db, () => {
        for (const [host, w] of watches) {
          upsert.run(
            host,
            w.settled.kind,
            w.settled.kind === 'states' ? w.settled.key : null,
            JSON.stringify(w.recent),
            ms(now),
          );
        }
      });
    },
  };
}
