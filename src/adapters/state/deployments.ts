// What each host was last switched to by the bot: status compares it with what the host runs now. Every
// switch is kept (a history costs little and answers "what did it run before?"); the newest one counts.
import type { DatabaseSync } from 'node:sqlite';
import type { DeploymentRecord, DeploymentsPort } from '../../core/ports/state.ts';
import { revisionJson, revisionOf } from './revision-json.ts';
import { dateOf, ms, type Row, str } from './sql.ts';

function deploymentOf(row: Row | undefined): DeploymentRecord | undefined {
  if (row === undefined) return undefined;
  return {
    host: str(row.host),
    toplevel: str(row.toplevel),
    runId: str(row.run_id),
    at: dateOf(row.at),
    revision: revisionOf(row.revision),
  };
}

export function deploymentsPort(db: DatabaseSync): DeploymentsPort {
  // A deployment that does not name its revision takes its run's: every switch of a run is of one revision.
  const insert = db.prepare(`
    INSERT INTO deployments (host, toplevel, run_id, at, revision)
    VALUES (?, ?, ?, ?, coalesce(?, (SELECT revision FROM runs WHERE id = ?)))`);
  const last = db.prepare('SELECT * FROM deployments WHERE host = ? ORDER BY at DESC, id DESC LIMIT 1');
  const ofToplevel = db.prepare(`
    SELECT * FROM deployments WHERE host = ? AND toplevel = ? AND revision IS NOT NULL
    ORDER BY at DESC, id DESC LIMIT 1`);
  return {
    recordDeployment(d) {
      insert.run(d.host, d.toplevel, d.runId, ms(d.at), revisionJson(d.revision), d.runId);
    },
    lastDeployment: (host) => deploymentOf(last.get(host) as Row | undefined),
    deploymentOf: (host, toplevel) => deploymentOf(ofToplevel.get(host, toplevel) as Row | undefined),
  };
}
