import { z } from 'zod';
import { AccountView } from './accounts.js';

/** `GET /api/v1/accounts`: every account (admins only). */
export const AccountList = z.object({ accounts: z.array(AccountView) });
export type AccountList = z.infer<typeof AccountList>;

/** `POST /api/v1/registration-invites`: an invite code for registration on an invite-only server. */
export const RegistrationInviteCreate = z.strictObject({
  max_uses: z.number().int().min(1).max(1_000_000).optional(),
  expires_in: z
    .number()
    .int()
    .min(60)
    .max(365 * 24 * 3600)
    .optional()
    .describe('seconds'),
});
export type RegistrationInviteCreate = z.input<typeof RegistrationInviteCreate>;

export const RegistrationInviteView = z.object({ code: z.string(), expires_at: z.string().nullable(), max_uses: z.number().int().nullable() });
export type RegistrationInviteView = z.infer<typeof RegistrationInviteView>;
