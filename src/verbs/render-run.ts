// How a run's result reads: in a terminal, as JSON, and as the final Slack message. Shared by the verbs
// that run the pipeline (deploy, plan, copy, switch, rollback, restart, build).
import type { BootTerminal } from '../core/activation-sequence.ts';
import { formatBytes } from '../core/bytes.ts';
import { changeLines, outcomeSummary } from '../core/closure-diff-text.ts';
import { describeRevision } from '../core/revision.ts';
import { uplinkSentText } from '../core/uplink-sent-text.ts';
import type { RunResult } from '../engine/engine.ts';
import type { HostOutcome } from '../engine/pipeline.ts';
import { actorName } from '../engine/run-scope.ts';
import { diffProgressLine } from '../slack/blocks/closure-diff.ts';
import { context, escapeMrkdwn, header, message, section } from '../slack/blocks/kit.ts';
import type { SlackMessage } from './verb.ts';

const MARK: Record<HostOutcome['status'], string> = {
  ok: '✓',
  noop: '=',
  failed: '✗',
  'awaiting-approval': '?',
  skipped: '–',
  pending: '…',
};

/** How far a reboot got, in a few words; failures say the rest in their error. */
const REBOOT_END: Record<BootTerminal, string> = {
  'boot-pending': 'runs its old system until it reboots (the boot guard watches the new one)',
  confirmed: 'rebooted into it and confirmed',
  reverted: 'rebooted back into its previous system',
  'host-guards': 'left to its boot guard',
  unhealthy: 'back, but failing its checks',
  unchanged: 'unchanged',
};

export function hostLine(h: HostOutcome): string {
  const parts: string[] = [];
  if (h.plan) {
    parts.push(
      `${formatBytes(h.plan.presentBytes)} present, ${formatBytes(h.plan.lanBytes)} from peers, ` +
        `${formatBytes(h.plan.uplinkBytes)} over the uplink` +
        uplinkSentText({ ...h.plan, uplinkSentBytes: h.plan.uplinkSentBytes ?? h.plan.uplinkBytes }),
    );
  }
  if (h.copy && (h.copy.lanBytes > 0 || h.copy.uplinkBytes > 0)) {
    parts.push(
      `copied ${formatBytes(h.copy.lanBytes)} from peers + ${formatBytes(h.copy.uplinkBytes)} over the uplink` +
        uplinkSentText(h.copy),
    );
  }
  if (h.copy?.fellBack.length) parts.push(`builder stood in for ${h.copy.fellBack.join(', ')}`);
  if (h.reboot?.reasons.length) parts.push(`needs a reboot: ${h.reboot.reasons.join(', ')}`);
  if (h.switched)
    parts.push(h.reboot ? 'staged with boot' : h.switched.changed ? 'switched' : 'already running it');
  if (h.reboot?.end) parts.push(REBOOT_END[h.reboot.end]);
  if (h.restarted && !h.reboot) parts.push('display manager restarted');
  if (h.restartDeclinedBy) parts.push(`restart declined by ${h.restartDeclinedBy}`);
  if (h.status === 'awaiting-approval')
    parts.push(`${h.reboot ? 'reboot' : 'restart'} waits for an approver (question ${h.approvalId})`);
  if (h.deferred) parts.push(h.deferred);
  if (h.error) parts.push(`error: ${h.error}${h.hint ? ` — ${h.hint}` : ''}`);
  return parts.join('; ');
}

/** A host a cancel stopped reads as stopped, not as failed: nothing went wrong on it. */
function statusOf(r: RunResult, h: HostOutcome): string {
  return r.status === 'cancelled' && h.interrupted ? 'not done' : h.status;
}

function markOf(r: RunResult, h: HostOutcome): string {
  return r.status === 'cancelled' && h.interrupted ? '–' : MARK[h.status];
}

/** A host's line; in a cancelled run, one the cancel stopped says first that it was not done. */
function cancelledLine(r: RunResult, h: HostOutcome): string {
  const line = hostLine(h) || statusOf(r, h);
  return statusOf(r, h) === 'not done' ? `not done: ${line}` : line;
}

/** "cancelled by …: stopped at a safe point", or the bare status. */
function statusLine(r: RunResult): string {
  if (r.status !== 'cancelled') return r.status;
  const by = r.cancelledBy ? ` by ${actorName(r.cancelledBy)}` : '';
  return `cancelled${by}: stopped at a safe point`;
}

export function runText(r: RunResult): string {
  const width = Math.max(...r.hosts.map((h) => h.host.length), 4);
  const lines = [`${r.verb} ${statusLine(r)} (run ${r.runId})`];
  if (r.revision) lines.push(`  fleet: ${revisionText(r)}`);
  for (const h of r.hosts) {
    lines.push(`  ${markOf(r, h)} ${h.host.padEnd(width)}  ${statusOf(r, h).padEnd(17)} ${hostLine(h)}`);
    if (h.toplevel) lines.push(`    ${' '.repeat(width)}  ${h.toplevel}`);
    if (h.diff)
      lines.push(...diffText(h, `    ${' '.repeat(width)}  `, r.verb === 'plan' ? undefined : TEXT_CHANGES));
  }
  if (r.canaries.length > 0) lines.push(`  canary: ${r.canaries.join(', ')}`);
  if (r.lanBytes + r.uplinkBytes > 0) {
    lines.push(
      `  moved ${formatBytes(r.lanBytes)} over the office LAN, ${formatBytes(r.uplinkBytes)} over the uplink`,
    );
  }
  const planned = plannedTotals(r);
  if (planned) lines.push(planned);
  return lines.join('\n');
}

/** `plan`'s totals over its hosts, with the uplink's bytes as measured (compressed, deltas). */
function plannedTotals(r: RunResult): string | null {
  const plans = r.hosts.flatMap((h) => (h.plan ? [h.plan] : []));
  if (r.verb !== 'plan' || plans.length === 0) return null;
  const sum = (f: (p: (typeof plans)[number]) => number) => plans.reduce((n, p) => n + f(p), 0);
  const uplinkBytes = sum((p) => p.uplinkBytes);
  return (
    `  planned: ${formatBytes(sum((p) => p.lanBytes))} over the office LAN, ${formatBytes(uplinkBytes)} over the uplink` +
    uplinkSentText({
      uplinkBytes,
      uplinkSentBytes: sum((p) => p.uplinkSentBytes ?? p.uplinkBytes),
      uplinkDeltaBytes: sum((p) => p.uplinkDeltaBytes ?? 0),
      uplinkDeltaPaths: sum((p) => p.uplinkDeltaPaths ?? 0),
    })
  );
}

/** Changes listed per host in a terminal; `plan` lists every one, as `nvd diff` does. */
const TEXT_CHANGES = 20;

/** The host's closure diff: a summary line, then one line per package change. */
export function diffText(h: HostOutcome, indent: string, limit?: number): string[] {
  if (!h.diff) return [];
  const lines = [`${indent}changes: ${outcomeSummary(h.diff)}`];
  if (!h.diff.known) return lines;
  const { lines: changes, more } = changeLines(h.diff.diff, limit);
  lines.push(...changes.map((c) => `${indent}  ${c}`));
  if (more > 0) lines.push(`${indent}  …and ${more} more (\`signage plan ${h.host}\` lists all)`);
  return lines;
}

/** The run's fleet revision, and whether it is off the default branch. */
function revisionText(r: RunResult): string {
  if (!r.revision) return '';
  const off = r.revision.onDefault ? '' : ` (not ${r.revision.defaultBranch ?? 'the default branch'})`;
  return `${describeRevision(r.revision)}${off}`;
}

export function runJson(r: RunResult): unknown {
  return r;
}

export function runSlack(r: RunResult): SlackMessage {
  const title = `${r.verb} ${r.hosts.map((h) => h.host).join(', ')}: ${r.status}`;
  const by = r.status === 'cancelled' && r.cancelledBy ? actorName(r.cancelledBy) : undefined;
  return message(by === undefined ? title : `${title} by ${by}`, [
    header(title),
    ...(by === undefined
      ? []
      : [
          section(
            `✋ *Cancelled by ${mention(by)}*: stopped at a safe point. What was done, and what was not:`,
          ),
        ]),
    ...r.hosts.map((h) =>
      section(
        `${markOf(r, h)} *${escapeMrkdwn(h.host)}* — ${escapeMrkdwn(cancelledLine(r, h))}` +
          (h.diff ? `\n${diffProgressLine(h.diff)}` : ''),
      ),
    ),
    ...(r.revision ? [context(`Fleet: ${escapeMrkdwn(revisionText(r))}`)] : []),
    context(
      `run \`${r.runId}\`` +
        (r.lanBytes + r.uplinkBytes > 0
          ? ` · ${formatBytes(r.lanBytes)} over the LAN, ${formatBytes(r.uplinkBytes)} over the uplink`
          : ''),
    ),
  ]);
}

/** A Slack mention stays a mention; anything else is escaped. */
function mention(who: string): string {
  return /^<@[A-Z0-9]+>$/.test(who) ? who : escapeMrkdwn(who);
}

/**
 * Exit status for scripts: 0 done, 1 a host failed, 4 a restart still waits for an answer, 6 cancelled. An
 * interrupted run is not done: a terminal stopped by a signal exits 128 + that signal (see src/cli), and a
 * result recorded as interrupted without one gives 130, an interrupt's status, never 0.
 */
const RUN_EXIT_CODES: Readonly<Record<RunResult['status'], number>> = {
  ok: 0,
  failed: 1,
  'awaiting-approval': 4,
  cancelled: 6,
  interrupted: 130,
};

export function runExitCode(r: RunResult): number {
  return RUN_EXIT_CODES[r.status];
}
