/**
 * Effective permissions of a guild member, guild-wide and in one channel, following Discord's
 * documented algorithm. Pure: the caller passes plain data and the current time.
 *
 * Channel permissions start from the guild-wide ones and apply the channel's overwrites in three
 * layers, each "remove the denied bits, then add the allowed bits":
 *  1. the overwrite for the @everyone role;
 *  2. the overwrites of all the member's other roles, combined (every deny, then every allow), so
 *     among roles an allow beats a deny whatever the roles' positions;
 *  3. the overwrite for the member themself.
 * A later layer beats an earlier one. The guild owner and ADMINISTRATOR skip all of this.
 * Then implicit rules apply: see {@link channelPermissions}.
 */
import { ALL, Permission, has } from './permissions.js';

/** A role as the permission math sees it. */
export interface PermissionRole {
  id: string;
  /** Higher is more senior. The @everyone role is conventionally the lowest (0). */
  position: number;
  permissions: bigint;
}

/** Roles by id: a `Map` or a plain object (looked up by own keys only). */
export type RoleLookup = ReadonlyMap<string, PermissionRole> | Readonly<Record<string, PermissionRole>>;

/** The guild-wide facts the permission math needs. */
export interface PermissionGuild {
  /** The owner holds every permission everywhere and cannot be acted on. */
  ownerId: string;
  /** The id of the @everyone role, which every member implicitly holds. */
  everyoneRoleId: string;
  roles: RoleLookup;
}

/** A guild member as the permission math sees it. */
export interface PermissionMember {
  id: string;
  /** Roles besides @everyone (listing @everyone too is harmless); unknown ids are ignored. */
  roleIds: readonly string[];
  /** Epoch milliseconds the member's timeout lasts until; active while `now < timeoutUntil`. */
  timeoutUntil?: number | null;
}

/** Whether an overwrite targets a role or a single member. */
export type OverwriteType = 'role' | 'member';

/** A channel's allow/deny override for one role or member. */
export interface PermissionOverwrite {
  type: OverwriteType;
  /** A role id (`type: 'role'`; the @everyone role id for the @everyone layer) or a member id. */
  id: string;
  allow: bigint;
  deny: bigint;
}

/** The kind of a channel: the voice-only implicit rules apply to `'voice'`. */
export type ChannelKind = 'text' | 'voice';

/** A channel as the permission math sees it. */
export interface PermissionChannel {
  id: string;
  kind: ChannelKind;
  overwrites: readonly PermissionOverwrite[];
}

/** What a timed-out member keeps (unless owner or administrator): reading, nothing else. */
export const TIMED_OUT_PERMISSIONS: bigint = Permission.VIEW_CHANNEL | Permission.READ_HISTORY;

/** Lost in a channel without SEND_MESSAGES. */
export const REQUIRES_SEND_MESSAGES: bigint = Permission.MENTION_EVERYONE | Permission.ATTACH_FILES;

/** Lost in a voice channel without CONNECT. */
export const REQUIRES_CONNECT: bigint = Permission.SPEAK | Permission.VIDEO | Permission.MUTE_MEMBERS;

/** Overwrites cannot grant or revoke these. */
const NOT_OVERWRITABLE: bigint = Permission.ADMINISTRATOR;

/** The role with this id, or undefined. Never returns inherited properties of a plain object. */
export function lookupRole(guild: PermissionGuild, id: string): PermissionRole | undefined {
  const roles = guild.roles;
  if (roles instanceof Map) return roles.get(id);
  const record = roles as Readonly<Record<string, PermissionRole>>;
  return Object.prototype.hasOwnProperty.call(record, id) ? record[id] : undefined;
}

/** Whether the member's timeout is active at `now` (epoch ms). The owner is never timed out. */
export function isTimedOut(member: PermissionMember, now: number): boolean {
  return member.timeoutUntil != null && now < member.timeoutUntil;
}

/** Whether `member` owns the guild. */
export function isOwner(member: PermissionMember, guild: PermissionGuild): boolean {
  return member.id === guild.ownerId;
}

/** The member's roles that exist in the guild, without @everyone, without duplicates. */
export function memberRoles(member: PermissionMember, guild: PermissionGuild): PermissionRole[] {
  const out: PermissionRole[] = [];
  const seen = new Set<string>();
  for (const id of member.roleIds) {
    if (id === guild.everyoneRoleId || seen.has(id)) continue;
    seen.add(id);
    const role = lookupRole(guild, id);
    if (role) out.push(role);
  }
  return out;
}

/** @everyone's permissions OR'ed with the member's roles', restricted to defined bits. */
function rolePermissions(member: PermissionMember, guild: PermissionGuild): bigint {
  let perms = lookupRole(guild, guild.everyoneRoleId)?.permissions ?? 0n;
  for (const role of memberRoles(member, guild)) perms |= role.permissions;
  return perms & ALL;
}

/**
 * Guild-wide permissions: {@link ALL} for the owner; otherwise @everyone's permissions OR'ed with
 * those of each of the member's roles, which is {@link ALL} if that includes ADMINISTRATOR.
 * While a timeout is active at `now` (epoch ms), a non-administrator keeps only
 * {@link TIMED_OUT_PERMISSIONS}. Never contains undefined bits.
 */
export function basePermissions(member: PermissionMember, guild: PermissionGuild, now: number): bigint {
  if (isOwner(member, guild)) return ALL;
  const perms = rolePermissions(member, guild);
  if (has(perms, Permission.ADMINISTRATOR)) return ALL;
  return isTimedOut(member, now) ? perms & TIMED_OUT_PERMISSIONS : perms;
}

/**
 * Applies the channel's overwrites to guild-wide role permissions `base` in Discord's order:
 * @everyone, then all the member's roles combined, then the member. Each layer removes its denied
 * bits, then adds its allowed bits. ADMINISTRATOR in an overwrite is ignored. No implicit rules,
 * no owner/administrator bypass: see {@link channelPermissions} for those.
 */
export function applyOverwrites(base: bigint, member: PermissionMember, guild: PermissionGuild, channel: PermissionChannel): bigint {
  const roleIds = new Set(memberRoles(member, guild).map((r) => r.id));
  let everyoneAllow = 0n;
  let everyoneDeny = 0n;
  let rolesAllow = 0n;
  let rolesDeny = 0n;
  let memberAllow = 0n;
  let memberDeny = 0n;
  for (const o of channel.overwrites) {
    if (o.type === 'role') {
      if (o.id === guild.everyoneRoleId) {
        everyoneAllow |= o.allow;
        everyoneDeny |= o.deny;
      } else if (roleIds.has(o.id)) {
        rolesAllow |= o.allow;
        rolesDeny |= o.deny;
      }
    } else if (o.type === 'member' && o.id === member.id) {
      memberAllow |= o.allow;
      memberDeny |= o.deny;
    }
  }
  let perms = base;
  perms = (perms & ~(everyoneDeny & ~NOT_OVERWRITABLE)) | (everyoneAllow & ~NOT_OVERWRITABLE);
  perms = (perms & ~(rolesDeny & ~NOT_OVERWRITABLE)) | (rolesAllow & ~NOT_OVERWRITABLE);
  perms = (perms & ~(memberDeny & ~NOT_OVERWRITABLE)) | (memberAllow & ~NOT_OVERWRITABLE);
  return perms & ALL;
}

/**
 * Implicit channel rules, applied to a non-owner, non-administrator's overwritten permissions:
 * an active timeout keeps only {@link TIMED_OUT_PERMISSIONS}; without VIEW_CHANNEL nothing is
 * left; without SEND_MESSAGES, {@link REQUIRES_SEND_MESSAGES} is lost; in a voice channel without
 * CONNECT, {@link REQUIRES_CONNECT} is lost.
 */
export function applyImplicitRules(perms: bigint, kind: ChannelKind, timedOut: boolean): bigint {
  if (timedOut) perms &= TIMED_OUT_PERMISSIONS;
  if (!has(perms, Permission.VIEW_CHANNEL)) return 0n;
  if (!has(perms, Permission.SEND_MESSAGES)) perms &= ~REQUIRES_SEND_MESSAGES;
  if (kind === 'voice' && !has(perms, Permission.CONNECT)) perms &= ~REQUIRES_CONNECT;
  return perms;
}

/**
 * The member's permissions in `channel` at `now` (epoch ms).
 *
 * The owner, and any member whose roles grant ADMINISTRATOR, get {@link ALL}: overwrites,
 * implicit rules and timeouts do not apply to them. Everyone else gets their roles' permissions
 * with the channel's overwrites applied (see {@link applyOverwrites}), then the implicit rules
 * (see {@link applyImplicitRules}): an active timeout leaves at most VIEW_CHANNEL and
 * READ_HISTORY; no VIEW_CHANNEL means no permissions at all; no SEND_MESSAGES drops
 * MENTION_EVERYONE and ATTACH_FILES; in a voice channel, no CONNECT drops SPEAK, VIDEO and
 * MUTE_MEMBERS. Never contains undefined bits.
 */
export function channelPermissions(member: PermissionMember, guild: PermissionGuild, channel: PermissionChannel, now: number): bigint {
  if (isOwner(member, guild)) return ALL;
  const base = rolePermissions(member, guild);
  if (has(base, Permission.ADMINISTRATOR)) return ALL;
  const overwritten = applyOverwrites(base, member, guild, channel);
  return applyImplicitRules(overwritten, channel.kind, isTimedOut(member, now));
}
