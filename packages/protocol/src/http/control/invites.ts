import { z } from 'zod';

/** A guild invite: it registers new accounts and readmits kicked ones. */
export const InviteView = z.object({
  code: z.string(),
  created_by: z.string().nullable().describe('username; null when made by the operator'),
  created_at: z.string(),
  expires_at: z.string().nullable(),
  max_uses: z.number().int().nullable(),
  uses: z.number().int(),
});
export type InviteView = z.infer<typeof InviteView>;

/** `GET /api/v1/invites`: the live ones. */
export const InviteList = z.object({ invites: z.array(InviteView) });
export type InviteList = z.infer<typeof InviteList>;

/** `POST /api/v1/invites`. */
export const InviteCreate = z.strictObject({
  max_uses: z.number().int().min(1).max(1_000_000).optional(),
  expires_in: z
    .number()
    .int()
    .min(1)
    .max(365 * 24 * 3600)
    .optional()
    .describe('seconds'),
});
export type InviteCreate = z.input<typeof InviteCreate>;
