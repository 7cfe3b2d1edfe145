import { z } from 'zod';

/** `POST /api/v1/accounts`: register (open, invite-only or closed, by server configuration). */
export const Registration = z.strictObject({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(4096),
  invite: z.string().min(1).max(64).optional(),
});
export type Registration = z.input<typeof Registration>;

/** An account: `GET /api/v1/me`, registration, and the admin's list. */
export const AccountView = z.object({
  id: z.number().int(),
  username: z.string(),
  is_admin: z.boolean(),
  disabled: z.boolean(),
  created_at: z.string().describe('ISO 8601'),
});
export type AccountView = z.infer<typeof AccountView>;

/** `POST /api/v1/me/password`. */
export const PasswordChange = z.strictObject({ current_password: z.string().min(1).max(4096), new_password: z.string().min(1).max(4096) });
export type PasswordChange = z.input<typeof PasswordChange>;
