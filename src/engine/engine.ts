// The engine every front end shares: one method per use case, each taking who asks and where progress goes.
// Verbs in commands/ call these; Slack, the terminal and the schedule only render what comes back.
import type { Actor, ProgressSink } from '../core/events.ts';
import type { ApprovalRecord, Decision, PendingWork, RunOptions, RunStatus } from '../core/ports/state.ts';
import type { Revision } from '../core/revision.ts';
import { resolveTargets } from '../core/targets.ts';
import type { HostSpec } from '../core/types.ts';
import { refuseUpFront } from './approval-rules.ts';
import { buildHost } from './build.ts';
import {
  type CancelReport,
  type CancelTarget,
  droppedPendingReport,
  hasRunGoingOn,
  progressOf,
  requestCancel,
  waitForEnd,
  withdrawQuestions,
} from './cancel.ts';
import type { EngineDeps } from './deps.ts';
import { EngineError, NotApprover, StateError } from './errors.ts';
import { type OverlapResult, type OverlapSource, overlapOf } from './overlap.ts';
import { type CatchUp, catchUps, dropPendingWork, pendUnreachable } from './pending.ts';
import { failedOutcome, type HostOutcome, type RestartPolicy, runPipeline, type Until } from './pipeline.ts';
import { afterStage } from './reboot.ts';
import { rebootAtWindow, rebootWhenDue } from './reboot-at-window.ts';
import { afterChange, decideRestart, expireRestarts, type RestartDecision, runStatusNow } from './restart.ts';
import {
  type NextWindowDecision,
  nextWindowField,
  restartAtNextWindow,
  restartPending,
  restartWhenDue,
} from './restart-at-window.ts';
import { revisionFor } from './revision.ts';
import { rollout } from './rollout.ts';
import { actorName, openRun, type RunScope } from './run-scope.ts';
import { type Screenshot, takeScreenshot } from './screenshot.ts';
import { type Settled, settleActivations } from './settle.ts';
import { type HostStatusRow, statusOf } from './status.ts';
import { rollbackHost } from './switch.ts';
import { auditOverride, outsideWindow, windowClosed } from './window-gate.ts';

export interface Asker {
  readonly actor: Actor;
  readonly onEvent: ProgressSink;
  readonly signal?: AbortSignal;
}

export interface RunResult {
  readonly runId: string;
  readonly verb: string;
  readonly status: Exclude<RunStatus, 'running'>;
  readonly hosts: readonly HostOutcome[];
  readonly canaries: readonly string[];
  readonly lanBytes: number;
  readonly uplinkBytes: number;
  /** The fleet revision the run built from; null for runs that build nothing (rollback, restart). */
  readonly revision: Revision | null;
  /** Who cancelled the run, when it was cancelled. */
  readonly cancelledBy?: Actor;
}

/** `--ref`: a branch, tag or commit of the fleet flake; absent, the default branch head. */
export interface RefOption {
  readonly ref?: string | null;
}

/** `--now`: activate and restart outside the hosts' maintenance windows (approvers only). */
export interface NowOption {
  readonly ignoreWindow?: boolean;
}

export interface Engine {
  readonly hosts: readonly HostSpec[];
  resolve(selectors: readonly string[]): HostSpec[];
  build(selectors: readonly string[], asker: Asker, opts?: RefOption): Promise<RunResult>;
  /** plan, copy, switch and deploy: the pipeline run until a stage. */
  deploy(
    selectors: readonly string[],
    opts: { until: Until; restart: RestartPolicy } & RefOption & NowOption,
    asker: Asker,
  ): Promise<RunResult>;
  rollback(selectors: readonly string[], opts: { restart: RestartPolicy }, asker: Asker): Promise<RunResult>;
  restart(
    selectors: readonly string[],
    opts: { restart: Exclude<RestartPolicy, 'no'> } & NowOption,
    asker: Asker,
  ): Promise<RunResult>;
  /** Work pending per host (unreachable, or waiting for its window), oldest first. */
  pending(): readonly PendingWork[];
  /** Drops a host's pending work (the `cancel` verb); what was dropped, if anything. */
  dropPending(host: string): Promise<PendingWork | undefined>;
  /**
   * Runs the pending work that is due (window open, host answering), each host in a run of its own with
   * the asker `askerFor` gives it; says of every pending host what became of it.
   */
  runPending(askerFor: (work: PendingWork) => Asker, opts: { canAsk: boolean }): Promise<readonly CatchUp[]>;
  /** Reboots hosts after an approver says yes (or `yes` up front): into a staged system, or what they boot. */
  reboot(
    selectors: readonly string[],
    opts: { reboot: Exclude<RestartPolicy, 'no'>; ignoreWindow?: boolean },
    asker: Asker,
  ): Promise<RunResult>;
  decide(approvalId: string, decision: Decision, asker: Asker): Promise<RestartDecision>;
  /** "At the next window": approves the question's restart (or reboot) for the host's next maintenance window. */
  restartAtNextWindow(approvalId: string, asker: Asker): Promise<NextWindowDecision>;
  /**
   * What a question about `host` says of its maintenance window now ("Mon-Fri 22:00-06:00, next opening …"),
   * for its "At the next window" button; undefined for a host without windows (no such button).
   */
  nextWindowOf(host: string): string | undefined;
  expire(onEvent: ProgressSink): readonly ApprovalRecord[];
  status(selectors: readonly string[], asker: Asker): Promise<readonly HostStatusRow[]>;
  overlap(
    selectors: readonly string[],
    of: OverlapSource,
    asker: Asker,
    opts?: RefOption,
  ): Promise<OverlapResult>;
  /** At start: looks at the hosts of activations a stopped process left open, and says how each ended. */
  settleActivations(actor: Actor): Promise<readonly Settled[]>;
  /** What the host's screen shows, from its screenshot command. */
  screenshot(host: string, asker: Asker): Promise<Screenshot>;
  /**
   * Asks a run to stop at its next safe point (whichever process runs it), then waits up to `waitMs` for it
   * to end and reports what each host got done.
   */
  cancel(target: CancelTarget, asker: Asker, opts?: { readonly waitMs?: number }): Promise<CancelReport>;
}

/** How long `cancel` waits for the run to reach its safe point before answering. */
export const CANCEL_WAIT_MS = 120_000;

const VERB_BY_UNTIL: Record<Until, string> = {
  plan: 'plan',
  copy: 'copy',
  switch: 'switch',
  restart: 'deploy',
};

export function createEngine(deps: EngineDeps): Engine {
  const resolve = (selectors: readonly string[]) => resolveTargets(selectors, deps.hosts);

  // Answers to the questions of one run are carried out one at a time, so the run's status is settled from
  // what the state database says once each answer has taken effect.
  const perRun = new Map<string, Promise<unknown>>();
  function oneAtATime<T>(runId: string, work: () => Promise<T>): Promise<T> {
    const previous = perRun.get(runId) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => {});
    perRun.set(runId, settled);
    void settled.then(() => {
      if (perRun.get(runId) === settled) perRun.delete(runId);
    });
    return next;
  }

  /** `--now` overrides a maintenance window: an approver's call (whoever runs the terminal counts as one). */
  async function ensureMayOverride(ignoreWindow: boolean | undefined, asker: Asker): Promise<void> {
    if (ignoreWindow && !(await deps.mayApprove(asker.actor))) {
      throw new NotApprover(
        `${actorName(asker.actor)} may not use --now (only approvers may change screens outside their maintenance window)`,
        'leave out --now: the change waits for the window, or ask an approver',
      );
    }
  }

  /** A restart approved up front (a terminal flag) needs someone who may approve restarts, alone. */
  async function ensureMayRestart(
    policy: RestartPolicy,
    asker: Asker,
    targets: readonly HostSpec[],
  ): Promise<void> {
    if (policy === 'yes') refuseUpFront(deps, targets);
    if (policy === 'yes' && !(await deps.mayApprove(asker.actor))) {
      throw new NotApprover(
        `${actorName(asker.actor)} may not approve restarts`,
        'leave the restart to an approver (ask, do not pass --restart)',
      );
    }
  }

  /** Runs `work` in a run, and ends the run with a status that says what happened. */
  async function inRun(
    verb: string,
    targets: readonly HostSpec[],
    asker: Asker,
    lock: boolean,
    work: (scope: RunScope) => Promise<{ hosts: readonly HostOutcome[]; canaries?: readonly string[] }>,
    revision?: Revision,
    options?: RunOptions,
  ): Promise<RunResult> {
    // A question whose time is up must not keep its hosts locked, even where no schedule sweeps them (a
    // terminal without the Slack bot): sweep before taking locks.
    if (lock) expireRestarts(deps, asker.onEvent);
    const scope = openRun(deps, {
      verb,
      hosts: targets.map((t) => t.name),
      actor: asker.actor,
      onEvent: asker.onEvent,
      ...(asker.signal ? { signal: asker.signal } : {}),
      lock,
      ...(revision ? { revision } : {}),
      ...(options ? { options } : {}),
    });
    let hosts: readonly HostOutcome[] = [];
    let canaries: readonly string[] = [];
    try {
      const done = await work(scope);
      hosts = done.hosts;
      canaries = done.canaries ?? [];
    } catch (e) {
      hosts = targets.map((t) => failedOutcome(t.name, e));
    }
    // Questions may have been answered, or may have expired, while other hosts were still working.
    // Cancelled: questions still open go (in the canceller's name), and the run ends cancelled, never ok.
    const cancel = scope.cancelRequest();
    if (cancel) withdrawQuestions(deps, scope, cancel.by);
    hosts = hosts.map((h) => answered(h));
    const failed = hosts.some((h) => h.status === 'failed');
    const settled = runStatusNow(deps, scope.runId, failed);
    // Stopped at a safe point on request: recorded as interrupted (its locks freed), unless a question is open.
    const status: Exclude<RunStatus, 'running'> = cancel
      ? 'cancelled'
      : settled !== 'awaiting-approval' && hosts.some((h) => h.interrupted)
        ? 'interrupted'
        : settled;
    const lanBytes = hosts.reduce((s, h) => s + (h.copy?.lanBytes ?? 0), 0);
    const uplinkBytes = hosts.reduce((s, h) => s + (h.copy?.uplinkBytes ?? 0), 0);
    const stateFailure = hosts.find((h) => h.stateFailure);
    try {
      scope.finish(status, {
        failed,
        lanBytes,
        uplinkBytes,
        hosts: hosts.map((h) => ({ host: h.host, status: h.status })),
      });
    } catch (e) {
      throw stateFailure ? new StateError(stateFailure.error ?? '') : new StateError(e);
    }
    // The state database failed under the run: that, not any host, is what the run came to.
    if (stateFailure) throw new StateError(stateFailure.error ?? '');
    return {
      runId: scope.runId,
      verb,
      status,
      hosts,
      canaries,
      lanBytes,
      uplinkBytes,
      revision: revision ?? null,
      ...(cancel ? { cancelledBy: cancel.by } : {}),
    };
  }

  /** A host's outcome with its question's fate, if it was decided or expired meanwhile. */
  function answered(h: HostOutcome): HostOutcome {
    if (h.status !== 'awaiting-approval' || !h.approvalId) return h;
    const approval = deps.store.getApproval(h.approvalId);
    if (!approval || (approval.status === 'pending' && approval.expiresAt > deps.now())) return h;
    return { ...h, status: 'ok', restarted: approval.status === 'approved' && !restartPending(deps, h.host) };
  }

  /** Each host on its own: one failing does not stop the others. */
  function eachHost(
    targets: readonly HostSpec[],
    work: (t: HostSpec) => Promise<HostOutcome>,
  ): Promise<{ hosts: HostOutcome[] }> {
    return Promise.all(
      targets.map(async (t) => {
        try {
          return await work(t);
        } catch (e) {
          return failedOutcome(t.name, e);
        }
      }),
    ).then((hosts) => ({ hosts }));
  }

  return {
    hosts: deps.hosts,
    resolve,

    async build(selectors, asker, opts = {}) {
      const targets = resolve(selectors);
      const revision = await revisionFor(deps, opts.ref ?? null, targets, asker, false);
      return inRun(
        'build',
        targets,
        asker,
        false,
        (scope) =>
          eachHost(targets, async (t) => {
            const built = await buildHost(deps, scope, t);
            return { host: t.name, status: 'ok', toplevel: built.toplevel };
          }),
        revision,
      );
    },

    async deploy(selectors, opts, asker) {
      const targets = resolve(selectors);
      await ensureMayRestart(opts.restart, asker, targets);
      await ensureMayOverride(opts.ignoreWindow, asker);
      const verb = VERB_BY_UNTIL[opts.until];
      // Planning changes nothing, so it needs no lock; everything after it does.
      const changes = opts.until !== 'plan';
      const revision = await revisionFor(deps, opts.ref ?? null, targets, asker, changes);
      return inRun(
        verb,
        targets,
        asker,
        changes,
        async (scope) => {
          const done = await rollout(deps, scope, targets, opts);
          return { ...done, hosts: await pendUnreachable(deps, scope, targets, opts, done.hosts) };
        },
        revision,
        { until: opts.until, restart: opts.restart, ref: opts.ref ?? null },
      );
    },

    async rollback(selectors, opts, asker) {
      const targets = resolve(selectors);
      await ensureMayRestart(opts.restart, asker, targets);
      return inRun(
        'rollback',
        targets,
        asker,
        true,
        (scope) =>
          eachHost(targets, async (t) => {
            const rolled = await rollbackHost(deps, scope, t);
            const base: HostOutcome = {
              host: t.name,
              status: 'ok',
              toplevel: rolled.to,
              switched: { previous: rolled.from, changed: true },
            };
            // Another kernel: staged for the next boot, then the reboot question, as a deploy's would be.
            if (rolled.reboot)
              return afterStage(deps, scope, t, opts.restart, {
                ...base,
                reboot: { reasons: rolled.reboot.reasons, end: 'boot-pending' },
              });
            return afterChange(deps, scope, t, opts.restart, base);
          }),
        undefined,
        { restart: opts.restart },
      );
    },

    async restart(selectors, opts, asker) {
      const targets = resolve(selectors);
      await ensureMayRestart(opts.restart, asker, targets);
      await ensureMayOverride(opts.ignoreWindow, asker);
      return inRun('restart', targets, asker, true, (scope) =>
        eachHost(targets, (t) => {
          const refused = outsideWindow(deps, scope, t, 'the restart', opts.ignoreWindow);
          return refused
            ? Promise.resolve(refused)
            : afterChange(deps, scope, t, opts.restart, { host: t.name, status: 'ok' });
        }),
      );
    },

    pending: () => deps.store.pendingWork(),
    dropPending: (host) => dropPendingWork(deps, host),
    runPending: (askerFor, opts) =>
      catchUps(
        deps,
        askerFor,
        async (work, host, built, asker) => {
          const until = work.verb === 'switch' ? 'switch' : 'restart';
          // A restart to ask about where nobody can be asked is left alone, as any deploy would.
          const restart = work.restart === 'ask' && !opts.canAsk ? 'no' : work.restart;
          const pipelineOpts = { until, restart, built } as const;
          return inRun(
            work.verb,
            [host],
            asker,
            true,
            async (scope) => {
              const done = await runPipeline(deps, scope, host, pipelineOpts);
              return { hosts: await pendUnreachable(deps, scope, [host], pipelineOpts, [done]) };
            },
            work.revision ?? undefined,
          );
        },
        (work, host, asker) =>
          inRun(work.verb, [host], asker, true, async (scope) => ({
            hosts: [
              work.verb === 'reboot'
                ? await rebootWhenDue(deps, scope, host, work, opts.canAsk)
                : await restartWhenDue(deps, scope, host, work),
            ],
          })),
      ),

    restartAtNextWindow(approvalId, asker) {
      const runId = deps.store.getApproval(approvalId)?.runId ?? `unknown:${approvalId}`;
      return oneAtATime(runId, () => restartAtNextWindow(deps, approvalId, asker.actor, asker.onEvent));
    },
    nextWindowOf(host) {
      const spec = deps.hosts.find((h) => h.name === host);
      return spec === undefined ? undefined : nextWindowField(deps, spec).nextWindow;
    },
    async reboot(selectors, opts, asker) {
      const targets = resolve(selectors);
      await ensureMayRestart(opts.reboot, asker, targets);
      await ensureMayOverride(opts.ignoreWindow, asker);
      return inRun('reboot', targets, asker, true, (scope) =>
        eachHost(targets, (t) => {
          // Outside the window the reboot is recorded for it (not refused); --now goes ahead, audited.
          const wait = windowClosed(deps, t, 'the reboot');
          if (wait !== null && !opts.ignoreWindow)
            return Promise.resolve(rebootAtWindow(deps, scope, t, wait, opts.reboot));
          if (wait !== null) auditOverride(deps, scope, t, wait, 'the reboot');
          return afterStage(deps, scope, t, opts.reboot, { host: t.name, status: 'ok' });
        }),
      );
    },

    decide(approvalId, decision, asker) {
      const runId = deps.store.getApproval(approvalId)?.runId ?? `unknown:${approvalId}`;
      return oneAtATime(runId, () => decideRestart(deps, approvalId, decision, asker.actor, asker.onEvent));
    },
    expire: (onEvent) => expireRestarts(deps, onEvent),
    status: (selectors, asker) =>
      statusOf(deps, selectors.length === 0 ? deps.hosts : resolve(selectors), asker),
    async overlap(selectors, of, asker, opts = {}) {
      const targets = resolve(selectors);
      // Only new builds have a revision; what hosts run now is whatever they run.
      const revision =
        of === 'running' ? undefined : await revisionFor(deps, opts.ref ?? null, targets, asker, false);
      return overlapOf(deps, targets, of, asker, revision);
    },
    settleActivations: (actor) => settleActivations(deps, actor),
    async screenshot(host, asker) {
      const [target] = resolve([host]);
      if (target === undefined) throw new EngineError(`no host ${host}`);
      return takeScreenshot(deps, target, asker);
    },
    async cancel(target, asker, opts = {}) {
      // Nothing running for the host: what waits for it (a catch-up, the window) is what is meant.
      if ('host' in target && !hasRunGoingOn(deps, target.host)) {
        const dropped = await dropPendingWork(deps, target.host);
        if (dropped !== undefined) return droppedPendingReport(deps, dropped, asker.actor);
      }
      const asked = requestCancel(deps, target, asker.actor, asker.onEvent);
      const run = await waitForEnd(deps, asked.runId, opts.waitMs ?? CANCEL_WAIT_MS, asker.signal);
      if (run === undefined) throw new StateError(`run ${asked.runId} vanished from the state database`);
      return { ...asked, status: run.status, hosts: progressOf(deps, run) };
    },
  };
}
