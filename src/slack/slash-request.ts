// Everything about a request that can be decided before acknowledging it: the words, the verb and its
// validated arguments, whether the requester may run it here, and whether its hosts exist. All of it is
// pure and quick, so a refusal is the acknowledgement itself and nothing runs.
import { TargetError } from '../core/targets.ts';
import type { HostSpec } from '../core/types.ts';
import { type AnyVerb, parseCommand, tokenize } from '../verbs/parse.ts';
import type { SlackMessage } from '../verbs/verb.ts';
import { type AccessDecision, type AccessPolicy, checkAccess } from './access.ts';
import { errorMessage } from './blocks/error.ts';
import { context, escapeMrkdwn, message, section } from './blocks/kit.ts';
import { type Requester, SLASH_COMMAND } from './commands.ts';
import { failureMessage } from './failure.ts';

export type PreparedRequest =
  | {
      readonly ok: true;
      readonly verb: AnyVerb;
      readonly args: unknown;
      /** The request as typed, shortened for messages and the log. */
      readonly typed: string;
    }
  | { readonly ok: false; readonly refusal: SlackMessage };

export interface PrepareOptions {
  readonly verbs: readonly AnyVerb[];
  readonly policy: AccessPolicy;
  /** The engine's target resolution: throws TargetError for a name it does not know. */
  readonly resolve: (selectors: readonly string[]) => readonly HostSpec[];
  /** `/signage` (default) or `@signage`. */
  readonly prefix?: string;
}

/** Long enough to recognise a request, short enough for one line of a message. */
const SHOWN_CHARS = 120;

export function prepareRequest(text: string, who: Requester, options: PrepareOptions): PreparedRequest {
  const prefix = options.prefix ?? SLASH_COMMAND;
  const full = `${prefix} ${text}`.trim();
  const typed = full.length > SHOWN_CHARS ? `${full.slice(0, SHOWN_CHARS - 1)}…` : full;
  const words = tokenize(text);
  if (!words.ok) return { ok: false, refusal: notRun(typed, words.message, prefix) };
  const parsed = parseCommand(options.verbs, words.tokens, prefix);
  if (!parsed.ok) return { ok: false, refusal: notRun(typed, parsed.message, prefix) };
  const access = checkAccess(options.policy, who, parsed.verb);
  if (!access.allowed) return { ok: false, refusal: refusalMessage(typed, access) };
  const targets = targetsOf(parsed.args);
  if (targets !== undefined && targets.length > 0) {
    try {
      options.resolve(targets);
    } catch (error) {
      if (!(error instanceof TargetError)) throw error;
      return { ok: false, refusal: failureMessage(error, { typed, prefix, verb: parsed.verb }) };
    }
  }
  return { ok: true, verb: parsed.verb, args: parsed.args, typed };
}

/** Verbs that act on hosts keep them in `targets` (see commands/). */
function targetsOf(args: unknown): readonly string[] | undefined {
  if (typeof args !== 'object' || args === null || !('targets' in args)) return undefined;
  const targets = (args as { targets: unknown }).targets;
  return Array.isArray(targets) && targets.every((t) => typeof t === 'string') ? targets : undefined;
}

function notRun(typed: string, detail: string, prefix: string): SlackMessage {
  return errorMessage({
    summary: `${typed} was not run.`,
    detail,
    next: `\`${prefix} help\` lists what the bot can do.`,
  });
}

/** The reason is mrkdwn written by access.ts (it may link channels), so only the typed text is escaped. */
function refusalMessage(typed: string, access: Extract<AccessDecision, { allowed: false }>): SlackMessage {
  return message(`${typed} was not run. ${access.reason}`, [
    section(`🔒 *${escapeMrkdwn(typed)} was not run.* ${access.reason}`),
    context(access.next),
  ]);
}
