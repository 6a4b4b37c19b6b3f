// Who may deploy what: a revision off the default branch (a branch, a tag, a commit outside its history) can
// be limited to approvers, to hosts with certain tags, or both. Pure: the engine asks, this decides.
import { describeRevision, type Revision } from './revision.ts';
import type { HostSpec } from './types.ts';

export interface RefRules {
  /** Who may put a revision off the default branch on hosts: anyone who may deploy, or approvers only. */
  readonly nonDefault: 'deployers' | 'approvers';
  /** Hosts that may run a revision off the default branch: those with one of these tags; empty: any host. */
  readonly hostsTagged: readonly string[];
}

export const OPEN_REF_RULES: RefRules = { nonDefault: 'deployers', hostsTagged: [] };

/** Why this deploy is refused, naming the rule; null when the rules allow it. */
export function refRefusal(
  rules: RefRules,
  revision: Revision,
  targets: readonly HostSpec[],
  actor: { readonly name: string; readonly approver: boolean },
): string | null {
  if (revision.onDefault) return null;
  const what = `${describeRevision(revision)} (not ${revision.defaultBranch ?? 'the default branch'})`;
  if (rules.nonDefault === 'approvers' && !actor.approver) {
    return `refs.nonDefault is approvers: only approvers may deploy ${what}, and ${actor.name} is not one`;
  }
  if (rules.hostsTagged.length > 0) {
    const outside = targets.filter((t) => !t.tags.some((tag) => rules.hostsTagged.includes(tag)));
    if (outside.length > 0) {
      const tags = rules.hostsTagged.map((t) => `@${t}`).join(' or ');
      return `refs.hostsTagged is [${rules.hostsTagged.join(', ')}]: ${what} may go only to hosts tagged ${tags}; ${outside
        .map((t) => t.name)
        .join(', ')} ${outside.length === 1 ? 'is' : 'are'} not`;
    }
  }
  return null;
}
