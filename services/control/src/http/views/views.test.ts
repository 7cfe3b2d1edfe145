/**
 * The view builders on plain guild data: what each answer says, and that it is exactly what the
 * protocol's schema for it parses (a field the schema lacks would be stripped, so toEqual fails).
 */
import {
  AccountView,
  AuditEntryView,
  BanView,
  CategoryView,
  ChannelView,
  GuildView,
  InviteView,
  MemberView,
  MessageView,
  RegistrationInviteView,
  RoleView,
  VoiceCertificateView,
  VoiceView,
} from '@alloquy/protocol/http';
import { Permission } from '@alloquy/protocol/permissions';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { Category, Channel, GuildSnapshot, Member, Role } from '../../guild/model.js';
import type { HistoryMessage } from '../../history/store.js';
import { accountView, registrationInviteView } from './accounts.js';
import { auditEntryView } from './audit-log.js';
import { banView } from './bans.js';
import { categoryView } from './categories.js';
import { channelView, channelViewFor } from './channels.js';
import { guildView } from './guild.js';
import { inviteView } from './invites.js';
import { memberView } from './members.js';
import { messageView, readMarkerView } from './history.js';
import { permissionSetView } from './permissions.js';
import { roleView } from './roles.js';
import { voiceCertificateView, voiceView } from './voice.js';

const T0 = Date.UTC(2030, 0, 1);
const ISO0 = '2030-01-01T00:00:00.000Z';

const everyone: Role = {
  id: '1',
  name: '@everyone',
  position: 0,
  permissions: Permission.VIEW_CHANNEL | Permission.SEND_MESSAGES,
  color: null,
  mentionable: false,
};
const moderator: Role = {
  id: '2',
  name: 'moderator',
  position: 2,
  permissions: Permission.KICK_MEMBERS,
  color: 0xff0000,
  mentionable: true,
  maxUploadBytes: 1024,
};
const helper: Role = { id: '3', name: 'helper', position: 1, permissions: 0n, color: null, mentionable: false };
const category: Category = { id: '1', name: 'Text channels', position: 0 };

const member = (id: number, username: string, roleIds: string[] = [], timeoutUntil: number | null = null): Member => ({
  id: String(id),
  accountId: id,
  username,
  roleIds,
  timeoutUntil,
  isAdmin: false,
});

const general: Channel = {
  id: '10',
  kind: 'text',
  name: 'general',
  topic: 'hello',
  position: 0,
  categoryId: '1',
  overwrites: [
    { type: 'role', id: '3', allow: Permission.MANAGE_MESSAGES, deny: 0n },
    { type: 'member', id: '5', allow: 0n, deny: Permission.SEND_MESSAGES },
    { type: 'member', id: '6', allow: 0n, deny: Permission.VIEW_CHANNEL },
    { type: 'member', id: '99', allow: 0n, deny: 0n },
  ],
  murmurChannelId: null,
  createdAt: T0,
};
const lobby: Channel = { id: '11', kind: 'voice', name: 'Lobby', topic: '', position: 1, categoryId: null, overwrites: [], murmurChannelId: 4, createdAt: T0 };

const snapshot: GuildSnapshot = {
  version: 1,
  settings: { name: 'Alloquy', description: 'a test server', icon: null, ownerId: '6', adhocChannels: false },
  everyoneRoleId: '1',
  roles: new Map([everyone, moderator, helper].map((r) => [r.id, r])),
  categories: [category],
  channels: [general, lobby],
  members: new Map([member(5, 'bob', ['3', '2', 'gone'], T0 + 60_000), member(7, 'carol', [], T0 - 1)].map((m) => [m.id, m])),
  // The owner was kicked: the guild still names them.
  outsiders: [{ accountId: 6, username: 'olive', why: 'kicked' }],
  bans: new Map(),
  permissionGuild: { ownerId: '6', everyoneRoleId: '1', roles: new Map() },
};

/** The builder's output, after checking that the schema parses it to the same thing. */
function parsedBy<S extends z.ZodType>(schema: S, view: unknown): z.infer<S> {
  const parsed = schema.parse(view);
  expect(parsed).toEqual(view);
  return parsed;
}

describe('guild views', () => {
  it('name the owner even when they are no longer a member', () => {
    expect(parsedBy(GuildView, guildView(snapshot, true, Permission.VIEW_CHANNEL))).toEqual({
      name: 'Alloquy',
      description: 'a test server',
      icon: null,
      adhoc_channels: false,
      owner: 'olive',
      member: true,
      permissions: '2',
      permission_names: ['VIEW_CHANNEL'],
    });
    expect(guildView({ ...snapshot, settings: { ...snapshot.settings, ownerId: null } }, false, 0n).owner).toBeNull();
  });

  it('show overwrites only when asked, naming roles, members and outsiders', () => {
    const view = parsedBy(ChannelView, channelView(snapshot, general, Permission.VIEW_CHANNEL | Permission.MANAGE_ROLES, true));
    expect(view).toMatchObject({ irc_name: '#general', category: { id: '1', name: 'Text channels' }, created_at: ISO0, murmur_channel_id: null });
    expect(view.overwrites?.map((o) => [o.type, o.name, o.allow_names, o.deny_names])).toEqual([
      ['role', 'helper', ['MANAGE_MESSAGES'], []],
      ['member', 'bob', [], ['SEND_MESSAGES']],
      ['member', 'olive', [], ['VIEW_CHANNEL']],
      ['member', null, [], []],
    ]);
    const voice = parsedBy(ChannelView, channelView(snapshot, lobby, Permission.VIEW_CHANNEL, false));
    expect(voice).toMatchObject({ irc_name: null, category: null, murmur_channel_id: 4 });
    expect('overwrites' in voice).toBe(false);
  });

  it("give overwrites to whoever manages roles or channels in the channel, from the actor's permissions", () => {
    const asker = (perms: bigint) => ({ snapshot: () => snapshot, permissionsOf: () => perms });
    const actor = { kind: 'operator' } as const;
    expect(channelViewFor(asker(Permission.VIEW_CHANNEL), actor, general).overwrites).toBeUndefined();
    expect(channelViewFor(asker(Permission.MANAGE_CHANNELS), actor, general).overwrites).toHaveLength(4);
    // Permissions the route has already computed win over asking again.
    expect(channelViewFor(asker(0n), actor, general, Permission.MANAGE_ROLES).permission_names).toEqual(['MANAGE_ROLES']);
  });

  it('list a member’s known roles most senior first, and a timeout only while it lasts', () => {
    const [bob, carol] = [...snapshot.members.values()];
    expect(parsedBy(MemberView, memberView(snapshot, bob!, T0))).toEqual({
      id: '5',
      username: 'bob',
      roles: [
        { id: '2', name: 'moderator' },
        { id: '3', name: 'helper' },
      ],
      timeout_until: '2030-01-01T00:01:00.000Z',
      is_owner: false,
      is_admin: false,
    });
    expect(memberView(snapshot, bob!, T0 + 60_000).timeout_until).toBeNull();
    expect(memberView(snapshot, carol!, T0).timeout_until).toBeNull();
  });

  it('mark @everyone and an unset upload limit', () => {
    expect(parsedBy(RoleView, roleView(everyone, '1'))).toMatchObject({
      everyone: true,
      max_upload_bytes: null,
      permission_names: ['VIEW_CHANNEL', 'SEND_MESSAGES'],
    });
    expect(parsedBy(RoleView, roleView(moderator, '1'))).toMatchObject({ everyone: false, max_upload_bytes: 1024, color: 0xff0000 });
    expect(parsedBy(CategoryView, categoryView(category))).toEqual({ id: '1', name: 'Text channels', position: 0 });
  });

  it('write times as ISO 8601 in bans, invites and the audit log', () => {
    expect(parsedBy(BanView, banView({ accountId: 5, username: 'bob', reason: 'spam', createdAt: T0 }))).toEqual({
      username: 'bob',
      reason: 'spam',
      created_at: ISO0,
    });
    const invite = { code: 'abc', createdBy: null, createdAt: T0, expiresAt: null, maxUses: null, uses: 0 };
    expect(parsedBy(InviteView, inviteView(invite))).toMatchObject({ created_by: null, created_at: ISO0, expires_at: null });
    expect(inviteView({ ...invite, expiresAt: T0 + 1000 }).expires_at).toBe('2030-01-01T00:00:01.000Z');
    const entry = {
      id: 3,
      time: T0,
      actor: 'operator',
      action: 'member.kick',
      targetType: 'member',
      targetId: '5',
      targetName: 'bob',
      reason: null,
      changes: { roles: ['2'] },
    };
    expect(parsedBy(AuditEntryView, auditEntryView(entry))).toEqual({
      id: 3,
      time: ISO0,
      actor: 'operator',
      action: 'member.kick',
      target_type: 'member',
      target_id: '5',
      target_name: 'bob',
      reason: null,
      changes: { roles: ['2'] },
    });
  });

  it('carry a permission set as its decimal string and names', () => {
    expect(permissionSetView(Permission.SEND_MESSAGES | Permission.VIEW_CHANNEL)).toEqual({
      permissions: '65538',
      permission_names: ['VIEW_CHANNEL', 'SEND_MESSAGES'],
    });
  });
});

describe('account views', () => {
  it('rename the fields for the wire', () => {
    expect(parsedBy(AccountView, accountView({ id: 1, username: 'alice', isAdmin: true, disabled: false, createdAt: T0 }))).toEqual({
      id: 1,
      username: 'alice',
      is_admin: true,
      disabled: false,
      created_at: ISO0,
    });
    expect(parsedBy(RegistrationInviteView, registrationInviteView({ code: 'x', expiresAt: T0, maxUses: 2 }))).toEqual({
      code: 'x',
      expires_at: ISO0,
      max_uses: 2,
    });
    expect(registrationInviteView({ code: 'x', expiresAt: null, maxUses: null }).expires_at).toBeNull();
  });
});

describe('history views', () => {
  it('drop the "#" and count reactions', () => {
    const message: HistoryMessage = {
      msgid: 'm1',
      channel: '#general',
      account: 'alice',
      nick: 'alice',
      kind: 'PRIVMSG',
      time: T0,
      text: 'hi',
      tags: { '+draft/reply': 'm0' },
      replyTo: 'm0',
      hasLink: false,
      hasAttachment: false,
      editedAt: T0 + 1000,
      reactions: [{ emoji: '👍', accounts: ['bob', 'carol'] }],
    };
    expect(parsedBy(MessageView, messageView(message))).toEqual({
      msgid: 'm1',
      channel: 'general',
      account: 'alice',
      nick: 'alice',
      time: ISO0,
      kind: 'PRIVMSG',
      text: 'hi',
      tags: { '+draft/reply': 'm0' },
      reply_to: 'm0',
      edited_at: '2030-01-01T00:00:01.000Z',
      has_link: false,
      has_attachment: false,
      reactions: [{ emoji: '👍', count: 2, accounts: ['bob', 'carol'] }],
    });
    expect(readMarkerView({ msgid: null, time: T0 })).toEqual({ msgid: null, time: ISO0 });
  });
});

describe('voice views', () => {
  it('date the presence and the certificates', () => {
    const user = { username: 'bob', registered: true, muted: false, deafened: false, self_muted: true, self_deafened: false, suppressed: false };
    const presence = { at: T0, channels: [{ id: 0, name: 'Root', parent_id: null, voice_channel: false, users: [user] }] };
    expect(parsedBy(VoiceView, voiceView(presence))).toEqual({ updated_at: ISO0, channels: presence.channels });
    expect(parsedBy(VoiceCertificateView, voiceCertificateView({ hash: 'a'.repeat(40), createdAt: T0, active: true }))).toEqual({
      hash: 'a'.repeat(40),
      created_at: ISO0,
      active: true,
    });
  });
});
