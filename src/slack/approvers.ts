// Who may answer a restart question: users named in the configuration, and members of one Slack user group.
// The group's members are read from Slack (usergroups.users.list) and kept for a minute, so a click is
// answered quickly and a change of membership is seen soon. When Slack cannot say who is in the group, only
// the named users may answer: an outage never lets someone else in.
import type { webApi } from '@slack/bolt';
import { z } from 'zod';
import type { SlackMessage } from '../verbs/verb.ts';
import { context, escapeMrkdwn, message, section } from './blocks/kit.ts';

const userId = z
  .string()
  .regex(/^[UW][A-Z0-9]{2,}$/, 'a Slack user ID looks like U012ABCDEF (profile → ⋮ → Copy member ID)');
const usergroupId = z
  .string()
  .regex(/^S[A-Z0-9]{2,}$/, 'a Slack user group ID looks like S012ABCDEF (not its @handle)');

export const approverPolicySchema = z
  .object({
    users: z.array(userId).default([]),
    usergroup: usergroupId.optional(),
  })
  .strict();

export interface ApproverPolicy {
  readonly users: readonly string[];
  readonly usergroup?: string | undefined;
}

export type ApproverDecision =
  | { readonly allowed: true; readonly via: 'user' | 'usergroup' }
  | {
      readonly allowed: false;
      readonly reason: 'not-approver' | 'group-unavailable';
      /** Why the group could not be read, for the log. */
      readonly detail?: string;
    };

/** Members of the policy's user group as far as known: a list, or why it could not be read. */
export type GroupMembers = readonly string[] | { readonly unavailable: string } | undefined;

/** The decision itself, pure. */
export function decideApprover(
  user: string,
  policy: ApproverPolicy,
  members: GroupMembers,
): ApproverDecision {
  if (policy.users.includes(user)) return { allowed: true, via: 'user' };
  if (policy.usergroup === undefined || members === undefined)
    return { allowed: false, reason: 'not-approver' };
  if ('unavailable' in members)
    return { allowed: false, reason: 'group-unavailable', detail: members.unavailable };
  return members.includes(user)
    ? { allowed: true, via: 'usergroup' }
    : { allowed: false, reason: 'not-approver' };
}

export type GroupResolver = (usergroup: string) => Promise<readonly string[]>;

export interface ApproverCheckOptions {
  /** How long the group's members are trusted before they are read again (default 60 s). */
  readonly cacheMs?: number;
  readonly now?: () => number;
}

export function createApproverCheck(
  policy: ApproverPolicy,
  resolver: GroupResolver,
  options: ApproverCheckOptions = {},
): (userId: string) => Promise<ApproverDecision> {
  const cacheMs = options.cacheMs ?? 60_000;
  const now = options.now ?? Date.now;
  let cached: { members: readonly string[]; at: number } | undefined;
  let reading: Promise<readonly string[]> | undefined;

  async function members(group: string): Promise<GroupMembers> {
    if (cached !== undefined && now() - cached.at < cacheMs) return cached.members;
    // Clicks that arrive together share one lookup.
    reading ??= resolver(group).finally(() => {
      reading = undefined;
    });
    try {
      const list = await reading;
      cached = { members: list, at: now() };
      return list;
    } catch (error) {
      return { unavailable: error instanceof Error ? error.message : String(error) };
    }
  }

  return async (user) => {
    if (policy.users.includes(user) || policy.usergroup === undefined) {
      return decideApprover(user, policy, undefined);
    }
    return decideApprover(user, policy, await members(policy.usergroup));
  };
}

/** Reads a user group's members from Slack (needs the usergroups:read scope). */
export function slackGroupResolver(client: Pick<webApi.WebClient, 'usergroups'>): GroupResolver {
  return async (usergroup) => {
    const result = await client.usergroups.users.list({ usergroup });
    return result.users ?? [];
  };
}

/** What someone who may not answer is told, privately. */
export function refusalMessage(decision: ApproverDecision, policy?: ApproverPolicy): SlackMessage {
  if (decision.allowed) throw new Error('refusalMessage: the decision allows the user');
  const who = policy === undefined ? [] : approverNames(policy);
  const ask = who.length > 0 ? ` Ask ${who.join(' or ')}.` : '';
  const text =
    decision.reason === 'group-unavailable'
      ? `Slack could not tell the bot who is in the approvers' group just now, so your answer was not taken.${ask} Try again in a minute.`
      : `Only approvers can answer restart questions; your click changed nothing.${ask}`;
  return message(text, [
    section(`🔒 ${text}`),
    context('Approvers are set in the bot configuration (slack.approvers).'),
  ]);
}

function approverNames(policy: ApproverPolicy): string[] {
  const users = policy.users.slice(0, 5).map((u) => `<@${escapeMrkdwn(u)}>`);
  if (policy.usergroup !== undefined) users.push(`a member of <!subteam^${escapeMrkdwn(policy.usergroup)}>`);
  return users;
}
