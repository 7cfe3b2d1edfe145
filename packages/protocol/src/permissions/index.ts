/**
 * Guild permissions: Discord-style permission bits, effective-permission computation with
 * per-channel overwrites, and the role hierarchy. Pure functions over plain data, no I/O; callers
 * load the guild, member and channel, pass the current time, and act on the answer.
 *
 * @packageDocumentation
 */

export {
  /** Every permission flag by name; each is a single bit of a `bigint`. Positions are stable. */
  Permission,
  /** The name of a permission flag. */
  type PermissionName,
  /** All flag names, in ascending bit order. */
  PERMISSION_NAMES,
  /** Bit position of each flag. */
  PERMISSION_BITS,
  /** Every defined bit: the owner's and an administrator's permissions. */
  ALL,
  /** The empty set. */
  NONE,
  /** Thrown for malformed permission text, unknown bits or unknown names. */
  InvalidPermissionsError,
  /** Whether a set holds all of the given flags. */
  has,
  /** Whether a set holds any of the given flags. */
  hasAny,
  /** Union of sets. */
  combine,
  /** A set without the given flags. */
  remove,
  /** Whether a value is a non-negative set of defined bits only. */
  isValidPermissions,
  /** Whether a string names a flag. */
  isPermissionName,
  /** The name of a single flag. */
  permissionName,
  /** The names of the flags in a set. */
  permissionNames,
  /** The set of the named flags. */
  permissionsFromNames,
  /** Options for {@link parsePermissions}. */
  type ParsePermissionsOptions,
  /** Parses the decimal-string JSON/storage form. */
  parsePermissions,
  /** The decimal-string JSON/storage form of a set. */
  serializePermissions,
} from './permissions.js';

export {
  /** A role: id, position, permissions. */
  type PermissionRole,
  /** Roles by id, as a Map or a plain object. */
  type RoleLookup,
  /** Owner, @everyone role id and roles of a guild. */
  type PermissionGuild,
  /** A member: id, role ids, optional timeout end. */
  type PermissionMember,
  /** `'role'` or `'member'`. */
  type OverwriteType,
  /** A channel overwrite: target type and id, allow and deny bits. */
  type PermissionOverwrite,
  /** `'text'` or `'voice'`. */
  type ChannelKind,
  /** A channel: id, kind, overwrites. */
  type PermissionChannel,
  /** What a timed-out member keeps: VIEW_CHANNEL and READ_HISTORY. */
  TIMED_OUT_PERMISSIONS,
  /** Flags lost without SEND_MESSAGES. */
  REQUIRES_SEND_MESSAGES,
  /** Flags lost in a voice channel without CONNECT. */
  REQUIRES_CONNECT,
  /** A role by id, own keys only. */
  lookupRole,
  /** Whether a member's timeout is active at a time. */
  isTimedOut,
  /** Whether a member owns the guild. */
  isOwner,
  /** A member's existing roles other than @everyone. */
  memberRoles,
  /** Guild-wide permissions of a member. */
  basePermissions,
  /** The three overwrite layers applied to role permissions. */
  applyOverwrites,
  /** The implicit channel rules (timeout, view, send, connect). */
  applyImplicitRules,
  /** A member's permissions in a channel. */
  channelPermissions,
} from './compute.js';

export {
  /** Position of a member's highest role. */
  highestRolePosition,
  /** Whether a member may manage a role. */
  canManageRole,
  /** The permission each moderation action needs. */
  MEMBER_ACTION_PERMISSION,
  /** `'kick'`, `'ban'` or `'timeout'`. */
  type MemberAction,
  /** Options for {@link canActOnMember}. */
  type ActOnMemberOptions,
  /** Whether a member may kick, ban or time out another. */
  canActOnMember,
  /** Whether a member may set a role's permissions. */
  canEditRolePermissions,
  /** Whether a member may set a channel overwrite. */
  canSetOverwrite,
} from './hierarchy.js';
