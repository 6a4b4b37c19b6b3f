// A run's events folded into what its progress message shows: for each host, its stages so far, its plan,
// and the copies under way. Pure, and safe to fold again from the start after every event.
import type { DiffOutcome } from '../../core/closure-diff.ts';
import type { EngineEvent, PlanSummary } from '../../core/events.ts';
import type { Revision } from '../../core/revision.ts';
import type { StageName } from '../../core/types.ts';
import { STAGE_ORDER, type StageStatus } from './format.ts';

export interface StageState {
  readonly stage: StageName;
  readonly status: StageStatus;
  readonly durationMs?: number;
  readonly bytes?: number;
  readonly detail?: string;
}

export interface CopyState {
  readonly source: string;
  readonly doneBytes: number;
  readonly totalBytes: number;
}

export type HostStatus = 'failed' | 'running' | 'waiting-approval' | 'waiting' | 'skipped' | 'done';

export interface HostProgress {
  readonly host: string;
  readonly status: HostStatus;
  /** In the order they happen. */
  readonly stages: readonly StageState[];
  readonly plan: PlanSummary | undefined;
  /** What the deploy changes on the host, once worked out. */
  readonly diff?: DiffOutcome;
  /** Copies under way, one per source; gone once the copy stage ends. */
  readonly copies: readonly CopyState[];
  /** Time spent in finished stages. */
  readonly durationMs: number;
}

export type RunOutcome = 'ok' | 'failed' | 'awaiting-approval' | 'interrupted' | 'cancelled';

export interface ProgressState {
  readonly runId: string | undefined;
  readonly verb: string | undefined;
  /** In the order the run named them. */
  readonly hosts: readonly HostProgress[];
  readonly outcome: RunOutcome | undefined;
  /** The fleet revision the run builds, for runs that build. */
  readonly revision?: Revision;
  /** Sums over the plans: what comes from peers, and what over the uplink. */
  readonly lanBytes: number;
  readonly uplinkBytes: number;
}

interface MutableHost {
  stages: Map<StageName, StageState>;
  plan: PlanSummary | undefined;
  diff?: DiffOutcome;
  copies: Map<string, CopyState>;
  asked: boolean;
}

export function foldProgress(events: readonly EngineEvent[]): ProgressState {
  let runId: string | undefined;
  let verb: string | undefined;
  let outcome: RunOutcome | undefined;
  let revision: Revision | undefined;
  const hosts = new Map<string, MutableHost>();
  const hostOf = (name: string): MutableHost => {
    let h = hosts.get(name);
    if (h === undefined) {
      h = { stages: new Map(), plan: undefined, copies: new Map(), asked: false };
      hosts.set(name, h);
    }
    return h;
  };

  for (const e of events) {
    switch (e.type) {
      case 'run.started':
        runId = e.runId;
        verb = e.verb;
        revision = e.revision ?? revision;
        for (const name of e.hosts) hostOf(name);
        break;
      case 'stage.started': {
        const h = hostOf(e.host);
        h.stages.set(e.stage, { stage: e.stage, status: 'running' });
        if (e.stage === 'restart' || e.stage === 'approve') h.asked = false;
        break;
      }
      case 'stage.progress': {
        const h = hostOf(e.host);
        if (e.stage === 'copy') {
          h.copies.set(e.source, { source: e.source, doneBytes: e.doneBytes, totalBytes: e.totalBytes });
        }
        if (!h.stages.has(e.stage)) h.stages.set(e.stage, { stage: e.stage, status: 'running' });
        break;
      }
      case 'stage.finished': {
        const h = hostOf(e.host);
        h.stages.set(e.stage, {
          stage: e.stage,
          status: e.outcome,
          durationMs: e.durationMs,
          ...(e.bytes === undefined ? {} : { bytes: e.bytes }),
          ...(e.detail === undefined ? {} : { detail: e.detail }),
        });
        if (e.stage === 'copy') h.copies.clear();
        if (e.stage === 'restart' || e.stage === 'approve') h.asked = false;
        break;
      }
      case 'plan.ready':
        hostOf(e.host).plan = e.summary;
        break;
      case 'diff.ready':
        hostOf(e.host).diff = e.diff;
        break;
      case 'approval.requested':
        hostOf(e.host).asked = true;
        break;
      case 'run.finished':
        outcome = e.outcome;
        break;
      case 'log':
        break;
    }
  }

  let lanBytes = 0;
  let uplinkBytes = 0;
  const list: HostProgress[] = [];
  for (const [host, h] of hosts) {
    if (h.plan !== undefined) {
      lanBytes += h.plan.lanBytes;
      uplinkBytes += h.plan.uplinkBytes;
    }
    const stages = [...h.stages.values()].sort(
      (a, b) => STAGE_ORDER.indexOf(a.stage) - STAGE_ORDER.indexOf(b.stage),
    );
    list.push({
      host,
      status: statusOf(stages, h.asked),
      stages,
      plan: h.plan,
      ...(h.diff === undefined ? {} : { diff: h.diff }),
      copies: [...h.copies.values()],
      durationMs: stages.reduce((sum, s) => sum + (s.durationMs ?? 0), 0),
    });
  }
  return { runId, verb, hosts: list, outcome, lanBytes, uplinkBytes, ...(revision ? { revision } : {}) };
}

function statusOf(stages: readonly StageState[], asked: boolean): HostStatus {
  if (stages.some((s) => s.status === 'failed')) return 'failed';
  if (stages.some((s) => s.status === 'running')) return 'running';
  if (asked) return 'waiting-approval';
  if (stages.length === 0) return 'waiting';
  // A host whose every stage was skipped (its canary failed) did nothing: it is not "done".
  if (stages.every((s) => s.status === 'skipped')) return 'skipped';
  return 'done';
}
