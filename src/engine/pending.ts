// Pending work: a system a host is still to be brought to, because a rollout could not reach it or its
// maintenance window was closed. One entry per host; a newer deploy replaces it. The builder keeps the system
// from its garbage collector meanwhile. The schedule (or `signage pending --run`) runs what is due through the
// same pipeline as any deploy: plan from peers, activation with health checks, the restart question.
import type { Actor } from '../core/events.ts';
import type { PendingReason, PendingRestart, PendingVerb, PendingWork } from '../core/ports/state.ts';
import type { HostSpec, StorePath } from '../core/types.ts';
import { describeInstant } from '../core/windows.ts';
import type { Built } from './build.ts';
import type { EngineDeps } from './deps.ts';
import type { Asker, RunResult } from './engine.ts';
import { messageOf } from './errors.ts';
import type { HostOutcome, PipelineOptions } from './pipeline.ts';
import { hostAccess, type RunScope } from './run-scope.ts';
import { offNow, windowClosed } from './window-gate.ts';

export interface PendingEntry {
  readonly toplevel: StorePath;
  readonly reason: PendingReason;
  readonly opensAt: Date | null;
  readonly verb: PendingVerb;
  readonly restart: PendingRestart;
}

/** Records the host's pending work (replacing any) and keeps its system on the builder. */
export async function keepPending(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
  entry: PendingEntry,
): Promise<void> {
  deps.store.setPending({
    host: host.name,
    ...entry,
    revision: scope.revision,
    since: deps.now(),
    requestedBy: scope.actor,
    runId: scope.runId,
  });
  try {
    await deps.builder.keepPendingRoot(host.name, entry.toplevel);
  } catch (e) {
    scope.log(`could not keep a GC root for the pending ${entry.toplevel}: ${messageOf(e)}`, host.name);
  }
}

/** A newer deploy reached the host: what was pending for it is replaced by this one. */
export async function replacePending(deps: EngineDeps, scope: RunScope, host: string): Promise<void> {
  const old = deps.store.dropPending(host);
  if (old === undefined) return;
  scope.log(`replaces the work pending since ${old.since.toISOString()} (run ${old.runId})`, host);
  await deps.builder.keepPendingRoot(host, null).catch(() => {});
}

/**
 * Drops a host's pending work (the `cancel` verb calls this); returns what was dropped, undefined when nothing
 * was pending. Its system is released to the builder's garbage collector.
 */
export async function dropPendingWork(deps: EngineDeps, host: string): Promise<PendingWork | undefined> {
  const old = deps.store.dropPending(host);
  if (old !== undefined) await deps.builder.keepPendingRoot(host, null).catch(() => {});
  return old;
}

/**
 * After a deploy or switch: hosts it could not reach become pending with the system built for them. One in
 * its off hours is not a failure (the shop is closed); any other is still reported failed, saying it waits.
 */
export async function pendUnreachable(
  deps: EngineDeps,
  scope: RunScope,
  targets: readonly HostSpec[],
  opts: Pick<PipelineOptions, 'until' | 'restart'>,
  hosts: readonly HostOutcome[],
): Promise<HostOutcome[]> {
  if (opts.until !== 'switch' && opts.until !== 'restart') return [...hosts];
  return Promise.all(
    hosts.map(async (h) => {
      const spec = targets.find((t) => t.name === h.host);
      if (h.status !== 'failed' || !h.unreachable || !h.toplevel || !spec) return h;
      await keepPending(deps, scope, spec, {
        toplevel: h.toplevel,
        reason: 'unreachable',
        opensAt: null,
        verb: opts.until === 'restart' ? 'deploy' : 'switch',
        restart: opts.restart,
      });
      const deferred = 'pending: brought up to date when it answers again';
      return offNow(deps, spec)
        ? { ...h, status: 'pending' as const, deferred: `off (on schedule); ${deferred}` }
        : { ...h, deferred };
    }),
  );
}

/**
 * Runs a host's pending restart or reboot, its window open. A host that did not answer (`notDone` says which
 * failures leave it so) keeps its pending work, done in its window when it answers again; any other end, done
 * or failed, ends it.
 */
export async function runPendingAction(
  deps: EngineDeps,
  host: HostSpec,
  done: 'restarted' | 'rebooted',
  action: () => Promise<unknown>,
  notDone: (e: unknown) => boolean,
): Promise<HostOutcome> {
  try {
    await action();
  } catch (e) {
    if (notDone(e)) {
      return {
        host: host.name,
        status: 'failed',
        error: messageOf(e),
        unreachable: true,
        deferred: `pending: ${done} in its window when it answers again`,
      };
    }
    deps.store.dropPending(host.name);
    throw e;
  }
  deps.store.dropPending(host.name);
  return { host: host.name, status: 'ok', restarted: true };
}

/** What `status`, `pending` and the App Home say of a host's pending work. */
export function describePending(w: PendingWork, host?: HostSpec): string {
  const what =
    w.verb === 'restart'
      ? 'the restart of its display manager'
      : w.verb === 'reboot'
        ? `its reboot${w.restart === 'yes' ? '' : ' (asked of an approver then)'}`
        : 'its activation';
  const why =
    w.reason === 'window'
      ? `${what} waits for the window${w.opensAt ? `, next opening ${describeInstant(w.opensAt, host?.policy?.timezone ?? 'UTC')}` : ''}`
      : 'it did not answer; brought up to date when it answers again';
  return `pending since ${w.since.toISOString()} (run ${w.runId}): ${why}`;
}

/** A pending host looked at: due now, or why not yet. */
export type PendingCheck =
  | { readonly work: PendingWork; readonly host: HostSpec; readonly due: true }
  | {
      readonly work: PendingWork;
      readonly host: HostSpec | undefined;
      readonly due: false;
      readonly why: string;
    };

/**
 * Which pending hosts are due: inside their window, not busy with another run, and answering (probed once).
 * A host no longer in the configuration has its pending work dropped.
 */
export async function checkPending(deps: EngineDeps, actor: Actor): Promise<PendingCheck[]> {
  const access = hostAccess(deps, null, actor);
  // A run whose process died holds nothing: its hosts are freed before deciding who is busy.
  deps.store.recoverDeadRuns(deps.now());
  const held = new Set(deps.store.heldLocks().map((l) => l.host));
  return Promise.all(
    deps.store.pendingWork().map(async (work): Promise<PendingCheck> => {
      const host = deps.hosts.find((h) => h.name === work.host);
      if (host === undefined) {
        await dropPendingWork(deps, work.host);
        return { work, host, due: false, why: 'no longer in the configuration; dropped' };
      }
      const wait = windowClosed(deps, host);
      if (wait !== null) return { work, host, due: false, why: wait.text };
      if (held.has(host.name)) return { work, host, due: false, why: 'busy with another run' };
      try {
        await access.probe(host);
      } catch (e) {
        return { work, host, due: false, why: `still unreachable: ${messageOf(e)}` };
      }
      return { work, host, due: true };
    }),
  );
}

/** The build of a pending system, read back from the builder that kept it. */
export async function pendingBuild(
  deps: EngineDeps,
  work: PendingWork & { toplevel: string },
): Promise<Built> {
  const closure = await deps.builder.closure([work.toplevel]);
  return { host: work.host, toplevel: work.toplevel, closure };
}

/** What became of one pending host when pending work was run. */
export interface CatchUp {
  readonly host: string;
  readonly reason: PendingReason;
  /** The run that brought it up to date (or tried to); absent when it was not due. */
  readonly run?: RunResult;
  /** Why it was not run now, or why its run could not start. */
  readonly why?: string;
}

/**
 * Runs each due host's pending work with `deploy` (a pending restart or reboot, which brings no system, with
 * `restart`), one host at a time (catch-ups are rare and small).
 */
export async function catchUps(
  deps: EngineDeps,
  askerFor: (work: PendingWork) => Asker,
  deploy: (work: PendingWork, host: HostSpec, built: Built, asker: Asker) => Promise<RunResult>,
  restart: (work: PendingWork, host: HostSpec, asker: Asker) => Promise<RunResult>,
): Promise<CatchUp[]> {
  const out: CatchUp[] = [];
  for (const check of await checkPending(deps, { kind: 'schedule', job: 'pending' })) {
    const { work } = check;
    if (!check.due) {
      out.push({ host: work.host, reason: work.reason, why: check.why });
      continue;
    }
    if (work.toplevel === null) {
      try {
        out.push({
          host: work.host,
          reason: work.reason,
          run: await restart(work, check.host, askerFor(work)),
        });
      } catch (e) {
        out.push({ host: work.host, reason: work.reason, why: messageOf(e) });
      }
      continue;
    }
    let built: Built;
    try {
      built = await pendingBuild(deps, { ...work, toplevel: work.toplevel });
    } catch (e) {
      await dropPendingWork(deps, work.host);
      out.push({
        host: work.host,
        reason: work.reason,
        why: `the builder no longer holds ${work.toplevel} (${messageOf(e)}); dropped: deploy it again`,
      });
      continue;
    }
    try {
      const run = await deploy(work, check.host, built, askerFor(work));
      out.push({ host: work.host, reason: work.reason, run });
    } catch (e) {
      // Refused before it ran (a host taken meanwhile): still pending, tried again at the next tick.
      out.push({ host: work.host, reason: work.reason, why: messageOf(e) });
    }
  }
  return out;
}
