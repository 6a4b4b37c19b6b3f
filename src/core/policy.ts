// Per-site and per-tag policy, resolved for one host: the first of the host's tags (in the order listed)
// that sets a field wins, then the host's site, then the default. Pure: the configuration's `sites` and
// `tags` sections in, one host's settings out.

/** How many people must approve a restart question, and whether the one who asked may be one of them. */
export interface ApprovalRule {
  /** Distinct approvers needed; 1 is the usual single approval. */
  readonly count: number;
  readonly requesterMayApprove: boolean;
}

export const DEFAULT_APPROVALS: ApprovalRule = { count: 1, requesterMayApprove: true };

/** The settings a site or a tag may carry; each field is taken whole from the first place that sets it. */
export interface HostPolicy {
  readonly approvals?: ApprovalRule | undefined;
}

export interface Policies {
  readonly sites: Readonly<Record<string, HostPolicy>>;
  readonly tags: Readonly<Record<string, HostPolicy>>;
}

export const NO_POLICIES: Policies = { sites: {}, tags: {} };

/** A field as the host's tags, then its site, set it; undefined where none does. */
export function policyField<K extends keyof HostPolicy>(
  policies: Policies,
  host: { readonly site: string; readonly tags: readonly string[] },
  field: K,
): HostPolicy[K] | undefined {
  for (const tag of host.tags) {
    const value = policies.tags[tag]?.[field];
    if (value !== undefined) return value;
  }
  return policies.sites[host.site]?.[field];
}

export function approvalRuleFor(
  policies: Policies,
  host: { readonly site: string; readonly tags: readonly string[] },
): ApprovalRule {
  return policyField(policies, host, 'approvals') ?? DEFAULT_APPROVALS;
}

/** Whether one person's answer settles a question under this rule. */
export function oneApproverSuffices(rule: ApprovalRule): boolean {
  return rule.count <= 1 && rule.requesterMayApprove;
}
