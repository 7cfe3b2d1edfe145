/**
 * The role hierarchy: who may manage which roles and act on which members. Pure, like
 * `compute.ts`. Following Discord, a member's rank is their highest role's position; nobody
 * manages a role at or above their own rank or acts on a member of equal or higher rank, and
 * ADMINISTRATOR does not lift that (only ownership does). Every check also requires the
 * permission the action needs, evaluated at `now` (a timed-out member holds none of them).
 */
import {
  basePermissions,
  channelPermissions,
  isOwner,
  lookupRole,
  memberRoles,
  type PermissionChannel,
  type PermissionGuild,
  type PermissionMember,
  type PermissionRole,
} from './compute.js';
import { Permission, has, isValidPermissions } from './permissions.js';

/**
 * The position of the member's highest role, counting @everyone (so a member with no other
 * roles ranks at @everyone's position; 0 if the guild has no such role). Unknown role ids are
 * ignored. Does not special-case the owner: see the `can*` checks for that.
 */
export function highestRolePosition(member: PermissionMember, guild: PermissionGuild): number {
  let top = lookupRole(guild, guild.everyoneRoleId)?.position ?? 0;
  for (const role of memberRoles(member, guild)) if (role.position > top) top = role.position;
  return top;
}

/**
 * Whether `actor` may edit, delete, assign or unassign `role`: the owner always may; anyone else
 * needs MANAGE_ROLES and a highest role strictly above `role` (equal is not enough). This does
 * not stop anyone assigning the @everyone role: callers must refuse that themselves.
 */
export function canManageRole(actor: PermissionMember, role: PermissionRole, guild: PermissionGuild, now: number): boolean {
  if (isOwner(actor, guild)) return true;
  if (!has(basePermissions(actor, guild, now), Permission.MANAGE_ROLES)) return false;
  return highestRolePosition(actor, guild) > role.position;
}

/** Moderation actions on another member, and the permission each needs. */
export const MEMBER_ACTION_PERMISSION = Object.freeze({
  kick: Permission.KICK_MEMBERS,
  ban: Permission.BAN_MEMBERS,
  timeout: Permission.MODERATE_MEMBERS,
} as const);

/** A moderation action: `'kick'`, `'ban'` or `'timeout'` (setting or lifting one). */
export type MemberAction = keyof typeof MEMBER_ACTION_PERMISSION;

/** Options for {@link canActOnMember}. */
export interface ActOnMemberOptions {
  /** Let a member act on themself (still needing the permission). Default false. */
  allowSelf?: boolean;
}

/**
 * Whether `actor` may `action` (kick, ban, time out) `target` at `now`. Never the owner (except the
 * owner on themself with `allowSelf`), never yourself unless `allowSelf`, and a timeout never
 * applies to an owner or administrator. Otherwise the actor needs the action's permission
 * ({@link MEMBER_ACTION_PERMISSION}) and, unless owner or acting on themself, a highest role
 * strictly above the target's.
 */
export function canActOnMember(
  actor: PermissionMember,
  target: PermissionMember,
  action: MemberAction,
  guild: PermissionGuild,
  now: number,
  options: ActOnMemberOptions = {},
): boolean {
  const self = actor.id === target.id;
  if (self && !options.allowSelf) return false;
  if (!self && isOwner(target, guild)) return false;
  if (action === 'timeout' && has(basePermissions(target, guild, now), Permission.ADMINISTRATOR)) return false;
  if (!has(basePermissions(actor, guild, now), MEMBER_ACTION_PERMISSION[action])) return false;
  if (self || isOwner(actor, guild)) return true;
  return highestRolePosition(actor, guild) > highestRolePosition(target, guild);
}

/**
 * Whether `actor` may set `role`'s permissions to `newPerms` at `now`: they must be able to manage
 * the role ({@link canManageRole}), and, unless owner or administrator, may not grant a bit they
 * do not hold guild-wide themselves. Bits the role already had may stay or be removed. Refuses a
 * `newPerms` that is negative or uses undefined bits.
 */
export function canEditRolePermissions(actor: PermissionMember, role: PermissionRole, newPerms: bigint, guild: PermissionGuild, now: number): boolean {
  if (!isValidPermissions(newPerms)) return false;
  if (!canManageRole(actor, role, guild, now)) return false;
  const actorPerms = basePermissions(actor, guild, now);
  if (has(actorPerms, Permission.ADMINISTRATOR)) return true; // owner or administrator
  const granted = newPerms & ~role.permissions;
  return (granted & ~actorPerms) === 0n;
}

/**
 * Whether `actor` may set an overwrite with `allow`/`deny` in `channel` at `now` (to delete one,
 * pass `0n`/`0n`). The actor needs MANAGE_ROLES in that channel (overwrites included) and may only
 * allow or deny bits they hold in that channel; the owner and administrators hold all of them.
 * ADMINISTRATOR can never be put in an overwrite, and negative or undefined bits are refused.
 * As in Discord, the overwrite's target is not checked against the hierarchy.
 */
export function canSetOverwrite(
  actor: PermissionMember,
  channel: PermissionChannel,
  allow: bigint,
  deny: bigint,
  guild: PermissionGuild,
  now: number,
): boolean {
  if (!isValidPermissions(allow) || !isValidPermissions(deny)) return false;
  const bits = allow | deny;
  if (has(bits, Permission.ADMINISTRATOR)) return false;
  const perms = channelPermissions(actor, guild, channel, now);
  if (!has(perms, Permission.MANAGE_ROLES)) return false;
  return (bits & ~perms) === 0n;
}
