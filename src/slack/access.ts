// Who may run what, and where. Pure: the configuration's `slack.deployers`, `slack.viewers` and
// `slack.channels` against who asks and in which channel. Deployers run every verb; viewers (everyone, by
// default) run the read-only ones; verbs that need nothing of the fleet (help) are for everyone; with
// `channels` set, requests count only in those channels, whatever they ask.
import type { Access } from '../verbs/verb.ts';
import type { Requester } from './commands.ts';

export interface AccessPolicy {
  readonly deployers: readonly string[];
  readonly viewers: 'everyone' | readonly string[];
  /** Empty: anywhere the bot is reachable. */
  readonly channels: readonly string[];
}

export type AccessDecision =
  | { readonly allowed: true }
  | {
      readonly allowed: false;
      /** mrkdwn written here: it may link channels as `<#C…>`. */
      readonly reason: string;
      readonly next: string;
    };

/** What the check needs of a verb (see src/verbs/verb.ts). */
export interface VerbRights {
  readonly access: Access;
  readonly offline?: boolean | undefined;
}

/** Whether the bot takes requests in this channel at all. */
export function checkChannel(policy: Pick<AccessPolicy, 'channels'>, channelId: string): AccessDecision {
  if (policy.channels.length === 0 || policy.channels.includes(channelId)) return { allowed: true };
  const where = policy.channels.map((c) => `<#${c}>`).join(', ');
  return {
    allowed: false,
    reason: `The bot takes requests only in ${where}.`,
    next: `Ask again in ${where}.`,
  };
}

export function checkAccess(policy: AccessPolicy, who: Requester, verb: VerbRights): AccessDecision {
  const where = checkChannel(policy, who.channelId);
  if (!where.allowed) return where;
  // The README promises help to everyone: it reads nothing of the fleet.
  if (verb.offline === true) return { allowed: true };
  const deployer = policy.deployers.includes(who.userId);
  if (verb.access === 'deploy') {
    if (deployer) return { allowed: true };
    return {
      allowed: false,
      reason: 'Only deployers can run commands that change the screens.',
      next: 'Ask a deployer to run it, or ask an admin to add you to `slack.deployers`.',
    };
  }
  if (deployer || policy.viewers === 'everyone' || policy.viewers.includes(who.userId)) {
    return { allowed: true };
  }
  return {
    allowed: false,
    reason: 'Only viewers and deployers can ask the bot about the screens.',
    next: 'Ask an admin to add you to `slack.viewers`.',
  };
}
