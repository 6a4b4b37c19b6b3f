// What each host was last switched to by the bot: status compares it with what the host runs now. Every
// switch is kept (a history costs little and answers "what did it run before?"); the newest one counts.
import type { DatabaseSync } from 'node:sqlite';
import type { DeploymentRecord, DeploymentsPort } from '../../core/ports/state.ts';
import { dateOf, ms, type Row, str } from './sql.ts';

export function deploymentsPort(db: DatabaseSync): DeploymentsPort {
  const insert = db.prepare('INSERT INTO deployments (host, toplevel, run_id, at) VALUES (?, ?, ?, ?)');
  const last = db.prepare('SELECT * FROM deployments WHERE host = ? ORDER BY at DESC, id DESC LIMIT 1');
  return {
    recordDeployment(d) {
      insert.run(d.host, d.toplevel, d.runId, ms(d.at));
    },
    lastDeployment(host): DeploymentRecord | undefined {
      const row = last.get(host) as Row | undefined;
      if (row === undefined) return undefined;
      return { host: str(row.host), toplevel: str(row.toplevel), runId: str(row.run_id), at: dateOf(row.at) };
    },
  };
}
