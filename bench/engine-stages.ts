// How long each host's copy and switch stages of one engine run took, read from the run's own state file
// (the stages table) after the run: the benchmark's "one activation" is a screen's switch stage, and a
// canary's copy stage is the rollout's uplink leg.
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { STATE_FILE } from '../src/adapters/state/open.ts';

export interface StageTimes {
  /** Per host, the copy stage's length. */
  readonly copyMs: Readonly<Record<string, number>>;
  /** Per host, the switch stage's length (activation with its checks and confirmation). */
  readonly switchMs: Readonly<Record<string, number>>;
}

export function stageTimes(stateDir: string, runId: string): StageTimes {
  const db = new DatabaseSync(join(stateDir, STATE_FILE), { readOnly: true });
  try {
    const rows = db
      .prepare(
        `SELECT host, stage, duration_ms AS ms FROM stages
         WHERE run_id = ? AND stage IN ('copy', 'switch') AND status = 'ok' AND duration_ms IS NOT NULL`,
      )
      .all(runId) as { host: string; stage: string; ms: number }[];
    const copyMs: Record<string, number> = {};
    const switchMs: Record<string, number> = {};
    for (const r of rows) (r.stage === 'copy' ? copyMs : switchMs)[r.host] = r.ms;
    return { copyMs, switchMs };
  } finally {
    db.close();
  }
}
