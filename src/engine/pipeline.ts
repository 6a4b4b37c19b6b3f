// The deploy pipeline's pieces for one host, which rollouts (rollout.ts) walk phase by phase: build, plan and
// copy (copyTarget), then switch, ask for the restart, restart (activateTarget). Verbs stop it early: `plan`
// after planning, `copy` after copying, `switch` after switching.
import { keepStagedCommand } from '../core/activation.ts';
import type { BootTerminal, Terminal } from '../core/activation-sequence.ts';
import type { DiffOutcome } from '../core/closure-diff.ts';
import type { PlanSummary } from '../core/events.ts';
import type { HostFacts } from '../core/host-facts.ts';
import { summary } from '../core/planner.ts';
import type { HostSpec, StorePath } from '../core/types.ts';
import { type Built, buildHost } from './build.ts';
import { planWithDiff } from './closure-diff.ts';
import { type CopyResult, copyPlan } from './copy.ts';
import type { EngineDeps } from './deps.ts';
import { EngineError, hintOf, Interrupted, messageOf, StateError } from './errors.ts';
import { type SiteHoldings, siteHosts, takeSnapshot } from './holdings.ts';
import { afterStage } from './reboot.ts';
import { plannedRebootOf } from './reboot-need.ts';
import { afterChange } from './restart.ts';
import type { RunScope } from './run-scope.ts';
import { ActivationFailed, switchHost } from './switch.ts';
import { systemsSeen } from './uplink-deltas.ts';
import { measureUplink } from './uplink-measure.ts';
import { gateActivation, isUnreachable } from './window-gate.ts';

export type Until = 'plan' | 'copy' | 'switch' | 'restart';

/** What to do about the restart once switched: ask a person, restart (already approved), or leave it. */
export type RestartPolicy = 'ask' | 'yes' | 'no';

export interface PipelineOptions {
  readonly until: Until;
  readonly restart: RestartPolicy;
  /** A build done beforehand (fleet rollouts build every host first). */
  readonly built?: Built;
  /** `--now`: activate and restart outside the host's maintenance window (an approver's call). */
  readonly ignoreWindow?: boolean;
}

/** `pending`: copied, its activation waits for the host's window (src/engine/window-gate.ts). */
export type HostStatus = 'ok' | 'noop' | 'failed' | 'awaiting-approval' | 'skipped' | 'pending';

export interface HostOutcome {
  readonly host: string;
  readonly status: HostStatus;
  readonly toplevel?: StorePath;
  readonly plan?: PlanSummary;
  /** What the deploy changes on the host: packages added, removed, upgraded, downgraded, and sizes. */
  readonly diff?: DiffOutcome;
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
  /** The host did not answer: its system is pending until it does (src/engine/pending.ts). */
  readonly unreachable?: boolean;
  /** What waits and until when, for a host left pending: "copied; activation waits for the window …". */
  readonly deferred?: string;
}

export type MutableOutcome = { -readonly [K in keyof HostOutcome]: HostOutcome[K] };

/**
 * One host on its own: build, one holdings snapshot of its site (each host asked once), plan, copy, activate.
 * The degenerate case of a rollout (rollout.ts), for callers that deploy one host.
 */
export async function runPipeline(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
  opts: PipelineOptions,
): Promise<HostOutcome> {
  const out: MutableOutcome = { host: host.name, status: 'ok' };
  try {
    const built = opts.built ?? (await buildHost(deps, scope, host));
    out.toplevel = built.toplevel;
    const closures = new Map([[host.name, closurePaths(built)]]);
    const known = await takeSnapshot(deps, scope, siteHosts(deps, host.site), closures, [built]);
    const own = known.snapshot.heldBy(host.name);
    if (!own) throw known.unreachable.get(host.name) ?? new EngineError(`${host.name} did not answer`);
    // Nothing has happened since the snapshot: the target's answer in it is its check before the copy.
    await copyTarget(deps, scope, host, built, opts.until, known, async () => own, out);
    if (opts.until === 'plan' || opts.until === 'copy') return out;
    return await activateTarget(deps, scope, host, built, opts, out, opts.until, known.facts.get(host.name));
  } catch (e) {
    return { ...out, ...failedOutcome(host.name, e) };
  }
}

export function closurePaths(built: Built): StorePath[] {
  return built.closure.map((p) => p.path);
}

/**
 * The plan and copy of one target, from the rollout's snapshot: `own` says what the target holds now (asked
 * right before the copy, or the snapshot's answer when nothing can have changed it since). A failed peer
 * makes the target be asked again (its copy may be half done) and the peer be doubted. Ends at `plan`; what
 * was copied is kept from the target's garbage collector until its switch. Fills `out`; throws on failure.
 */
export async function copyTarget(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
  built: Built,
  until: Until,
  known: SiteHoldings,
  own: () => Promise<ReadonlySet<StorePath>>,
  out: MutableOutcome,
): Promise<void> {
  out.toplevel = built.toplevel;
  const { plan: p, diff } = await planWithDiff(
    deps,
    scope,
    host,
    built,
    async () => known.planFor(deps, host, built, await own()),
    known.facts.get(host.name),
  );
  out.diff = diff;
  out.plan = summary(p);
  if (until === 'plan') Object.assign(out, await plannedRebootOf(deps, scope, host, built.toplevel));
  if (until === 'plan')
    out.plan = {
      ...out.plan,
      ...(await measureUplink(deps, scope, host, built, p, systemsSeen(known, host.name))),
    };
  if (until === 'plan') return;
  const replan = async (without: ReadonlySet<string>) => {
    for (const peer of without) known.peerFailed(peer);
    const now = await known.askAgain(host, closurePaths(built));
    return known.planFor(deps, host, built, now, without);
  };
  out.copy = await copyPlan(deps, scope, host, built, p, replan, systemsSeen(known, host.name));
  known.copied(host.name, closurePaths(built));
  // Until its switch, a copied system is kept from the host's garbage collector (the switch drops the root);
  // a rollout's activations may wait a while for the canary. A host already running it needs no root.
  if (until === 'copy' || !known.runs(host.name, built.toplevel)) {
    await scope.exec(host, keepStagedCommand({ sudo: host.user !== 'root', systemd: false }, built.toplevel));
  }
  if (until === 'copy') out.status = p.steps.length === 0 ? 'noop' : 'ok';
}

/**
 * The activation of one target that holds its closure: the switch (switchHost, the one way a system is
 * activated), then the restart as the policy says. Never throws: a failure is the outcome.
 */
export async function activateTarget(
  deps: EngineDeps,
  scope: RunScope,
  host: HostSpec,
  built: Built,
  opts: Pick<PipelineOptions, 'restart' | 'ignoreWindow'>,
  base: HostOutcome,
  until: 'switch' | 'restart',
  probed?: HostFacts,
): Promise<HostOutcome> {
  const out: MutableOutcome = { ...base };
  const restart = opts.restart;
  try {
    // Outside the host's maintenance window the copy stands and the activation waits as pending work.
    const deferred = await gateActivation(deps, scope, host, built, { ...opts, until });
    if (deferred) return { ...out, ...deferred };
    const switched = await switchHost(deps, scope, host, built.toplevel, probed);
    // Switched: a stop request now ends the run before the restart question, the host left running its new system.
    out.switched = { previous: switched.previous, changed: switched.changed };
    if (switched.reboot) out.reboot = { reasons: switched.reboot.reasons, end: 'boot-pending' };
    if (until === 'switch') return { ...out, status: switched.changed ? 'ok' : 'noop' };
    if (switched.reboot) return await afterStage(deps, scope, host, restart, out);
    if (!switched.changed) {
      scope.skip(host.name, 'restart', 'the running system did not change');
      return { ...out, status: 'noop' };
    }
    return await afterChange(deps, scope, host, restart, out);
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
    ...(isUnreachable(e) ? { unreachable: true } : {}),
  };
}
