// What a deploy changes on a host, in Slack: one line for the run's message (a summary and the biggest
// changes), a few blocks for the restart question, and the whole list for the run's thread, cut into
// sections that each fit Slack's limits. Package names and versions come from store path names (letters,
// digits and `+-._?=`), shown in code spans so `_` cannot turn into italics.

import type { DiffOutcome } from '../../core/closure-diff.ts';
import { changeLines, changeText, outcomeSummary } from '../../core/closure-diff-text.ts';
import type { PlanSummary } from '../../core/events.ts';
import type { SlackMessage } from '../../verbs/verb.ts';
import { formatBytes } from './format.ts';
import { type Block, code, context, escapeMrkdwn, LIMITS, message, section, truncate } from './kit.ts';

/** Changes named on the run's message per host; the thread has all of them. */
export const CHANGES_IN_PROGRESS = 3;
/** Changes listed in the restart question. */
export const CHANGES_IN_QUESTION = 8;

/** `changes: 2 upgraded · … — `chromium: 1 → 2`, `kiosk: …`, +3 more`, for the progress message. */
export function diffProgressLine(d: DiffOutcome, top = CHANGES_IN_PROGRESS): string {
  const summary = escapeMrkdwn(outcomeSummary(d));
  if (!d.known || d.diff.changes.length === 0) return truncate(`changes: ${summary}`, 600);
  const named = d.diff.changes.slice(0, top).map((c) => `\`${truncate(changeText(c), 120)}\``);
  const more = d.diff.changes.length - named.length;
  return truncate(`changes: ${summary} — ${named.join(', ')}${more > 0 ? `, +${more} more` : ''}`, 900);
}

/** Where the new paths come from: the planner's totals. */
export function sourcesLine(plan: PlanSummary): string {
  return (
    `${formatBytes(plan.lanBytes)} from peers over the LAN, ${formatBytes(plan.uplinkBytes)} over the uplink, ` +
    `${formatBytes(plan.presentBytes)} already on the host`
  );
}

/** For the restart question: what the approver is asked to put on screen. */
export function diffQuestionBlocks(d: DiffOutcome, plan: PlanSummary | undefined): Block[] {
  const blocks: Block[] = [];
  const { lines, more } = d.known ? changeLines(d.diff, CHANGES_IN_QUESTION) : { lines: [], more: 0 };
  const head = `*What changes:* ${escapeMrkdwn(outcomeSummary(d))}`;
  const list = lines.length > 0 ? `\n${code(lines.join('\n'))}` : '';
  blocks.push(section(truncate(`${head}${list}`, LIMITS.sectionText)));
  const notes = [
    ...(more > 0 ? [`…and ${more} more change${more === 1 ? '' : 's'} in the run's thread`] : []),
    ...(plan ? [`Copied: ${sourcesLine(plan)}`] : []),
  ];
  if (notes.length > 0) blocks.push(context(notes.join(' · ')));
  return blocks;
}

/** The whole list, for the run's thread. */
export function diffThreadMessage(host: string, d: DiffOutcome, plan: PlanSummary | undefined): SlackMessage {
  const title = `Changes on ${host}: ${outcomeSummary(d)}`;
  const blocks: Block[] = [section(`*Changes on ${escapeMrkdwn(host)}:* ${escapeMrkdwn(outcomeSummary(d))}`)];
  const from = d.known ? d.diff.from : d.from;
  const to = d.known ? d.diff.to : d.to;
  blocks.push(context(`\`${from ?? 'no system'}\` → \`${to}\``));
  if (plan) blocks.push(context(`Comes from: ${sourcesLine(plan)}`));
  if (d.known) {
    const { lines } = changeLines(d.diff);
    // Sections of whole lines, each within a section's limit (the code fence takes 6 characters).
    const room = LIMITS.sectionText - 6;
    const chunks: string[] = [];
    let current = '';
    for (const raw of lines) {
      const line = truncate(raw, 300);
      const joined = current === '' ? line : `${current}\n${line}`;
      if (joined.length <= room) current = joined;
      else {
        chunks.push(current);
        current = line;
      }
    }
    if (current !== '') chunks.push(current);
    // One block left for the note saying what did not fit.
    const space = LIMITS.blocksPerMessage - blocks.length - 1;
    for (const chunk of chunks.slice(0, space)) blocks.push(section(code(chunk)));
    const shownLines = chunks.slice(0, space).reduce((n, c) => n + c.split('\n').length, 0);
    if (shownLines < lines.length) {
      blocks.push(
        context(
          `…and ${lines.length - shownLines} more: \`signage plan ${escapeMrkdwn(host)} --json\` lists every change`,
        ),
      );
    }
  }
  return message(title, blocks);
}
