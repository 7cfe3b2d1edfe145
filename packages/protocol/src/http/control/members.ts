import { z } from 'zod';

/** A guild member. */
export const MemberView = z.object({
  id: z.string().describe('account id'),
  username: z.string(),
  roles: z.array(z.object({ id: z.string(), name: z.string() })).describe('besides @everyone, most senior first'),
  timeout_until: z.string().nullable().describe('ISO 8601 while a timeout lasts, else null'),
  is_owner: z.boolean(),
  is_admin: z.boolean().describe("a server admin: acts with the owner's authority"),
});
export type MemberView = z.infer<typeof MemberView>;

/** `GET /api/v1/members`. */
export const MemberList = z.object({ members: z.array(MemberView) });
export type MemberList = z.infer<typeof MemberList>;

const Reason = z.string().max(512).optional().describe('shown to the member and kept in the audit log');

/** A kick or a ban: `POST /api/v1/members/{username}/kick`, `PUT /api/v1/bans/{username}`. */
export const ReasonBody = z.strictObject({ reason: Reason });
export type ReasonBody = z.input<typeof ReasonBody>;

/** `POST /api/v1/members/{username}/timeout`: an end time or a duration, not both. */
export const TimeoutBody = z
  .strictObject({
    until: z.iso.datetime({ offset: true }).optional().describe('ISO 8601 end of the timeout'),
    duration_seconds: z
      .number()
      .int()
      .min(1)
      .max(28 * 24 * 3600)
      .optional()
      .describe('or: how long from now (at most 28 days)'),
    reason: Reason,
  })
  .refine((b) => (b.until === undefined) !== (b.duration_seconds === undefined), { message: 'give either until or duration_seconds (one of them)' });
export type TimeoutBody = z.input<typeof TimeoutBody>;
