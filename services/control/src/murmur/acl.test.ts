import { describe, expect, it } from 'vitest';
import type { Channel, GuildSnapshot, Member, Role } from '../guild/model.js';
import { Permission as P } from '@alloquy/protocol/permissions';
import {
  aclMatches,
  CONNECT_GROUP,
  isGuildVoiceAcl,
  lobbyAcl,
  lobbyMembers,
  MEMBER_GROUP,
  MUTE_GROUP,
  openLobbyAcl,
  openVoiceChannelAcl,
  SPEAK_GROUP,
  voiceChannelAcl,
  voiceGrants,
} from './acl.js';
import { Permission, type AclGroup, type ChannelAcl } from './ice-client.js';

const NOW = 1_700_000_000_000;
const VOICE = P.VIEW_CHANNEL | P.CONNECT | P.SPEAK;

function role(id: string, position: number, permissions: bigint): Role {
  return { id, name: `role-${id}`, position, permissions, color: null, mentionable: false };
}

function member(accountId: number, extra: Partial<Member> = {}): Member {
  return { id: String(accountId), accountId, username: `user${accountId}`, roleIds: [], timeoutUntil: null, isAdmin: false, ...extra };
}

function voiceChannel(overwrites: Channel['overwrites'] = []): Channel {
  return { id: '7', kind: 'voice', name: 'General', topic: '', position: 0, categoryId: null, overwrites, murmurChannelId: 3, createdAt: 0 };
}

function guild(options: { everyone?: bigint; roles?: Role[]; members: Member[]; ownerId?: string; channel?: Channel }): GuildSnapshot {
  const roles = new Map<string, Role>([['1', role('1', 0, options.everyone ?? VOICE)], ...(options.roles ?? []).map((r) => [r.id, r] as const)]);
  const ownerId = options.ownerId ?? null;
  return {
    version: 1,
    settings: { name: 'Test', description: '', icon: null, ownerId, adhocChannels: false },
    everyoneRoleId: '1',
    roles,
    categories: [],
    channels: [options.channel ?? voiceChannel()],
    members: new Map(options.members.map((m) => [m.id, m])),
    outsiders: [],
    bans: new Map(),
    permissionGuild: { ownerId: ownerId ?? '\u0000none', everyoneRoleId: '1', roles },
  };
}

/** Account id n is Murmur user id 100 + n, except where a test says otherwise. */
const murmurIds = (accountId: number) => 100 + accountId;

function grantsIn(snapshot: GuildSnapshot, now = NOW, ids: (accountId: number) => number | undefined = murmurIds) {
  return voiceGrants(snapshot, snapshot.channels[0]!, ids, now);
}

describe('voiceChannelAcl', () => {
  it('denies Enter, Speak, Whisper, MuteDeafen and making channels to all, then allows all but making channels to groups', () => {
    const acl = voiceChannelAcl({ connect: [101, 102], speak: [101], mute: [] });
    expect(acl.inherit).toBe(true);
    const denied = Permission.Enter | Permission.Speak | Permission.Whisper | Permission.MuteDeafen | Permission.MakeChannel | Permission.MakeTempChannel;
    expect(acl.acls.map((a) => [a.group, a.allow, a.deny, a.applyHere, a.applySubs, a.userId, a.inherited])).toEqual([
      ['all', 0, denied, true, true, -1, false],
      [CONNECT_GROUP, Permission.Enter, 0, true, true, -1, false],
      // Whisper is being heard in the channel from outside it: only for who may speak there.
      [SPEAK_GROUP, Permission.Speak | Permission.Whisper, 0, true, true, -1, false],
      [MUTE_GROUP, Permission.MuteDeafen, 0, true, true, -1, false],
    ]);
    expect(acl.groups.map((g) => [g.name, g.add, g.remove, g.inherit, g.inheritable, g.inherited])).toEqual([
      [CONNECT_GROUP, [101, 102], [], false, true, false],
      [SPEAK_GROUP, [101], [], false, true, false],
      [MUTE_GROUP, [], [], false, true, false],
    ]);
    // Never Write: that would hand out every right, ACL editing included.
    for (const a of acl.acls) expect(a.allow & Permission.Write).toBe(0);
    expect(isGuildVoiceAcl(acl)).toBe(true);
  });

  it('without the guild model: every registered user (auth) may enter and speak', () => {
    const acl = openVoiceChannelAcl();
    expect(acl.groups).toEqual([]);
    const voice = Permission.Enter | Permission.Speak | Permission.Whisper;
    expect(acl.acls.map((a) => [a.group, a.allow, a.deny])).toEqual([
      ['all', 0, voice],
      ['auth', voice, 0],
    ]);
    expect(isGuildVoiceAcl(acl)).toBe(false);
  });
});

/**
 * Murmur 1.3's evaluation of one channel's ACL (ACL.cpp, effectivePermissions), for a channel
 * directly below the root or the root itself: defaults, then the root's entries that apply there,
 * then the channel's own. Enough to read an ACL the way Murmur does in these tests.
 */
const MURMUR_DEFAULTS = Permission.Traverse | Permission.Enter | Permission.Speak | Permission.Whisper | Permission.TextMessage;
function effective(inGroup: (group: string) => boolean, root: ChannelAcl, channel?: ChannelAcl): number {
  let granted = MURMUR_DEFAULTS;
  const apply = (acl: ChannelAcl, here: boolean) => {
    for (const a of acl.acls) {
      if (!inGroup(a.group) || !(here ? a.applyHere : a.applySubs)) continue;
      granted = (granted | a.allow) & ~a.deny;
    }
  };
  apply(root, channel === undefined);
  if (channel && !channel.inherit) granted = MURMUR_DEFAULTS;
  if (channel) apply(channel, true);
  return granted;
}

describe('lobbyAcl', () => {
  const MEMBER = (g: string) => g === 'all' || g === 'auth' || g === MEMBER_GROUP;
  const OUTSIDER = (g: string) => g === 'all' || g === 'auth';
  const ROOT_ONLY = Permission.Kick | Permission.Ban | Permission.Register | Permission.RegisterSelf;

  it('lists the members in a root group, and never hands out Write or what only the root grants', () => {
    const acl = lobbyAcl([101, 102]);
    expect(acl.inherit).toBe(false);
    expect(acl.groups.map((g) => [g.name, g.add, g.remove, g.inherit, g.inheritable, g.inherited])).toEqual([
      [MEMBER_GROUP, [101, 102], [], false, true, false],
    ]);
    for (const a of acl.acls) {
      expect(a.allow & (Permission.Write | ROOT_ONLY)).toBe(0);
      expect([a.userId, a.inherited, a.applySubs]).toEqual([-1, false, true]);
    }
    // Murmur's own root ACL (admin Write, auth MakeTempChannel, all RegisterSelf) is not the lobby.
    expect(isGuildVoiceAcl(acl)).toBe(false);
  });

  it('in the root: everyone may be there and move on; only members may send text; nobody speaks, whispers or makes channels', () => {
    const acl = lobbyAcl([101]);
    expect(effective(MEMBER, acl)).toBe(Permission.Traverse | Permission.Enter | Permission.TextMessage);
    expect(effective(OUTSIDER, acl)).toBe(Permission.Traverse | Permission.Enter);
  });

  it('below the root, where a channel says nothing: members may enter, silently; outsiders may not even enter', () => {
    const acl = lobbyAcl([101]);
    const nothing: ChannelAcl = { acls: [], groups: [], inherit: true };
    expect(effective(MEMBER, acl, nothing)).toBe(Permission.Traverse | Permission.Enter | Permission.TextMessage);
    expect(effective(OUTSIDER, acl, nothing)).toBe(Permission.Traverse);
  });

  it('in a voice channel the voice ACL decides Enter, Speak and Whisper; text follows membership; nobody makes channels', () => {
    const root = lobbyAcl([101]);
    const voice = voiceChannelAcl({ connect: [101], speak: [101], mute: [] });
    const speaker = (g: string) => MEMBER(g) || g === CONNECT_GROUP || g === SPEAK_GROUP;
    const listener = (g: string) => MEMBER(g) || g === CONNECT_GROUP;
    const all = Permission.Traverse | Permission.Enter | Permission.Speak | Permission.Whisper | Permission.TextMessage;
    expect(effective(speaker, root, voice)).toBe(all);
    expect(effective(listener, root, voice)).toBe(all & ~(Permission.Speak | Permission.Whisper));
    // A member who may not connect may still send text to those inside; an outsider may not.
    expect(effective(MEMBER, root, voice)).toBe(Permission.Traverse | Permission.TextMessage);
    expect(effective(OUTSIDER, root, voice)).toBe(Permission.Traverse);
  });

  it('without the guild model every registered user (auth) is a member, anonymous users are not', () => {
    const acl = openLobbyAcl();
    expect(acl.groups).toEqual([]);
    expect(effective((g) => g === 'all' || g === 'auth', acl)).toBe(Permission.Traverse | Permission.Enter | Permission.TextMessage);
    expect(effective((g) => g === 'all', acl)).toBe(Permission.Traverse | Permission.Enter);
    const voice = openVoiceChannelAcl();
    expect(effective((g) => g === 'all' || g === 'auth', acl, voice)).toBe(
      Permission.Traverse | Permission.Enter | Permission.Speak | Permission.Whisper | Permission.TextMessage,
    );
    expect(effective((g) => g === 'all', acl, voice)).toBe(Permission.Traverse);
  });

  it('is told apart from another lobby by its members only', () => {
    expect(aclMatches(lobbyAcl([102, 101]), lobbyAcl([101, 102]))).toBe(true);
    expect(aclMatches(lobbyAcl([101]), lobbyAcl([101, 102]))).toBe(false);
    expect(aclMatches(openLobbyAcl(), lobbyAcl([]))).toBe(false);
  });
});

describe('lobbyMembers', () => {
  it("lists the members, not whoever was kicked, banned or disabled (they are not in the snapshot's members)", () => {
    const snapshot: GuildSnapshot = {
      ...guild({ members: [member(1), member(2)] }),
      outsiders: [
        { accountId: 3, username: 'user3', why: 'kicked' },
        { accountId: 4, username: 'user4', why: 'banned' },
        { accountId: 5, username: 'user5', why: 'disabled' },
      ],
    };
    expect(lobbyMembers(snapshot, murmurIds, NOW)).toEqual([101, 102]);
  });

  it('leaves out a member while timed out (not a server administrator), and takes them back when it ends', () => {
    const snapshot = guild({
      members: [member(1), member(2, { timeoutUntil: NOW + 60_000 }), member(3, { timeoutUntil: NOW + 60_000, isAdmin: true })],
    });
    expect(lobbyMembers(snapshot, murmurIds, NOW)).toEqual([101, 103]);
    expect(lobbyMembers(snapshot, murmurIds, NOW + 60_000)).toEqual([101, 102, 103]);
  });

  it('leaves out members without a Murmur registration and SuperUser (id 0), and sorts', () => {
    const snapshot = guild({ members: [member(9), member(1), member(2), member(5)] });
    const ids = (accountId: number) => (accountId === 1 ? undefined : accountId === 2 ? 0 : 100 + accountId);
    expect(lobbyMembers(snapshot, ids, NOW)).toEqual([105, 109]);
  });
});

describe('voiceGrants', () => {
  it('gives everyone CONNECT and SPEAK when @everyone has them, and MUTE_MEMBERS to a role that has it', () => {
    const snapshot = guild({ roles: [role('2', 1, P.MUTE_MEMBERS)], members: [member(1), member(2, { roleIds: ['2'] })] });
    expect(grantsIn(snapshot)).toEqual({ connect: [101, 102], speak: [101, 102], mute: [102] });
  });

  it('lets in only the holders of a role with CONNECT when @everyone lacks it', () => {
    const snapshot = guild({
      everyone: P.VIEW_CHANNEL | P.SPEAK | P.MUTE_MEMBERS,
      roles: [role('2', 1, P.CONNECT)],
      members: [member(1), member(2, { roleIds: ['2'] })],
    });
    // Member 1 holds SPEAK and MUTE_MEMBERS on paper, but without CONNECT they mean nothing.
    expect(grantsIn(snapshot)).toEqual({ connect: [102], speak: [102], mute: [102] });
  });

  it('follows channel overwrites: a role denied SPEAK, a member allowed it back, a channel hidden from @everyone', () => {
    const muted = guild({
      roles: [role('2', 1, 0n)],
      members: [member(1), member(2, { roleIds: ['2'] }), member(3, { roleIds: ['2'] })],
      channel: voiceChannel([
        { type: 'role', id: '2', allow: 0n, deny: P.SPEAK },
        { type: 'member', id: '3', allow: P.SPEAK, deny: 0n },
      ]),
    });
    expect(grantsIn(muted)).toEqual({ connect: [101, 102, 103], speak: [101, 103], mute: [] });

    const hidden = guild({
      roles: [role('2', 1, 0n)],
      members: [member(1), member(2, { roleIds: ['2'] })],
      channel: voiceChannel([
        { type: 'role', id: '1', allow: 0n, deny: P.VIEW_CHANNEL },
        { type: 'role', id: '2', allow: P.VIEW_CHANNEL, deny: 0n },
      ]),
    });
    expect(grantsIn(hidden)).toEqual({ connect: [102], speak: [102], mute: [] });
  });

  it('takes everything from a timed-out member until the timeout ends', () => {
    const snapshot = guild({ roles: [role('2', 1, P.MUTE_MEMBERS)], members: [member(1), member(2, { roleIds: ['2'], timeoutUntil: NOW + 60_000 })] });
    expect(grantsIn(snapshot)).toEqual({ connect: [101], speak: [101], mute: [] });
    expect(grantsIn(snapshot, NOW + 60_000)).toEqual({ connect: [101, 102], speak: [101, 102], mute: [102] });
  });

  it('gives the owner and server administrators everything, whatever the channel says', () => {
    const snapshot = guild({
      everyone: 0n,
      members: [member(1), member(2, { isAdmin: true }), member(3)],
      ownerId: '3',
      channel: voiceChannel([{ type: 'member', id: '2', allow: 0n, deny: VOICE }]),
    });
    expect(grantsIn(snapshot)).toEqual({ connect: [102, 103], speak: [102, 103], mute: [102, 103] });
  });

  it('leaves out members without a Murmur registration, and never names SuperUser (id 0)', () => {
    const snapshot = guild({ members: [member(1), member(2), member(3)] });
    const ids = (accountId: number) => (accountId === 1 ? undefined : accountId === 2 ? 0 : 42);
    expect(grantsIn(snapshot, NOW, ids)).toEqual({ connect: [42], speak: [42], mute: [] });
  });

  it('lists ids sorted, so the same guild always gives the same ACL', () => {
    const members = [member(9), member(3), member(5)];
    const a = grantsIn(guild({ members }));
    const b = grantsIn(guild({ members: [...members].reverse() }));
    expect(a).toEqual(b);
    expect(a.connect).toEqual([103, 105, 109]);
  });
});

describe('aclMatches', () => {
  const wanted = voiceChannelAcl({ connect: [101, 102], speak: [101], mute: [102] });
  const inheritedAdmin = { applyHere: true, applySubs: true, inherited: true, userId: -1, group: 'admin', allow: 1, deny: 0 };
  const inheritedGroup: AclGroup = { name: 'admin', inherited: true, inherit: true, inheritable: true, add: [], remove: [], members: [1] };
  const withGroups = (groups: AclGroup[]): ChannelAcl => ({ ...wanted, groups });

  it('ignores what the channel inherits, and what Murmur computes (members)', () => {
    const fromMurmur = { ...wanted, acls: [inheritedAdmin, ...wanted.acls], groups: [inheritedGroup, ...wanted.groups.map((g) => ({ ...g, members: g.add }))] };
    expect(aclMatches(fromMurmur, wanted)).toBe(true);
  });

  it('compares entries in order', () => {
    expect(aclMatches({ ...wanted, inherit: false }, wanted)).toBe(false);
    expect(aclMatches({ ...wanted, acls: wanted.acls.slice(0, 1) }, wanted)).toBe(false);
    expect(aclMatches({ ...wanted, acls: [...wanted.acls].reverse() }, wanted)).toBe(false);
    expect(aclMatches(openVoiceChannelAcl(), wanted)).toBe(false);
  });

  it('compares groups by name in any order, and their add and remove lists as sets', () => {
    expect(aclMatches(withGroups([...wanted.groups].reverse()), wanted)).toBe(true);
    expect(aclMatches(withGroups(wanted.groups.map((g) => ({ ...g, add: [...g.add].reverse() }))), wanted)).toBe(true);

    const [connect, speak, mute] = wanted.groups as [AclGroup, AclGroup, AclGroup];
    expect(aclMatches(withGroups([{ ...connect, add: [101] }, speak, mute]), wanted)).toBe(false);
    expect(aclMatches(withGroups([connect, { ...speak, add: [101, 102] }, mute]), wanted)).toBe(false);
    expect(aclMatches(withGroups([connect, speak, { ...mute, add: [] }]), wanted)).toBe(false);
    expect(aclMatches(withGroups([connect, speak, { ...mute, remove: [102] }]), wanted)).toBe(false);
    expect(aclMatches(withGroups([connect, speak]), wanted)).toBe(false);
    expect(aclMatches(withGroups([{ ...connect, inherit: true }, speak, mute]), wanted)).toBe(false);
    expect(aclMatches(withGroups([connect, speak, mute, { ...mute, name: 'extra' }]), wanted)).toBe(false);
  });

  it('tells a changed grant apart: one member more or less is a different ACL', () => {
    const before = voiceChannelAcl({ connect: [101, 102], speak: [101, 102], mute: [] });
    const after = voiceChannelAcl({ connect: [101, 102], speak: [101], mute: [] });
    expect(aclMatches(before, after)).toBe(false);
    expect(aclMatches(after, voiceChannelAcl({ connect: [102, 101], speak: [101], mute: [] }))).toBe(true);
  });
});
