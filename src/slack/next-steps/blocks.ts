// The buttons a run's message offers: Cancel while the run goes on (or waits for its questions), and for each
// host that failed once it ended, Retry (the same verb, ref and options, for that host alone) and Roll back
// (where the host's system was changed). The buttons carry the run and the host and nothing else: what a
// click does is decided when it arrives, as the verbs decide it.
import type { Block } from '../blocks/kit.ts';
import { actions, button, LIMITS, truncate } from '../blocks/kit.ts';
import type { ProgressState } from '../blocks/progress-state.ts';

export const CANCEL_ACTION_ID = 'run_cancel';
export const RETRY_ACTION_ID = 'host_retry';
export const ROLLBACK_ACTION_ID = 'host_rollback';

/** Verbs a Retry runs again; the others (build, plan) change nothing worth retrying from a button. */
export const RETRYABLE_VERBS: ReadonlySet<string> = new Set([
  'deploy',
  'switch',
  'copy',
  'rollback',
  'restart',
]);
/** Verbs whose runs can be cancelled from the message: every verb that opens a run. */
const CANCELLABLE: ReadonlySet<string | undefined> = new Set([
  'deploy',
  'switch',
  'copy',
  'plan',
  'build',
  'rollback',
  'restart',
]);
/** Two buttons a host; an actions block holds 25 elements. */
const MAX_HOSTS = 12;

/** A host's button value: the run it failed in, and which host. */
export function hostButtonValue(runId: string, host: string): string {
  return JSON.stringify({ run: runId, host });
}

export function cancelButtons(runId: string): Block {
  return actions(`run_cancel:${truncate(runId, LIMITS.blockId - 'run_cancel:'.length)}`, [
    button({
      text: 'Cancel',
      actionId: CANCEL_ACTION_ID,
      value: runId,
      style: 'danger',
      confirm: {
        title: 'Cancel this run?',
        text: 'It stops at its next safe point: an activation under way is finished first, copies are cut short (harmlessly), and nothing more is started.',
        confirm: 'Cancel the run',
        deny: 'Let it run',
      },
    }),
  ]) as Block;
}

export function failedHostButtons(state: ProgressState): Block | undefined {
  if (state.runId === undefined || !RETRYABLE_VERBS.has(state.verb ?? '')) return undefined;
  const runId = state.runId;
  const failed = state.hosts.filter((h) => h.status === 'failed').slice(0, MAX_HOSTS);
  if (failed.length === 0) return undefined;
  const elements = failed.flatMap((h) => {
    const value = hostButtonValue(runId, h.host);
    // Going back a generation is only offered where this run changed (or tried to change) the system.
    const changed = h.stages.some((s) => s.stage === 'switch' || s.stage === 'rollback');
    return [
      button({ text: `Retry ${h.host}`, actionId: RETRY_ACTION_ID, value }),
      ...(changed
        ? [
            button({
              text: `Roll back ${h.host}`,
              actionId: ROLLBACK_ACTION_ID,
              value,
              confirm: {
                title: `Roll back ${truncate(h.host, 80)}?`,
                text: `${h.host} switches back to its previous system generation.`,
                confirm: 'Roll back',
                deny: 'Not now',
              },
            }),
          ]
        : []),
    ];
  });
  return actions(`next_steps:${truncate(runId, LIMITS.blockId - 'next_steps:'.length)}`, elements) as Block;
}

/** The buttons the run's message shows now: Cancel while it is going, next steps for failed hosts after. */
export function runButtons(state: ProgressState): Block | undefined {
  if (state.runId === undefined) return undefined;
  const going = state.outcome === undefined || state.outcome === 'awaiting-approval';
  if (going) return CANCELLABLE.has(state.verb) ? cancelButtons(state.runId) : undefined;
  return failedHostButtons(state);
}
