// Status of hosts: reachable or not, what runs versus what the bot last deployed (in sync, behind, drifted),
// generation, booted versus current system, free space on /nix, and the last deploy. Read-only: no run, no
// lock; each probe is one round trip and still goes into the audit log.
import type { Actor } from '../core/events.ts';
import { DEFAULT_HEALTH, type HostHealth, hostHealth } from '../core/health.ts';
import type { HostFacts } from '../core/host-facts.ts';
import { touchedHost } from '../core/last-change.ts';
import type { PendingWork, RunStatus } from '../core/ports/state.ts';
import {
  describeRevision,
  describeStanding,
  type Revision,
  type Standing,
  standingOf,
} from '../core/revision.ts';
import { type SyncState, syncState } from '../core/sync.ts';
import type { HostSpec, StorePath } from '../core/types.ts';
import { stagedBootOf } from './boot.ts';
import type { EngineDeps } from './deps.ts';
import type { Asker } from './engine.ts';
import { messageOf, StateError } from './errors.ts';
import { limitConcurrency } from './limit.ts';
import { describePending } from './pending.ts';
import { hostAccess } from './run-scope.ts';
import { offNow } from './window-gate.ts';

export interface HostStatusRow {
  readonly host: string;
  readonly site: string;
  readonly address: string;
  readonly reachable: boolean;
  readonly error?: string;
  readonly facts?: HostFacts;
  readonly sync?: SyncState;
  /** The booted system's kernel differs from the running one's: a reboot would change the kernel. */
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
  /** Work waiting for the host (it did not answer a rollout, or its window was closed), and why. */
  readonly pending?: PendingWork & { readonly text: string };
  /** Not answering inside its off hours: off on schedule, not a failure. */
  readonly offSchedule?: boolean;
  /** Free space, uptime, power and temperature, read into states (health.ts). */
  readonly health?: HostHealth;
  /** A system staged with `boot` for a reboot (the boot guard's marker): the profile's, not yet running. */
  readonly stagedBoot?: StorePath;
  /** Which fleet commit the running system was built from, against the default branch (git fleets). */
  readonly revision?: {
    readonly deployed: Revision | null;
    readonly standing: Standing;
    readonly text: string;
  };
}

/**
 * Whether the host's new system is staged for its next boot (the boot guard's marker names what its profile
 * holds): not an unconfirmed activation but a reboot still to come.
 */
export function bootStaged(row: HostStatusRow): boolean {
  return (
    row.sync === 'unconfirmed' && row.stagedBoot !== undefined && row.stagedBoot === row.facts?.profileSystem
  );
}

/** The default branch head, read fresh; null when the flake cannot be read (status still answers). */
async function headOf(deps: EngineDeps): Promise<Revision | null> {
  try {
    return await deps.builder.resolveRevision(null);
  } catch {
    return null;
  }
}

/** Which commit `running` is, from the deployment that put it there, and how it stands against the head. */
async function revisionRow(
  deps: EngineDeps,
  host: string,
  running: StorePath | null,
  head: Revision | null,
): Promise<HostStatusRow['revision']> {
  const deployed = running ? (deps.store.deploymentOf(host, running)?.revision ?? null) : null;
  // A fleet that is not a git repository has no commits to speak of.
  if (head?.rev == null && deployed?.rev == null && !deployed?.dirty) return undefined;
  const behind =
    deployed?.rev && head?.rev && deployed.rev !== head.rev
      ? await deps.builder.commitsBehind(deployed.rev, head).catch(() => null)
      : null;
  const standing = standingOf(deployed, head, behind);
  const main = head?.defaultBranch ?? deployed?.defaultBranch ?? null;
  const text = `${describeStanding(standing, main)}${deployed ? `: ${describeRevision(deployed)}` : ''}`;
  return { deployed, standing, text };
}

function healthOf(host: HostSpec, facts: HostFacts): HostHealth {
  return hostHealth(facts, host.health ?? DEFAULT_HEALTH);
}

/** Verbs that change what a host runs (and, of their runs, only those that did something to it): the "last deploy" status reports is the newest run of one of them. */
const CHANGES = new Set(['deploy', 'switch', 'rollback', 'restart']);

function lastChange(deps: EngineDeps, host: string) {
  return deps.store.recentRuns({ host, limit: 50 }).find(
    (r) =>
      CHANGES.has(r.verb) &&
      (r.summary as { refused?: unknown } | null)?.refused === undefined &&
      // A run that was stopped or died counts whatever its stages: it may have left the host mid-way.
      (r.status === 'running' || r.status === 'interrupted' || touchedHost(deps.store.stagesOf(r.id), host)),
  );
}

export async function statusOf(
  deps: EngineDeps,
  hosts: readonly HostSpec[],
  asker: Asker,
): Promise<HostStatusRow[]> {
  const access = hostAccess(deps, null, asker.actor, asker.signal);
  const limit = limitConcurrency(16);
  // A run whose process died is not "running": it is marked interrupted (and its locks freed) before reading.
  try {
    deps.store.recoverDeadRuns(deps.now());
  } catch (e) {
    throw new StateError(e);
  }
  const pending = deps.store.pendingApprovals();
  const work = new Map(deps.store.pendingWork().map((w) => [w.host, w]));
  // Read while the hosts are probed, not before.
  const head = headOf(deps);
  // Every probe is awaited before anything is thrown: none may write to the store after status returned.
  const settled = await Promise.allSettled(
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
          ...pendingOf(work.get(host.name), host),
        };
        try {
          const facts = await access.probe(host, { health: true });
          const revision = await revisionRow(deps, host.name, facts.currentSystem, await head);
          // Only a host whose profile is not what runs can have a system staged for its next boot.
          const staged =
            facts.profileSystem !== null && facts.profileSystem !== facts.currentSystem
              ? await stagedBootOf(access, host)
              : null;
          return {
            ...base,
            ...(revision ? { revision } : {}),
            ...(staged ? { stagedBoot: staged } : {}),
            reachable: true,
            facts,
            health: healthOf(host, facts),
            sync: syncState({
              current: facts.currentSystem,
              profile: facts.profileSystem,
              currentKernel: facts.currentKernel,
              bootedKernel: facts.bootedKernel,
              deployed: deployment?.toplevel ?? null,
              generations: facts.generations,
            }),
            rebootPending:
              facts.bootedKernel !== null &&
              facts.currentKernel !== null &&
              facts.bootedKernel !== facts.currentKernel,
          };
        } catch (e) {
          // The bot's own state failing is never reported as a host being unreachable.
          if (e instanceof StateError) throw e;
          return {
            ...base,
            reachable: false,
            error: messageOf(e),
            ...(offNow(deps, host) ? { offSchedule: true } : {}),
          };
        }
      }),
    ),
  );
  const rejected = settled.find((r) => r.status === 'rejected');
  if (rejected) throw rejected.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<HostStatusRow>).value);
}

function pendingOf(w: PendingWork | undefined, host: HostSpec): Pick<HostStatusRow, 'pending'> {
  return w === undefined ? {} : { pending: { ...w, text: describePending(w, host) } };
}
