// How a catch-up reads: in the terminal (`signage pending --run`) and in the channel (the schedule).
import type { CatchUp } from '../engine/pending.ts';
import { hostLine } from './render-run.ts';

/** One line per pending host: brought up to date, failed, or why it still waits. */
export function catchUpLine(c: CatchUp): string {
  if (c.run === undefined) return `${c.host}: still pending: ${c.why ?? 'not due'}`;
  const h = c.run.hosts.find((o) => o.host === c.host);
  const what = c.reason === 'unreachable' ? 'came back' : 'reached its window';
  if (c.run.status === 'failed' || h?.status === 'failed')
    return `${c.host} ${what}, but bringing it up to date failed (run ${c.run.runId}): ${h ? hostLine(h) : ''}`;
  if (h?.status === 'pending') return `${c.host}: still pending (run ${c.run.runId}): ${hostLine(h)}`;
  if (c.run.verb === 'restart')
    return `${c.host} ${what} and its display manager was restarted (run ${c.run.runId})`;
  if (c.run.verb === 'reboot')
    return h?.status === 'awaiting-approval'
      ? `${c.host} ${what}; its reboot waits for an approver (run ${c.run.runId})`
      : `${c.host} ${what} and was rebooted, back and healthy (run ${c.run.runId})`;
  return `${c.host} ${what} and was brought up to date (run ${c.run.runId})${h?.status === 'awaiting-approval' ? '; its restart waits for an approver' : ''}`;
}
