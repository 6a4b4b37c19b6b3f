// The engine every front end shares: one method per use case, each taking who asks and where progress goes.
// Verbs in commands/ call these; Slack, the terminal and the schedule only render what comes back.
import type { Actor, ProgressSink } from '../core/events.ts';
import type { ApprovalRecord, Decision, RunStatus } from '../core/ports/state.ts';
import { resolveTargets } from '../core/targets.ts';
import type { HostSpec } from '../core/types.ts';
import { buildHost } from './build.ts';
import type { EngineDeps } from './deps.ts';
import { NotApprover } from './errors.ts';
import { type OverlapResult, type OverlapSource, overlapOf } from './overlap.ts';
import { failedOutcome, type HostOutcome, type RestartPolicy, type Until } from './pipeline.ts';
import {
  askRestart,
  decideRestart,
  expireRestarts,
  type RestartDecision,
  restartApprovedUpFront,
} from './restart.ts';
import { rollout } from './rollout.ts';
import { actorName, openRun, type RunScope } from './run-scope.ts';
import { type HostStatusRow, statusOf } from './status.ts';
import { rollbackHost } from './switch.ts';

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
}

export interface Engine {
  readonly hosts: readonly HostSpec[];
  resolve(selectors: readonly string[]): HostSpec[];
  build(selectors: readonly string[], asker: Asker): Promise<RunResult>;
  /** plan, copy, switch and deploy: the pipeline run until a stage. */
  deploy(
    selectors: readonly string[],
    opts: { until: Until; restart: RestartPolicy },
    asker: Asker,
  ): Promise<RunResult>;
  rollback(selectors: readonly string[], opts: { restart: RestartPolicy }, asker: Asker): Promise<RunResult>;
  restart(
    selectors: readonly string[],
    opts: { restart: Exclude<RestartPolicy, 'no'> },
    asker: Asker,
  ): Promise<RunResult>;
  decide(approvalId: string, decision: Decision, asker: Asker): Promise<RestartDecision>;
  expire(onEvent: ProgressSink): readonly ApprovalRecord[];
  status(selectors: readonly string[], asker: Asker): Promise<readonly HostStatusRow[]>;
  overlap(selectors: readonly string[], of: OverlapSource, asker: Asker): Promise<OverlapResult>;
}

const VERB_BY_UNTIL: Record<Until, string> = {
  plan: 'plan',
  copy: 'copy',
  switch: 'switch',
  restart: 'deploy',
};

export function createEngine(deps: EngineDeps): Engine {
  const resolve = (selectors: readonly string[]) => resolveTargets(selectors, deps.hosts);

  /** A restart approved up front (a terminal flag) needs someone who may approve restarts. */
  async function ensureMayRestart(policy: RestartPolicy, asker: Asker): Promise<void> {
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
  ): Promise<RunResult> {
    const scope = openRun(deps, {
      verb,
      hosts: targets.map((t) => t.name),
      actor: asker.actor,
      onEvent: asker.onEvent,
      ...(asker.signal ? { signal: asker.signal } : {}),
      lock,
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
    const failed = hosts.some((h) => h.status === 'failed');
    const waiting = hosts.some((h) => h.status === 'awaiting-approval');
    // A run with an open question stays open (and keeps its locks) even if another host failed.
    const status = waiting ? 'awaiting-approval' : failed ? 'failed' : 'ok';
    const lanBytes = hosts.reduce((s, h) => s + (h.copy?.lanBytes ?? 0), 0);
    const uplinkBytes = hosts.reduce((s, h) => s + (h.copy?.uplinkBytes ?? 0), 0);
    scope.finish(status, {
      failed,
      lanBytes,
      uplinkBytes,
      hosts: hosts.map((h) => ({ host: h.host, status: h.status })),
    });
    return { runId: scope.runId, verb, status, hosts, canaries, lanBytes, uplinkBytes };
  }

  /** Per host: restart now, leave it, or ask; after a rollback as after a deploy. */
  async function afterChange(
    scope: RunScope,
    t: HostSpec,
    policy: RestartPolicy,
    base: HostOutcome,
  ): Promise<HostOutcome> {
    if (policy === 'no') {
      scope.skip(t.name, 'restart', 'not asked for');
      return base;
    }
    if (policy === 'yes') {
      const approvalId = await restartApprovedUpFront(deps, scope, t);
      return { ...base, approvalId, restarted: true };
    }
    const approval = askRestart(deps, scope, t);
    return { ...base, status: 'awaiting-approval', approvalId: approval.id };
  }

  return {
    hosts: deps.hosts,
    resolve,

    build(selectors, asker) {
      const targets = resolve(selectors);
      return inRun('build', targets, asker, false, async (scope) => ({
        hosts: await Promise.all(
          targets.map(async (t): Promise<HostOutcome> => {
            try {
              const built = await buildHost(deps, scope, t);
              return { host: t.name, status: 'ok', toplevel: built.toplevel };
            } catch (e) {
              return failedOutcome(t.name, e);
            }
          }),
        ),
      }));
    },

    async deploy(selectors, opts, asker) {
      const targets = resolve(selectors);
      await ensureMayRestart(opts.restart, asker);
      const verb = VERB_BY_UNTIL[opts.until];
      // Planning changes nothing, so it needs no lock; everything after it does.
      return inRun(verb, targets, asker, opts.until !== 'plan', (scope) =>
        rollout(deps, scope, targets, opts),
      );
    },

    async rollback(selectors, opts, asker) {
      const targets = resolve(selectors);
      await ensureMayRestart(opts.restart, asker);
      return inRun('rollback', targets, asker, true, async (scope) => ({
        hosts: await Promise.all(
          targets.map(async (t): Promise<HostOutcome> => {
            try {
              const rolled = await rollbackHost(scope, t);
              return await afterChange(scope, t, opts.restart, {
                host: t.name,
                status: 'ok',
                toplevel: rolled.to,
                switched: { previous: rolled.from, changed: true },
              });
            } catch (e) {
              return failedOutcome(t.name, e);
            }
          }),
        ),
      }));
    },

    async restart(selectors, opts, asker) {
      const targets = resolve(selectors);
      await ensureMayRestart(opts.restart, asker);
      return inRun('restart', targets, asker, true, async (scope) => ({
        hosts: await Promise.all(
          targets.map(async (t): Promise<HostOutcome> => {
            try {
              return await afterChange(scope, t, opts.restart, { host: t.name, status: 'ok' });
            } catch (e) {
              return failedOutcome(t.name, e);
            }
          }),
        ),
      }));
    },

    decide: (approvalId, decision, asker) =>
      decideRestart(deps, approvalId, decision, asker.actor, asker.onEvent),
    expire: (onEvent) => expireRestarts(deps, onEvent),
    status: (selectors, asker) =>
      statusOf(deps, selectors.length === 0 ? deps.hosts : resolve(selectors), asker),
    overlap: (selectors, of, asker) => overlapOf(deps, resolve(selectors), of, asker),
  };
}
