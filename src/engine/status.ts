// Status of hosts: reachable or not, what runs versus what the bot last deployed (in sync, behind, drifted),
// generation, booted versus current system, free space on /nix, and the last deploy. Read-only: no run, no
// lock; each probe is one round trip and still goes into the audit log.
import type { Actor } from '../core/events.ts';
import type { HostFacts } from '../core/host-facts.ts';
import { touchedHost } from '../core/last-change.ts';
import type { RunStatus } from '../core/ports/state.ts';
import { type SyncState, syncState } from '../core/sync.ts';
import type { HostSpec, StorePath } from '../core/types.ts';
import type { EngineDeps } from './deps.ts';
import type { Asker } from './engine.ts';
import { messageOf } from './errors.ts';
import { limitConcurrency } from './limit.ts';
import { hostAccess } from './run-scope.ts';

export interface HostStatusRow {
  readonly host: string;
  readonly site: string;
  readonly address: string;
  readonly reachable: boolean;
  readonly error?: string;
  readonly facts?: HostFacts;
  readonly sync?: SyncState;
  /** The booted system differs from the running one: a reboot would change the kernel or initrd. */
  readonly rebootPending?: boolean;
  readonly deployed: { readonly toplevel: StorePath; readonly at: string; readonly runId: string } | null;
  readonly lastRun: {
    readonly id: string;
    readonly verb: string;
    readonly actor: Actor;
    readonly at: string;
    readonly status: RunStatus;
  } | null;
  /** An open restart question for the host, if any. */
  readonly pendingApproval: string | null;
}

/** Verbs that change what a host runs (and, of their runs, only those that did something to it): the "last deploy" status reports is the newest run of one of them. */
const CHANGES = new Set(['deploy', 'switch', 'rollback', 'restart']);

function lastChange(deps: EngineDeps, host: string) {
  return deps.store
    .recentRuns({ host, limit: 50 })
    .find(
      (r) =>
        CHANGES.has(r.verb) &&
        (r.summary as { refused?: unknown } | null)?.refused === undefined &&
        (r.status === 'running' || touchedHost(deps.store.stagesOf(r.id), host)),
    );
}

export async function statusOf(
  deps: EngineDeps,
  hosts: readonly HostSpec[],
  asker: Asker,
): Promise<HostStatusRow[]> {
  const access = hostAccess(deps, null, asker.actor, asker.signal);
  const limit = limitConcurrency(16);
  const pending = deps.store.pendingApprovals();
  return Promise.all(
    hosts.map((host) =>
      limit(async (): Promise<HostStatusRow> => {
        const deployment = deps.store.lastDeployment(host.name);
        const run = lastChange(deps, host.name);
        const base = {
          host: host.name,
          site: host.site,
          address: host.address,
          deployed: deployment
            ? { toplevel: deployment.toplevel, at: deployment.at.toISOString(), runId: deployment.runId }
            : null,
          lastRun: run
            ? {
                id: run.id,
                verb: run.verb,
                actor: run.actor,
                at: run.startedAt.toISOString(),
                status: run.status,
              }
            : null,
          pendingApproval: pending.find((a) => a.host === host.name && a.expiresAt > deps.now())?.id ?? null,
        };
        try {
          const facts = await access.probe(host);
          return {
            ...base,
            reachable: true,
            facts,
            sync: syncState({
              current: facts.currentSystem,
              deployed: deployment?.toplevel ?? null,
              generations: facts.generations,
            }),
            rebootPending:
              facts.bootedSystem !== null &&
              facts.currentSystem !== null &&
              facts.bootedSystem !== facts.currentSystem,
          };
        } catch (e) {
          return { ...base, reachable: false, error: messageOf(e) };
        }
      }),
    ),
  );
}
