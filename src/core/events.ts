// Progress is a separate output: the engine emits these events and each front end renders them its own
// way (a Slack message updated in place, a terminal progress bar, JSON lines). Pure data, no I/O.
import type { DiffOutcome } from './closure-diff.ts';
import type { Revision } from './revision.ts';
import type { StageName, StageOutcome } from './types.ts';

/** Who asked for something: recorded in runs, approvals and the audit log. */
export type Actor =
  | { readonly kind: 'slack'; readonly userId: string; readonly channelId?: string }
  | { readonly kind: 'cli'; readonly user: string }
  | { readonly kind: 'schedule'; readonly job: string };

export interface PlanSummary {
  readonly totalPaths: number;
  readonly totalBytes: number;
  readonly presentPaths: number;
  readonly presentBytes: number;
  /** One entry per source that delivers something, peers first, the builder (uplink) last. */
  readonly sources: readonly { readonly source: string; readonly paths: number; readonly bytes: number }[];
  readonly lanBytes: number;
  readonly uplinkBytes: number;
  /**
   * Measured by `plan` when the uplink is a stream (the builder's share staged on the builder, nothing sent):
   * its bytes as they would cross, and of those the deltas and how many paths come as one.
   */
  readonly uplinkSentBytes?: number;
  readonly uplinkDeltaBytes?: number;
  readonly uplinkDeltaPaths?: number;
}

export type EngineEvent =
  | {
      readonly type: 'run.started';
      readonly runId: string;
      readonly verb: string;
      readonly hosts: readonly string[];
      /** The fleet revision the run builds, for runs that build. */
      readonly revision?: Revision;
    }
  | {
      readonly type: 'stage.started';
      readonly runId: string;
      readonly host: string;
      readonly stage: StageName;
    }
  | {
      readonly type: 'stage.progress';
      readonly runId: string;
      readonly host: string;
      readonly stage: StageName;
      /** `builder` or `peer:<host>` for copies; free text otherwise. */
      readonly source: string;
      readonly doneBytes: number;
      readonly totalBytes: number;
    }
  | {
      readonly type: 'stage.finished';
      readonly runId: string;
      readonly host: string;
      readonly stage: StageName;
      readonly outcome: StageOutcome;
      readonly durationMs: number;
      readonly bytes?: number;
      readonly detail?: string;
    }
  | {
      readonly type: 'plan.ready';
      readonly runId: string;
      readonly host: string;
      readonly summary: PlanSummary;
    }
  | {
      /** What the deploy changes on the host (packages, versions, sizes), known before anything is copied. */
      readonly type: 'diff.ready';
      readonly runId: string;
      readonly host: string;
      readonly diff: DiffOutcome;
    }
  | {
      readonly type: 'approval.requested';
      readonly runId: string;
      readonly approvalId: string;
      readonly host: string;
      readonly question: string;
      readonly expiresAt: string;
      /** What approving does; a restart when absent. */
      readonly action?: 'restart' | 'reboot';
      /** Under the two-person rule: distinct approvers needed, and whether the requester may be one. */
      readonly rule?: { readonly required: number; readonly requesterMayApprove: boolean };
      /** A host with a maintenance window: the question also offers "at the next window" (this one). */
      readonly nextWindow?: string;
    }
  | { readonly type: 'log'; readonly runId: string; readonly host?: string; readonly message: string }
  | {
      readonly type: 'run.finished';
      readonly runId: string;
      readonly outcome: 'ok' | 'failed' | 'awaiting-approval' | 'interrupted' | 'cancelled';
    };

export type ProgressSink = (event: EngineEvent) => void;
