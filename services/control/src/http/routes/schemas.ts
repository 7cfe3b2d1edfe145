import { z } from 'zod';
import type { Account, Session } from '../../accounts/account-service.js';

/** Wire shapes shared by several routes. Input shapes are strict: unknown fields are an error. */
export const Credentials = z.strictObject({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(4096),
});

export const Registration = z.strictObject({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(4096),
  invite: z.string().min(1).max(64).optional(),
});

export const AccountView = z.object({
  id: z.number().int(),
  username: z.string(),
  is_admin: z.boolean(),
  disabled: z.boolean(),
  created_at: z.string().describe('ISO 8601'),
});

export const SessionView = z.object({
  access_token: z.string(),
  refresh_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int().describe('access token lifetime in seconds'),
});

export function accountView(a: Account): z.infer<typeof AccountView> {
  return { id: a.id, username: a.username, is_admin: a.isAdmin, disabled: a.disabled, created_at: new Date(a.createdAt).toISOString() };
}

export function sessionView(s: Session): z.infer<typeof SessionView> {
  return s;
}
