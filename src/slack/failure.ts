// What the requester is told, privately, when a command cannot run or fails: what went wrong and what to do
// next, by the kind of failure (a typo in a host name, a busy host, a missing right).
import { TargetError } from '../core/targets.ts';
import { CancelRefused } from '../engine/cancel.ts';
import { EngineError, HostBusy, NotAllowed, NotApprover } from '../engine/errors.ts';
import { type AnyVerb, usageOf } from '../verbs/parse.ts';
import { UsageError } from '../verbs/usage-error.ts';
import type { SlackMessage } from '../verbs/verb.ts';
import { errorMessage } from './blocks/error.ts';
import { context, escapeMrkdwn, LIMITS, message, section, truncate } from './blocks/kit.ts';
import { redact } from './redact.ts';

export interface FailureContext {
  /** The request as typed, e.g. `/signage deploy baard-entrance`. */
  readonly typed: string;
  /** `/signage` or `@signage`: how the next request would be written. */
  readonly prefix: string;
  readonly verb?: AnyVerb | undefined;
}

/** The requester's to fix (a typo, a busy host), as opposed to the bot's (worth a stack in the log). */
export function isExpectedFailure(error: unknown): boolean {
  return error instanceof UsageError || error instanceof TargetError || error instanceof EngineError;
}

export function failureMessage(error: unknown, at: FailureContext): SlackMessage {
  const detail = error instanceof Error ? error.message : String(error);
  if (error instanceof TargetError) {
    return errorMessage({
      summary: `${at.typed} names a host or tag the bot does not know; nothing was run.`,
      detail,
      next: `Check the spelling: \`${at.prefix} hosts\` lists every host and its tags.`,
    });
  }
  if (error instanceof UsageError) {
    return errorMessage({
      summary: `${at.typed} cannot run as asked; nothing was run.`,
      detail,
      next:
        at.verb === undefined ? `Try \`${at.prefix} help\`.` : `Usage: \`${usageOf(at.verb, at.prefix)}\``,
    });
  }
  if (error instanceof HostBusy) {
    // Who holds the host is the useful part, so their mention stays a mention rather than code.
    const summary = `${at.typed} was not run: a host is busy with another run.`;
    return message(summary, [
      section(`⚠️ *${escapeMrkdwn(summary)}*`),
      section(withMentions(detail)),
      context(
        `Wait for that run to finish (an open restart question holds its hosts until it is answered or expires), or check with \`${at.prefix} status\`.`,
      ),
    ]);
  }
  if (error instanceof NotAllowed) {
    // The rule names who asked; their mention stays a mention rather than code.
    const summary = `${at.typed} was not run: a rule of the configuration does not allow it.`;
    return message(summary, [
      section(`⛔ *${escapeMrkdwn(summary)}*`),
      section(withMentions(detail)),
      context(escapeMrkdwn(sentence(error.hint ?? 'ask an approver'))),
    ]);
  }
  if (error instanceof NotApprover) {
    return errorMessage({
      summary: `${at.typed} was not run: it approves a restart up front, and only approvers can.`,
      detail,
      next: 'Leave out --restart (or --yes): an approver will then be asked with buttons.',
    });
  }
  if (error instanceof CancelRefused) {
    return errorMessage({
      summary: `${at.typed}: nothing was cancelled.`,
      detail,
      next: sentence(error.hint ?? `check the hosts with \`${at.prefix} status\``),
    });
  }
  if (error instanceof EngineError) {
    return errorMessage({
      summary: `${at.typed} failed.`,
      detail,
      next: sentence(error.hint ?? `check what was done with \`${at.prefix} status\`, then try again`),
    });
  }
  return errorMessage({
    summary: `${at.typed} stopped with an unexpected error.`,
    detail,
    next: `Check what was done with \`${at.prefix} status\`, then try again. If it happens again, the bot's log has the details.`,
  });
}

/** Escaped text in which the engine's mentions of Slack users (`<@U…>`) still read as mentions. */
function withMentions(text: string): string {
  // Built outside errorMessage, so scrubbed here like every other error text.
  return escapeMrkdwn(truncate(redact(text), LIMITS.sectionText - 100)).replace(
    /&lt;@([UW][A-Z0-9]+)&gt;/g,
    '<@$1>',
  );
}

function sentence(text: string): string {
  const trimmed = text.trim();
  const capital = trimmed.length === 0 ? trimmed : trimmed[0]!.toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}
