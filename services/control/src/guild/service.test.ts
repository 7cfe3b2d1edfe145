/**
 * GuildService on a real SQLite database (migrations applied), with an injected clock: the
 * hierarchy, overwrites, timeouts that expire, kick and rejoin, ban and unban, invites, renames
 * that keep history, and the audit log and events every write leaves behind.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AccountService, type Account } from '../accounts/account-service.js';
import { AccessTokens } from '../accounts/tokens.js';
import { ControlError } from '../errors/control-error.js';
import { HistoryStore } from '../history/store.js';
import { openControlDatabase, type Db } from '../store/database.js';
import { memberByUsername } from './model.js';
import { Permission, has, permissionsFromNames } from '@alloquy/protocol/permissions';
import { GuildService, MAX_TIMEOUT_MS, OPERATOR, accountActor, type Actor } from './service.js';

const START = Date.UTC(2030, 0, 1);
let clock: number;
let db: Db;
let accounts: AccountService;
let guild: GuildService;
const events: string[] = [];
const users = new Map<string, Account>();
let home: string | undefined;

async function setUp(registration: 'open' | 'invite'): Promise<void> {
  clock = START;
  home = mkdtempSync(join(tmpdir(), 'alloquy-guild-service-'));
  db = openControlDatabase(join(home, 'control.sqlite'));
  accounts = new AccountService(db, {
    registration,
    accessTokens: new AccessTokens('x'.repeat(64), 'alloquy', 900),
    refreshTtlSeconds: 3600,
    maxFailuresPerAccount: 5,
    maxFailuresPerAddress: 5,
    failureWindowSeconds: 60,
    now: () => clock,
  });
  // owner: the first account, an admin; the rest are plain accounts.
  for (const name of ['owner', 'mod', 'mod2', 'helper', 'bob', 'carol']) {
    users.set(name, await accounts.register(name, `${name}-password`, { bypassPolicy: true }));
  }
  guild = new GuildService(db, accounts, { history: new HistoryStore(db), now: () => clock });
  events.length = 0;
  guild.on('changed', (_s, change) => events.push(`changed:${change.action}`));
  guild.on('memberRemoved', (r) => events.push(`removed:${r.kind}:${r.username}:${r.reason}:${r.by}`));
}

function actor(name: string): Actor {
  return accountActor(users.get(name)!);
}

function perms(...names: string[]): bigint {
  return permissionsFromNames(names);
}

function refused(fn: () => unknown, code: string, message?: RegExp): void {
  let error: unknown;
  try {
    fn();
  } catch (err) {
    error = err;
  }
  expect(error, 'expected a ControlError').toBeInstanceOf(ControlError);
  expect((error as ControlError).code).toBe(code);
  if (message) expect((error as ControlError).message).toMatch(message);
}

/** Moderators (above) with management permissions, Helpers (below) with timeouts only. */
function withStaff(): { moderators: string; helpers: string } {
  const moderators = guild.createRole(OPERATOR, {
    name: 'Moderators',
    permissions: perms('VIEW_CHANNEL', 'SEND_MESSAGES', 'MANAGE_ROLES', 'MANAGE_CHANNELS', 'KICK_MEMBERS', 'BAN_MEMBERS', 'MODERATE_MEMBERS'),
  }).id;
  const helpers = guild.createRole(OPERATOR, { name: 'Helpers', permissions: perms('MODERATE_MEMBERS') }).id;
  guild.addMemberRole(OPERATOR, 'mod', moderators);
  guild.addMemberRole(OPERATOR, 'mod2', moderators);
  guild.addMemberRole(OPERATOR, 'helper', helpers);
  events.length = 0;
  return { moderators, helpers };
}

afterEach(() => {
  guild?.close();
  db?.close();
  if (home) rmSync(home, { recursive: true, force: true });
  home = undefined;
  users.clear();
  vi.useRealTimers();
});

describe('a fresh guild', () => {
  beforeEach(() => setUp('open'));

  it('has #general, the General voice channel, @everyone, and the first admin as owner', () => {
    const s = guild.snapshot();
    expect(s.channels.map((c) => `${c.kind}:${c.name}`)).toEqual(['text:general', 'voice:General']);
    expect([...s.roles.values()].map((r) => r.name)).toEqual(['@everyone']);
    expect(s.settings.ownerId).toBe(String(users.get('owner')!.id));
    expect(s.members.size).toBe(6);
  });

  it('finds channels by id and by name; the exact spelling tells general from General', () => {
    expect(guild.channel('general').kind).toBe('text');
    expect(guild.channel('#General').kind).toBe('text');
    expect(guild.channel('General').kind).toBe('voice');
    expect(guild.channel('general', 'voice').kind).toBe('voice');
    expect(guild.channel(guild.channel('General').id).name).toBe('General');
    refused(() => guild.channel('nowhere'), 'not_found');
  });

  it('finds members by account name in any case, in the snapshot asked about', () => {
    const before = guild.snapshot();
    expect(memberByUsername(before, 'BoB')?.accountId).toBe(users.get('bob')!.id);
    expect(memberByUsername(before, 'nobody')).toBeUndefined();
    guild.kick(OPERATOR, 'bob');
    // Each snapshot answers for itself: the old one still has bob, the new one does not.
    expect(memberByUsername(guild.snapshot(), 'bob')).toBeUndefined();
    expect(memberByUsername(before, 'bob')?.username).toBe('bob');
    expect(memberByUsername(guild.snapshot(), 'Carol')?.username).toBe('carol');
  });
});

describe('the role hierarchy', () => {
  beforeEach(() => setUp('open'));

  it('new roles start just above @everyone; a member manages only roles below their own', () => {
    const { moderators, helpers } = withStaff();
    expect(guild.role(moderators).position).toBe(2);
    expect(guild.role(helpers).position).toBe(1);

    guild.addMemberRole(actor('mod'), 'carol', helpers);
    refused(() => guild.addMemberRole(actor('mod'), 'bob', moderators), 'forbidden', /highest role above/);
    refused(() => guild.updateRole(actor('mod'), moderators, { color: 5 }), 'forbidden');
    refused(() => guild.deleteRole(actor('mod'), moderators), 'forbidden');
    refused(() => guild.updateRole(actor('mod'), helpers, { position: 2 }), 'forbidden', /below your highest/);
    refused(() => guild.addMemberRole(actor('helper'), 'bob', helpers), 'forbidden');
    refused(() => guild.addMemberRole(actor('mod'), 'bob', guild.snapshot().everyoneRoleId), 'invalid_request');

    guild.updateRole(actor('mod'), helpers, { name: 'Guides' });
    expect(guild.role(helpers).name).toBe('Guides');
    guild.removeMemberRole(actor('mod'), 'carol', helpers);
    expect(guild.snapshot().members.get(String(users.get('carol')!.id))!.roleIds).toEqual([]);
  });

  it('nobody grants a permission they lack; the operator and owner may grant anything', () => {
    const { helpers } = withStaff();
    refused(() => guild.updateRole(actor('mod'), helpers, { permissions: perms('MODERATE_MEMBERS', 'MANAGE_GUILD') }), 'forbidden', /permissions you have/);
    refused(() => guild.createRole(actor('mod'), { name: 'Admins', permissions: perms('ADMINISTRATOR') }), 'forbidden');
    const kickers = guild.createRole(actor('mod'), { name: 'Kickers', permissions: perms('KICK_MEMBERS') });
    expect(kickers.permissions).toBe(Permission.KICK_MEMBERS);
    // Dropping a bit one lacks is fine (only granting is checked).
    guild.updateRole(OPERATOR, helpers, { permissions: perms('MODERATE_MEMBERS', 'MANAGE_GUILD') });
    guild.updateRole(actor('mod'), helpers, { permissions: perms('MODERATE_MEMBERS') });
    guild.updateRole(actor('owner'), helpers, { permissions: perms('MODERATE_MEMBERS', 'ADMINISTRATOR') });
    expect(has(guild.role(helpers).permissions, Permission.ADMINISTRATOR)).toBe(true);
  });

  it('keeps positions dense when roles are moved and removed', () => {
    const { moderators, helpers } = withStaff();
    const third = guild.createRole(OPERATOR, { name: 'Third' }).id;
    guild.updateRole(OPERATOR, third, { position: 3 });
    const order = () => [...guild.snapshot().roles.values()].sort((a, b) => a.position - b.position).map((r) => `${r.position}:${r.name}`);
    expect(order()).toEqual(['0:@everyone', '1:Helpers', '2:Moderators', '3:Third']);
    guild.deleteRole(OPERATOR, moderators);
    expect(order()).toEqual(['0:@everyone', '1:Helpers', '2:Third']);
    expect(guild.snapshot().members.get(String(users.get('mod')!.id))!.roleIds).toEqual([]);
    refused(() => guild.deleteRole(OPERATOR, guild.snapshot().everyoneRoleId), 'invalid_request');
    refused(() => guild.createRole(OPERATOR, { name: 'helpers' }), 'role_taken');
    expect(guild.role(helpers).name).toBe('Helpers');
  });
});

describe('channel overwrites', () => {
  beforeEach(() => setUp('open'));

  it('deny @everyone VIEW_CHANNEL hides a channel; role and member overwrites let people back in', () => {
    const { moderators } = withStaff();
    const staff = guild.createChannel(actor('mod'), { kind: 'text', name: 'staff' });
    guild.setOverwrite(actor('mod'), staff.id, { type: 'role', target: moderators, allow: Permission.VIEW_CHANNEL, deny: 0n });
    guild.setOverwrite(actor('mod'), staff.id, { type: 'role', target: '@everyone', allow: 0n, deny: Permission.VIEW_CHANNEL });
    const sees = (name: string) => guild.visibleChannels(actor(name)).some((c) => c.id === staff.id);
    expect(sees('mod')).toBe(true);
    expect(sees('bob')).toBe(false);
    expect(sees('owner')).toBe(true);
    expect(guild.visibleChannels(OPERATOR).some((c) => c.id === staff.id)).toBe(true);

    guild.setOverwrite(actor('mod'), 'staff', { type: 'member', target: 'bob', allow: perms('VIEW_CHANNEL', 'SEND_MESSAGES'), deny: 0n });
    expect(sees('bob')).toBe(true);
    expect(has(guild.permissionsOf(actor('bob'), guild.channel('staff')), Permission.SEND_MESSAGES)).toBe(true);
    // Replacing an overwrite replaces it whole.
    guild.setOverwrite(actor('mod'), 'staff', { type: 'member', target: 'bob', allow: Permission.VIEW_CHANNEL, deny: Permission.SEND_MESSAGES });
    expect(has(guild.permissionsOf(actor('bob'), guild.channel('staff')), Permission.SEND_MESSAGES)).toBe(false);
    guild.deleteOverwrite(actor('mod'), 'staff', 'member', 'bob');
    expect(sees('bob')).toBe(false);
    refused(() => guild.deleteOverwrite(actor('mod'), 'staff', 'member', 'bob'), 'not_found');
  });

  it('needs MANAGE_ROLES in the channel and only bits one has there; never ADMINISTRATOR', () => {
    withStaff();
    refused(() => guild.setOverwrite(actor('bob'), 'general', { type: 'member', target: 'bob', allow: Permission.MANAGE_MESSAGES, deny: 0n }), 'forbidden');
    refused(() => guild.setOverwrite(actor('mod'), 'general', { type: 'member', target: 'bob', allow: Permission.MANAGE_GUILD, deny: 0n }), 'forbidden');
    refused(() => guild.setOverwrite(OPERATOR, 'general', { type: 'member', target: 'bob', allow: Permission.ADMINISTRATOR, deny: 0n }), 'invalid_request');
    refused(
      () => guild.setOverwrite(OPERATOR, 'general', { type: 'member', target: 'bob', allow: Permission.SPEAK, deny: Permission.SPEAK }),
      'invalid_request',
    );
    refused(() => guild.setOverwrite(OPERATOR, 'general', { type: 'role', target: 'Ghosts', allow: Permission.SPEAK, deny: 0n }), 'not_found');
    refused(() => guild.setOverwrite(OPERATOR, 'general', { type: 'member', target: 'nobody', allow: Permission.SPEAK, deny: 0n }), 'not_found');
    // A channel-level MANAGE_ROLES grant is enough for that channel only.
    guild.setOverwrite(OPERATOR, 'general', { type: 'member', target: 'carol', allow: Permission.MANAGE_ROLES, deny: 0n });
    guild.setOverwrite(actor('carol'), 'general', { type: 'member', target: 'bob', allow: 0n, deny: Permission.SEND_MESSAGES });
    refused(() => guild.setOverwrite(actor('carol'), 'General', { type: 'member', target: 'bob', allow: 0n, deny: Permission.SPEAK }), 'forbidden');
  });
});

describe('timeouts', () => {
  beforeEach(() => setUp('open'));

  it('mute until they end, then permissions come back without a write (republished at that instant)', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    withStaff();
    const member = guild.timeout(actor('helper'), 'bob', clock + 60_000, 'cool off');
    expect(member.timeoutUntil).toBe(START + 60_000);
    const general = guild.channel('general');
    expect(has(guild.permissionsOf(actor('bob'), general), Permission.SEND_MESSAGES)).toBe(false);
    expect(has(guild.permissionsOf(actor('bob'), general), Permission.VIEW_CHANNEL | Permission.READ_HISTORY)).toBe(true);
    expect(events).toEqual(['changed:member.timeout']);

    clock += 60_001;
    expect(has(guild.permissionsOf(actor('bob'), general), Permission.SEND_MESSAGES)).toBe(true);
    vi.advanceTimersByTime(60_010);
    expect(events).toEqual(['changed:member.timeout', 'changed:timeout.expired']);
  });

  it('only over lower members, never the owner; a timed-out moderator has no moderation power', () => {
    withStaff();
    refused(() => guild.timeout(actor('helper'), 'mod', clock + 1000), 'forbidden');
    refused(() => guild.timeout(actor('mod'), 'mod2', clock + 1000), 'forbidden');
    refused(() => guild.timeout(actor('mod'), 'owner', clock + 1000), 'forbidden', /owner/);
    refused(() => guild.timeout(actor('bob'), 'carol', clock + 1000), 'forbidden');
    guild.timeout(actor('mod'), 'helper', clock + 1000);
    refused(() => guild.timeout(actor('helper'), 'bob', clock + 1000), 'forbidden');
    guild.timeout(actor('mod'), 'helper', null);
    guild.timeout(actor('helper'), 'bob', clock + 1000);
  });

  it('end in the future, at most 28 days on', () => {
    refused(() => guild.timeout(OPERATOR, 'bob', clock), 'invalid_request');
    refused(() => guild.timeout(OPERATOR, 'bob', clock + MAX_TIMEOUT_MS + 1), 'invalid_request');
    guild.timeout(OPERATOR, 'bob', clock + MAX_TIMEOUT_MS);
  });
});

describe('kick and rejoin, ban and unban', () => {
  beforeEach(() => setUp('invite'));

  it('a kick removes the member (and their roles), tells enforcers first, and rejoining takes an invite', () => {
    const { helpers } = withStaff();
    guild.addMemberRole(OPERATOR, 'bob', helpers);
    guild.timeout(OPERATOR, 'bob', clock + 60_000);
    events.length = 0;
    refused(() => guild.kick(actor('helper'), 'bob'), 'forbidden');
    refused(() => guild.kick(actor('mod'), 'mod2'), 'forbidden');
    refused(() => guild.kick(actor('mod'), 'owner'), 'forbidden');
    guild.kick(actor('mod'), 'bob', 'spam');
    expect(events).toEqual(['removed:kick:bob:spam:mod', 'changed:member.kick']);
    const bob = users.get('bob')!;
    expect(guild.member(bob)).toBeUndefined();
    expect(guild.snapshot().outsiders).toContainEqual({ accountId: bob.id, username: 'bob', why: 'kicked' });
    refused(() => guild.listMembers(actor('bob')), 'forbidden', /not a member/);
    expect(guild.visibleChannels(actor('bob'))).toEqual([]);

    refused(() => guild.join(bob), 'invalid_invite');
    const invite = guild.createInvite(actor('mod'), { maxUses: 1 });
    const back = guild.join(bob, invite.code);
    expect(back).toMatchObject({ username: 'bob', roleIds: [], timeoutUntil: null });
    guild.kick(OPERATOR, 'bob');
    refused(() => guild.join(bob, invite.code), 'invalid_invite');
  });

  it('an invite expires', () => {
    const invite = guild.createInvite(OPERATOR, { expiresInSeconds: 60 });
    guild.kick(OPERATOR, 'bob');
    clock += 61_000;
    expect(guild.listInvites(OPERATOR).map((i) => i.code)).not.toContain(invite.code);
    refused(() => guild.join(users.get('bob')!, invite.code), 'invalid_invite');
  });

  it('a revoked invite is dead; its maker or a MANAGE_GUILD holder may revoke it', () => {
    const mine = guild.createInvite(actor('bob'));
    const theirs = guild.createInvite(OPERATOR);
    refused(() => guild.revokeInvite(actor('bob'), theirs.code), 'forbidden');
    guild.revokeInvite(actor('bob'), mine.code);
    guild.kick(OPERATOR, 'carol');
    refused(() => guild.join(users.get('carol')!, mine.code), 'invalid_invite');
    refused(() => guild.listInvites(actor('bob')), 'forbidden');
  });

  it('a ban keeps an account out until unbanned; unbanned is not rejoined', () => {
    withStaff();
    const bob = users.get('bob')!;
    refused(() => guild.ban(actor('helper'), 'bob'), 'forbidden');
    refused(() => guild.ban(actor('mod'), 'owner'), 'forbidden');
    refused(() => guild.ban(actor('mod'), 'mod2'), 'forbidden');
    guild.ban(actor('mod'), 'bob', 'raids');
    expect(events).toEqual(['removed:ban:bob:raids:mod', 'changed:member.ban']);
    expect(guild.listBans(actor('mod'))).toEqual([{ accountId: bob.id, username: 'bob', reason: 'raids', createdAt: START }]);
    refused(() => guild.listBans(actor('carol')), 'forbidden');
    refused(() => guild.ban(actor('mod'), 'bob'), 'invalid_request', /already banned/);

    const invite = guild.createInvite(OPERATOR);
    refused(() => guild.join(bob, invite.code), 'banned');
    refused(() => guild.unban(actor('carol'), 'bob'), 'forbidden');
    guild.unban(actor('mod'), 'bob');
    refused(() => guild.unban(actor('mod'), 'bob'), 'not_found');
    expect(guild.member(bob)).toBeUndefined();
    guild.join(bob, invite.code);
    expect(guild.member(bob)).toBeDefined();
  });

  it('bans an account that is not a member, with BAN_MEMBERS', () => {
    withStaff();
    guild.kick(OPERATOR, 'carol');
    refused(() => guild.ban(actor('helper'), 'carol'), 'forbidden');
    guild.ban(actor('mod'), 'carol', 'evading');
    expect(guild.snapshot().outsiders).toContainEqual({ accountId: users.get('carol')!.id, username: 'carol', why: 'banned' });
  });
});

describe('channels', () => {
  beforeEach(() => setUp('open'));

  it('renaming a text channel keeps its history and read markers', () => {
    const insert = db.prepare("INSERT INTO history_messages (msgid, channel, account, nick, kind, time, text) VALUES (?, ?, 'bob', 'bob', 'PRIVMSG', ?, ?)");
    insert.run('m1', '#general', START, 'hello');
    insert.run('m2', '#general', START + 1, 'again');
    insert.run('m3', '#other', START + 2, 'elsewhere');
    db.prepare("INSERT INTO history_read_markers (account, channel, msgid, time, message_id, updated_at) VALUES ('bob', '#general', 'm2', ?, 2, ?)").run(
      START + 1,
      START,
    );

    const before = guild.channel('general');
    const renamed = guild.updateChannel(OPERATOR, 'general', { name: 'Lobby' });
    expect(renamed).toMatchObject({ id: before.id, name: 'lobby' });
    const rows = db.prepare('SELECT msgid, channel FROM history_messages ORDER BY id').all();
    expect(rows).toEqual([
      { msgid: 'm1', channel: '#lobby' },
      { msgid: 'm2', channel: '#lobby' },
      { msgid: 'm3', channel: '#other' },
    ]);
    expect(db.prepare('SELECT channel FROM history_read_markers').pluck().all()).toEqual(['#lobby']);
    expect(guild.auditLog(OPERATOR, { limit: 1 })[0]).toMatchObject({
      action: 'channel.update',
      actor: 'operator',
      changes: { name: { from: 'general', to: 'lobby' } },
    });
  });

  it('deleting a text channel forgets its history: a new channel of the same name starts empty', () => {
    const history = new HistoryStore(db);
    history.ingest([
      { msgid: 'm1', channel: '#general', account: 'bob', nick: 'bob', kind: 'PRIVMSG', time: START, text: 'secret' },
      { msgid: 'm2', channel: '#other', account: 'bob', nick: 'bob', kind: 'PRIVMSG', time: START, text: 'stays' },
    ]);
    history.setReadMarker('bob', '#general', { msgid: 'm1' });
    guild.deleteChannel(OPERATOR, 'general');
    guild.createChannel(OPERATOR, { kind: 'text', name: 'general' });
    expect(history.latest('#general', 10)).toEqual([]);
    expect(history.getReadMarker('bob', '#general')).toBeNull();
    expect(history.latest('#other', 10).map((m) => m.msgid)).toEqual(['m2']);
  });

  it('a rename or deletion whose history step fails changes nothing: one transaction with the audit entry', () => {
    const history = new HistoryStore(db);
    history.ingest([{ msgid: 'm1', channel: '#general', account: 'bob', nick: 'bob', kind: 'PRIVMSG', time: START, text: 'hello' }]);
    const broken = new GuildService(db, accounts, {
      now: () => clock,
      history: {
        renameChannel: (from, to) => {
          history.renameChannel(from, to);
          throw new Error('history refused');
        },
        forgetChannel: (channel) => {
          history.forgetChannel(channel);
          throw new Error('history refused');
        },
      },
    });
    try {
      const audited = guild.auditLog(OPERATOR).length;
      expect(() => broken.updateChannel(OPERATOR, 'general', { name: 'lobby' })).toThrow('history refused');
      expect(() => broken.deleteChannel(OPERATOR, 'general')).toThrow('history refused');
      guild.reload();
      expect(guild.channel('general', 'text').name).toBe('general');
      expect(guild.findChannel('lobby')).toBeUndefined();
      expect(history.latest('#general', 10).map((m) => m.msgid)).toEqual(['m1']);
      expect(guild.auditLog(OPERATOR)).toHaveLength(audited);
    } finally {
      broken.close();
    }
  });

  it('needs MANAGE_CHANNELS, refuses clashing names and bad topics', () => {
    withStaff();
    refused(() => guild.createChannel(actor('bob'), { kind: 'text', name: 'mine' }), 'forbidden', /MANAGE_CHANNELS/);
    const c = guild.createChannel(actor('mod'), { kind: 'text', name: 'Dev Talk', topic: 'code' });
    expect(c).toMatchObject({ kind: 'text', name: 'dev-talk', topic: 'code' });
    refused(() => guild.createChannel(actor('mod'), { kind: 'text', name: 'dev-talk' }), 'channel_taken');
    guild.createChannel(actor('mod'), { kind: 'voice', name: 'Dev Talk' });
    refused(() => guild.updateChannel(actor('mod'), 'dev-talk', { topic: 'a\r\nb' }), 'invalid_request');
    refused(() => guild.updateChannel(actor('bob'), 'dev-talk', { topic: 'mine' }), 'forbidden');
    guild.deleteChannel(actor('mod'), 'dev-talk');
    expect(guild.findChannel('dev-talk', 'text')).toBeUndefined();
    expect(guild.findChannel('Dev Talk')?.kind).toBe('voice');
  });
});

describe('reading and the audit log', () => {
  beforeEach(() => setUp('open'));

  it('members see members and roles; only members', () => {
    withStaff();
    expect(guild.listMembers(actor('bob')).map((m) => m.username)).toEqual(['owner', 'mod', 'mod2', 'helper', 'bob', 'carol']);
    expect(guild.getMember(actor('bob'), 'MOD').username).toBe('mod');
    refused(() => guild.getMember(actor('bob'), 'nobody'), 'not_found');
    expect(guild.listRoles(actor('bob')).map((r) => r.name)).toEqual(['@everyone', 'Helpers', 'Moderators']);
    guild.kick(OPERATOR, 'carol');
    refused(() => guild.listRoles(actor('carol')), 'forbidden');
    refused(() => guild.listCategories(actor('carol')), 'forbidden');
  });

  it('records every write with its actor, newest first, filtered by action and actor', () => {
    withStaff();
    guild.createChannel(actor('mod'), { kind: 'text', name: 'news' });
    guild.timeout(actor('helper'), 'bob', clock + 1000, 'calm down');
    guild.kick(actor('mod'), 'carol', 'bye');
    guild.updateSettings(actor('owner'), { name: 'Renamed' });
    const log = guild.auditLog(OPERATOR);
    expect(log.slice(0, 4).map((e) => `${e.actor} ${e.action} ${e.targetName}`)).toEqual([
      'owner guild.update Alloquy',
      'mod member.kick carol',
      'helper member.timeout bob',
      'mod channel.create news',
    ]);
    expect(log[1]).toMatchObject({ reason: 'bye', targetType: 'member', targetId: String(users.get('carol')!.id) });
    expect(guild.auditLog(OPERATOR, { actor: 'HELPER' }).map((e) => e.action)).toEqual(['member.timeout']);
    expect(guild.auditLog(OPERATOR, { action: 'role.create' }).map((e) => e.targetName)).toEqual(['Helpers', 'Moderators']);
    expect(guild.auditLog(OPERATOR, { before: log[1]!.id, limit: 1 }).map((e) => e.action)).toEqual(['member.timeout']);
    expect(guild.auditLog(actor('mod')).length).toBe(log.length);
    refused(() => guild.auditLog(actor('bob')), 'forbidden');
  });
});
