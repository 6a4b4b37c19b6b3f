// The per-site and per-tag policy resolved for a host: its tags in the order listed, then its site, then the
// default; each field taken whole from the first place that sets it.
import { describe, expect, it } from 'vitest';
import {
  approvalRuleFor,
  DEFAULT_APPROVALS,
  oneApproverSuffices,
  type Policies,
} from '../../src/core/policy.ts';

const policies: Policies = {
  sites: { office: { approvals: { count: 2, requesterMayApprove: false } }, lab: {} },
  tags: {
    lobby: { approvals: { count: 3, requesterMayApprove: true } },
    kiosk: { approvals: { count: 1, requesterMayApprove: true } },
    quiet: {},
  },
};

describe('approvals per host', () => {
  it('takes the first listed tag that sets it, then the site, then the default', () => {
    expect(approvalRuleFor(policies, { site: 'office', tags: ['lobby', 'kiosk'] })).toEqual({
      count: 3,
      requesterMayApprove: true,
    });
    expect(approvalRuleFor(policies, { site: 'office', tags: ['kiosk', 'lobby'] })).toEqual({
      count: 1,
      requesterMayApprove: true,
    });
    // A tag that sets nothing leaves it to the site.
    expect(approvalRuleFor(policies, { site: 'office', tags: ['quiet'] })).toEqual({
      count: 2,
      requesterMayApprove: false,
    });
    expect(approvalRuleFor(policies, { site: 'lab', tags: [] })).toEqual(DEFAULT_APPROVALS);
    expect(approvalRuleFor({ sites: {}, tags: {} }, { site: 'x', tags: ['y'] })).toEqual(DEFAULT_APPROVALS);
  });

  it('one approver suffices only with a count of one and the requester allowed', () => {
    expect(oneApproverSuffices(DEFAULT_APPROVALS)).toBe(true);
    expect(oneApproverSuffices({ count: 2, requesterMayApprove: true })).toBe(false);
    expect(oneApproverSuffices({ count: 1, requesterMayApprove: false })).toBe(false);
  });
});
