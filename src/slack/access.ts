// Who may run what, and where. Pure: the configuration's `slack.deployers`, `slack.viewers` and
// `slack.channels` against who asks and in which channel. Deployers run every verb; viewers (everyone, by
// default) run the read-only ones; with `channels` set, commands count only in those channels.
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

export function checkAccess(policy: AccessPolicy, who: Requester, access: Access): AccessDecision {
  if (policy.channels.length > 0 && !policy.channels.includes(who.channelId)) {
    const where = policy.channels.map((c) => `<#${c}>`).join(', ');
    return {
      allowed: false,
      reason: `The bot takes requests only in ${where}.`,
      next: `Ask again in ${where}.`,
    };
  }
  const deployer = policy.deployers.includes(who.userId);
  if (access === 'deploy') {
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
