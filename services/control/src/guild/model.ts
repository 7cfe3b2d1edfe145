/**
 * The guild as plain data: one immutable snapshot of everything the permission math and the
 * enforcers (InspIRCd through the services link, Murmur through Ice) need. GuildService builds a
 * new snapshot after every change; enforcers never read the database, they derive what IRC and
 * Murmur should look like from the newest snapshot and make them match. No I/O here.
 */
import {
  ALL,
  NONE,
  Permission,
  basePermissions,
  channelPermissions,
  has,
  type PermissionGuild,
  type PermissionMember,
  type PermissionOverwrite,
} from '@alloquy/protocol/permissions';
import { foldCase } from '@alloquy/protocol/irc';

export type ChannelKind = 'text' | 'voice';

export interface GuildSettings {
  name: string;
  description: string;
  /** An image URL or attachment reference, null for none. */
  icon: string | null;
  /** Account id (decimal string) of the owner. */
  ownerId: string | null;
  /** Whether members may open IRC channels outside the model. Off by default. */
  adhocChannels: boolean;
}

export interface Role {
  /** Decimal string of the row id. The @everyone role is `everyoneRoleId`. */
  id: string;
  name: string;
  /** Higher is more senior; @everyone is 0. */
  position: number;
  permissions: bigint;
  color: number | null;
  mentionable: boolean;
  /**
   * The largest upload (bytes) this role allows its holders; null or absent: the role sets no
   * limit. See {@link maxUploadBytesOf}.
   */
  maxUploadBytes?: number | null;
}

export interface Category {
  id: string;
  name: string;
  position: number;
}

export interface Channel {
  id: string;
  kind: ChannelKind;
  /** Text: lowercase IRC-safe name (`general` is `#general` on IRC). Voice: display name. */
  name: string;
  topic: string;
  position: number;
  categoryId: string | null;
  overwrites: PermissionOverwrite[];
  /** Voice only: Murmur's channel id once created there. */
  murmurChannelId: number | null;
  /** Unix ms. Text channels are held on IRC with channel TS = floor(createdAt / 1000). */
  createdAt: number;
}

export interface Member {
  /** Account id as a decimal string (the permission math's member id). */
  id: string;
  accountId: number;
  username: string;
  /** Role ids besides @everyone. */
  roleIds: string[];
  /** Unix ms; the member is timed out while now < timeoutUntil. */
  timeoutUntil: number | null;
  /** Server administrators act with the owner's authority in the guild. */
  isAdmin: boolean;
}

export interface Ban {
  accountId: number;
  username: string;
  reason: string;
  createdAt: number;
}

export interface GuildSnapshot {
  /** Grows by one with every change this process sees. */
  readonly version: number;
  readonly settings: GuildSettings;
  readonly everyoneRoleId: string;
  readonly roles: ReadonlyMap<string, Role>;
  /** By position, then id. */
  readonly categories: readonly Category[];
  /** By kind, position, id. */
  readonly channels: readonly Channel[];
  /** Current members (enabled accounts, not kicked, not banned), by account id string. */
  readonly members: ReadonlyMap<string, Member>;
  /**
   * Accounts that are not members but could connect: disabled, kicked or banned ones. The IRC
   * enforcer bans these by account in open channels.
   */
  readonly outsiders: readonly { accountId: number; username: string; why: 'kicked' | 'banned' | 'disabled' }[];
  readonly bans: ReadonlyMap<number, Ban>;
  /** The permission math's view (owner, @everyone, roles). */
  readonly permissionGuild: PermissionGuild;
}

const byUsername = new WeakMap<GuildSnapshot, Map<string, Member>>();

/**
 * A member by account name (case-insensitive). Snapshots are immutable, so the name index is
 * built once per snapshot: the history recorder asks for every line it records.
 */
export function memberByUsername(snapshot: GuildSnapshot, username: string): Member | undefined {
  let index = byUsername.get(snapshot);
  if (!index) {
    index = new Map();
    for (const member of snapshot.members.values()) index.set(foldCase(member.username), member);
    byUsername.set(snapshot, index);
  }
  return index.get(foldCase(username));
}

/** `#general` → the text channel `general`; anything else → undefined. */
export function textChannelByIrcName(snapshot: GuildSnapshot, ircName: string): Channel | undefined {
  if (!ircName.startsWith('#')) return undefined;
  const folded = foldCase(ircName.slice(1));
  return snapshot.channels.find((c) => c.kind === 'text' && c.name === folded);
}

export function channelByName(snapshot: GuildSnapshot, kind: ChannelKind, name: string): Channel | undefined {
  const folded = kind === 'text' ? foldCase(name.replace(/^#/, '')) : name.toLowerCase();
  return snapshot.channels.find((c) => c.kind === kind && (kind === 'text' ? c.name === folded : c.name.toLowerCase() === folded));
}

/** The IRC name of a text channel. */
export function ircChannelName(channel: Channel): string {
  return `#${channel.name}`;
}

function asPermissionMember(member: Member): PermissionMember {
  return { id: member.id, roleIds: member.roleIds, timeoutUntil: member.timeoutUntil };
}

/** Guild-wide permissions; NONE for non-members, ALL for the owner and server admins. */
export function guildPermissionsOf(snapshot: GuildSnapshot, member: Member | undefined, now: number): bigint {
  if (!member) return NONE;
  if (member.isAdmin) return ALL;
  return basePermissions(asPermissionMember(member), snapshot.permissionGuild, now);
}

/** A member's permissions in a channel; NONE for non-members, ALL for the owner and server admins. */
export function channelPermissionsOf(snapshot: GuildSnapshot, member: Member | undefined, channel: Channel, now: number): bigint {
  if (!member) return NONE;
  if (member.isAdmin) return ALL;
  return channelPermissions(asPermissionMember(member), snapshot.permissionGuild, channel, now);
}

/**
 * The largest file (bytes) a member may upload: the largest limit among their roles (@everyone
 * included) that set one, else `defaultBytes`. The owner and administrators are never held below
 * anyone: they get the largest of every role's limit and the default. 0 for non-members.
 */
export function maxUploadBytesOf(snapshot: GuildSnapshot, member: Member | undefined, defaultBytes: number, now: number): number {
  if (!member) return 0;
  const limitOf = (roleId: string): number | null => snapshot.roles.get(roleId)?.maxUploadBytes ?? null;
  if (has(guildPermissionsOf(snapshot, member, now), Permission.ADMINISTRATOR)) {
    let largest = defaultBytes;
    for (const role of snapshot.roles.values()) largest = Math.max(largest, role.maxUploadBytes ?? 0);
    return largest;
  }
  let largest: number | null = null;
  for (const id of [snapshot.everyoneRoleId, ...member.roleIds]) {
    const limit = limitOf(id);
    if (limit !== null && (largest === null || limit > largest)) largest = limit;
  }
  return largest ?? defaultBytes;
}

/** Whether `member` holds every flag of `flags` in `channel` at `now`. */
export function mayIn(snapshot: GuildSnapshot, member: Member | undefined, channel: Channel, flags: bigint, now: number): boolean {
  return has(channelPermissionsOf(snapshot, member, channel, now), flags);
}

/**
 * What a member with no roles gets in the channel: enforcers use it to pick the cheap
 * representation (an open channel plus exceptions, or a closed one plus a guest list).
 */
export function defaultMemberPermissions(snapshot: GuildSnapshot, channel: Channel, now: number): bigint {
  const nobody: Member = { id: '\u0000default', accountId: -1, username: '', roleIds: [], timeoutUntil: null, isAdmin: false };
  return channelPermissionsOf(snapshot, nobody, channel, now);
}

/** The next instant (Unix ms) after `now` when a timeout ends, or null: when to recompute. */
export function nextTimeoutExpiry(snapshot: GuildSnapshot, now: number): number | null {
  let next: number | null = null;
  for (const member of snapshot.members.values()) {
    const until = member.timeoutUntil;
    if (until !== null && until > now && (next === null || until < next)) next = until;
  }
  return next;
}

/** What changed, for listeners that care (enforcers simply recompute from the snapshot). */
export interface GuildChange {
  /** The audit action, e.g. 'channel.create', 'member.timeout', or 'timeout.expired', 'reload'. */
  action: string;
  /** Channel id, role id or account id the change is about, when there is one. */
  targetId?: string;
}

/** A member leaving involuntarily: enforcers kick them from IRC channels and Murmur with this reason. */
export interface MemberRemoval {
  accountId: number;
  username: string;
  kind: 'kick' | 'ban';
  reason: string;
  /** Who did it: an account name or 'operator'. */
  by: string;
}

export interface GuildEvents {
  /** After every committed change (and when a timeout expires); `snapshot` is already the new one. */
  changed: [snapshot: GuildSnapshot, change: GuildChange];
  /** Emitted before the `changed` of the same kick or ban. */
  memberRemoved: [removal: MemberRemoval];
}

/** What enforcers need of the guild service. */
export interface GuildSource {
  snapshot(): GuildSnapshot;
  on<K extends keyof GuildEvents>(event: K, listener: (...args: GuildEvents[K]) => void): unknown;
  off<K extends keyof GuildEvents>(event: K, listener: (...args: GuildEvents[K]) => void): unknown;
}
