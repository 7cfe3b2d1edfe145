import { z } from 'zod';
import { PermissionSetView, PermissionsInput } from './permissions.js';

/** A role. */
export const RoleView = z.object({
  id: z.string(),
  name: z.string(),
  position: z.number().int().describe('higher is more senior; @everyone is 0'),
  ...PermissionSetView.shape,
  color: z.number().int().nullable(),
  mentionable: z.boolean(),
  everyone: z.boolean().describe('the @everyone role every member holds'),
  max_upload_bytes: z
    .number()
    .int()
    .nullable()
    .describe(
      "the largest upload (bytes) this role allows; null: no limit of its own. A member's limit is the largest among their roles, else the server default",
    ),
});
export type RoleView = z.infer<typeof RoleView>;

/** `GET /api/v1/roles`: most senior first, @everyone last. */
export const RoleList = z.object({ roles: z.array(RoleView) });
export type RoleList = z.infer<typeof RoleList>;

const Color = z.number().int().min(0).max(0xffffff).nullable().describe('RGB as an integer, e.g. 16711680 for red; null for none');

const MaxUploadBytes = z
  .number()
  .int()
  .min(1)
  .max(Number.MAX_SAFE_INTEGER)
  .nullable()
  .describe('the largest upload (bytes) for holders of this role; null removes the limit. Setting it needs MANAGE_GUILD too');

/** `POST /api/v1/roles`. */
export const RoleCreate = z.strictObject({
  name: z.string().min(1).max(64),
  permissions: PermissionsInput.optional(),
  color: Color.optional(),
  mentionable: z.boolean().optional(),
  max_upload_bytes: MaxUploadBytes.optional(),
});
export type RoleCreate = z.input<typeof RoleCreate>;

/** `PATCH /api/v1/roles/{role}`. */
export const RolePatch = z.strictObject({
  name: z.string().min(1).max(64).optional(),
  permissions: PermissionsInput.optional(),
  color: Color.optional(),
  mentionable: z.boolean().optional(),
  max_upload_bytes: MaxUploadBytes.optional(),
  position: z.number().int().min(1).max(10_000).optional().describe('1 is just above @everyone'),
});
export type RolePatch = z.input<typeof RolePatch>;
