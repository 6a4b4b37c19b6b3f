// How a failure reads in Slack: one line saying what went wrong, the detail (the command's own words) in a
// code block, and what to do next. Long details are cut to fit; the bot's log has all of it. Error text can
// carry a token (a library's message, a command's stderr), so every part is scrubbed here, where all of the
// bot's error replies are built.
import type { SlackMessage } from '../../verbs/verb.ts';
import { redact } from '../redact.ts';
import { type Block, code, context, escapeMrkdwn, LIMITS, message, section, truncate } from './kit.ts';

export interface ErrorReport {
  readonly summary: string;
  readonly detail?: string | undefined;
  readonly next?: string | undefined;
}

/** Room for the code fences around the detail. */
const FENCES = 6;

export function errorMessage(report: ErrorReport): SlackMessage {
  const plain = redact(report.summary);
  const summary = escapeMrkdwn(truncate(plain.trim() || 'Something went wrong.', 500));
  const blocks: Block[] = [section(`⚠️ *${summary}*`)];
  const detail = redact(report.detail ?? '').trim();
  if (detail !== '') {
    // Escaping can lengthen the text, so the cut comes after it.
    blocks.push(section(code(truncate(escapeMrkdwn(detail), LIMITS.sectionText - FENCES))));
  }
  const next = redact(report.next ?? '').trim();
  if (next !== '') blocks.push(context(next));
  return message(plain, blocks);
}
