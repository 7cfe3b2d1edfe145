import { describe, expect, it } from 'vitest';
import { MemberView, ReasonBody, TimeoutBody } from './members.js';

describe('TimeoutBody', () => {
  it('takes an end time or a duration', () => {
    expect(TimeoutBody.parse({ until: '2025-01-02T03:04:05+01:00', reason: 'spam' })).toEqual({ until: '2025-01-02T03:04:05+01:00', reason: 'spam' });
    expect(TimeoutBody.parse({ duration_seconds: 600 })).toEqual({ duration_seconds: 600 });
  });

  it('refuses both, neither, or more than 28 days', () => {
    const both = TimeoutBody.safeParse({ until: '2025-01-02T03:04:05Z', duration_seconds: 600 });
    expect(both.error?.issues.map((i) => i.message)).toEqual(['give either until or duration_seconds (one of them)']);
    expect(TimeoutBody.safeParse({ reason: 'spam' }).success).toBe(false);
    expect(TimeoutBody.safeParse({ duration_seconds: 28 * 24 * 3600 + 1 }).success).toBe(false);
    expect(TimeoutBody.safeParse({ until: 'tomorrow' }).success).toBe(false);
  });
});

describe('ReasonBody', () => {
  it('keeps a reason to 512 characters', () => {
    expect(ReasonBody.parse({})).toEqual({});
    expect(ReasonBody.safeParse({ reason: 'x'.repeat(513) }).success).toBe(false);
  });
});

describe('MemberView', () => {
  it('parses what the server answers for a timed-out member', () => {
    const member = {
      id: '7',
      username: 'bob',
      roles: [{ id: '3', name: 'moderator' }],
      timeout_until: '2025-01-02T03:14:05.000Z',
      is_owner: false,
      is_admin: false,
    };
    expect(MemberView.parse(member)).toEqual(member);
    expect(MemberView.safeParse({ ...member, roles: ['moderator'] }).success).toBe(false);
  });
});
