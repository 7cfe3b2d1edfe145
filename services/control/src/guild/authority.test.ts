/**
 * Actor → authority and the checks every change starts with, over a hand-made snapshot: who is
 * supreme, what a plain member may do, and the hierarchy of kicks, bans and timeouts.
 */
import { describe, expect, it } from 'vitest';
import { Permission as P } from '@alloquy/protocol/permissions';
import type { Account } from '../accounts/account-service.js';
import { GuildAuthority, OPERATOR, accountActor, selfAuthority } from './authority.js';
import type { Channel, GuildSnapshot, Member, Role } from './model.js';

const NOW = 1_000_000;
const EVERYONE = '1';

function account(id: number, username: string, isAdmin = false): Account {
  return { id, username, isAdmin, disabled: false, createdAt: 0 };
}

function member(accountId: number, username: string, roleIds: string[] = [], extra: Partial<Member> = {}): Member {
  return { id: String(accountId), accountId, username, roleIds, timeoutUntil: null, isAdmin: false, ...extra };
}

/** owner (1), admin (2, a server admin), mod (3, Moderators), helper (4, Helpers), bob (5). */
function snapshot(): GuildSnapshot {
  const role = (id: string, name: string, position: number, permissions: bigint): Role => ({
    id,
    name,
    position,
    permissions,
    color: null,
    mentionable: false,
  });
  const roles = new Map<string, Role>([
    [EVERYONE, role(EVERYONE, '@everyone', 0, P.VIEW_CHANNEL | P.SEND_MESSAGES)],
    ['2', role('2', 'Helpers', 1, P.MODERATE_MEMBERS)],
    ['3', role('3', 'Moderators', 2, P.KICK_MEMBERS | P.BAN_MEMBERS | P.MODERATE_MEMBERS)],
  ]);
  const staff: Channel = {
    id: '10',
    kind: 'text',
    name: 'staff',
    topic: '',
    position: 0,
    categoryId: null,
    overwrites: [
      { type: 'role', id: EVERYONE, allow: 0n, deny: P.VIEW_CHANNEL },
      { type: 'role', id: '3', allow: P.VIEW_CHANNEL, deny: 0n },
    ],
    murmurChannelId: null,
    createdAt: 0,
  };
  const members = [member(1, 'owner'), member(2, 'admin', [], { isAdmin: true }), member(3, 'mod', ['3']), member(4, 'helper', ['2']), member(5, 'bob')];
  return {
    version: 1,
    settings: { name: 'Test', description: '', icon: null, ownerId: '1', adhocChannels: false },
    everyoneRoleId: EVERYONE,
    roles,
    categories: [],
    channels: [staff],
    members: new Map(members.map((m) => [m.id, m])),
    outsiders: [{ accountId: 6, username: 'gone', why: 'kicked' }],
    bans: new Map(),
    permissionGuild: { ownerId: '1', everyoneRoleId: EVERYONE, roles },
  };
}

const current = snapshot();
const authority = new GuildAuthority(
  () => current,
  () => NOW,
);
const as = (id: number, name: string, isAdmin = false) => accountActor(account(id, name, isAdmin));
const target = (name: string) => [...current.members.values()].find((m) => m.username === name)!;
const staff = current.channels[0]!;

describe('GuildAuthority', () => {
  it('the operator, the owner and admins (of the server or the guild) are supreme; members are not; outsiders have no member', () => {
    expect(authority.of(OPERATOR)).toEqual({ supreme: true, member: undefined, name: 'operator', accountId: null });
    expect(authority.of(as(1, 'owner')).supreme).toBe(true);
    expect(authority.of(as(2, 'admin')).supreme).toBe(true);
    expect(authority.of(as(5, 'bob', true)).supreme).toBe(true);
    expect(authority.of(as(5, 'bob'))).toMatchObject({ supreme: false, member: target('bob'), name: 'bob', accountId: 5 });
    // A server admin who is not a member (kicked) is not supreme in the guild.
    expect(authority.of(as(6, 'gone', true))).toMatchObject({ supreme: false, member: undefined });
    expect(selfAuthority(account(6, 'gone'))).toEqual({ supreme: false, member: undefined, name: 'gone', accountId: 6 });
  });

  it('permissions: everything for the supreme, the permission math for members, nothing for outsiders', () => {
    expect(authority.permissions(authority.of(OPERATOR), staff) & P.ADMINISTRATOR).toBe(P.ADMINISTRATOR);
    expect(authority.permissions(authority.of(as(5, 'bob')))).toBe(P.VIEW_CHANNEL | P.SEND_MESSAGES);
    expect(authority.permissions(authority.of(as(5, 'bob')), staff) & P.VIEW_CHANNEL).toBe(0n);
    expect(authority.permissions(authority.of(as(3, 'mod')), staff) & P.VIEW_CHANNEL).toBe(P.VIEW_CHANNEL);
    expect(authority.permissions(authority.of(as(6, 'gone')))).toBe(0n);
  });

  it('require: members holding the flags, in the channel when given, naming what is missing', () => {
    expect(authority.require(as(5, 'bob'), 0n).name).toBe('bob');
    expect(() => authority.require(as(6, 'gone'), 0n)).toThrow(/not a member/);
    expect(() => authority.require(as(5, 'bob'), P.MANAGE_GUILD)).toThrow(expect.objectContaining({ code: 'forbidden', message: 'this needs MANAGE_GUILD' }));
    expect(() => authority.require(as(5, 'bob'), P.VIEW_CHANNEL, staff)).toThrow('this needs VIEW_CHANNEL in #staff');
    expect(authority.require(as(3, 'mod'), P.VIEW_CHANNEL, staff).name).toBe('mod');
    expect(authority.require(OPERATOR, P.ADMINISTRATOR).supreme).toBe(true);
  });

  it('authorizeAction: never the owner or oneself; admins only by the supreme; otherwise the flag and a higher role', () => {
    expect(() => authority.authorizeAction(OPERATOR, target('owner'), 'kick')).toThrow('nobody can act on the owner');
    expect(() => authority.authorizeAction(as(2, 'admin'), target('admin'), 'ban')).toThrow('you cannot ban yourself');
    expect(authority.authorizeAction(as(2, 'admin'), target('mod'), 'ban').name).toBe('admin');
    expect(() => authority.authorizeAction(as(3, 'mod'), target('admin'), 'kick')).toThrow(/server admins/);
    expect(authority.authorizeAction(as(3, 'mod'), target('helper'), 'kick').name).toBe('mod');
    expect(() => authority.authorizeAction(as(4, 'helper'), target('mod'), 'timeout')).toThrow(/MODERATE_MEMBERS and a highest role above mod's/);
    expect(authority.authorizeAction(as(4, 'helper'), target('bob'), 'timeout').name).toBe('helper');
    expect(() => authority.authorizeAction(as(4, 'helper'), target('bob'), 'kick')).toThrow(/KICK_MEMBERS/);
    expect(() => authority.authorizeAction(as(6, 'gone'), target('bob'), 'kick')).toThrow(/not a member/);
  });

  it('member: the member behind an authority, or forbidden for the operator and outsiders', () => {
    expect(authority.member(authority.of(as(5, 'bob')))).toBe(target('bob'));
    expect(() => authority.member(authority.of(OPERATOR))).toThrow(expect.objectContaining({ code: 'forbidden' }));
  });
});
