// What the engine and the front ends need from durable state: runs and their stages, the last deployed
// build per host, per-host deploy locks, restart approvals and the audit log of commands run on hosts.
// Plain function types, so the engine can be handed the real store or a few functions in a test.
// Every write takes the time from the caller: nothing here reads a clock.
import type { Actor } from '../events.ts';
import type { HealthWatch } from '../health-watch.ts';
import type { Revision } from '../revision.ts';
import type { StageName, StageOutcome } from '../types.ts';

/** Where a front end posted the message about a run or an approval, so it can update it later. */
export interface SlackMessageRef {
  readonly channel: string;
  readonly ts: string;
}

// ---- runs ----------------------------------------------------------------------------------------

export type RunStatus = 'running' | 'ok' | 'failed' | 'awaiting-approval' | 'interrupted' | 'cancelled';

/** What a run was asked with, beyond its verb and hosts: enough to run it again (a Retry button). */
export interface RunOptions {
  readonly until?: 'plan' | 'copy' | 'switch' | 'restart';
  readonly restart?: 'ask' | 'yes' | 'no';
  /** The ref as asked (null: the default branch head); the run's revision says which commit it was. */
  readonly ref?: string | null;
}

/** Someone asked the run to stop: the process running it stops at its next safe point. */
export interface CancelRequest {
  readonly by: Actor;
  readonly at: Date;
}

export interface RunRecord {
  /** Short and sortable by creation time, e.g. `0mc1x2k9qa7f3z`. */
  readonly id: string;
  readonly verb: string;
  readonly hosts: readonly string[];
  readonly actor: Actor;
  readonly startedAt: Date;
  /** Set when the run ends or pauses for an approval; null while it runs. */
  readonly finishedAt: Date | null;
  readonly status: RunStatus;
  /** Whatever the verb wants to keep about its result (JSON-serialisable); null until set. */
  readonly summary: unknown;
  readonly slack: SlackMessageRef | null;
  /** The fleet revision the run builds from; null for runs that build nothing (or from before it was kept). */
  readonly revision: Revision | null;
  /** What it was asked with; null for runs from before this was kept. */
  readonly options: RunOptions | null;
  readonly cancelRequest: CancelRequest | null;
}

export interface NewRun {
  readonly verb: string;
  readonly hosts: readonly string[];
  readonly actor: Actor;
  readonly now: Date;
  readonly slack?: SlackMessageRef;
  readonly revision?: Revision;
  readonly options?: RunOptions;
}

/**
 * A cancel request is recorded once, on a run that has not ended (running, or waiting for its questions); a
 * second one changes nothing and says who asked first.
 */
export type CancelResult =
  | { readonly kind: 'requested'; readonly run: RunRecord }
  | { readonly kind: 'already-requested'; readonly run: RunRecord }
  | { readonly kind: 'finished'; readonly run: RunRecord }
  | { readonly kind: 'unknown'; readonly id: string };

export interface RunEnd {
  /** `awaiting-approval` pauses the run (its locks stay held); the others end it and free its locks. */
  readonly status: Exclude<RunStatus, 'running'>;
  readonly now: Date;
  readonly summary?: unknown;
}

export interface RunsPort {
  readonly createRun: (run: NewRun) => RunRecord;
  /** Ends or pauses a run that is running or awaiting approval; undefined when there is no such run. */
  readonly finishRun: (id: string, end: RunEnd) => RunRecord | undefined;
  /** Takes a run awaiting approval back to running (in this process); undefined when it is not paused. */
  readonly resumeRun: (id: string) => RunRecord | undefined;
  readonly attachRunMessage: (id: string, slack: SlackMessageRef) => void;
  readonly getRun: (id: string) => RunRecord | undefined;
  /** Newest first; with `host`, only runs that targeted it. */
  readonly recentRuns: (query: { readonly host?: string; readonly limit: number }) => readonly RunRecord[];
  /** The newest run that targeted `host`: who ran what, when, and how it went. */
  readonly lastRunFor: (host: string) => RunRecord | undefined;
  /** Records a request to stop the run; the process running it notices at its next safe point. */
  readonly requestCancel: (id: string, by: Actor, now: Date) => CancelResult;
}

// ---- stages --------------------------------------------------------------------------------------

/** A stage's outcome once it ended, `running` before that, `interrupted` when its process died. */
export type StageStatus = StageOutcome | 'running' | 'interrupted';

export interface StageRecord {
  readonly runId: string;
  readonly host: string;
  readonly stage: StageName;
  readonly status: StageStatus;
  readonly startedAt: Date;
  readonly durationMs: number | null;
  readonly bytes: number | null;
  readonly detail: string | null;
}

export interface StageStart {
  readonly runId: string;
  readonly host: string;
  readonly stage: StageName;
  readonly now: Date;
}

export interface StageEnd {
  readonly runId: string;
  readonly host: string;
  readonly stage: StageName;
  readonly outcome: StageOutcome;
  readonly startedAt: Date;
  readonly durationMs: number;
  readonly bytes?: number;
  readonly detail?: string;
}

export interface StagesPort {
  /** Optional: marks the stage running, so a crash leaves it `interrupted` rather than missing. */
  readonly startStage: (start: StageStart) => void;
  /** Ends the stage started by `startStage`, or records it whole when it was not started. */
  readonly recordStage: (end: StageEnd) => StageRecord;
  /** In the order they started. */
  readonly stagesOf: (runId: string) => readonly StageRecord[];
}

// ---- deployments ---------------------------------------------------------------------------------

export interface DeploymentRecord {
  readonly host: string;
  /** The system toplevel store path the host was switched to. */
  readonly toplevel: string;
  readonly runId: string;
  readonly at: Date;
  /** The fleet revision it was built from; left out, the run's own. */
  readonly revision?: Revision | null;
}

export interface DeploymentsPort {
  /** Called after a successful switch. */
  readonly recordDeployment: (deployment: DeploymentRecord) => void;
  /** The last successfully switched build: what status compares the running and the built system to. */
  readonly lastDeployment: (host: string) => DeploymentRecord | undefined;
  /** The newest deployment of `toplevel` to `host` that knows its revision: which commit a system is. */
  readonly deploymentOf: (host: string, toplevel: string) => DeploymentRecord | undefined;
}

// ---- activations --------------------------------------------------------------------------------

/**
 * How an activation ended: confirmed; reverted by the bot; reverted by the host's own timer; refused before
 * anything changed; or unknown (the host could not be asked: it settles by itself, status shows how).
 */
export type ActivationOutcome = 'confirmed' | 'reverted' | 'reverted-by-host' | 'unchanged' | 'unknown';

/**
 * `switch`: a system activated with `test` behind the revert timer; `boot`: a reboot (into a system staged
 * for the next boot behind the boot guard, or into what the host boots), recorded before the reboot.
 */
export type ActivationKind = 'switch' | 'boot';

export interface NewActivation {
  /** Absent: `switch`. */
  readonly kind?: ActivationKind;
  readonly host: string;
  readonly runId: string;
  /** What ran before, and what the revert brings back; null on a host that had no system. */
  readonly previous: string | null;
  readonly next: string;
  readonly startedAt: Date;
  /** When the host reverts by itself unless confirmed. */
  readonly deadline: Date;
}

export interface ActivationRecord extends NewActivation {
  readonly id: number;
  readonly kind: ActivationKind;
  /** null while open: the process activating it has not said how it ended. */
  readonly outcome: ActivationOutcome | null;
  readonly settledAt: Date | null;
  readonly detail: string | null;
}

export interface ActivationsPort {
  /** Recorded before the revert is armed, so that whoever starts next finds an activation a crash left. */
  readonly beginActivation: (activation: NewActivation) => ActivationRecord;
  readonly endActivation: (id: number, outcome: ActivationOutcome, detail: string | null, now: Date) => void;
  /** Activations no one has ended, oldest first. */
  readonly openActivations: () => readonly ActivationRecord[];
  readonly activationsOf: (runId: string) => readonly ActivationRecord[];
}

// ---- locks ---------------------------------------------------------------------------------------

export interface LockHold {
  readonly host: string;
  readonly runId: string;
  readonly holder: Actor;
  readonly since: Date;
}

/**
 * All or nothing: on refusal no host was locked, and `held` names who holds each busy host. `tookOver` names
 * locks whose run's process was gone: that run was marked interrupted and its hosts taken over.
 */
export type LockResult =
  | { readonly ok: true; readonly tookOver?: readonly LockHold[] }
  | { readonly ok: false; readonly held: readonly LockHold[] };

export interface LocksPort {
  /** One deploy per host: locks every host for the run, or none. Re-acquiring the run's own locks is fine. */
  readonly acquireLocks: (hosts: readonly string[], runId: string, holder: Actor, now: Date) => LockResult;
  /** Frees the run's locks and returns the hosts freed. */
  readonly releaseLocks: (runId: string) => readonly string[];
  readonly heldLocks: () => readonly LockHold[];
  /** Marks runs whose process is gone as interrupted and frees their locks, as opening the store does. */
  readonly recoverDeadRuns: (now: Date) => Recovery;
}

// ---- approvals -----------------------------------------------------------------------------------

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired';
export type ApprovalAction = 'restart' | 'reboot';
export type Decision = 'approved' | 'denied';

export interface ApprovalRecord {
  /** Short and unguessable enough for a button's value; sortable by creation time. */
  readonly id: string;
  readonly runId: string;
  readonly host: string;
  readonly action: ApprovalAction;
  readonly question: string;
  readonly requestedBy: Actor;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly status: ApprovalStatus;
  readonly decidedBy: Actor | null;
  /** When it was approved or denied, or when `expireDue` expired it. */
  readonly decidedAt: Date | null;
  readonly slack: SlackMessageRef | null;
}

export interface NewApproval {
  readonly runId: string;
  readonly host: string;
  readonly action: ApprovalAction;
  readonly question: string;
  readonly requestedBy: Actor;
  readonly now: Date;
  readonly expiresAt: Date;
  readonly slack?: SlackMessageRef;
}

/**
 * Exactly one caller gets `decided`. The others get `already-decided` (the record says by whom and when)
 * or `expired`: an approval past its time is never decided, even before `expireDue` marks it.
 */
export type DecideResult =
  | { readonly kind: 'decided'; readonly approval: ApprovalRecord }
  | { readonly kind: 'already-decided'; readonly approval: ApprovalRecord }
  | { readonly kind: 'expired'; readonly approval: ApprovalRecord }
  | { readonly kind: 'unknown'; readonly id: string };

/** How many distinct approvers a question needs, and whether its requester may be one (the two-person rule). */
export interface ApprovalRuleRecord {
  readonly required: number;
  readonly requesterMayApprove: boolean;
}

/** One approver's answer to a question that needs several. */
export interface ApprovalVote {
  readonly voter: Actor;
  readonly decision: Decision;
  readonly at: Date;
}

/**
 * An answer under the question's rule. As DecideResult when it settles the question (the required approvals
 * reached, or a decline) or cannot count; otherwise counted, refused as a second answer by the same person,
 * or refused as the requester's own approval where the rule says the requester may not approve.
 */
export type VoteResult =
  | DecideResult
  | {
      readonly kind: 'counted';
      readonly approval: ApprovalRecord;
      readonly votes: readonly ApprovalVote[];
      readonly required: number;
      readonly requesterMayApprove: boolean;
    }
  | {
      readonly kind: 'already-voted';
      readonly approval: ApprovalRecord;
      readonly votes: readonly ApprovalVote[];
      readonly required: number;
      readonly requesterMayApprove: boolean;
    }
  | {
      readonly kind: 'requester-may-not-approve';
      readonly approval: ApprovalRecord;
      readonly required: number;
    };

export interface ApprovalsPort {
  readonly createApproval: (approval: NewApproval) => ApprovalRecord;
  readonly attachApprovalMessage: (id: string, slack: SlackMessageRef) => void;
  readonly getApproval: (id: string) => ApprovalRecord | undefined;
  readonly decideApproval: (id: string, decision: Decision, by: Actor, now: Date) => DecideResult;
  /** Marks every pending approval whose time has come as expired and returns them (once each). */
  readonly expireDue: (now: Date) => readonly ApprovalRecord[];
  /** Oldest first, including any past their time that `expireDue` has not yet marked. */
  readonly pendingApprovals: () => readonly ApprovalRecord[];
  /** Every question of a run, oldest first, whatever became of it. */
  readonly approvalsOfRun: (runId: string) => readonly ApprovalRecord[];
  /** Sets the question's rule (before anyone answers it); without one, one approver decides. */
  readonly setApprovalRule: (id: string, rule: ApprovalRuleRecord) => void;
  readonly approvalRule: (id: string) => ApprovalRuleRecord | undefined;
  /**
   * Counts one person's answer under the question's rule, in one transaction: of answers arriving at once
   * from several processes, each person counts once and exactly one decides.
   */
  readonly voteApproval: (id: string, decision: Decision, by: Actor, now: Date) => VoteResult;
  /** In the order given. */
  readonly votesOf: (id: string) => readonly ApprovalVote[];
}

// ---- audit ---------------------------------------------------------------------------------------

export interface AuditEntry {
  readonly at: Date;
  readonly runId: string | null;
  readonly host: string;
  readonly actor: Actor;
  readonly argv: readonly string[];
  /** null when the command did not exit by itself (killed, timed out, never started). */
  readonly exitCode: number | null;
  readonly durationMs: number;
  /** What went wrong (stderr, a timeout); only an excerpt is kept, with known secret shapes masked. */
  readonly error?: string | null;
}

export interface AuditRecord extends AuditEntry {
  readonly id: number;
  readonly error: string | null;
}

/** How a command recorded by `auditStart` ended. */
export interface AuditEnd {
  readonly exitCode: number | null;
  readonly durationMs: number;
  readonly error?: string | null;
}

export interface AuditPort {
  readonly audit: (entry: AuditEntry) => void;
  /**
   * Records a command before it runs (no command runs on a host unless the log can say so) and returns its
   * entry's id; until `auditEnd`, the entry says the command did not report an end.
   */
  readonly auditStart: (entry: Omit<AuditEntry, 'exitCode' | 'durationMs' | 'error'>) => number;
  readonly auditEnd: (id: number, end: AuditEnd) => void;
  /** Newest first. */
  readonly auditLog: (query: {
    readonly host?: string;
    readonly runId?: string;
    readonly limit: number;
  }) => readonly AuditRecord[];
}

// ---- pending work ---------------------------------------------------------------------------------

/** Why a host still waits for its system: it did not answer, or its maintenance window was closed. */
export type PendingReason = 'unreachable' | 'window';
/**
 * What the pending work does once due: switch only, switch and then the restart question, or (an approver's
 * "at the next window" answer to a restart or reboot question, or the `reboot` verb outside the window)
 * restart the display manager or reboot the host, with no system to bring.
 */
export type PendingVerb = 'deploy' | 'switch' | 'restart' | 'reboot';
export type PendingRestart = 'ask' | 'yes' | 'no';

export interface PendingWork {
  readonly host: string;
  /**
   * The system to bring the host to (the builder keeps it from its garbage collector meanwhile); null exactly
   * for a pending restart or reboot, which brings no system.
   */
  readonly toplevel: string | null;
  readonly revision: Revision | null;
  readonly reason: PendingReason;
  readonly since: Date;
  /** For `window`: when the window next opens, as the run that deferred it computed. */
  readonly opensAt: Date | null;
  readonly requestedBy: Actor;
  /** The run that left it pending. */
  readonly runId: string;
  readonly verb: PendingVerb;
  readonly restart: PendingRestart;
}

export interface PendingPort {
  /** Records the host's pending work, replacing whatever was pending for it. */
  readonly setPending: (work: PendingWork) => void;
  /** Drops the host's pending work; returns what was dropped, if any. */
  readonly dropPending: (host: string) => PendingWork | undefined;
  /** Oldest first. */
  readonly pendingWork: () => readonly PendingWork[];
}

// ---- health watch ---------------------------------------------------------------------------------

/** What the scheduled checks remember of each host's health (health-watch.ts), across restarts. */
export interface HealthWatchPort {
  readonly healthWatches: () => ReadonlyMap<string, HealthWatch>;
  /** Writes these hosts' watches at once; other hosts' are kept. */
  readonly saveHealthWatches: (watches: ReadonlyMap<string, HealthWatch>, now: Date) => void;
}

// ---- the whole store -----------------------------------------------------------------------------

export type StateStore = RunsPort &
  StagesPort &
  DeploymentsPort &
  ActivationsPort &
  LocksPort &
  ApprovalsPort &
  AuditPort &
  PendingPort &
  HealthWatchPort;

/** What opening the store found left over by a process that died mid-run, and cleaned up. */
export interface Recovery {
  /** Runs that were `running` in a process that no longer exists; now `interrupted`. */
  readonly interruptedRuns: readonly RunRecord[];
  readonly interruptedStages: readonly StageRecord[];
  /** Locks of those runs, and any left by runs that had already ended. */
  readonly freedLocks: readonly LockHold[];
}
