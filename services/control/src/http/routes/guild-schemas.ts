import { z } from 'zod';
import type { Ban, Category, Channel, GuildSnapshot, Member, Role } from '../../guild/model.js';
import type { AuditEntry, Invite } from '../../guild/service.js';
import { InvalidPermissionsError, PERMISSION_NAMES, parsePermissions, permissionNames, permissionsFromNames, serializePermissions } from '@alloquy/protocol/permissions';

/**
 * Wire shapes of the guild API. Permission sets travel as decimal strings (`"3072"`, like
 * Discord's API: JSON numbers lose bits past 2^53); on input an array of flag names is accepted
 * too, and every output carries both the string and the names.
 */

const DECIMAL = /^(?:0|[1-9][0-9]{0,39})$/;

/** A permission set on input: `"3072"` or `["VIEW_CHANNEL", "SEND_MESSAGES"]`. Parsed to a bigint. */
export const PermissionsInput = z
  .union(
    [
      z.string().regex(DECIMAL, 'a permission set is a decimal string such as "3072"'),
      z.array(z.string().max(64)).max(PERMISSION_NAMES.length).describe(`permission names: ${PERMISSION_NAMES.join(', ')}`),
    ],
    { error: 'a permission set is a decimal string such as "3072" or an array of permission names' },
  )
  .transform((value, ctx) => {
    try {
      return typeof value === 'string' ? parsePermissions(value) : permissionsFromNames(value);
    } catch (err) {
      if (!(err instanceof InvalidPermissionsError)) throw err;
      ctx.issues.push({ code: 'custom', message: err.message, input: value });
      return z.NEVER;
    }
  });

const PermissionNames = z.array(z.enum(PERMISSION_NAMES as [string, ...string[]]));

const permissionsFields = {
  permissions: z.string().describe('decimal string of permission bits'),
  permission_names: PermissionNames,
};

function permissionsOut(bits: bigint): { permissions: string; permission_names: string[] } {
  return { permissions: serializePermissions(bits), permission_names: permissionNames(bits) };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

// ---- guild ---------------------------------------------------------------------------------

export const GuildView = z.object({
  name: z.string(),
  description: z.string(),
  icon: z.string().nullable(),
  adhoc_channels: z.boolean().describe('whether members may open IRC channels outside the guild model'),
  owner: z.string().nullable().describe('username of the owner'),
  member: z.boolean().describe('whether you are a member (false after a kick, until you rejoin)'),
  ...permissionsFields,
});

export function guildView(snapshot: GuildSnapshot, member: boolean, perms: bigint): z.infer<typeof GuildView> {
  const s = snapshot.settings;
  return {
    name: s.name,
    description: s.description,
    icon: s.icon,
    adhoc_channels: s.adhocChannels,
    owner: s.ownerId === null ? null : usernameOf(snapshot, Number(s.ownerId)),
    member,
    ...permissionsOut(perms),
  };
}

export const GuildPatch = z.strictObject({
  name: z.string().max(100).optional(),
  description: z.string().max(1000).optional(),
  icon: z.string().max(2048).nullable().optional().describe('an image URL or attachment reference; null removes it'),
  adhoc_channels: z.boolean().optional(),
  owner: z.string().min(1).max(64).optional().describe('username of the new owner (only the owner or a server admin)'),
});

export const JoinBody = z.strictObject({
  invite: z.string().min(1).max(64).optional().describe('needed unless registration on this server is open'),
});

// ---- channels and categories ---------------------------------------------------------------

const OverwriteView = z.object({
  type: z.enum(['role', 'member']),
  id: z.string(),
  name: z.string().nullable().describe('role name or username'),
  allow: z.string(),
  allow_names: PermissionNames,
  deny: z.string(),
  deny_names: PermissionNames,
});

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
  ...permissionsFields,
  overwrites: z.array(OverwriteView).optional().describe('only for callers with MANAGE_ROLES or MANAGE_CHANNELS in the channel'),
});

export function channelView(snapshot: GuildSnapshot, c: Channel, perms: bigint, withOverwrites: boolean): z.infer<typeof ChannelView> {
  const category = c.categoryId === null ? undefined : snapshot.categories.find((k) => k.id === c.categoryId);
  return {
    id: c.id,
    kind: c.kind,
    name: c.name,
    irc_name: c.kind === 'text' ? `#${c.name}` : null,
    topic: c.topic,
    position: c.position,
    category: category ? { id: category.id, name: category.name } : null,
    murmur_channel_id: c.murmurChannelId,
    created_at: iso(c.createdAt),
    ...permissionsOut(perms),
    ...(withOverwrites
      ? {
          overwrites: c.overwrites.map((o) => ({
            type: o.type,
            id: o.id,
            name: o.type === 'role' ? (snapshot.roles.get(o.id)?.name ?? null) : usernameOf(snapshot, Number(o.id)),
            allow: serializePermissions(o.allow),
            allow_names: permissionNames(o.allow),
            deny: serializePermissions(o.deny),
            deny_names: permissionNames(o.deny),
          })),
        }
      : {}),
  };
}

const CategoryRef = z.string().min(1).max(64).nullable().describe('category id or name; null for none');

export const ChannelCreate = z.strictObject({
  kind: z.enum(['text', 'voice']),
  name: z.string().min(1).max(64).describe('text: letters, digits, - and _ (spaces become -, "#" optional); voice: a display name'),
  topic: z.string().max(307).optional(),
  category: CategoryRef.optional(),
  position: z.number().int().min(0).max(1_000_000).optional(),
});

export const ChannelPatch = z.strictObject({
  name: z.string().min(1).max(64).optional(),
  topic: z.string().max(307).optional(),
  category: CategoryRef.optional(),
  position: z.number().int().min(0).max(1_000_000).optional(),
});

export const OverwriteBody = z.strictObject({
  allow: PermissionsInput.optional().describe('defaults to none'),
  deny: PermissionsInput.optional().describe('defaults to none'),
});

export const CategoryView = z.object({ id: z.string(), name: z.string(), position: z.number().int() });

export function categoryView(c: Category): z.infer<typeof CategoryView> {
  return { id: c.id, name: c.name, position: c.position };
}

export const CategoryCreate = z.strictObject({
  name: z.string().min(1).max(64),
  position: z.number().int().min(0).max(1_000_000).optional(),
});

export const CategoryPatch = z.strictObject({
  name: z.string().min(1).max(64).optional(),
  position: z.number().int().min(0).max(1_000_000).optional(),
});

// ---- roles -----------------------------------------------------------------------------------

export const RoleView = z.object({
  id: z.string(),
  name: z.string(),
  position: z.number().int().describe('higher is more senior; @everyone is 0'),
  ...permissionsFields,
  color: z.number().int().nullable(),
  mentionable: z.boolean(),
  everyone: z.boolean().describe('the @everyone role every member holds'),
  max_upload_bytes: z
    .number()
    .int()
    .nullable()
    .describe("the largest upload (bytes) this role allows; null: no limit of its own. A member's limit is the largest among their roles, else the server default"),
});

export function roleView(r: Role, everyoneRoleId: string): z.infer<typeof RoleView> {
  return {
    id: r.id,
    name: r.name,
    position: r.position,
    ...permissionsOut(r.permissions),
    color: r.color,
    mentionable: r.mentionable,
    everyone: r.id === everyoneRoleId,
    max_upload_bytes: r.maxUploadBytes ?? null,
  };
}

const Color = z.number().int().min(0).max(0xffffff).nullable().describe('RGB as an integer, e.g. 16711680 for red; null for none');

const MaxUploadBytes = z
  .number()
  .int()
  .min(1)
  .max(Number.MAX_SAFE_INTEGER)
  .nullable()
  .describe('the largest upload (bytes) for holders of this role; null removes the limit. Setting it needs MANAGE_GUILD too');

export const RoleCreate = z.strictObject({
  name: z.string().min(1).max(64),
  permissions: PermissionsInput.optional(),
  color: Color.optional(),
  mentionable: z.boolean().optional(),
  max_upload_bytes: MaxUploadBytes.optional(),
});

export const RolePatch = z.strictObject({
  name: z.string().min(1).max(64).optional(),
  permissions: PermissionsInput.optional(),
  color: Color.optional(),
  mentionable: z.boolean().optional(),
  max_upload_bytes: MaxUploadBytes.optional(),
  position: z.number().int().min(1).max(10_000).optional().describe('1 is just above @everyone'),
});

// ---- members, bans, invites, audit log -------------------------------------------------------

export const MemberView = z.object({
  id: z.string().describe('account id'),
  username: z.string(),
  roles: z.array(z.object({ id: z.string(), name: z.string() })).describe('besides @everyone, most senior first'),
  timeout_until: z.string().nullable().describe('ISO 8601 while a timeout lasts, else null'),
  is_owner: z.boolean(),
  is_admin: z.boolean().describe('a server admin: acts with the owner\'s authority'),
});

export function memberView(snapshot: GuildSnapshot, m: Member, now: number): z.infer<typeof MemberView> {
  const roles = m.roleIds
    .map((id) => snapshot.roles.get(id))
    .filter((r): r is Role => r !== undefined)
    .sort((a, b) => b.position - a.position)
    .map((r) => ({ id: r.id, name: r.name }));
  return {
    id: m.id,
    username: m.username,
    roles,
    timeout_until: m.timeoutUntil !== null && m.timeoutUntil > now ? iso(m.timeoutUntil) : null,
    is_owner: snapshot.settings.ownerId === m.id,
    is_admin: m.isAdmin,
  };
}

const Reason = z.string().max(512).optional().describe('shown to the member and kept in the audit log');

export const ReasonBody = z.strictObject({ reason: Reason });

export const TimeoutBody = z
  .strictObject({
    until: z.iso.datetime({ offset: true }).optional().describe('ISO 8601 end of the timeout'),
    duration_seconds: z.number().int().min(1).max(28 * 24 * 3600).optional().describe('or: how long from now (at most 28 days)'),
    reason: Reason,
  })
  .refine((b) => (b.until === undefined) !== (b.duration_seconds === undefined), { message: 'give either until or duration_seconds (one of them)' });

export const BanView = z.object({ username: z.string(), reason: z.string(), created_at: z.string() });

export function banView(b: Ban): z.infer<typeof BanView> {
  return { username: b.username, reason: b.reason, created_at: iso(b.createdAt) };
}

export const InviteView = z.object({
  code: z.string(),
  created_by: z.string().nullable().describe('username; null when made by the operator'),
  created_at: z.string(),
  expires_at: z.string().nullable(),
  max_uses: z.number().int().nullable(),
  uses: z.number().int(),
});

export function inviteView(i: Invite): z.infer<typeof InviteView> {
  return {
    code: i.code,
    created_by: i.createdBy,
    created_at: iso(i.createdAt),
    expires_at: i.expiresAt === null ? null : iso(i.expiresAt),
    max_uses: i.maxUses,
    uses: i.uses,
  };
}

export const InviteCreate = z.strictObject({
  max_uses: z.number().int().min(1).max(1_000_000).optional(),
  expires_in: z.number().int().min(1).max(365 * 24 * 3600).optional().describe('seconds'),
});

export const AuditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).optional().describe('how many entries (default 50, at most 500)'),
  before: z.coerce.number().int().min(1).optional().describe('only entries with an id below this one: the next page'),
  action: z.string().min(1).max(64).optional().describe('only this action, e.g. member.kick'),
  actor: z.string().min(1).max(64).optional().describe('only actions by this username (or "operator")'),
});

export const AuditEntryView = z.object({
  id: z.number().int(),
  time: z.string(),
  actor: z.string().describe('username, or "operator" for the CLI'),
  action: z.string().describe('e.g. channel.create, role.update, member.kick, member.ban, member.timeout'),
  target_type: z.string().nullable(),
  target_id: z.string().nullable(),
  target_name: z.string().nullable(),
  reason: z.string().nullable(),
  changes: z.record(z.string(), z.unknown()).nullable(),
});

export function auditEntryView(e: AuditEntry): z.infer<typeof AuditEntryView> {
  return {
    id: e.id,
    time: iso(e.time),
    actor: e.actor,
    action: e.action,
    target_type: e.targetType,
    target_id: e.targetId,
    target_name: e.targetName,
    reason: e.reason,
    changes: e.changes,
  };
}

function usernameOf(snapshot: GuildSnapshot, accountId: number): string | null {
  const member = snapshot.members.get(String(accountId));
  if (member) return member.username;
  return snapshot.outsiders.find((o) => o.accountId === accountId)?.username ?? null;
}
