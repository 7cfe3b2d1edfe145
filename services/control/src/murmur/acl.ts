import { channelPermissionsOf, type Channel, type GuildSnapshot } from '../guild/model.js';
import { has, Permission as GuildPermission } from '../guild/permissions/index.js';
import { Permission, type AclEntry, type AclGroup, type ChannelAcl } from './ice-client.js';

/**
 * The one place that maps who may do what in a voice channel onto Murmur ACLs.
 *
 * Murmur evaluates a channel's ACL entries in order, later ones overriding earlier ones, and
 * knows the built-in groups `all` (everyone connected) and `auth` (every registered user, which
 * for Alloquy means every enabled account: the relay registers exactly those). Murmur's
 * SuperUser and holders of Write skip ACLs altogether; Alloquy never grants Write, so they stay
 * Murmur's own. Everything a voice channel does not set (traverse, text, whisper, admin rights)
 * is inherited from the root channel.
 *
 * With the guild model, each voice channel carries three channel-local groups whose `add` lists
 * are Murmur user ids, recomputed from the guild whenever it changes:
 *
 * | guild permission in the channel | Murmur group      | Murmur permission |
 * | ------------------------------- | ---------------- | ----------------- |
 * | CONNECT                         | `alloquy-connect` | Enter            |
 * | SPEAK                           | `alloquy-speak`   | Speak            |
 * | MUTE_MEMBERS                    | `alloquy-mute`    | MuteDeafen       |
 *
 * after denying all three to `all`. The permission math already drops SPEAK and MUTE_MEMBERS
 * without CONNECT, everything without VIEW_CHANNEL and all but reading during a timeout, so the
 * groups need no rules of their own.
 *
 * Making channels inside a voice channel is denied to `all` as well: Murmur's root grants every
 * registered user MakeTempChannel, moves the maker into the new channel without checking Enter
 * and gives them Write there, which would let anyone talk "inside" a channel they may not enter.
 */

export const CONNECT_GROUP = 'alloquy-connect';
export const SPEAK_GROUP = 'alloquy-speak';
export const MUTE_GROUP = 'alloquy-mute';

/** What Alloquy decides in a voice channel; everything else is Murmur's default. */
const MANAGED = Permission.Enter | Permission.Speak | Permission.MuteDeafen | Permission.MakeChannel | Permission.MakeTempChannel;

/** Who holds what in one voice channel, as sorted Murmur user ids (never 0, SuperUser). */
export interface VoiceGrants {
  connect: readonly number[];
  speak: readonly number[];
  mute: readonly number[];
}

function entry(group: string, allow: number, deny: number): AclEntry {
  return { applyHere: true, applySubs: true, inherited: false, userId: -1, group, allow, deny };
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
      entry(SPEAK_GROUP, Permission.Speak, 0),
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
  return {
    acls: [entry('all', 0, Permission.Enter | Permission.Speak), entry('auth', Permission.Enter | Permission.Speak, 0)],
    groups: [],
    inherit: true,
  };
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
export function voiceGrants(
  snapshot: GuildSnapshot,
  channel: Channel,
  murmurUserIdOf: (accountId: number) => number | undefined,
  now: number,
): VoiceGrants {
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
  const own = (acl: ChannelAcl) =>
    acl.acls
      .filter((a) => !a.inherited)
      .map((a) => [a.applyHere, a.applySubs, a.userId, a.group, a.allow, a.deny].join('|'));
  const ids = (list: readonly number[]) => [...list].sort((a, b) => a - b).join(',');
  const groups = (acl: ChannelAcl) =>
    acl.groups
      .filter((g) => !g.inherited)
      .map((g) => [g.name, g.inherit, g.inheritable, ids(g.add), ids(g.remove)].join('|'))
      .sort();
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  return same(own(actual), own(wanted)) && same(groups(actual), groups(wanted));
}
