import { channelPermissionsOf, type Channel, type GuildSnapshot } from '../guild/model.js';
import { has, Permission as GuildPermission } from '@alloquy/protocol/permissions';
import { Permission, type AclEntry, type AclGroup, type ChannelAcl } from './ice-client.js';

/**
 * The one place that maps who may do what in Murmur onto Murmur ACLs: the voice channels, and the
 * root channel around them.
 *
 * Murmur evaluates a channel's ACL entries from the root down, later ones overriding earlier ones,
 * starting from defaults that let everyone traverse, enter, speak, whisper and send text. It knows
 * the built-in groups `all` (everyone connected) and `auth` (every registered user, which for
 * Alloquy means every enabled account: the relay registers exactly those). Murmur's SuperUser
 * (user id 0) skips ACLs altogether: Murmur 1.3 hands it every right but Speak and Whisper whatever
 * the ACLs say. Holders of Write skip them too; Alloquy grants Write to nobody.
 *
 * **The root channel is a silent lobby**, as Discord has no voice outside voice channels: it is
 * where users land when they connect and where the relay moves whoever loses CONNECT. Its entries
 * also apply below it (to every channel that does not say otherwise), and with the guild model a
 * root group `alloquy-member` lists the Murmur user ids of the guild's members, less those timed
 * out. Members kicked or banned from the guild keep their Murmur registration (their account is
 * still enabled), so they are `auth` but not `alloquy-member`:
 *
 * | who                  | in the root channel        | in the channels below, unless they say otherwise |
 * | -------------------- | -------------------------- | ------------------------------------------------ |
 * | `all`                | traverse, enter            | traverse                                         |
 * | `alloquy-member`     | and send text              | and enter, send text                             |
 *
 * Nobody speaks, whispers or makes channels (temporary or not) in the root channel or below it;
 * voice channels grant Speak and Whisper themselves. Murmur checks Speak only when someone enters
 * a channel (it "suppresses" them), so the relay suppresses whoever is in the root channel
 * unsuppressed (voice-enforcement.ts). Sending text is harmless in the lobby and stays a member's
 * right; it is checked in the channel of whoever receives it, so non-members cannot text anyone.
 * Without the guild model `auth` stands for the members.
 *
 * **Each voice channel** carries three channel-local groups whose `add` lists are Murmur user ids,
 * recomputed from the guild whenever it changes:
 *
 * | guild permission in the channel | Murmur group      | Murmur permission |
 * | ------------------------------- | ---------------- | ----------------- |
 * | CONNECT                         | `alloquy-connect` | Enter            |
 * | SPEAK                           | `alloquy-speak`   | Speak, Whisper   |
 * | MUTE_MEMBERS                    | `alloquy-mute`    | MuteDeafen       |
 *
 * after denying all of them to `all`. Whisper is Murmur's right to be heard in a channel from
 * outside it (a whisper or shout into it): only who may speak in a channel may whisper into it.
 * The permission math already drops SPEAK and MUTE_MEMBERS without CONNECT, everything without
 * VIEW_CHANNEL and all but reading during a timeout, so the groups need no rules of their own.
 *
 * Making channels inside a voice channel is denied to `all` as well (the root denies it already;
 * the voice channel says so itself in case the root's ACL is changed by hand): Murmur moves the
 * maker of a temporary channel into it without checking Enter and gives them Write there, which
 * would let anyone talk "inside" a channel they may not enter.
 */

export const CONNECT_GROUP = 'alloquy-connect';
export const SPEAK_GROUP = 'alloquy-speak';
export const MUTE_GROUP = 'alloquy-mute';
/** The root channel's group of guild members (not timed out): see the table above. */
export const MEMBER_GROUP = 'alloquy-member';

/** What Alloquy decides in a voice channel; everything else is Murmur's default. */
const MANAGED = Permission.Enter | Permission.Speak | Permission.Whisper | Permission.MuteDeafen | Permission.MakeChannel | Permission.MakeTempChannel;

/** What nobody may do in the root channel or below it, unless a channel's own ACL allows it. */
const LOBBY_DENIED = Permission.Speak | Permission.Whisper | Permission.TextMessage | Permission.MakeChannel | Permission.MakeTempChannel;

/** Who holds what in one voice channel, as sorted Murmur user ids (never 0, SuperUser). */
export interface VoiceGrants {
  connect: readonly number[];
  speak: readonly number[];
  mute: readonly number[];
}

function entry(group: string, allow: number, deny: number, where: 'here and below' | 'below' = 'here and below'): AclEntry {
  return { applyHere: where === 'here and below', applySubs: true, inherited: false, userId: -1, group, allow, deny };
}

function group(name: string, add: readonly number[]): AclGroup {
  // inherit false: membership comes from this list only, never from a same-named parent group.
  // inheritable true: a sub-channel someone makes inside the voice channel follows the same rules.
  return { name, inherited: false, inherit: false, inheritable: true, add: [...add], remove: [], members: [] };
}

/** The ACL of a voice channel derived from the guild: see the table above. */
export function voiceChannelAcl(grants: VoiceGrants): ChannelAcl {
  return {
    acls: [
      entry('all', 0, MANAGED),
      entry(CONNECT_GROUP, Permission.Enter, 0),
      entry(SPEAK_GROUP, Permission.Speak | Permission.Whisper, 0),
      entry(MUTE_GROUP, Permission.MuteDeafen, 0),
    ],
    groups: [group(CONNECT_GROUP, grants.connect), group(SPEAK_GROUP, grants.speak), group(MUTE_GROUP, grants.mute)],
    inherit: true,
  };
}

/**
 * The ACL of a voice channel when the relay runs without the guild model: every registered user
 * (`auth`) may enter and speak, anonymous users (who would need the server password) may not.
 */
export function openVoiceChannelAcl(): ChannelAcl {
  const voice = Permission.Enter | Permission.Speak | Permission.Whisper;
  return {
    acls: [entry('all', 0, voice), entry('auth', voice, 0)],
    groups: [],
    inherit: true,
  };
}

/** The root channel's ACL with the guild model: a silent lobby, see the table above. */
export function lobbyAcl(members: readonly number[]): ChannelAcl {
  return lobby(MEMBER_GROUP, [group(MEMBER_GROUP, members)]);
}

/** The root channel's ACL without the guild model: every registered user counts as a member. */
export function openLobbyAcl(): ChannelAcl {
  return lobby('auth', []);
}

function lobby(members: string, groups: AclGroup[]): ChannelAcl {
  return {
    acls: [
      entry('all', 0, LOBBY_DENIED),
      entry('all', 0, Permission.Enter, 'below'),
      entry(members, Permission.TextMessage, 0),
      entry(members, Permission.Enter, 0, 'below'),
    ],
    groups,
    // The root has nothing to inherit; Murmur's own root ACL says false too.
    inherit: false,
  };
}

/**
 * The Murmur user ids of the guild's members at `now`, less those timed out (server
 * administrators, whom timeouts do not bind, stay), sorted: the root's `alloquy-member` group.
 * Members without a Murmur registration yet are left out, as in {@link voiceGrants}.
 */
export function lobbyMembers(snapshot: GuildSnapshot, murmurUserIdOf: (accountId: number) => number | undefined, now: number): number[] {
  const ids = new Set<number>();
  for (const member of snapshot.members.values()) {
    const timedOut = member.timeoutUntil !== null && now < member.timeoutUntil;
    if (timedOut && !member.isAdmin) continue;
    const id = murmurUserIdOf(member.accountId);
    if (id !== undefined && id > 0) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}

/** Whether `acl` is one the relay wrote from the guild model (its groups mark it). */
export function isGuildVoiceAcl(acl: ChannelAcl): boolean {
  return acl.groups.some((g) => !g.inherited && g.name === CONNECT_GROUP);
}

/**
 * Who holds CONNECT, SPEAK and MUTE_MEMBERS in `channel` at `now`, by Murmur user id. Members
 * without a Murmur registration yet (`murmurUserIdOf` undefined) are left out: the relay
 * recomputes once they are registered.
 */
export function voiceGrants(snapshot: GuildSnapshot, channel: Channel, murmurUserIdOf: (accountId: number) => number | undefined, now: number): VoiceGrants {
  const connect: number[] = [];
  const speak: number[] = [];
  const mute: number[] = [];
  for (const member of snapshot.members.values()) {
    const id = murmurUserIdOf(member.accountId);
    if (id === undefined || id <= 0) continue;
    const perms = channelPermissionsOf(snapshot, member, channel, now);
    if (has(perms, GuildPermission.CONNECT)) connect.push(id);
    if (has(perms, GuildPermission.SPEAK)) speak.push(id);
    if (has(perms, GuildPermission.MUTE_MEMBERS)) mute.push(id);
  }
  const sorted = (ids: number[]) => [...new Set(ids)].sort((a, b) => a - b);
  return { connect: sorted(connect), speak: sorted(speak), mute: sorted(mute) };
}

/**
 * Whether a channel's own (non-inherited) ACL is what `wanted` says: entries in order, groups in
 * any order (Murmur keeps them in a hash) with the same add and remove lists.
 */
export function aclMatches(actual: ChannelAcl, wanted: ChannelAcl): boolean {
  if (actual.inherit !== wanted.inherit) return false;
  const own = (acl: ChannelAcl) => acl.acls.filter((a) => !a.inherited).map((a) => [a.applyHere, a.applySubs, a.userId, a.group, a.allow, a.deny].join('|'));
  const ids = (list: readonly number[]) => [...list].sort((a, b) => a - b).join(',');
  const groups = (acl: ChannelAcl) =>
    acl.groups
      .filter((g) => !g.inherited)
      .map((g) => [g.name, g.inherit, g.inheritable, ids(g.add), ids(g.remove)].join('|'))
      .sort();
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  return same(own(actual), own(wanted)) && same(groups(actual), groups(wanted));
}
