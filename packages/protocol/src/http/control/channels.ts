import { z } from 'zod';
import { PermissionNameList, PermissionSetView, PermissionsInput } from './permissions.js';

/** A role's or member's permission overwrite in a channel. */
export const OverwriteView = z.object({
  type: z.enum(['role', 'member']),
  id: z.string(),
  name: z.string().nullable().describe('role name or username'),
  allow: z.string(),
  allow_names: PermissionNameList,
  deny: z.string(),
  deny_names: PermissionNameList,
});
export type OverwriteView = z.infer<typeof OverwriteView>;

/** A text or voice channel, with the caller's permissions in it. */
export const ChannelView = z.object({
  id: z.string(),
  kind: z.enum(['text', 'voice']),
  name: z.string().describe('text: lowercase, without "#"; voice: display name'),
  irc_name: z.string().nullable().describe('"#name" for text channels'),
  topic: z.string(),
  position: z.number().int(),
  category: z.object({ id: z.string(), name: z.string() }).nullable(),
  murmur_channel_id: z.number().int().nullable().describe('voice: null until the channel exists in Murmur'),
  created_at: z.string().describe('ISO 8601'),
  ...PermissionSetView.shape,
  overwrites: z.array(OverwriteView).optional().describe('only for callers with MANAGE_ROLES or MANAGE_CHANNELS in the channel'),
});
export type ChannelView = z.infer<typeof ChannelView>;

/** `GET /api/v1/channels`: the channels the caller can see. */
export const ChannelList = z.object({ channels: z.array(ChannelView) });
export type ChannelList = z.infer<typeof ChannelList>;

const CategoryRef = z.string().min(1).max(64).nullable().describe('category id or name; null for none');

/** `POST /api/v1/channels`. */
export const ChannelCreate = z.strictObject({
  kind: z.enum(['text', 'voice']),
  name: z.string().min(1).max(64).describe('text: letters, digits, - and _ (spaces become -, "#" optional); voice: a display name'),
  topic: z.string().max(307).optional(),
  category: CategoryRef.optional(),
  position: z.number().int().min(0).max(1_000_000).optional(),
});
export type ChannelCreate = z.input<typeof ChannelCreate>;

/** `PATCH /api/v1/channels/{channel}`. */
export const ChannelPatch = z.strictObject({
  name: z.string().min(1).max(64).optional(),
  topic: z.string().max(307).optional(),
  category: CategoryRef.optional(),
  position: z.number().int().min(0).max(1_000_000).optional(),
});
export type ChannelPatch = z.input<typeof ChannelPatch>;

/** `PUT /api/v1/channels/{channel}/overwrites/{type}/{target}`. */
export const OverwriteBody = z.strictObject({
  allow: PermissionsInput.optional().describe('defaults to none'),
  deny: PermissionsInput.optional().describe('defaults to none'),
});
export type OverwriteBody = z.input<typeof OverwriteBody>;
