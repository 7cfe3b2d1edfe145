import { describe, expect, it } from 'vitest';

import { buildSnapshot, DEFAULT_EVERYONE, textChannel } from '../../test/guild-irc/snapshot-builder.js';
import { Permission } from '@alloquy/protocol/permissions';
import { accountMask, channelTs, desiredChannel, desiredGuild, isServicesMask, muteMask } from './desired.js';

const NOW = 1_750_000_000_000;
const { VIEW_CHANNEL, SEND_MESSAGES, MANAGE_MESSAGES, MANAGE_CHANNELS, ADMINISTRATOR } = Permission;
const deny = (id: string, bits: bigint, type: 'role' | 'member' = 'role') => ({ type, id, allow: 0n, deny: bits });
const allow = (id: string, bits: bigint, type: 'role' | 'member' = 'role') => ({ type, id, allow: bits, deny: 0n });

function only(snapshot: ReturnType<typeof buildSnapshot>, name = 'general') {
  return desiredChannel(
    snapshot,
    snapshot.channels.find((c) => c.name === name)!,
    NOW,
  );
}

const sorted = (set: ReadonlySet<string>) => [...set].sort();

describe('desired state of a text channel', () => {
  it('a fresh guild: open, everyone may send, nobody is op, outsiders banned by account', () => {
    const snapshot = buildSnapshot({
      members: [{ username: 'alice' }, { username: 'bob' }],
      outsiders: [
        { accountId: 7, username: 'kicky', why: 'kicked' },
        { accountId: 8, username: 'banny', why: 'banned' },
        { accountId: 9, username: 'gone', why: 'disabled' },
      ],
    });
    const general = only(snapshot);
    expect(general).toMatchObject({ ircName: '#general', inviteOnly: false, readOnly: false, topic: '', ts: 1_700_000_000 });
    expect(sorted(general.lists.ban)).toEqual(['R:banny', 'R:gone', 'R:kicky']);
    expect(general.lists.banexception.size + general.lists.invex.size).toBe(0);
    expect(general.access.get('alice')).toEqual({ view: true, send: true, op: false, manageChannel: false });
  });

  it('a private channel is +i with an invite exception for each member who may view', () => {
    const snapshot = buildSnapshot({
      roles: [{ id: '2', name: 'staff', position: 1, permissions: 0n }],
      channels: [textChannel('staff', [deny('1', VIEW_CHANNEL), allow('2', VIEW_CHANNEL)])],
      members: [{ username: 'alice', roleIds: ['2'] }, { username: 'bob' }, { username: 'Carol', isAdmin: true }],
      outsiders: [{ accountId: 9, username: 'banny', why: 'banned' }],
    });
    const staff = only(snapshot, 'staff');
    expect(staff.inviteOnly).toBe(true);
    expect(sorted(staff.lists.invex)).toEqual(['R:Carol', 'R:alice']);
    // Outsiders are not on the guest list; nothing else is needed to keep them out.
    expect(staff.lists.ban.size).toBe(0);
    expect(staff.access.get('bob')?.view).toBe(false);
    expect(staff.access.get('carol')).toEqual({ view: true, send: true, op: true, manageChannel: true });
  });

  it('everyone is invite-only when @everyone itself lacks VIEW_CHANNEL', () => {
    const snapshot = buildSnapshot({
      everyone: DEFAULT_EVERYONE & ~VIEW_CHANNEL,
      roles: [{ id: '2', name: 'member', position: 1, permissions: VIEW_CHANNEL }],
      members: [{ username: 'alice', roleIds: ['2'] }, { username: 'bob' }],
    });
    const general = only(snapshot);
    expect(general.inviteOnly).toBe(true);
    expect([...general.lists.invex]).toEqual(['R:alice']);
  });

  it('an open channel bans by account the members an overwrite keeps out, without muting them too', () => {
    const snapshot = buildSnapshot({
      channels: [textChannel('general', [deny('2', VIEW_CHANNEL, 'member')])],
      members: [
        { username: 'alice', accountId: 1 },
        { username: 'bob', accountId: 2 },
      ],
    });
    const general = only(snapshot);
    expect([...general.lists.ban]).toEqual(['R:bob']);
  });

  it('a timed-out member is muted by account until the timeout ends', () => {
    const until = NOW + 60_000;
    const snapshot = buildSnapshot({ members: [{ username: 'alice' }, { username: 'bob', timeoutUntil: until }] });
    const general = only(snapshot);
    expect([...general.lists.ban]).toEqual(['m:R:bob']);
    expect(general.access.get('bob')).toEqual({ view: true, send: false, op: false, manageChannel: false });
    expect(desiredGuild(snapshot, NOW).validUntil).toBe(until);
    const later = desiredChannel(snapshot, snapshot.channels[0]!, until);
    expect(later.lists.ban.size).toBe(0);
    expect(desiredGuild(snapshot, until).validUntil).toBeNull();
  });

  it('a read-only channel mutes everybody and exempts by account those who may send', () => {
    const snapshot = buildSnapshot({
      roles: [{ id: '2', name: 'mods', position: 1, permissions: MANAGE_MESSAGES }],
      channels: [textChannel('news', [deny('1', SEND_MESSAGES), allow('2', SEND_MESSAGES)])],
      members: [{ username: 'alice', roleIds: ['2'] }, { username: 'bob' }, { username: 'tim', roleIds: ['2'], timeoutUntil: NOW + 1000 }],
    });
    const news = only(snapshot, 'news');
    expect(news).toMatchObject({ readOnly: true, inviteOnly: false });
    expect([...news.lists.ban]).toEqual(['m:*!*@*']);
    expect([...news.lists.banexception]).toEqual(['m:R:alice']);
    expect(news.access.get('alice')).toMatchObject({ send: true, op: true });
    // Timed out: no exemption, and no operator status either.
    expect(news.access.get('tim')).toMatchObject({ view: true, send: false, op: false });
  });

  it('a read-only private channel combines +i, invite exceptions, the mute and its exemptions', () => {
    const snapshot = buildSnapshot({
      roles: [{ id: '2', name: 'staff', position: 1, permissions: 0n }],
      channels: [textChannel('board', [deny('1', VIEW_CHANNEL | SEND_MESSAGES), allow('2', VIEW_CHANNEL), allow('3', SEND_MESSAGES, 'member')])],
      members: [
        { username: 'alice', roleIds: ['2'], accountId: 2 },
        { username: 'carl', roleIds: ['2'], accountId: 3 },
        { username: 'bob', accountId: 4 },
      ],
    });
    const board = only(snapshot, 'board');
    expect(board).toMatchObject({ inviteOnly: true, readOnly: true });
    expect(sorted(board.lists.invex)).toEqual(['R:alice', 'R:carl']);
    expect([...board.lists.ban]).toEqual(['m:*!*@*']);
    expect([...board.lists.banexception]).toEqual(['m:R:carl']);
  });

  it('maps MANAGE_MESSAGES to operator and MANAGE_CHANNELS to topic rights, per channel', () => {
    const snapshot = buildSnapshot({
      roles: [
        { id: '2', name: 'mods', position: 2, permissions: MANAGE_MESSAGES },
        { id: '3', name: 'editors', position: 1, permissions: MANAGE_CHANNELS },
      ],
      channels: [textChannel('general'), textChannel('quiet', [deny('2', MANAGE_MESSAGES)])],
      members: [
        { username: 'mo', roleIds: ['2'] },
        { username: 'ed', roleIds: ['3'] },
        { username: 'root', roleIds: [], isAdmin: false },
      ],
      ownerId: '3',
    });
    expect(only(snapshot).access.get('mo')).toMatchObject({ op: true, manageChannel: false });
    expect(only(snapshot).access.get('ed')).toMatchObject({ op: false, manageChannel: true });
    expect(only(snapshot, 'quiet').access.get('mo')).toMatchObject({ op: false });
    // The owner holds everything.
    expect(only(snapshot).access.get('root')).toEqual({ view: true, send: true, op: true, manageChannel: true });
  });

  it('ADMINISTRATOR overrides every overwrite', () => {
    const snapshot = buildSnapshot({
      roles: [{ id: '2', name: 'admins', position: 1, permissions: ADMINISTRATOR }],
      channels: [textChannel('locked', [deny('1', VIEW_CHANNEL), deny('2', VIEW_CHANNEL)])],
      members: [{ username: 'ada', roleIds: ['2'] }],
    });
    expect(only(snapshot, 'locked').lists.invex).toEqual(new Set(['R:ada']));
  });
});

describe('desired state of the guild', () => {
  it('covers text channels only, keyed by folded IRC name, with ad-hoc setting and version', () => {
    const snapshot = buildSnapshot({
      channels: [textChannel('general'), { name: 'General', kind: 'voice' }, textChannel('dev', [], { createdAt: 999 })],
      adhocChannels: true,
      version: 7,
    });
    const guild = desiredGuild(snapshot, NOW);
    expect([...guild.channels.keys()]).toEqual(['#general', '#dev']);
    expect(guild.adhocChannels).toBe(true);
    expect(guild.version).toBe(7);
    // createdAt under one second still gives a valid channel timestamp.
    expect(guild.channels.get('#dev')!.ts).toBe(1);
    expect(channelTs({ ...snapshot.channels[0]!, createdAt: 1_700_000_000_999 })).toBe(1_700_000_000);
  });
});

describe('masks', () => {
  it('builds account and mute extbans and recognises the shapes services own', () => {
    expect(accountMask('bob')).toBe('R:bob');
    expect(muteMask(accountMask('bob'))).toBe('m:R:bob');
    expect(['R:bob', 'm:R:bob', 'm:*!*@*'].every(isServicesMask)).toBe(true);
    expect(['*!*@bad.host', 'nick!*@*', 'U:*', 'r:Bob'].some(isServicesMask)).toBe(false);
  });
});
