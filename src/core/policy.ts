// What a site or a tag says about its hosts' time: the time zone, the maintenance windows (activation,
// restarts and reboots wait for them) and the off hours (screens off on schedule). Resolved per host: the
// first of its tags (in the order listed) that sets a field wins, then its site, then the defaults. Pure.
import { describeInstant, describeWindows, isOpen, nextOpening, type TimeWindow } from './windows.ts';

/** One site's or tag's settings; every field optional. */
export interface PolicySettings {
  readonly timezone?: string | undefined;
  readonly windows?: readonly TimeWindow[] | undefined;
  readonly offHours?: readonly TimeWindow[] | undefined;
}

export interface HostPolicy {
  readonly timezone: string;
  /** null: changes may happen at any time. */
  readonly windows: readonly TimeWindow[] | null;
  /** null: the screen is never off on schedule. */
  readonly offHours: readonly TimeWindow[] | null;
}

export interface PolicySources {
  readonly sites: Readonly<Record<string, PolicySettings>>;
  readonly tags: Readonly<Record<string, PolicySettings>>;
  /** `schedule.timezone`, else the bot's own zone. */
  readonly defaultTimezone: string;
}

/** Any time, no off hours, in the default zone: a host that no site or tag speaks for. */
export function openPolicy(timezone: string): HostPolicy {
  return { timezone, windows: null, offHours: null };
}

export function resolvePolicy(
  host: { readonly site: string; readonly tags: readonly string[] },
  sources: PolicySources,
): HostPolicy {
  const layers = [
    ...host.tags.flatMap((t) => (sources.tags[t] ? [sources.tags[t]] : [])),
    ...(sources.sites[host.site] ? [sources.sites[host.site]!] : []),
  ];
  const first = <K extends keyof PolicySettings>(key: K): PolicySettings[K] =>
    layers.find((l) => l[key] !== undefined)?.[key];
  return {
    timezone: first('timezone') ?? sources.defaultTimezone,
    windows: first('windows') ?? null,
    offHours: first('offHours') ?? null,
  };
}

/** Whether the host may change now: open when it has no windows. */
export function windowOpen(policy: HostPolicy, at: Date): boolean {
  return policy.windows === null || isOpen(policy.windows, policy.timezone, at);
}

/** Whether the screen is off on schedule now. */
export function offOnSchedule(policy: HostPolicy, at: Date): boolean {
  return policy.offHours !== null && isOpen(policy.offHours, policy.timezone, at);
}

export interface WindowWait {
  readonly windows: string;
  /** null: no window ever opens (cannot happen with a valid window, kept for the type). */
  readonly opensAt: Date | null;
  /** "activation waits for the window Mon-Fri 22:00-06:00, next opening Mon 22:00 Europe/Oslo" */
  readonly text: string;
}

/** What waits for the window and until when; null when the window is open now. */
export function windowWait(policy: HostPolicy, at: Date, what = 'activation'): WindowWait | null {
  if (policy.windows === null || isOpen(policy.windows, policy.timezone, at)) return null;
  const windows = describeWindows(policy.windows);
  const opensAt = nextOpening(policy.windows, policy.timezone, at);
  const next = opensAt ? `next opening ${describeInstant(opensAt, policy.timezone)}` : 'it never opens';
  return {
    windows,
    opensAt,
    text: `${what} waits for the window ${windows} (${policy.timezone}), ${next}`,
  };
}

// ---- approvals (the two-person rule) ----

/** How many people must approve a restart question, and whether the one who asked may be one of them. */
export interface ApprovalRule {
  /** Distinct approvers needed; 1 is the usual single approval. */
  readonly count: number;
  readonly requesterMayApprove: boolean;
}

export const DEFAULT_APPROVALS: ApprovalRule = { count: 1, requesterMayApprove: true };

/** The settings a site or a tag may carry; each field is taken whole from the first place that sets it. */
export interface ApprovalPolicy {
  readonly approvals?: ApprovalRule | undefined;
}

export interface Policies {
  readonly sites: Readonly<Record<string, ApprovalPolicy>>;
  readonly tags: Readonly<Record<string, ApprovalPolicy>>;
}

export const NO_POLICIES: Policies = { sites: {}, tags: {} };

/** A field as the host's tags, then its site, set it; undefined where none does. */
export function policyField<K extends keyof ApprovalPolicy>(
  policies: Policies,
  host: { readonly site: string; readonly tags: readonly string[] },
  field: K,
): ApprovalPolicy[K] | undefined {
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
