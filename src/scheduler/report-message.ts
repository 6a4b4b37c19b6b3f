// How a scheduled fleet report reads in the channel: the whole fleet for the first check after start, then
// only the hosts that changed, each change in one line above their status.
import { context, escapeMrkdwn, header, LIMITS, message, section, truncate } from '../slack/blocks/kit.ts';
import { statusBlocks, statusSlack, statusTitle } from '../verbs/render-status.ts';
import type { SlackMessage } from '../verbs/verb.ts';
import { describeChange, describeHealthChange } from './fleet-changes.ts';
import type { FleetReport } from './jobs.ts';

export function fleetReportMessage(report: FleetReport): SlackMessage {
  if (report.kind === 'first') {
    const title = `Watching the fleet. ${statusTitle(report.rows)}`;
    const settled = report.health ?? [];
    if (settled.length === 0) return statusSlack(report.rows, title);
    // Health that settled across a restart is told here, once, like any other change.
    const lines = settled.map((c) => `• *${escapeMrkdwn(c.host)}* ${escapeMrkdwn(describeHealthChange(c))}`);
    return message(title, [
      header(title),
      section(truncate(lines.join('\n'), LIMITS.sectionText)),
      ...statusBlocks(report.rows, LIMITS.blocksPerMessage - 3),
      context(`${statusTitle(report.rows)} · checked by the schedule`),
    ]);
  }
  const { changes, health } = report;
  const hosts = [...new Set([...changes.map((c) => c.host), ...health.map((c) => c.host)])];
  const title = `${hosts.length} host${hosts.length === 1 ? '' : 's'} changed: ${hosts.join(', ')}`;
  const lines = [
    ...changes.map((c) => `• *${escapeMrkdwn(c.host)}* ${escapeMrkdwn(describeChange(c))}`),
    ...health.map((c) => `• *${escapeMrkdwn(c.host)}* ${escapeMrkdwn(describeHealthChange(c))}`),
  ];
  const rows = hosts.map(
    (h) => changes.find((c) => c.host === h)?.row ?? health.find((c) => c.host === h)!.row,
  );
  return message(truncate(title, 150), [
    header(title),
    section(truncate(lines.join('\n'), LIMITS.sectionText)),
    // Header, change list and the footer leave the rest of the 50 blocks to the changed hosts.
    ...statusBlocks(rows, LIMITS.blocksPerMessage - 3),
    context(`${statusTitle(report.rows)} · checked by the schedule`),
  ]);
}
