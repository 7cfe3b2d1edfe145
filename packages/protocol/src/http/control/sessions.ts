import { z } from 'zod';

/** `POST /api/v1/sessions`: log in. */
export const Credentials = z.strictObject({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(4096),
});
export type Credentials = z.input<typeof Credentials>;

/** A new session, from logging in or from a refresh. */
export const SessionView = z.object({
  access_token: z.string(),
  refresh_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int().describe('access token lifetime in seconds'),
});
export type SessionView = z.infer<typeof SessionView>;

/** `POST /api/v1/sessions/refresh` and `POST /api/v1/sessions/logout`. */
export const RefreshTokenBody = z.strictObject({ refresh_token: z.string().min(1).max(256) });
export type RefreshTokenBody = z.input<typeof RefreshTokenBody>;
