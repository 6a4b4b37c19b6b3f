// The deploy pipeline for one host, shared by every front end and by fleet rollouts: build, plan, copy,
// switch, ask for the restart, restart. Verbs stop it early: `plan` after planning, `copy` after copying,
// `switch` after switching.
import { keepStagedCommand } from '../core/activation.ts';
import type { BootTerminal, Terminal } from '../core/activation-sequence.ts';
import type { PlanSummary } from '../core/events.ts';
import { summary } from '../core/planner.ts';
import type { HostSpec, StorePath } from '../core/types.ts';
import { type Built, buildHost } from './build.ts';
import { type CopyResult, copyPlan } from './copy.ts';
import type { EngineDeps } from './deps.ts';
import { hintOf, Interrupted, messageOf, StateError } from './errors.ts';
import { planHost } from './plan-host.ts';
import { afterStage } from './reboot.ts';
import { plannedRebootOf } from './reboot-need.ts';
import { afterChange } from './restart.ts';
import type { RunScope } from './run-scope.ts';
import { ActivationFailed, switchHost } from './switch.ts';

export type Until = 'plan' | 'copy' | 'switch' | 'restart';

/** What to do about the restart once switched: ask a person, restart (already approved), or leave it. */
export type RestartPolicy = 'ask' | 'yes' | 'no';

export interface PipelineOptions {
  readonly until: Until;
  readonly restart: RestartPolicy;
  /** A build done beforehand (fleet rollouts build every host first). */
  readonly built?: Built;
}

export type HostStatus = 'ok' | 'noop' | 'failed' | 'awaiting-approval' | 'skipped';

export interface HostOutcome {
  readonly host: string;
  readonly status: HostStatus;
  readonly toplevel?: StorePath;
  readonly plan?: PlanSummary;
  readonly copy?: CopyResult;
  readonly switched?: { readonly previous: StorePath | null; readonly changed: boolean };
  readonly approvalId?: string;
  readonly restarted?: boolean;
  /** Who answered no to the restart question. */
  readonly restartDeclinedBy?: string;
  readonly error?: string;
  readonly hint?: string;
  /** The new system needs a reboot (why), and how far the reboot got. */
  readonly reboot?: { readonly reasons: readonly string[]; readonly end?: BootTerminal };
  /** A new system that was not confirmed, and how the host got (or gets) back to its previous one. */
  readonly notConfirmed?: Terminal;
  /** Stopped at a safe point by a request to stop (a signal, a closed output, the bot stopping). */
  readonly interrupted?: boolean;
  /** Stopped because the state database could not record a command: the run's failure, not the host's. */
  readonly stateFailure?: boolean;
}

export async function runPipeline(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
  opts: PipelineOptions,
): Promise<HostOutcome> {
  const out: { -readonly [K in keyof HostOutcome]: HostOutcome[K] } = { host: host.name, status: 'ok' };
  try {
    const built = opts.built ?? (await buildHost(deps, scope, host));
    out.toplevel = built.toplevel;
    const p = await planHost(deps, scope, host, built);
    out.plan = summary(p);
    if (opts.until === 'plan') Object.assign(out, await plannedRebootOf(deps, scope, host, built.toplevel));
    if (opts.until === 'plan') return { ...out, status: 'ok' };
    out.copy = await copyPlan(deps, scope, host, built, p);
    if (opts.until === 'copy') {
      await scope.exec(
        host,
        keepStagedCommand({ sudo: host.user !== 'root', systemd: false }, built.toplevel),
      );
      return { ...out, status: p.steps.length === 0 ? 'noop' : 'ok' };
    }
    const switched = await switchHost(deps, scope, host, built.toplevel);
    // Switched: a stop request now ends the run before the restart question, the host left running its new system.
    out.switched = { previous: switched.previous, changed: switched.changed };
    if (switched.reboot) out.reboot = { reasons: switched.reboot.reasons, end: 'boot-pending' };
    if (opts.until === 'switch') return { ...out, status: switched.changed ? 'ok' : 'noop' };
    if (switched.reboot) return await afterStage(deps, scope, host, opts.restart, out);
    if (!switched.changed) {
      scope.skip(host.name, 'restart', 'the running system did not change');
      return { ...out, status: 'noop' };
    }
    return await afterChange(deps, scope, host, opts.restart, out);
  } catch (e) {
    return { ...out, ...failedOutcome(host.name, e) };
  }
}

/** A host's outcome when something went wrong: the message, and what to do next where known. */
export function failedOutcome(host: string, e: unknown): HostOutcome {
  const hint = hintOf(e);
  return {
    host,
    status: 'failed',
    error: messageOf(e),
    ...(hint ? { hint } : {}),
    ...(e instanceof ActivationFailed ? { notConfirmed: e.end } : {}),
    ...(e instanceof Interrupted ? { interrupted: true } : {}),
    ...(e instanceof StateError ? { stateFailure: true } : {}),
  };
}
