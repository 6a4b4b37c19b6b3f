// The progress message of a run: one line per host with its stages (✓ done, … running, ✗ failed, – skipped),
// what the plan moves from peers and over the uplink, a bar per copy source, and how long each stage took.
// Hosts that failed come first, then those still working, so a long fleet never hides a problem below the
// fold; everything fits Slack's 50 blocks and 3,000 characters per section, however many hosts there are.
import type { EngineEvent } from '../../core/events.ts';
import { describeRevision, type Revision } from '../../core/revision.ts';
import type { SlackMessage } from '../../verbs/verb.ts';
import { redact } from '../redact.ts';
import { diffProgressLine } from './closure-diff.ts';
import {
  formatBytes,
  formatDuration,
  plural,
  progressBar,
  progressFigures,
  sourceLabel,
  stageMark,
} from './format.ts';
import { type Block, context, escapeMrkdwn, header, LIMITS, message, section, truncate } from './kit.ts';
import {
  foldProgress,
  type HostProgress,
  type HostStatus,
  type ProgressState,
  type RunOutcome,
} from './progress-state.ts';

/** Blocks left for the hosts: a header, a summary, a possible overflow note, and room for one note more. */
const HOST_BLOCKS = LIMITS.blocksPerMessage - 4;
/** A failure's detail is cut here on the progress line; the run's thread has the rest. */
const DETAIL_CHARS = 300;

const ORDER: Record<HostStatus, number> = {
  failed: 0,
  running: 1,
  'waiting-approval': 2,
  waiting: 3,
  skipped: 4,
  done: 5,
};

export function deployProgressMessage(events: readonly EngineEvent[]): SlackMessage {
  return renderProgress(foldProgress(events));
}

export function renderProgress(state: ProgressState): SlackMessage {
  const hosts = [...state.hosts].sort((a, b) => ORDER[a.status] - ORDER[b.status]);
  const counts = countByStatus(state.hosts);
  const title = `${titleOf(state.verb)} · ${plural(state.hosts.length, 'host')}`;
  const blocks: Block[] = [header(title), context(summaryLine(state, counts))];
  if (state.revision) blocks.push(context(revisionLine(state.revision)));

  const sections: string[] = [];
  let current = '';
  let shown = 0;
  for (const host of hosts) {
    const chunk = truncate(hostLines(host), LIMITS.sectionText);
    const joined = current === '' ? chunk : `${current}\n${chunk}`;
    if (joined.length <= LIMITS.sectionText) {
      current = joined;
    } else {
      if (sections.length + 1 >= HOST_BLOCKS) break;
      sections.push(current);
      current = chunk;
    }
    shown += 1;
  }
  if (current !== '') sections.push(current);
  for (const text of sections) blocks.push(section(text));
  if (shown < hosts.length) {
    const rest = countByStatus(hosts.slice(shown));
    blocks.push(context(`…and ${plural(hosts.length - shown, 'more host')}: ${countsText(rest)}.`));
  }
  return message(`${title}: ${countsText(counts)}${outcomeText(state.outcome, ' — ')}`, blocks);
}

/** Which commit of the fleet the run builds, so a channel can tell an experiment from the main line. */
export function revisionLine(r: Revision): string {
  const off = r.onDefault ? '' : ` · _not ${escapeMrkdwn(r.defaultBranch ?? 'the default branch')}_`;
  return truncate(`Fleet: ${escapeMrkdwn(describeRevision(r))}${off}`, LIMITS.sectionText);
}

function titleOf(verb: string | undefined): string {
  if (verb === undefined) return 'Run';
  return verb.charAt(0).toUpperCase() + verb.slice(1);
}

type Counts = Record<HostStatus, number>;

function countByStatus(hosts: readonly HostProgress[]): Counts {
  const counts: Counts = { failed: 0, running: 0, 'waiting-approval': 0, waiting: 0, skipped: 0, done: 0 };
  for (const h of hosts) counts[h.status] += 1;
  return counts;
}

function countsText(c: Counts): string {
  const parts = [
    c.failed > 0 ? `${c.failed} failed` : undefined,
    c.running > 0 ? `${c.running} running` : undefined,
    c['waiting-approval'] > 0 ? `${c['waiting-approval']} waiting for approval` : undefined,
    c.waiting > 0 ? `${c.waiting} waiting` : undefined,
    c.skipped > 0 ? `${c.skipped} skipped` : undefined,
    c.done > 0 ? `${c.done} done` : undefined,
  ].filter((p) => p !== undefined);
  return parts.length === 0 ? 'nothing yet' : parts.join(', ');
}

function outcomeText(outcome: RunOutcome | undefined, lead: string): string {
  switch (outcome) {
    case undefined:
      return '';
    case 'ok':
      return `${lead}finished`;
    case 'failed':
      return `${lead}finished with failures`;
    case 'awaiting-approval':
      return `${lead}waiting for an approver`;
    case 'interrupted':
      return `${lead}interrupted`;
    case 'cancelled':
      return `${lead}cancelled`;
  }
}

function summaryLine(state: ProgressState, counts: Counts): string {
  const moved =
    state.lanBytes + state.uplinkBytes > 0
      ? ` · plan: ${formatBytes(state.lanBytes)} from peers, ${formatBytes(state.uplinkBytes)} over the uplink`
      : '';
  const outcome = outcomeText(state.outcome, ' · ');
  return `${countsText(counts)}${moved}${outcome}`;
}

function hostLines(h: HostProgress): string {
  const stages =
    h.stages.length === 0
      ? h.status === 'waiting'
        ? 'waiting'
        : ''
      : h.stages
          .map((s) => {
            const figures = [
              s.bytes === undefined || s.bytes === 0 ? undefined : formatBytes(s.bytes),
              s.durationMs === undefined ? undefined : formatDuration(s.durationMs),
            ].filter((f) => f !== undefined);
            const note = s.status === 'noop' ? ' (nothing to do)' : '';
            return `${stageMark(s.status)} ${s.stage}${note}${figures.length > 0 ? ` ${figures.join(', ')}` : ''}`;
          })
          .join(' · ');
  const total = h.status === 'done' && h.durationMs > 0 ? ` — ${formatDuration(h.durationMs)}` : '';
  const asked = h.status === 'waiting-approval' ? ' · ⏸ restart waits for an approver' : '';
  const lines = [`*${escapeMrkdwn(h.host)}*  ${stages}${asked}${total}`];

  if (h.plan !== undefined && h.status !== 'done') {
    const p = h.plan;
    lines.push(
      `    plan: ${formatBytes(p.totalBytes)} in ${plural(p.totalPaths, 'path')}, ${formatBytes(p.presentBytes)} present · ` +
        `${formatBytes(p.lanBytes)} from peers · ${formatBytes(p.uplinkBytes)} over the uplink`,
    );
  }
  if (h.diff !== undefined) lines.push(`    ${diffProgressLine(h.diff)}`);
  for (const c of h.copies) {
    lines.push(
      `    \`${progressBar(c.doneBytes, c.totalBytes)}\` ${progressFigures(c.doneBytes, c.totalBytes)} from ${escapeMrkdwn(sourceLabel(c.source))}`,
    );
  }
  for (const s of h.stages) {
    if (s.status === 'failed' && s.detail !== undefined) {
      // A failure's detail is a command's own words, which can carry a token.
      lines.push(`    ✗ ${s.stage}: ${escapeMrkdwn(truncate(oneLine(redact(s.detail)), DETAIL_CHARS))}`);
    }
  }
  return lines.join('\n');
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ⏎ ').trim();
}
