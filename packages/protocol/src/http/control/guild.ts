import { z } from 'zod';
import { PermissionSetView } from './permissions.js';

/** `GET /api/v1/guild`: the server's settings and the caller's guild-wide permissions. */
export const GuildView = z.object({
  name: z.string(),
  description: z.string(),
  icon: z.string().nullable(),
  adhoc_channels: z.boolean().describe('whether members may open IRC channels outside the guild model'),
  owner: z.string().nullable().describe('username of the owner'),
  member: z.boolean().describe('whether you are a member (false after a kick, until you rejoin)'),
  ...PermissionSetView.shape,
});
export type GuildView = z.infer<typeof GuildView>;

/** `PATCH /api/v1/guild`. */
export const GuildPatch = z.strictObject({
  name: z.string().max(100).optional(),
  description: z.string().max(1000).optional(),
  icon: z.string().max(2048).nullable().optional().describe('an image URL or attachment reference; null removes it'),
  adhoc_channels: z.boolean().optional(),
  owner: z.string().min(1).max(64).optional().describe('username of the new owner (only the owner or a server admin)'),
});
export type GuildPatch = z.input<typeof GuildPatch>;

/** `POST /api/v1/guild/join`. */
export const JoinBody = z.strictObject({
  invite: z.string().min(1).max(64).optional().describe('needed unless registration on this server is open'),
});
export type JoinBody = z.input<typeof JoinBody>;
