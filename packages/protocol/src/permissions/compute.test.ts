import { describe, expect, it } from 'vitest';
import {
  REQUIRES_CONNECT,
  REQUIRES_SEND_MESSAGES,
  TIMED_OUT_PERMISSIONS,
  applyImplicitRules,
  applyOverwrites,
  basePermissions,
  channelPermissions,
  isTimedOut,
  lookupRole,
  memberRoles,
  type ChannelKind,
  type PermissionChannel,
  type PermissionGuild,
  type PermissionMember,
  type PermissionOverwrite,
  type PermissionRole,
} from './compute.js';
import { ALL, Permission as P, permissionNames } from './permissions.js';

const NOW = 1_700_000_000_000;
const EVERYONE = 'g1';

const EVERYONE_PERMS = P.VIEW_CHANNEL | P.SEND_MESSAGES | P.READ_HISTORY | P.ADD_REACTIONS | P.CONNECT | P.SPEAK;

function role(id: string, position: number, permissions: bigint): PermissionRole {
  return { id, position, permissions };
}

const ROLES = [
  role(EVERYONE, 0, EVERYONE_PERMS),
  role('member', 1, P.ATTACH_FILES | P.VIDEO),
  role('muted', 2, 0n),
  role('mod', 5, P.MANAGE_MESSAGES | P.KICK_MEMBERS | P.MODERATE_MEMBERS | P.MUTE_MEMBERS | P.MENTION_EVERYONE),
  role('admin', 10, P.ADMINISTRATOR),
];

function guild(roles: PermissionRole[] = ROLES, ownerId = 'owner'): PermissionGuild {
  return { ownerId, everyoneRoleId: EVERYONE, roles: new Map(roles.map((r) => [r.id, r])) };
}

function member(id: string, roleIds: string[] = [], timeoutUntil?: number | null): PermissionMember {
  return timeoutUntil === undefined ? { id, roleIds } : { id, roleIds, timeoutUntil };
}

function channel(overwrites: PermissionOverwrite[] = [], kind: ChannelKind = 'text'): PermissionChannel {
  return { id: 'c1', kind, overwrites };
}

function ow(type: 'role' | 'member', id: string, allow: bigint, deny: bigint): PermissionOverwrite {
  return { type, id, allow, deny };
}

/** Names, for readable failures. */
const names = (perms: bigint) => permissionNames(perms);

describe('basePermissions', () => {
  const g = guild();

  it('is the @everyone role alone for a member without roles', () => {
    expect(names(basePermissions(member('u'), g, NOW))).toEqual(names(EVERYONE_PERMS));
  });

  it("ORs @everyone with each of the member's roles", () => {
    expect(basePermissions(member('u', ['member', 'mod']), g, NOW)).toBe(EVERYONE_PERMS | P.ATTACH_FILES | P.VIDEO | ROLES[3]!.permissions);
  });

  it('a role with no permissions adds nothing and takes nothing away (roles never deny)', () => {
    expect(basePermissions(member('u', ['muted']), g, NOW)).toBe(EVERYONE_PERMS);
  });

  it('ADMINISTRATOR means every permission', () => {
    expect(basePermissions(member('u', ['admin']), g, NOW)).toBe(ALL);
    const adminEveryone = guild([role(EVERYONE, 0, P.ADMINISTRATOR)]);
    expect(basePermissions(member('u'), adminEveryone, NOW)).toBe(ALL);
  });

  it('the owner has every permission, with no roles at all', () => {
    expect(basePermissions(member('owner'), g, NOW)).toBe(ALL);
    expect(basePermissions(member('owner'), guild([]), NOW)).toBe(ALL);
  });

  it('ignores unknown, duplicate and @everyone role ids', () => {
    expect(basePermissions(member('u', ['nope', 'member', 'member', EVERYONE]), g, NOW)).toBe(EVERYONE_PERMS | P.ATTACH_FILES | P.VIDEO);
  });

  it('is empty if the guild has no @everyone role and the member no roles', () => {
    expect(basePermissions(member('u'), guild([role('x', 1, P.SPEAK)]), NOW)).toBe(0n);
  });

  it('drops undefined bits a role might carry', () => {
    const g2 = guild([role(EVERYONE, 0, P.SEND_MESSAGES | (1n << 15n) | (1n << 90n))]);
    expect(basePermissions(member('u'), g2, NOW)).toBe(P.SEND_MESSAGES);
  });

  it('reads roles from a plain object the same as from a Map, ignoring inherited keys', () => {
    const record: Record<string, PermissionRole> = Object.fromEntries(ROLES.map((r) => [r.id, r]));
    const g2: PermissionGuild = { ownerId: 'owner', everyoneRoleId: EVERYONE, roles: record };
    const m = member('u', ['member', 'mod', 'constructor', 'toString', '__proto__', 'hasOwnProperty']);
    expect(basePermissions(m, g2, NOW)).toBe(basePermissions(m, g, NOW));
    expect(lookupRole(g2, 'constructor')).toBeUndefined();
    expect(lookupRole(g2, '__proto__')).toBeUndefined();
    expect(lookupRole(g2, 'mod')).toBe(record['mod']);
  });

  describe('timeouts', () => {
    const mod = (until?: number | null) => member('u', ['mod', 'member'], until);

    it('an active timeout leaves only VIEW_CHANNEL and READ_HISTORY', () => {
      expect(basePermissions(mod(NOW + 1), g, NOW)).toBe(TIMED_OUT_PERMISSIONS);
      expect(TIMED_OUT_PERMISSIONS).toBe(P.VIEW_CHANNEL | P.READ_HISTORY);
    });

    it('keeps only what the member had of those two', () => {
      const g2 = guild([role(EVERYONE, 0, P.READ_HISTORY | P.SEND_MESSAGES)]);
      expect(basePermissions(member('u', [], NOW + 60_000), g2, NOW)).toBe(P.READ_HISTORY);
    });

    it('expires exactly at timeoutUntil', () => {
      expect(isTimedOut(mod(NOW), NOW)).toBe(false);
      expect(isTimedOut(mod(NOW), NOW - 1)).toBe(true);
      expect(basePermissions(mod(NOW), g, NOW)).toBe(basePermissions(mod(), g, NOW));
      expect(basePermissions(mod(NOW - 1), g, NOW)).toBe(basePermissions(mod(), g, NOW));
    });

    it('no timeout, null, or a NaN end are not timeouts', () => {
      expect(isTimedOut(mod(), NOW)).toBe(false);
      expect(isTimedOut(mod(null), NOW)).toBe(false);
      expect(isTimedOut(mod(Number.NaN), NOW)).toBe(false);
    });

    it('does not touch administrators or the owner', () => {
      expect(basePermissions(member('u', ['admin'], NOW + 1), g, NOW)).toBe(ALL);
      expect(basePermissions(member('owner', [], NOW + 1), g, NOW)).toBe(ALL);
    });
  });
});

describe('memberRoles', () => {
  it('lists known roles once, without @everyone', () => {
    expect(memberRoles(member('u', ['mod', EVERYONE, 'x', 'mod', 'member']), guild()).map((r) => r.id)).toEqual(['mod', 'member']);
  });
});

describe('channelPermissions: each overwrite layer alone', () => {
  const g = guild();
  const plain = member('u', ['member']);
  const base = EVERYONE_PERMS | P.ATTACH_FILES | P.VIDEO;

  it('without overwrites, is the guild-wide permissions', () => {
    expect(channelPermissions(plain, g, channel(), NOW)).toBe(base);
  });

  it('@everyone overwrite: deny removes, allow adds', () => {
    const c = channel([ow('role', EVERYONE, P.MANAGE_MESSAGES, P.ADD_REACTIONS)]);
    expect(channelPermissions(plain, g, c, NOW)).toBe((base & ~P.ADD_REACTIONS) | P.MANAGE_MESSAGES);
  });

  it("role overwrite: applies for the member's roles only", () => {
    const c = channel([ow('role', 'member', P.MANAGE_MESSAGES, P.ADD_REACTIONS), ow('role', 'mod', P.BAN_MEMBERS, P.READ_HISTORY)]);
    expect(channelPermissions(plain, g, c, NOW)).toBe((base & ~P.ADD_REACTIONS) | P.MANAGE_MESSAGES);
  });

  it('role overwrite for a role the guild does not have is ignored, even if the member lists it', () => {
    const c = channel([ow('role', 'ghost', P.MANAGE_MESSAGES, P.SEND_MESSAGES)]);
    expect(channelPermissions(member('u', ['member', 'ghost']), g, c, NOW)).toBe(base);
  });

  it('member overwrite: applies to that member only', () => {
    const c = channel([ow('member', 'u', P.MANAGE_MESSAGES, P.ADD_REACTIONS), ow('member', 'other', P.BAN_MEMBERS, P.READ_HISTORY)]);
    expect(channelPermissions(plain, g, c, NOW)).toBe((base & ~P.ADD_REACTIONS) | P.MANAGE_MESSAGES);
    expect(channelPermissions(member('other', ['member']), g, c, NOW)).toBe((base & ~P.READ_HISTORY) | P.BAN_MEMBERS);
  });

  it.each([
    ['@everyone', ow('role', EVERYONE, P.ADD_REACTIONS, P.ADD_REACTIONS)],
    ['role', ow('role', 'member', P.ADD_REACTIONS, P.ADD_REACTIONS)],
    ['member', ow('member', 'u', P.ADD_REACTIONS, P.ADD_REACTIONS)],
  ])('within one %s overwrite, deny applies before allow', (_, o) => {
    const g2 = guild([role(EVERYONE, 0, P.VIEW_CHANNEL), ROLES[1]!]);
    expect(channelPermissions(plain, g2, channel([o]), NOW) & P.ADD_REACTIONS).toBe(P.ADD_REACTIONS);
  });

  it('an overwrite type is part of its target: a role id in a member overwrite and vice versa do not match', () => {
    const c = channel([ow('member', 'member', 0n, P.SEND_MESSAGES), ow('member', EVERYONE, 0n, P.SEND_MESSAGES), ow('role', 'u', 0n, P.SEND_MESSAGES)]);
    expect(channelPermissions(plain, g, c, NOW)).toBe(base);
  });

  it('several overwrites for the same target combine', () => {
    const c = channel([ow('member', 'u', 0n, P.ADD_REACTIONS), ow('member', 'u', 0n, P.READ_HISTORY)]);
    expect(channelPermissions(plain, g, c, NOW)).toBe(base & ~P.ADD_REACTIONS & ~P.READ_HISTORY);
  });

  it('ADMINISTRATOR in an overwrite is ignored: it neither grants everything nor revokes it', () => {
    const grant = channel([ow('member', 'u', P.ADMINISTRATOR, 0n)]);
    expect(channelPermissions(plain, g, grant, NOW)).toBe(base);
    const revoke = channel([ow('member', 'admin-user', 0n, P.ADMINISTRATOR), ow('role', 'admin', 0n, ALL)]);
    expect(channelPermissions(member('admin-user', ['admin']), g, revoke, NOW)).toBe(ALL);
    expect(applyOverwrites(0n, plain, g, channel([ow('role', EVERYONE, ALL, 0n)]))).toBe(ALL & ~P.ADMINISTRATOR);
  });
});

describe('channelPermissions: layer order', () => {
  // @everyone alone is a bare reader so each case shows one bit moving.
  const g = guild([role(EVERYONE, 0, P.VIEW_CHANNEL | P.READ_HISTORY), role('low', 1, 0n), role('high', 9, 0n), role('other', 3, 0n)]);
  const u = member('u', ['low', 'high']);
  const send = (c: PermissionChannel, m: PermissionMember = u) => (channelPermissions(m, g, c, NOW) & P.SEND_MESSAGES) !== 0n;
  const baseWithSend = guild([role(EVERYONE, 0, P.VIEW_CHANNEL | P.SEND_MESSAGES), role('low', 1, 0n), role('other', 3, 0n)]);

  it('a role allow beats an @everyone deny', () => {
    expect(send(channel([ow('role', EVERYONE, 0n, P.SEND_MESSAGES), ow('role', 'low', P.SEND_MESSAGES, 0n)]))).toBe(true);
  });

  it('a role deny beats an @everyone allow', () => {
    expect(send(channel([ow('role', EVERYONE, P.SEND_MESSAGES, 0n), ow('role', 'low', 0n, P.SEND_MESSAGES)]))).toBe(false);
  });

  it('a member allow beats a role deny', () => {
    expect(send(channel([ow('role', 'high', 0n, P.SEND_MESSAGES), ow('member', 'u', P.SEND_MESSAGES, 0n)]))).toBe(true);
  });

  it('a member deny beats a role allow', () => {
    expect(send(channel([ow('role', 'high', P.SEND_MESSAGES, 0n), ow('member', 'u', 0n, P.SEND_MESSAGES)]))).toBe(false);
  });

  it('a member deny beats an @everyone allow, and a member allow an @everyone deny', () => {
    expect(send(channel([ow('role', EVERYONE, P.SEND_MESSAGES, 0n), ow('member', 'u', 0n, P.SEND_MESSAGES)]))).toBe(false);
    expect(send(channel([ow('role', EVERYONE, 0n, P.SEND_MESSAGES), ow('member', 'u', P.SEND_MESSAGES, 0n)]))).toBe(true);
  });

  it('among roles, any allow beats any deny whatever the positions', () => {
    expect(send(channel([ow('role', 'high', 0n, P.SEND_MESSAGES), ow('role', 'low', P.SEND_MESSAGES, 0n)]))).toBe(true);
    expect(send(channel([ow('role', 'low', 0n, P.SEND_MESSAGES), ow('role', 'high', P.SEND_MESSAGES, 0n)]))).toBe(true);
  });

  it('the order of overwrites in the list does not matter', () => {
    const list = [ow('member', 'u', 0n, P.SEND_MESSAGES), ow('role', 'low', P.SEND_MESSAGES, 0n), ow('role', EVERYONE, P.SEND_MESSAGES, 0n)];
    expect(send(channel(list))).toBe(false);
    expect(send(channel([...list].reverse()))).toBe(false);
  });

  it('a role deny removes a guild-wide grant; no layer matching leaves it', () => {
    const low = member('u', ['low']);
    expect(channelPermissions(low, baseWithSend, channel([ow('role', 'low', 0n, P.SEND_MESSAGES)]), NOW)).toBe(P.VIEW_CHANNEL);
    expect(channelPermissions(low, baseWithSend, channel([ow('role', 'other', 0n, P.SEND_MESSAGES)]), NOW)).toBe(P.VIEW_CHANNEL | P.SEND_MESSAGES);
  });

  it('all three layers together', () => {
    const c = channel([
      ow('role', EVERYONE, P.ADD_REACTIONS | P.ATTACH_FILES, P.READ_HISTORY),
      ow('role', 'low', P.READ_HISTORY | P.SEND_MESSAGES, P.ADD_REACTIONS),
      ow('role', 'high', 0n, P.SEND_MESSAGES | P.ATTACH_FILES),
      ow('member', 'u', P.ADD_REACTIONS, P.READ_HISTORY),
    ]);
    // @everyone: VIEW | ADD_REACTIONS | ATTACH_FILES; roles: -ADD -SEND -ATTACH, +READ +SEND; member: -READ, +ADD.
    expect(names(channelPermissions(u, g, c, NOW))).toEqual(names(P.VIEW_CHANNEL | P.SEND_MESSAGES | P.ADD_REACTIONS));
  });
});

describe('channelPermissions: owner and ADMINISTRATOR bypass overwrites', () => {
  const g = guild();
  const lockdown = (id: string, kind: ChannelKind = 'text') =>
    channel([ow('role', EVERYONE, 0n, ALL), ow('role', 'admin', 0n, ALL), ow('role', 'mod', 0n, ALL), ow('member', id, 0n, ALL)], kind);

  it.each(['text', 'voice'] as const)('in a %s channel', (kind) => {
    expect(channelPermissions(member('owner'), g, lockdown('owner', kind), NOW)).toBe(ALL);
    expect(channelPermissions(member('a', ['admin', 'mod']), g, lockdown('a', kind), NOW)).toBe(ALL);
    expect(channelPermissions(member('m', ['mod']), g, lockdown('m', kind), NOW)).toBe(0n);
  });

  it('even while timed out', () => {
    expect(channelPermissions(member('owner', [], NOW + 1), g, lockdown('owner'), NOW)).toBe(ALL);
    expect(channelPermissions(member('a', ['admin'], NOW + 1), g, lockdown('a'), NOW)).toBe(ALL);
  });
});

describe('channelPermissions: implicit rules', () => {
  const g = guild();
  const mod = member('u', ['member', 'mod']);

  it('without VIEW_CHANNEL there is nothing at all, even explicit allows', () => {
    const c = channel([ow('role', EVERYONE, 0n, P.VIEW_CHANNEL), ow('member', 'u', P.SEND_MESSAGES | P.MANAGE_ROLES, 0n)]);
    expect(channelPermissions(mod, g, c, NOW)).toBe(0n);
    expect(channelPermissions(mod, g, { ...c, kind: 'voice' }, NOW)).toBe(0n);
  });

  it('a private channel: @everyone denied VIEW, one role allowed it back', () => {
    const c = channel([ow('role', EVERYONE, 0n, P.VIEW_CHANNEL), ow('role', 'mod', P.VIEW_CHANNEL, 0n)]);
    expect(channelPermissions(member('x', ['member']), g, c, NOW)).toBe(0n);
    expect(channelPermissions(mod, g, c, NOW)).toBe(basePermissions(mod, g, NOW));
  });

  it('without SEND_MESSAGES, MENTION_EVERYONE and ATTACH_FILES go; reading, reacting and moderating stay', () => {
    const c = channel([ow('role', EVERYONE, 0n, P.SEND_MESSAGES)]);
    const perms = channelPermissions(mod, g, c, NOW);
    expect(perms & REQUIRES_SEND_MESSAGES).toBe(0n);
    expect(REQUIRES_SEND_MESSAGES).toBe(P.MENTION_EVERYONE | P.ATTACH_FILES);
    expect(names(perms)).toEqual(names(basePermissions(mod, g, NOW) & ~(P.SEND_MESSAGES | P.MENTION_EVERYONE | P.ATTACH_FILES)));
    expect(perms & (P.READ_HISTORY | P.ADD_REACTIONS | P.MANAGE_MESSAGES)).toBe(P.READ_HISTORY | P.ADD_REACTIONS | P.MANAGE_MESSAGES);
  });

  it('an explicit allow of ATTACH_FILES does not survive a missing SEND_MESSAGES', () => {
    const c = channel([ow('member', 'u', P.ATTACH_FILES | P.MENTION_EVERYONE, P.SEND_MESSAGES)]);
    expect(channelPermissions(mod, g, c, NOW) & REQUIRES_SEND_MESSAGES).toBe(0n);
  });

  it('in a voice channel without CONNECT, SPEAK, VIDEO and MUTE_MEMBERS go', () => {
    const c = channel([ow('role', EVERYONE, 0n, P.CONNECT)], 'voice');
    const perms = channelPermissions(mod, g, c, NOW);
    expect(REQUIRES_CONNECT).toBe(P.SPEAK | P.VIDEO | P.MUTE_MEMBERS);
    expect(perms & (REQUIRES_CONNECT | P.CONNECT)).toBe(0n);
    expect(perms & P.VIEW_CHANNEL).toBe(P.VIEW_CHANNEL);
    expect(channelPermissions(mod, g, channel([], 'voice'), NOW) & REQUIRES_CONNECT).toBe(REQUIRES_CONNECT);
  });

  it('the CONNECT rule is for voice channels only', () => {
    const c = channel([ow('role', EVERYONE, 0n, P.CONNECT)], 'text');
    expect(channelPermissions(mod, g, c, NOW) & REQUIRES_CONNECT).toBe(REQUIRES_CONNECT);
  });

  it('applyImplicitRules in isolation', () => {
    expect(applyImplicitRules(ALL & ~P.VIEW_CHANNEL, 'text', false)).toBe(0n);
    expect(applyImplicitRules(P.VIEW_CHANNEL | P.ATTACH_FILES, 'text', false)).toBe(P.VIEW_CHANNEL);
    expect(applyImplicitRules(P.VIEW_CHANNEL | P.SPEAK, 'voice', false)).toBe(P.VIEW_CHANNEL);
    expect(applyImplicitRules(P.VIEW_CHANNEL | P.SPEAK, 'text', false)).toBe(P.VIEW_CHANNEL | P.SPEAK);
    expect(applyImplicitRules(ALL, 'voice', false)).toBe(ALL);
    expect(applyImplicitRules(ALL, 'voice', true)).toBe(TIMED_OUT_PERMISSIONS);
    expect(applyImplicitRules(P.READ_HISTORY, 'text', true)).toBe(0n);
  });
});

describe('channelPermissions: timeouts', () => {
  const g = guild();
  const mod = (until?: number) => member('u', ['member', 'mod'], until);
  const generous = channel([ow('member', 'u', P.SEND_MESSAGES | P.SPEAK | P.ADD_REACTIONS | P.MANAGE_ROLES, 0n)]);

  it('an active timeout leaves only VIEW_CHANNEL and READ_HISTORY, despite allows', () => {
    expect(channelPermissions(mod(NOW + 1000), g, generous, NOW)).toBe(TIMED_OUT_PERMISSIONS);
    expect(channelPermissions(mod(NOW + 1000), g, { ...generous, kind: 'voice' }, NOW)).toBe(TIMED_OUT_PERMISSIONS);
  });

  it('nothing that sends, speaks, reacts or manages survives', () => {
    const perms = channelPermissions(mod(NOW + 1), g, generous, NOW);
    for (const flag of [
      P.SEND_MESSAGES,
      P.SPEAK,
      P.VIDEO,
      P.CONNECT,
      P.ADD_REACTIONS,
      P.ATTACH_FILES,
      P.MANAGE_MESSAGES,
      P.MANAGE_ROLES,
      P.KICK_MEMBERS,
      P.MODERATE_MEMBERS,
      P.MUTE_MEMBERS,
    ]) {
      expect(perms & flag, permissionNames(flag)[0]).toBe(0n);
    }
  });

  it('a timeout does not restore what overwrites took away', () => {
    const hidden = channel([ow('role', EVERYONE, 0n, P.VIEW_CHANNEL)]);
    expect(channelPermissions(mod(NOW + 1), g, hidden, NOW)).toBe(0n);
    const noHistory = channel([ow('role', EVERYONE, 0n, P.READ_HISTORY)]);
    expect(channelPermissions(mod(NOW + 1), g, noHistory, NOW)).toBe(P.VIEW_CHANNEL);
  });

  it('an expired timeout (now >= timeoutUntil) changes nothing', () => {
    const expected = channelPermissions(mod(), g, generous, NOW);
    expect(channelPermissions(mod(NOW), g, generous, NOW)).toBe(expected);
    expect(channelPermissions(mod(NOW - 5000), g, generous, NOW)).toBe(expected);
    expect(channelPermissions(mod(NOW + 5000), g, generous, NOW + 5000)).toBe(expected);
    expect(channelPermissions(mod(NOW + 5000), g, generous, NOW + 4999)).toBe(TIMED_OUT_PERMISSIONS);
  });
});
