import { describe, expect, it } from 'vitest';
import type { PermissionChannel, PermissionGuild, PermissionMember, PermissionOverwrite, PermissionRole } from './compute.js';
import {
  MEMBER_ACTION_PERMISSION,
  canActOnMember,
  canEditRolePermissions,
  canManageRole,
  canSetOverwrite,
  highestRolePosition,
  type MemberAction,
} from './hierarchy.js';
import { ALL, Permission as P } from './permissions.js';

const NOW = 1_700_000_000_000;
const EVERYONE = 'everyone';
const MOD_PERMS = P.KICK_MEMBERS | P.BAN_MEMBERS | P.MODERATE_MEMBERS | P.MANAGE_ROLES | P.MANAGE_MESSAGES;

const roles: Record<string, PermissionRole> = {
  [EVERYONE]: { id: EVERYONE, position: 0, permissions: P.VIEW_CHANNEL | P.SEND_MESSAGES | P.READ_HISTORY },
  helper: { id: 'helper', position: 1, permissions: P.CREATE_INVITE },
  mod: { id: 'mod', position: 5, permissions: MOD_PERMS },
  mod2: { id: 'mod2', position: 5, permissions: MOD_PERMS },
  kicker: { id: 'kicker', position: 6, permissions: P.KICK_MEMBERS },
  senior: { id: 'senior', position: 8, permissions: MOD_PERMS },
  admin: { id: 'admin', position: 10, permissions: P.ADMINISTRATOR },
  top: { id: 'top', position: 20, permissions: 0n },
};
const R = (id: string): PermissionRole => roles[id]!;

const g: PermissionGuild = { ownerId: 'owner', everyoneRoleId: EVERYONE, roles };

const owner: PermissionMember = { id: 'owner', roleIds: [] };
const alice: PermissionMember = { id: 'alice', roleIds: ['admin'] };
const bob: PermissionMember = { id: 'bob', roleIds: ['mod', 'helper'] };
const carol: PermissionMember = { id: 'carol', roleIds: ['mod2'] };
const dave: PermissionMember = { id: 'dave', roleIds: ['helper'] };
const erin: PermissionMember = { id: 'erin', roleIds: [] };
const kim: PermissionMember = { id: 'kim', roleIds: ['kicker'] };
const sam: PermissionMember = { id: 'sam', roleIds: ['senior'] };
const tim: PermissionMember = { id: 'tim', roleIds: ['top'] };
const timedOut = (m: PermissionMember, until = NOW + 60_000): PermissionMember => ({ ...m, timeoutUntil: until });

const ACTIONS: MemberAction[] = ['kick', 'ban', 'timeout'];

describe('highestRolePosition', () => {
  it("is @everyone's position for a member without roles", () => {
    expect(highestRolePosition(erin, g)).toBe(0);
    expect(highestRolePosition(owner, g)).toBe(0);
  });

  it('is the highest of several roles, ignoring unknown ids', () => {
    expect(highestRolePosition(bob, g)).toBe(5);
    expect(highestRolePosition({ id: 'x', roleIds: ['helper', 'ghost', 'senior', 'mod'] }, g)).toBe(8);
  });

  it('is 0 without an @everyone role, and never below @everyone', () => {
    expect(highestRolePosition(erin, { ...g, everyoneRoleId: 'missing' })).toBe(0);
    const odd: PermissionGuild = { ...g, roles: { ...roles, [EVERYONE]: { ...R(EVERYONE), position: 3 } } };
    expect(highestRolePosition(dave, odd)).toBe(3);
  });
});

describe('canManageRole', () => {
  it('the owner manages every role, @everyone included', () => {
    for (const r of Object.values(roles)) expect(canManageRole(owner, r, g, NOW), r.id).toBe(true);
  });

  it('needs a top role strictly above the role', () => {
    expect(canManageRole(bob, R('helper'), g, NOW)).toBe(true);
    expect(canManageRole(bob, R(EVERYONE), g, NOW)).toBe(true);
    expect(canManageRole(bob, R('mod'), g, NOW)).toBe(false); // own role
    expect(canManageRole(bob, R('mod2'), g, NOW)).toBe(false); // equal position
    expect(canManageRole(bob, R('senior'), g, NOW)).toBe(false);
    expect(canManageRole(sam, R('mod'), g, NOW)).toBe(true);
  });

  it('needs MANAGE_ROLES: rank alone is not enough', () => {
    expect(canManageRole(tim, R('helper'), g, NOW)).toBe(false);
    expect(canManageRole(dave, R(EVERYONE), g, NOW)).toBe(false);
  });

  it('ADMINISTRATOR does not lift the hierarchy', () => {
    expect(canManageRole(alice, R('senior'), g, NOW)).toBe(true);
    expect(canManageRole(alice, R('admin'), g, NOW)).toBe(false);
    expect(canManageRole(alice, R('top'), g, NOW)).toBe(false);
  });

  it('with MANAGE_ROLES on @everyone, a member without roles still cannot manage @everyone (equal)', () => {
    const g2: PermissionGuild = { ...g, roles: { ...roles, [EVERYONE]: { ...R(EVERYONE), permissions: P.MANAGE_ROLES } } };
    expect(canManageRole(erin, R(EVERYONE), g2, NOW)).toBe(false);
    expect(canManageRole(dave, R(EVERYONE), g2, NOW)).toBe(true);
  });

  it('a timed-out member manages nothing until the timeout ends', () => {
    expect(canManageRole(timedOut(bob), R('helper'), g, NOW)).toBe(false);
    expect(canManageRole(timedOut(bob, NOW), R('helper'), g, NOW)).toBe(true);
  });
});

describe('canActOnMember', () => {
  it.each(ACTIONS)('%s: a moderator acts on members strictly below', (action) => {
    expect(canActOnMember(bob, dave, action, g, NOW)).toBe(true);
    expect(canActOnMember(bob, erin, action, g, NOW)).toBe(true);
    expect(canActOnMember(bob, carol, action, g, NOW)).toBe(false); // equal
    expect(canActOnMember(bob, sam, action, g, NOW)).toBe(false); // above
    expect(canActOnMember(sam, bob, action, g, NOW)).toBe(true);
  });

  it.each(ACTIONS)('%s: never the owner, by anyone', (action) => {
    for (const actor of [alice, bob, sam, tim]) expect(canActOnMember(actor, owner, action, g, NOW), actor.id).toBe(false);
  });

  it.each(ACTIONS)('%s: never yourself by default', (action) => {
    for (const m of [owner, alice, bob]) expect(canActOnMember(m, m, action, g, NOW), m.id).toBe(false);
  });

  it('on yourself with allowSelf, if you hold the permission (and never timing out an owner or admin)', () => {
    expect(canActOnMember(bob, bob, 'kick', g, NOW, { allowSelf: true })).toBe(true);
    expect(canActOnMember(bob, bob, 'timeout', g, NOW, { allowSelf: true })).toBe(true);
    expect(canActOnMember(dave, dave, 'kick', g, NOW, { allowSelf: true })).toBe(false);
    expect(canActOnMember(owner, owner, 'kick', g, NOW, { allowSelf: true })).toBe(true);
    expect(canActOnMember(owner, owner, 'timeout', g, NOW, { allowSelf: true })).toBe(false);
    expect(canActOnMember(alice, alice, 'timeout', g, NOW, { allowSelf: true })).toBe(false);
    expect(canActOnMember(bob, dave, 'kick', g, NOW, { allowSelf: true })).toBe(true);
    expect(canActOnMember(bob, carol, 'kick', g, NOW, { allowSelf: true })).toBe(false);
  });

  it('the owner acts on anyone else, whatever their rank', () => {
    for (const target of [alice, bob, sam, tim, erin]) {
      expect(canActOnMember(owner, target, 'kick', g, NOW), target.id).toBe(true);
      expect(canActOnMember(owner, target, 'ban', g, NOW), target.id).toBe(true);
    }
  });

  it('ADMINISTRATOR gives the permissions but not the rank', () => {
    expect(canActOnMember(alice, sam, 'ban', g, NOW)).toBe(true);
    expect(canActOnMember(alice, tim, 'ban', g, NOW)).toBe(false);
  });

  it('administrators cannot be timed out, even by the owner, but can be kicked', () => {
    expect(canActOnMember(owner, alice, 'timeout', g, NOW)).toBe(false);
    expect(canActOnMember(tim, alice, 'timeout', g, NOW)).toBe(false);
    expect(canActOnMember(owner, alice, 'kick', g, NOW)).toBe(true);
  });

  it('each action needs its own permission', () => {
    expect(MEMBER_ACTION_PERMISSION).toEqual({ kick: P.KICK_MEMBERS, ban: P.BAN_MEMBERS, timeout: P.MODERATE_MEMBERS });
    expect(canActOnMember(kim, dave, 'kick', g, NOW)).toBe(true);
    expect(canActOnMember(kim, dave, 'ban', g, NOW)).toBe(false);
    expect(canActOnMember(kim, dave, 'timeout', g, NOW)).toBe(false);
    expect(canActOnMember(tim, dave, 'kick', g, NOW)).toBe(false); // top rank, no permission
  });

  it('two members with no roles rank equal', () => {
    const g2: PermissionGuild = { ...g, roles: { ...roles, [EVERYONE]: { ...R(EVERYONE), permissions: ALL & ~P.ADMINISTRATOR } } };
    expect(canActOnMember(erin, { id: 'frank', roleIds: [] }, 'kick', g2, NOW)).toBe(false);
  });

  it('a timed-out moderator cannot act; a timed-out target can still be acted on', () => {
    expect(canActOnMember(timedOut(bob), dave, 'kick', g, NOW)).toBe(false);
    expect(canActOnMember(timedOut(bob, NOW), dave, 'kick', g, NOW)).toBe(true);
    expect(canActOnMember(bob, timedOut(dave), 'timeout', g, NOW)).toBe(true);
  });
});

describe('canEditRolePermissions', () => {
  const helper = R('helper'); // has CREATE_INVITE, which bob (mod + helper) has too; sam (senior) lacks it

  it('may grant bits the actor holds', () => {
    expect(canEditRolePermissions(bob, helper, helper.permissions | P.KICK_MEMBERS, g, NOW)).toBe(true);
    expect(canEditRolePermissions(bob, helper, helper.permissions | P.SEND_MESSAGES, g, NOW)).toBe(true); // via @everyone
  });

  it('may not grant bits the actor lacks', () => {
    expect(canEditRolePermissions(bob, helper, helper.permissions | P.MANAGE_GUILD, g, NOW)).toBe(false);
    expect(canEditRolePermissions(bob, helper, helper.permissions | P.ADMINISTRATOR, g, NOW)).toBe(false);
    expect(canEditRolePermissions(sam, helper, helper.permissions | P.SPEAK, g, NOW)).toBe(false);
  });

  it('may keep or remove bits the role already has that the actor lacks', () => {
    expect(canEditRolePermissions(sam, helper, helper.permissions, g, NOW)).toBe(true);
    expect(canEditRolePermissions(sam, helper, helper.permissions | P.KICK_MEMBERS, g, NOW)).toBe(true);
    expect(canEditRolePermissions(sam, helper, 0n, g, NOW)).toBe(true);
  });

  it('owner and administrators may grant anything, within the hierarchy', () => {
    expect(canEditRolePermissions(alice, R('senior'), ALL, g, NOW)).toBe(true);
    expect(canEditRolePermissions(alice, R('top'), P.SPEAK, g, NOW)).toBe(false);
    expect(canEditRolePermissions(owner, R('top'), ALL, g, NOW)).toBe(true);
    expect(canEditRolePermissions(owner, R('admin'), 0n, g, NOW)).toBe(true);
  });

  it('needs to be able to manage the role at all', () => {
    expect(canEditRolePermissions(bob, R('mod2'), 0n, g, NOW)).toBe(false); // equal position
    expect(canEditRolePermissions(bob, R('mod'), MOD_PERMS, g, NOW)).toBe(false); // own role
    expect(canEditRolePermissions(tim, helper, helper.permissions, g, NOW)).toBe(false); // no MANAGE_ROLES
    expect(canEditRolePermissions(timedOut(bob), helper, helper.permissions, g, NOW)).toBe(false);
  });

  it('@everyone can be edited by a moderator within their own permissions', () => {
    const everyone = R(EVERYONE);
    expect(canEditRolePermissions(bob, everyone, everyone.permissions | P.CREATE_INVITE, g, NOW)).toBe(true);
    expect(canEditRolePermissions(bob, everyone, everyone.permissions | P.CONNECT, g, NOW)).toBe(false);
  });

  it('refuses negative or undefined bits, even for the owner', () => {
    expect(canEditRolePermissions(owner, helper, -1n, g, NOW)).toBe(false);
    expect(canEditRolePermissions(owner, helper, 1n << 15n, g, NOW)).toBe(false);
    expect(canEditRolePermissions(owner, helper, 1n << 100n, g, NOW)).toBe(false);
  });
});

describe('canSetOverwrite', () => {
  const ch = (overwrites: PermissionOverwrite[] = [], kind: 'text' | 'voice' = 'text'): PermissionChannel => ({ id: 'c', kind, overwrites });

  it('a member with MANAGE_ROLES may allow or deny what they hold in the channel', () => {
    expect(canSetOverwrite(bob, ch(), P.KICK_MEMBERS, P.SEND_MESSAGES | P.VIEW_CHANNEL, g, NOW)).toBe(true);
    expect(canSetOverwrite(bob, ch(), 0n, P.MANAGE_ROLES, g, NOW)).toBe(true);
  });

  it('but not what they lack, allowed or denied', () => {
    expect(canSetOverwrite(bob, ch(), P.MANAGE_GUILD, 0n, g, NOW)).toBe(false);
    expect(canSetOverwrite(bob, ch(), 0n, P.SPEAK, g, NOW)).toBe(false);
  });

  it('"holds" means in that channel, after overwrites and implicit rules', () => {
    const noSend = ch([{ type: 'role', id: EVERYONE, allow: P.ATTACH_FILES, deny: P.SEND_MESSAGES }]);
    expect(canSetOverwrite(bob, noSend, P.ATTACH_FILES, 0n, g, NOW)).toBe(false);
    expect(canSetOverwrite(bob, noSend, 0n, P.MANAGE_MESSAGES, g, NOW)).toBe(true);
    const bobNoKick = ch([{ type: 'member', id: 'bob', allow: 0n, deny: P.KICK_MEMBERS }]);
    expect(canSetOverwrite(bob, bobNoKick, 0n, P.KICK_MEMBERS, g, NOW)).toBe(false);
  });

  it('needs MANAGE_ROLES in the channel: an overwrite can take it away or give it', () => {
    const denied = ch([{ type: 'role', id: 'mod', allow: 0n, deny: P.MANAGE_ROLES }]);
    expect(canSetOverwrite(bob, denied, 0n, 0n, g, NOW)).toBe(false);
    const granted = ch([{ type: 'member', id: 'dave', allow: P.MANAGE_ROLES, deny: 0n }]);
    expect(canSetOverwrite(dave, ch(), 0n, P.SEND_MESSAGES, g, NOW)).toBe(false);
    expect(canSetOverwrite(dave, granted, 0n, P.SEND_MESSAGES, g, NOW)).toBe(true);
    expect(canSetOverwrite(dave, granted, P.KICK_MEMBERS, 0n, g, NOW)).toBe(false);
  });

  it('a channel the actor cannot see grants them nothing, MANAGE_ROLES included', () => {
    const hidden = ch([{ type: 'role', id: EVERYONE, allow: 0n, deny: P.VIEW_CHANNEL }]);
    expect(canSetOverwrite(bob, hidden, 0n, 0n, g, NOW)).toBe(false);
    expect(canSetOverwrite(alice, hidden, P.VIEW_CHANNEL, 0n, g, NOW)).toBe(true);
  });

  it('in a voice channel without CONNECT, voice bits cannot be set', () => {
    const gv: PermissionGuild = { ...g, roles: { ...roles, mod: { ...R('mod'), permissions: MOD_PERMS | P.CONNECT | P.SPEAK } } };
    expect(canSetOverwrite(bob, ch([], 'voice'), P.SPEAK, 0n, gv, NOW)).toBe(true);
    const noConnect = ch([{ type: 'role', id: EVERYONE, allow: 0n, deny: P.CONNECT }], 'voice');
    expect(canSetOverwrite(bob, noConnect, P.SPEAK, 0n, gv, NOW)).toBe(false);
  });

  it('the owner and administrators may set any bits', () => {
    const lockdown = ch([{ type: 'role', id: EVERYONE, allow: 0n, deny: ALL & ~P.ADMINISTRATOR }]);
    const everything = ALL & ~P.ADMINISTRATOR;
    expect(canSetOverwrite(owner, lockdown, everything, 0n, g, NOW)).toBe(true);
    expect(canSetOverwrite(alice, lockdown, 0n, everything, g, NOW)).toBe(true);
  });

  it('ADMINISTRATOR never goes in an overwrite, and negative or undefined bits are refused', () => {
    expect(canSetOverwrite(owner, ch(), P.ADMINISTRATOR, 0n, g, NOW)).toBe(false);
    expect(canSetOverwrite(owner, ch(), 0n, P.ADMINISTRATOR, g, NOW)).toBe(false);
    expect(canSetOverwrite(owner, ch(), -1n, 0n, g, NOW)).toBe(false);
    expect(canSetOverwrite(owner, ch(), 0n, 1n << 15n, g, NOW)).toBe(false);
  });

  it('a timed-out moderator cannot set overwrites', () => {
    expect(canSetOverwrite(timedOut(bob), ch(), 0n, 0n, g, NOW)).toBe(false);
    expect(canSetOverwrite(timedOut(bob, NOW), ch(), 0n, 0n, g, NOW)).toBe(true);
  });
});
