// How a cancel reads: which run, who asked, and per host what was done and what was not. While the run still
// stops (an activation under way is finished first), it says so rather than claiming it stopped.
import type { Actor } from '../core/events.ts';
import type { CancelReport } from '../engine/cancel.ts';
import { actorName } from '../engine/run-scope.ts';
import { context, escapeMrkdwn, header, message, section } from '../slack/blocks/kit.ts';
import type { SlackMessage } from './verb.ts';

function headline(r: CancelReport, who: (a: Actor) => string): string {
  const run = `run ${r.runId} (${r.verb} by ${who(r.runBy)})`;
  const asked = r.first
    ? `cancelled by ${who(r.requestedBy)}`
    : `already being cancelled by ${who(r.requestedBy)}`;
  if (r.droppedPending !== undefined) {
    return `pending work of run ${r.runId} (${r.verb} by ${who(r.runBy)}) dropped by ${who(r.requestedBy)}`;
  }
  switch (r.status) {
    case 'cancelled':
      return `${run} ${asked}: stopped at a safe point`;
    case 'running':
    case 'awaiting-approval':
      return `${run} ${asked}: still stopping; it stops at its next safe point (an activation under way is finished first)`;
    default:
      return `${run} ${asked}: it ended ${r.status}`;
  }
}

function hostText(h: CancelReport['hosts'][number]): string {
  const done = h.done.length > 0 ? `done: ${h.done.join(', ')}` : 'nothing done';
  return h.notDone === null ? done : `${done}; not done: ${h.notDone}`;
}

export function cancelText(r: CancelReport): string {
  const width = Math.max(...r.hosts.map((h) => h.host.length), 4);
  const lines = [`cancel: ${headline(r, actorName)}`];
  for (const h of r.hosts) lines.push(`  ${h.host.padEnd(width)}  ${hostText(h)}`);
  if (r.withdrawn.length > 0) lines.push(`  restart questions withdrawn: ${r.withdrawn.join(', ')}`);
  return lines.join('\n');
}

export function cancelSlack(r: CancelReport): SlackMessage {
  const title = headline(r, actorName);
  return message(title, [
    header(r.status === 'cancelled' ? `Run ${r.runId} cancelled` : `Cancelling run ${r.runId}`),
    section(escapeMrkdwn(title).replace(/&lt;@([A-Z0-9]+)&gt;/g, '<@$1>')),
    ...r.hosts.map((h) => section(`*${escapeMrkdwn(h.host)}* — ${escapeMrkdwn(hostText(h))}`)),
    ...(r.withdrawn.length > 0
      ? [context(`Restart questions withdrawn: ${escapeMrkdwn(r.withdrawn.join(', '))}`)]
      : []),
  ]);
}

/** 0 stopped as asked; 4 still stopping (check with `status`); 1 it ended otherwise. */
export function cancelExitCode(r: CancelReport): number {
  if (r.status === 'cancelled') return 0;
  if (r.status === 'running' || r.status === 'awaiting-approval') return 4;
  return 1;
}
