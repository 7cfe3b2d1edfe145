/**
 * What IRC should look like for the guild, derived from one snapshot at one instant. Pure: no
 * I/O, no clock of its own, no IRC state. The reconciler diffs this against what the hub told
 * us (diff.ts) and sends the difference.
 *
 * The mapping, per text channel `#<name>`:
 * - the channel is held by services (HistServ sits in it, opped) with `+n +t +R` (R: only
 *   logged-in users may join, and users without an account are not members);
 * - VIEW_CHANNEL: when a member with no roles may view, the channel is open and
 *   `+b R:<account>` keeps out each member who may not and each outsider (kicked, banned,
 *   disabled); otherwise it is `+i` and `+I R:<account>` lets in each member who may view;
 * - SEND_MESSAGES (mute bans, extban `m:` stacked on the account extban): when a member with no
 *   roles may send, `+b m:R:<account>` mutes each member who may not (timed out, denied by an
 *   overwrite); otherwise the channel is read-only, `+b m:*!*@*` mutes everyone and
 *   `+e m:R:<account>` exempts each member who may send;
 * - MANAGE_MESSAGES makes a present user a channel operator;
 * - the topic is the model's.
 */
import {
  channelPermissionsOf,
  defaultMemberPermissions,
  ircChannelName,
  nextTimeoutExpiry,
  type Channel,
  type GuildSnapshot,
  type Member,
} from '../guild/model.js';
import { Permission, has } from '@alloquy/protocol/permissions';
import { foldCase } from '@alloquy/protocol/irc';

/** The mask that matches everybody, for read-only channels. */
export const EVERYONE_MASK = '*!*@*';

/** `R:<account>`: InspIRCd's services_account extban. */
export function accountMask(account: string): string {
  return `R:${account}`;
}

/** `m:<mask>`: InspIRCd's muteban extban. */
export function muteMask(mask: string): string {
  return `m:${mask}`;
}

/** What one member may do in one channel, as far as IRC can enforce it. */
export interface ChannelAccess {
  readonly view: boolean;
  readonly send: boolean;
  /** MANAGE_MESSAGES: channel operator. */
  readonly op: boolean;
  /** MANAGE_CHANNELS: may change the topic from IRC. */
  readonly manageChannel: boolean;
}

/** List entries services want, by CAPAB mode name. */
export interface DesiredLists {
  readonly ban: ReadonlySet<string>;
  readonly banexception: ReadonlySet<string>;
  readonly invex: ReadonlySet<string>;
}

export interface DesiredChannel {
  readonly channel: Channel;
  /** `#<name>` */
  readonly ircName: string;
  /** Our channel timestamp: floor(createdAt / 1000), at least 1. The hub's wins when older. */
  readonly ts: number;
  readonly topic: string;
  /** `+i`: a member with no roles may not view the channel. */
  readonly inviteOnly: boolean;
  /**
   * A member with no roles, were they let in, may not send: everybody is muted but the
   * exempted. (In a private channel the default member sees nothing, so it is asked as if an
   * overwrite let it view.)
   */
  readonly readOnly: boolean;
  readonly lists: DesiredLists;
  /** Every member's access, by folded account name; accounts missing here are not members. */
  readonly access: ReadonlyMap<string, ChannelAccess>;
}

export interface DesiredGuild {
  /** Snapshot version this was computed from. */
  readonly version: number;
  /** Text channels by folded IRC name. */
  readonly channels: ReadonlyMap<string, DesiredChannel>;
  /** Whether users may open channels outside the model. */
  readonly adhocChannels: boolean;
  /** When a timeout ends and this must be computed again (Unix ms), or null. */
  readonly validUntil: number | null;
}

/** The channel timestamp services hold a text channel with. */
export function channelTs(channel: Channel): number {
  return Math.max(1, Math.floor(channel.createdAt / 1000));
}

/** The desired IRC state of every text channel of the guild at `now`. */
export function desiredGuild(snapshot: GuildSnapshot, now: number): DesiredGuild {
  const channels = new Map<string, DesiredChannel>();
  for (const channel of snapshot.channels) {
    if (channel.kind !== 'text') continue;
    const desired = desiredChannel(snapshot, channel, now);
    channels.set(foldCase(desired.ircName), desired);
  }
  return {
    version: snapshot.version,
    channels,
    adhocChannels: snapshot.settings.adhocChannels,
    validUntil: nextTimeoutExpiry(snapshot, now),
  };
}

/** The desired IRC state of one text channel at `now`. */
export function desiredChannel(snapshot: GuildSnapshot, channel: Channel, now: number): DesiredChannel {
  const defaults = defaultMemberPermissions(snapshot, channel, now);
  const inviteOnly = !has(defaults, Permission.VIEW_CHANNEL);
  const readOnly = !has(inviteOnly ? defaultViewerPermissions(snapshot, channel, now) : defaults, Permission.SEND_MESSAGES);
  const ban = new Set<string>();
  const banexception = new Set<string>();
  const invex = new Set<string>();
  const access = new Map<string, ChannelAccess>();

  if (readOnly) ban.add(muteMask(EVERYONE_MASK));
  for (const member of snapshot.members.values()) {
    const perms = channelPermissionsOf(snapshot, member, channel, now);
    const entry: ChannelAccess = {
      view: has(perms, Permission.VIEW_CHANNEL),
      send: has(perms, Permission.VIEW_CHANNEL | Permission.SEND_MESSAGES),
      op: has(perms, Permission.VIEW_CHANNEL | Permission.MANAGE_MESSAGES),
      manageChannel: has(perms, Permission.VIEW_CHANNEL | Permission.MANAGE_CHANNELS),
    };
    access.set(foldCase(member.username), entry);
    const mask = accountMask(member.username);
    if (inviteOnly) {
      if (entry.view) invex.add(mask);
    } else if (!entry.view) {
      ban.add(mask);
    }
    // Someone who cannot view is kept out (or kicked); a mute entry would add nothing.
    if (!entry.view) continue;
    if (readOnly) {
      if (entry.send) banexception.add(muteMask(mask));
    } else if (!entry.send) {
      ban.add(muteMask(mask));
    }
  }
  if (!inviteOnly) for (const outsider of snapshot.outsiders) ban.add(accountMask(outsider.username));

  return {
    channel,
    ircName: ircChannelName(channel),
    ts: channelTs(channel),
    topic: channel.topic,
    inviteOnly,
    readOnly,
    lists: { ban, banexception, invex },
    access,
  };
}

/** What a member with no roles would get in `channel` if a member overwrite let them view it. */
function defaultViewerPermissions(snapshot: GuildSnapshot, channel: Channel, now: number): bigint {
  const nobody: Member = { id: '\u0000default-viewer', accountId: -1, username: '', roleIds: [], timeoutUntil: null, isAdmin: false };
  const letIn: Channel = { ...channel, overwrites: [...channel.overwrites, { type: 'member', id: nobody.id, allow: Permission.VIEW_CHANNEL, deny: 0n }] };
  return channelPermissionsOf(snapshot, nobody, letIn, now);
}

/** Whether a list entry has a shape services own (`R:*`, `m:*`); others are set by hand on IRC. */
export function isServicesMask(mask: string): boolean {
  return mask.startsWith('R:') || mask.startsWith('m:');
}
