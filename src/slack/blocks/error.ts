// How a failure reads in Slack: one line saying what went wrong, the detail (the command's own words) in a
// code block, and what to do next. Long details are cut to fit; the bot's log has all of it.
import type { SlackMessage } from '../../verbs/verb.ts';
import { type Block, code, context, escapeMrkdwn, LIMITS, message, section, truncate } from './kit.ts';

export interface ErrorReport {
  readonly summary: string;
  readonly detail?: string | undefined;
  readonly next?: string | undefined;
}

/** Room for the code fences around the detail. */
const FENCES = 6;

export function errorMessage(report: ErrorReport): SlackMessage {
  const summary = escapeMrkdwn(truncate(report.summary.trim() || 'Something went wrong.', 500));
  const blocks: Block[] = [section(`⚠️ *${summary}*`)];
  if (report.detail !== undefined && report.detail.trim() !== '') {
    // Escaping can lengthen the text, so the cut comes after it.
    blocks.push(section(code(truncate(escapeMrkdwn(report.detail.trim()), LIMITS.sectionText - FENCES))));
  }
  if (report.next !== undefined && report.next.trim() !== '') {
    blocks.push(context(report.next.trim()));
  }
  return message(report.summary, blocks);
}
