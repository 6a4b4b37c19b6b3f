// Cancelling a run, from any process that shares the state database. The request is recorded on the run;
// the process running it notices at its next safe point (a poll of the database, or at once through the
// abort signal when it is the same process) and stops there: never in the middle of an activation, copies
// cut short (Nix registers a path only once it is whole, so a partial copy leaves nothing behind). A run
// that only waits for its restart questions is ended here and now: the questions are withdrawn.
import type { Actor, ProgressSink } from '../core/events.ts';
import type { PendingWork, RunRecord, StageRecord } from '../core/ports/state.ts';
import { CANCEL_POLL_MS } from './cancel-watch.ts';
import type { EngineDeps } from './deps.ts';
import { EngineError } from './errors.ts';
import { describePending } from './pending.ts';
import { actorName, joinRun, type RunScope } from './run-scope.ts';

/** A cancel that cannot be done: an unknown run, one that already ended, a host with nothing running. */
export class CancelRefused extends EngineError {
  override readonly name = 'CancelRefused';
}

/** `cancel RUN` or `cancel HOST`: a run id, or a host whose running run is meant. */
export type CancelTarget = { readonly runId: string } | { readonly host: string };

export interface HostProgressReport {
  readonly host: string;
  /** Stages that ended ok or with nothing to do, in order. */
  readonly done: readonly string[];
  /** What was not done: stages cut short, skipped or never reached. */
  readonly notDone: string | null;
}

export interface CancelReport {
  readonly runId: string;
  readonly verb: string;
  readonly runBy: Actor;
  readonly requestedBy: Actor;
  /** This request, or one made before it (by `requestedBy`). */
  readonly first: boolean;
  /** The run's status when the report was made: `running` while it still stops. */
  readonly status: RunRecord['status'];
  readonly hosts: readonly HostProgressReport[];
  /** Restart questions withdrawn by this cancel. */
  readonly withdrawn: readonly string[];
  /**
   * `cancel HOST` for a host with no run going on but pending work (a catch-up, an activation or a restart
   * waiting for its window): that work, dropped. `runId` is then the run that left it pending.
   */
  readonly droppedPending?: string;
}

/** Whether the host has a run going on (one `cancel HOST` would stop). */
export function hasRunGoingOn(deps: EngineDeps, host: string): boolean {
  return deps.store
    .recentRuns({ host, limit: 50 })
    .some((r) => r.status === 'running' || r.status === 'awaiting-approval');
}

/** Which run a cancel means: the run id as given, or the one run that is going on for the host. */
export function runToCancel(deps: EngineDeps, target: CancelTarget): string {
  if ('runId' in target) return target.runId;
  const going = deps.store
    .recentRuns({ host: target.host, limit: 50 })
    .filter((r) => r.status === 'running' || r.status === 'awaiting-approval');
  if (going.length === 0) {
    throw new CancelRefused(
      `${target.host} has no run going on`,
      `check it with \`status ${target.host}\`; a finished run cannot be cancelled`,
    );
  }
  if (going.length > 1) {
    throw new CancelRefused(
      `${target.host} has ${going.length} runs going on (${going.map((r) => `${r.verb} ${r.id}`).join(', ')})`,
      'name the run to cancel by its id',
    );
  }
  return going[0]!.id;
}

/**
 * Records the request (audited, once per host of the run) and, for a run that only waits for its questions,
 * withdraws them and ends it. A run still working ends by itself at its next safe point.
 */
export function requestCancel(
  deps: EngineDeps,
  target: CancelTarget,
  actor: Actor,
  onEvent: ProgressSink,
): Omit<CancelReport, 'status' | 'hosts'> {
  // A run whose process died is not going on, whatever its row says: it is marked interrupted first.
  deps.store.recoverDeadRuns(deps.now());
  const runId = runToCancel(deps, target);
  const now = deps.now();
  const result = deps.store.requestCancel(runId, actor, now);
  switch (result.kind) {
    case 'unknown':
      throw new CancelRefused(
        `there is no run ${runId}`,
        'run ids are in the run messages and in `status`; or name the host whose run to cancel',
      );
    case 'finished':
      throw new CancelRefused(
        `run ${runId} (${result.run.verb} ${result.run.hosts.join(' ')}) already ended: ${result.run.status}`,
        'a finished run cannot be cancelled; `rollback` switches a host back to its previous system',
      );
    case 'already-requested':
      return {
        runId,
        verb: result.run.verb,
        runBy: result.run.actor,
        requestedBy: result.run.cancelRequest?.by ?? actor,
        first: false,
        withdrawn: [],
      };
    case 'requested':
      break;
  }
  const run = result.run;
  for (const host of run.hosts) {
    deps.store.audit({
      at: now,
      runId,
      host,
      actor,
      argv: ['(cancel requested)', runId],
      exitCode: 0,
      durationMs: 0,
    });
  }
  let withdrawn: readonly string[] = [];
  if (run.status === 'awaiting-approval') {
    // Nobody is working on it: its questions are all that is left, and they go.
    const scope = joinRun(deps, runId, actor, onEvent);
    if (scope) {
      withdrawn = withdrawQuestions(deps, scope, actor);
      scope.finish('cancelled');
    }
  }
  return { runId, verb: run.verb, runBy: run.actor, requestedBy: actor, first: true, withdrawn };
}

/** Declines the run's open restart questions in the canceller's name; returns their hosts. */
export function withdrawQuestions(deps: EngineDeps, scope: RunScope, by: Actor): string[] {
  const now = deps.now();
  const hosts: string[] = [];
  for (const q of deps.store.pendingApprovals()) {
    if (q.runId !== scope.runId) continue;
    const decided = deps.store.decideApproval(q.id, 'denied', by, now);
    if (decided.kind !== 'decided') continue;
    scope.skip(q.host, 'restart', `the run was cancelled by ${actorName(by)}`);
    hosts.push(q.host);
  }
  return hosts;
}

/** Waits (bounded) for the run to end, looking in the state database: it may run in another process. */
export async function waitForEnd(
  deps: EngineDeps,
  runId: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<RunRecord | undefined> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const run = deps.store.getRun(runId);
    if (run === undefined || (run.status !== 'running' && run.status !== 'awaiting-approval')) return run;
    if (Date.now() >= until || signal?.aborted) return run;
    await new Promise((resolve) => setTimeout(resolve, Math.min(CANCEL_POLL_MS / 2, until - Date.now())));
  }
}

/** What each host of the run got done, and what it did not, from the stages the run recorded. */
export function progressOf(deps: EngineDeps, run: RunRecord): HostProgressReport[] {
  const stages = deps.store.stagesOf(run.id);
  return run.hosts.map((host) =>
    hostProgress(
      host,
      stages.filter((s) => s.host === host),
    ),
  );
}

function hostProgress(host: string, stages: readonly StageRecord[]): HostProgressReport {
  const done = stages.filter((s) => s.status === 'ok' || s.status === 'noop').map((s) => s.stage);
  const stopped = stages.find((s) => s.status === 'failed' || s.status === 'interrupted');
  const skipped = stages.filter((s) => s.status === 'skipped');
  const running = stages.find((s) => s.status === 'running');
  let notDone: string | null = null;
  if (running) notDone = `the ${running.stage} stage is still running`;
  else if (stopped) notDone = `${stopped.stage}: ${stopped.detail ?? stopped.status}`;
  else if (skipped.length > 0)
    notDone = skipped.map((s) => `${s.stage} (${s.detail ?? 'skipped'})`).join(', ');
  else if (stages.length === 0) notDone = 'nothing was started';
  return { host, done, notDone };
}

/**
 * `cancel HOST` where the host has pending work and nothing running: the work was dropped (its kept system
 * released); audited like any cancel, and reported as the run that left it pending, now cancelled for it.
 */
export function droppedPendingReport(deps: EngineDeps, work: PendingWork, by: Actor): CancelReport {
  const host = deps.hosts.find((h) => h.name === work.host);
  const what = describePending(work, host);
  deps.store.audit({
    at: deps.now(),
    runId: work.runId,
    host: work.host,
    actor: by,
    argv: ['signage', 'cancel', work.host, `(pending ${work.verb}: ${work.reason})`],
    exitCode: 0,
    durationMs: 0,
  });
  return {
    runId: work.runId,
    verb: `pending ${work.verb}`,
    runBy: work.requestedBy,
    requestedBy: by,
    first: true,
    status: 'cancelled',
    hosts: [{ host: work.host, done: [], notDone: `its pending work was dropped (${what})` }],
    withdrawn: [],
    droppedPending: what,
  };
}
