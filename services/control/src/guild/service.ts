/**
 * GuildService: the one place the guild changes. Every management call names its actor, is
 * authorized by the permission math (guild/permissions) against the current snapshot, runs in
 * one transaction together with its audit-log row, and then publishes a fresh snapshot with a
 * `changed` event. The HTTP API and the operator CLI both come through here; the enforcers
 * (IRC services, Murmur relay) only listen.
 *
 * The CLI runs in its own process on the same database: after its writes the running server
 * calls `reload()` (the CLI tells it over the operator socket), which rereads and republishes.
 */
import { EventEmitter } from 'node:events';
import type Database from 'better-sqlite3';
import type { Logger } from '@alloquy/service-kit/log';
import type { Account, AccountService } from '../accounts/account-service.js';
import { ControlError } from '../errors/control-error.js';
import { type Db } from '../store/database.js';
import { foldCase } from '@alloquy/protocol/irc';
import { type Ban, type Category, type Channel, type ChannelKind, type GuildChange, type GuildEvents, type GuildSnapshot, type GuildSource, type Member, type MemberRemoval, type Role, channelPermissionsOf, guildPermissionsOf, memberByUsername, nextTimeoutExpiry } from './model.js';
import { assertDisplayName, assertTopic, normalizeChannelName } from './names.js';
import { ALL, Permission, canActOnMember, canEditRolePermissions, canManageRole, canSetOverwrite, has, highestRolePosition, isValidPermissions, permissionNames, serializePermissions, type MemberAction, type OverwriteType } from '@alloquy/protocol/permissions';
import { EVERYONE_ROLE_ID, loadSnapshot } from './snapshot-loader.js';
import { statementCache } from '@alloquy/service-kit/store';
import { newInviteCode } from '../accounts/invite-code.js';

/** Who asks: a signed-in account, or the operator at the server's console (the CLI). */
export type Actor = { kind: 'account'; account: Account } | { kind: 'operator' };
export const OPERATOR: Actor = Object.freeze({ kind: 'operator' });

export function accountActor(account: Account): Actor {
  return { kind: 'account', account };
}

/** Discord's limit: a timeout lasts at most 28 days. */
export const MAX_TIMEOUT_MS = 28 * 24 * 3600 * 1000;
const MAX_REASON = 512;

export interface AuditEntry {
  id: number;
  time: number;
  actor: string;
  action: string;
  targetType: string | null;
  targetId: string | null;
  targetName: string | null;
  reason: string | null;
  changes: Record<string, unknown> | null;
}

export interface Invite {
  code: string;
  createdBy: string | null;
  createdAt: number;
  expiresAt: number | null;
  maxUses: number | null;
  uses: number;
}

export interface GuildServiceOptions {
  now?: () => number;
  log?: Logger;
}

interface Authority {
  /** The operator, the owner and server admins: everything, above every role. */
  supreme: boolean;
  member: Member | undefined;
  name: string;
  accountId: number | null;
}

type Json = Record<string, unknown>;

export class GuildService extends EventEmitter<GuildEvents> implements GuildSource {
  private current: GuildSnapshot;
  private version = 1;
  private readonly now: () => number;
  private readonly log: Logger | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly sql: (text: string) => Database.Statement;
  private readonly onAccountChange = () => this.reload({ action: 'account.change' });

  constructor(
    private readonly db: Db,
    private readonly accounts: AccountService,
    options: GuildServiceOptions = {},
  ) {
    super();
    this.now = options.now ?? Date.now;
    this.log = options.log;
    this.sql = statementCache(db);
    this.current = loadSnapshot(db, this.version);
    for (const event of ['created', 'disabled', 'enabled', 'admin-changed'] as const) accounts.on(event, this.onAccountChange);
    this.scheduleExpiry();
  }

  snapshot(): GuildSnapshot {
    return this.current;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.expiryTimer);
    for (const event of ['created', 'disabled', 'enabled', 'admin-changed'] as const) this.accounts.off(event, this.onAccountChange);
  }

  /** Rereads the database (after another process, the CLI, changed it) and republishes. */
  reload(change: GuildChange = { action: 'reload' }): GuildSnapshot {
    if (this.closed) return this.current;
    this.version += 1;
    this.current = loadSnapshot(this.db, this.version);
    this.scheduleExpiry();
    this.emitSafely('changed', this.current, change);
    return this.current;
  }

  /** A kick or ban, made here or by the CLI in its own process: enforcers act on it. */
  publishRemoval(removal: MemberRemoval): void {
    this.emitSafely('memberRemoved', removal);
  }

  // ---- reading -----------------------------------------------------------------------------

  /** The member for an account, or undefined when it is not (or no longer) a member. */
  member(account: Account): Member | undefined {
    return this.current.members.get(String(account.id));
  }

  /** A channel by id or name (`general`, `#general`, `General` for voice). */
  findChannel(ref: string, kind?: ChannelKind): Channel | undefined {
    const s = this.current;
    const byId = s.channels.find((c) => c.id === ref && (!kind || c.kind === kind));
    if (byId) return byId;
    const textName = foldCase(ref.replace(/^#/, ''));
    const voiceName = ref.toLowerCase();
    const matches = s.channels.filter(
      (c) => (!kind || c.kind === kind) && (c.kind === 'text' ? c.name === textName : c.name.toLowerCase() === voiceName),
    );
    // `general` and `General` are both a text and a voice channel name: the exact spelling picks.
    return matches.find((c) => c.name === ref) ?? matches[0];
  }

  channel(ref: string, kind?: ChannelKind): Channel {
    const found = this.findChannel(ref, kind);
    if (!found) throw new ControlError('not_found', `no ${kind ?? ''}${kind ? ' ' : ''}channel "${ref}"`);
    return found;
  }

  role(ref: string): Role {
    const s = this.current;
    const found = s.roles.get(ref) ?? [...s.roles.values()].find((r) => r.name.toLowerCase() === ref.toLowerCase());
    if (!found) throw new ControlError('not_found', `no role "${ref}"`);
    return found;
  }

  /** Channels the actor can see (all of them for the operator), in display order. */
  visibleChannels(actor: Actor): Channel[] {
    return this.channelsInView(actor).map((v) => v.channel);
  }

  /** As visibleChannels, with the actor's permissions in each (computed once, for a listing that shows them). */
  channelsInView(actor: Actor): { channel: Channel; permissions: bigint }[] {
    const who = this.authority(actor);
    return this.current.channels.flatMap((channel) => {
      const permissions = this.permissionsOfAuthority(who, channel);
      return has(permissions, Permission.VIEW_CHANNEL) ? [{ channel, permissions }] : [];
    });
  }

  /** The members, for members (as in Discord, everyone in the guild sees who else is). */
  listMembers(actor: Actor): Member[] {
    this.require(actor, 0n);
    return [...this.current.members.values()];
  }

  getMember(actor: Actor, username: string): Member {
    this.require(actor, 0n);
    return this.requireMember(username);
  }

  listRoles(actor: Actor): Role[] {
    this.require(actor, 0n);
    return [...this.current.roles.values()];
  }

  listCategories(actor: Actor): Category[] {
    this.require(actor, 0n);
    return [...this.current.categories];
  }

  listBans(actor: Actor): Ban[] {
    this.require(actor, Permission.BAN_MEMBERS);
    return [...this.current.bans.values()];
  }

  /** The actor's permissions guild-wide, or in one channel. */
  permissionsOf(actor: Actor, channel?: Channel): bigint {
    return this.permissionsOfAuthority(this.authority(actor), channel);
  }

  // ---- settings ----------------------------------------------------------------------------

  updateSettings(
    actor: Actor,
    patch: { name?: string; description?: string; icon?: string | null; adhocChannels?: boolean; owner?: string },
  ): GuildSnapshot['settings'] {
    const who = this.require(actor, Permission.MANAGE_GUILD);
    const changes: Json = {};
    let ownerId: number | undefined;
    if (patch.name !== undefined) {
      if (patch.name.trim().length < 2 || patch.name.length > 100) throw new ControlError('invalid_request', 'a server name is 2 to 100 characters');
      changes.name = patch.name;
    }
    if (patch.description !== undefined) {
      if (patch.description.length > 1000) throw new ControlError('invalid_request', 'a description is at most 1000 characters');
      changes.description = patch.description;
    }
    if (patch.icon !== undefined) {
      if (patch.icon !== null && patch.icon.length > 2048) throw new ControlError('invalid_request', 'an icon reference is at most 2048 characters');
      changes.icon = patch.icon;
    }
    if (patch.adhocChannels !== undefined) changes.adhoc_channels = patch.adhocChannels;
    if (patch.owner !== undefined) {
      if (!who.supreme || (actor.kind === 'account' && !actor.account.isAdmin && this.current.settings.ownerId !== String(actor.account.id))) {
        throw new ControlError('forbidden', 'only the owner or a server admin may transfer ownership');
      }
      const target = this.requireMember(patch.owner);
      ownerId = target.accountId;
      changes.owner = target.username;
    }
    if (Object.keys(changes).length === 0) return this.current.settings;
    this.write(who, { action: 'guild.update', targetType: 'guild', targetId: '1', targetName: this.current.settings.name, changes }, () => {
      const s = this.current.settings;
      this.sql(
        'UPDATE guild_settings SET name = ?, description = ?, icon = ?, adhoc_channels = ?, owner_account_id = COALESCE(?, owner_account_id), updated_at = ? WHERE id = 1',
      ).run(
        patch.name ?? s.name,
        patch.description ?? s.description,
        patch.icon === undefined ? s.icon : patch.icon,
        (patch.adhocChannels ?? s.adhocChannels) ? 1 : 0,
        ownerId ?? null,
        this.now(),
      );
    });
    return this.current.settings;
  }

  // ---- channels and categories -------------------------------------------------------------

  createChannel(actor: Actor, input: { kind: ChannelKind; name: string; topic?: string; categoryId?: string | null; position?: number }): Channel {
    const who = this.require(actor, Permission.MANAGE_CHANNELS);
    const name = normalizeChannelName(input.kind, input.name);
    if (input.topic !== undefined) assertTopic(input.topic);
    const categoryId = input.categoryId ? Number(this.category(input.categoryId).id) : null;
    if (this.findChannel(name, input.kind)) throw new ControlError('channel_taken', `a ${input.kind} channel named "${name}" exists`);
    let id = 0;
    this.write(who, { action: 'channel.create', targetType: 'channel', targetName: name, changes: { kind: input.kind, topic: input.topic ?? '' } }, (entry) => {
      const position =
        input.position ?? (this.sql('SELECT COALESCE(MAX(position), -1) + 1 FROM guild_channels WHERE kind = ?').pluck().get(input.kind) as number);
      const info = this.sql(
        'INSERT INTO guild_channels (kind, name, name_folded, topic, position, category_id, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(input.kind, name, name.toLowerCase(), input.topic ?? '', position, categoryId, who.accountId, this.now());
      id = Number(info.lastInsertRowid);
      entry.targetId = String(id);
    });
    return this.channel(String(id));
  }

  updateChannel(actor: Actor, ref: string, patch: { name?: string; topic?: string; position?: number; categoryId?: string | null }): Channel {
    const channel = this.channel(ref);
    const who = this.require(actor, Permission.MANAGE_CHANNELS, channel);
    const changes: Json = {};
    let name = channel.name;
    if (patch.name !== undefined) {
      name = normalizeChannelName(channel.kind, patch.name);
      const clash = this.findChannel(name, channel.kind);
      if (clash && clash.id !== channel.id) throw new ControlError('channel_taken', `a ${channel.kind} channel named "${name}" exists`);
      if (name !== channel.name) changes.name = { from: channel.name, to: name };
    }
    if (patch.topic !== undefined) {
      assertTopic(patch.topic);
      if (patch.topic !== channel.topic) changes.topic = { from: channel.topic, to: patch.topic };
    }
    if (patch.position !== undefined && patch.position !== channel.position) changes.position = { from: channel.position, to: patch.position };
    let categoryId = channel.categoryId === null ? null : Number(channel.categoryId);
    if (patch.categoryId !== undefined) {
      categoryId = patch.categoryId === null ? null : Number(this.category(patch.categoryId).id);
      if (String(categoryId) !== String(channel.categoryId)) changes.category = { from: channel.categoryId, to: categoryId === null ? null : String(categoryId) };
    }
    if (Object.keys(changes).length === 0) return channel;
    this.write(who, { action: 'channel.update', targetType: 'channel', targetId: channel.id, targetName: channel.name, changes }, () => {
      this.sql('UPDATE guild_channels SET name = ?, name_folded = ?, topic = ?, position = ?, category_id = ? WHERE id = ?').run(
        name,
        name.toLowerCase(),
        patch.topic ?? channel.topic,
        patch.position ?? channel.position,
        categoryId,
        Number(channel.id),
      );
      // A renamed text channel is a new IRC channel: its history and read markers follow it.
      if (channel.kind === 'text' && name !== channel.name) {
        this.sql('UPDATE history_messages SET channel = ? WHERE channel = ?').run(`#${name}`, `#${channel.name}`);
        this.sql('UPDATE history_read_markers SET channel = ? WHERE channel = ?').run(`#${name}`, `#${channel.name}`);
      }
    });
    return this.channel(channel.id);
  }

  deleteChannel(actor: Actor, ref: string): void {
    const channel = this.channel(ref);
    const who = this.require(actor, Permission.MANAGE_CHANNELS, channel);
    this.write(who, { action: 'channel.delete', targetType: 'channel', targetId: channel.id, targetName: channel.name, changes: { kind: channel.kind } }, () => {
      this.sql('DELETE FROM guild_channels WHERE id = ?').run(Number(channel.id));
      // Like Discord, a deleted channel takes its messages with it: a new channel of the same
      // name must not show the old one's (perhaps private) history.
      if (channel.kind === 'text') {
        const ircName = `#${channel.name}`;
        this.sql('DELETE FROM history_reactions WHERE msgid IN (SELECT msgid FROM history_messages WHERE channel = ?)').run(ircName);
        this.sql('DELETE FROM history_messages WHERE channel = ?').run(ircName);
        this.sql('DELETE FROM history_read_markers WHERE channel = ?').run(ircName);
      }
    });
  }

  category(ref: string): Category {
    const found = this.current.categories.find((c) => c.id === ref) ?? this.current.categories.find((c) => c.name.toLowerCase() === ref.toLowerCase());
    if (!found) throw new ControlError('not_found', `no category "${ref}"`);
    return found;
  }

  createCategory(actor: Actor, input: { name: string; position?: number }): Category {
    const who = this.require(actor, Permission.MANAGE_CHANNELS);
    assertDisplayName('category', input.name);
    let id = 0;
    this.write(who, { action: 'category.create', targetType: 'category', targetName: input.name }, (entry) => {
      const position = input.position ?? (this.sql('SELECT COALESCE(MAX(position), -1) + 1 FROM guild_categories').pluck().get() as number);
      id = Number(this.sql('INSERT INTO guild_categories (name, position, created_at) VALUES (?, ?, ?)').run(input.name, position, this.now()).lastInsertRowid);
      entry.targetId = String(id);
    });
    return this.category(String(id));
  }

  updateCategory(actor: Actor, ref: string, patch: { name?: string; position?: number }): Category {
    const category = this.category(ref);
    const who = this.require(actor, Permission.MANAGE_CHANNELS);
    if (patch.name !== undefined) assertDisplayName('category', patch.name);
    this.write(who, { action: 'category.update', targetType: 'category', targetId: category.id, targetName: category.name, changes: { ...patch } }, () => {
      this.sql('UPDATE guild_categories SET name = ?, position = ? WHERE id = ?').run(patch.name ?? category.name, patch.position ?? category.position, Number(category.id));
    });
    return this.category(category.id);
  }

  deleteCategory(actor: Actor, ref: string): void {
    const category = this.category(ref);
    const who = this.require(actor, Permission.MANAGE_CHANNELS);
    this.write(who, { action: 'category.delete', targetType: 'category', targetId: category.id, targetName: category.name }, () => {
      this.sql('DELETE FROM guild_categories WHERE id = ?').run(Number(category.id));
    });
  }

  /** Sets (replaces) a channel's overwrite for a role or a member. Role and member may be named. */
  setOverwrite(actor: Actor, channelRef: string, input: { type: OverwriteType; target: string; allow: bigint; deny: bigint }): Channel {
    const channel = this.channel(channelRef);
    const who = this.authority(actor);
    const { id: targetId, name: targetName } = this.overwriteTarget(input.type, input.target);
    if (!isValidPermissions(input.allow) || !isValidPermissions(input.deny)) throw new ControlError('invalid_request', 'allow and deny must be sets of defined permission bits');
    if ((input.allow & input.deny) !== 0n) throw new ControlError('invalid_request', 'a permission cannot be both allowed and denied');
    if (has(input.allow | input.deny, Permission.ADMINISTRATOR)) throw new ControlError('invalid_request', 'ADMINISTRATOR cannot be set in a channel overwrite');
    if (!who.supreme && !canSetOverwrite(this.asPermissionMember(who), channel, input.allow, input.deny, this.current.permissionGuild, this.now())) {
      throw new ControlError('forbidden', 'you need MANAGE_ROLES in this channel, and may only allow or deny permissions you have there');
    }
    this.write(
      who,
      {
        action: 'overwrite.set',
        targetType: 'channel',
        targetId: channel.id,
        targetName: channel.name,
        changes: { type: input.type, target: targetName, allow: permissionNames(input.allow), deny: permissionNames(input.deny) },
      },
      () => {
        this.sql(
          `INSERT INTO guild_overwrites (channel_id, target_type, target_id, allow, deny) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (channel_id, target_type, target_id) DO UPDATE SET allow = excluded.allow, deny = excluded.deny`,
        ).run(Number(channel.id), input.type, Number(targetId), serializePermissions(input.allow), serializePermissions(input.deny));
      },
    );
    return this.channel(channel.id);
  }

  deleteOverwrite(actor: Actor, channelRef: string, type: OverwriteType, target: string): Channel {
    const channel = this.channel(channelRef);
    const who = this.authority(actor);
    const { id: targetId, name: targetName } = this.overwriteTarget(type, target);
    const existing = channel.overwrites.find((o) => o.type === type && o.id === targetId);
    if (!existing) throw new ControlError('not_found', `channel "${channel.name}" has no overwrite for that ${type}`);
    if (!who.supreme && !canSetOverwrite(this.asPermissionMember(who), channel, existing.allow, existing.deny, this.current.permissionGuild, this.now())) {
      throw new ControlError('forbidden', 'you need MANAGE_ROLES in this channel and every permission the overwrite sets');
    }
    this.write(who, { action: 'overwrite.delete', targetType: 'channel', targetId: channel.id, targetName: channel.name, changes: { type, target: targetName } }, () => {
      this.sql('DELETE FROM guild_overwrites WHERE channel_id = ? AND target_type = ? AND target_id = ?').run(Number(channel.id), type, Number(targetId));
    });
    return this.channel(channel.id);
  }

  private overwriteTarget(type: OverwriteType, ref: string): { id: string; name: string } {
    if (type === 'role') {
      const role = this.role(ref);
      return { id: role.id, name: role.name };
    }
    const account = this.accounts.find(ref) ?? (/^[0-9]+$/.test(ref) ? this.accounts.byId(Number(ref)) : undefined);
    if (!account) throw new ControlError('not_found', `no account "${ref}"`);
    return { id: String(account.id), name: account.username };
  }

  // ---- roles -------------------------------------------------------------------------------

  createRole(
    actor: Actor,
    input: { name: string; permissions?: bigint; color?: number | null; mentionable?: boolean; maxUploadBytes?: number | null },
  ): Role {
    const who = this.require(actor, Permission.MANAGE_ROLES);
    assertDisplayName('role', input.name);
    if (input.name.toLowerCase() === '@everyone') throw new ControlError('role_taken', 'the @everyone role exists');
    const permissions = input.permissions ?? 0n;
    if (!isValidPermissions(permissions)) throw new ControlError('invalid_request', 'permissions must be a set of defined permission bits');
    const maxUploadBytes = input.maxUploadBytes ?? null;
    if (maxUploadBytes !== null) this.requireUploadLimitAuthority(who, actor, maxUploadBytes);
    // New roles start at the bottom (position 1), as in Discord, so the creator can manage them.
    const provisional: Role = { id: '\u0000new', name: input.name, position: 1, permissions: 0n, color: null, mentionable: false };
    if (!who.supreme && !canEditRolePermissions(this.asPermissionMember(who), provisional, permissions, this.current.permissionGuild, this.now())) {
      throw new ControlError('forbidden', 'you may only create roles with permissions you have yourself, below your highest role');
    }
    let id = 0;
    const changes: Json = { permissions: permissionNames(permissions) };
    if (maxUploadBytes !== null) changes.max_upload_bytes = maxUploadBytes;
    this.write(who, { action: 'role.create', targetType: 'role', targetName: input.name, changes }, (entry) => {
      this.sql('UPDATE guild_roles SET position = position + 1 WHERE position >= 1').run();
      try {
        id = Number(
          this.sql(
            'INSERT INTO guild_roles (name, name_folded, position, permissions, color, mentionable, max_upload_bytes, created_at) VALUES (?, ?, 1, ?, ?, ?, ?, ?)',
          ).run(
            input.name,
            input.name.toLowerCase(),
            serializePermissions(permissions),
            input.color ?? null,
            input.mentionable ? 1 : 0,
            maxUploadBytes,
            this.now(),
          ).lastInsertRowid,
        );
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new ControlError('role_taken', `a role named "${input.name}" exists`);
        throw err;
      }
      entry.targetId = String(id);
    });
    return this.role(String(id));
  }

  updateRole(
    actor: Actor,
    ref: string,
    patch: { name?: string; permissions?: bigint; color?: number | null; mentionable?: boolean; position?: number; maxUploadBytes?: number | null },
  ): Role {
    const role = this.role(ref);
    const who = this.authority(actor);
    const now = this.now();
    const everyone = role.id === EVERYONE_ROLE_ID;
    if (!who.supreme) {
      const actorMember = this.asPermissionMember(who);
      if (!canManageRole(actorMember, role, this.current.permissionGuild, now)) {
        throw new ControlError('forbidden', 'you need MANAGE_ROLES and a highest role above this one');
      }
      if (patch.permissions !== undefined && !canEditRolePermissions(actorMember, role, patch.permissions, this.current.permissionGuild, now)) {
        throw new ControlError('forbidden', 'you may only grant permissions you have yourself');
      }
      if (patch.position !== undefined && patch.position >= highestRolePosition(actorMember, this.current.permissionGuild)) {
        throw new ControlError('forbidden', 'you may only move a role below your highest role');
      }
    }
    if (everyone && (patch.name !== undefined || patch.position !== undefined)) {
      throw new ControlError('invalid_request', 'the @everyone role cannot be renamed or moved');
    }
    if (patch.name !== undefined) assertDisplayName('role', patch.name);
    if (patch.permissions !== undefined && !isValidPermissions(patch.permissions)) throw new ControlError('invalid_request', 'permissions must be a set of defined permission bits');
    if (patch.position !== undefined && (!Number.isInteger(patch.position) || patch.position < 1)) {
      throw new ControlError('invalid_request', 'a role position is a whole number of at least 1 (0 is @everyone)');
    }
    const oldLimit = role.maxUploadBytes ?? null;
    const limitChanges = patch.maxUploadBytes !== undefined && patch.maxUploadBytes !== oldLimit;
    if (limitChanges) this.requireUploadLimitAuthority(who, actor, patch.maxUploadBytes ?? null);
    const changes: Json = {};
    if (patch.name !== undefined && patch.name !== role.name) changes.name = { from: role.name, to: patch.name };
    if (patch.permissions !== undefined && patch.permissions !== role.permissions) {
      changes.permissions = { granted: permissionNames(patch.permissions & ~role.permissions), revoked: permissionNames(role.permissions & ~patch.permissions) };
    }
    if (patch.color !== undefined && patch.color !== role.color) changes.color = { from: role.color, to: patch.color };
    if (patch.mentionable !== undefined && patch.mentionable !== role.mentionable) changes.mentionable = patch.mentionable;
    if (patch.position !== undefined && patch.position !== role.position) changes.position = { from: role.position, to: patch.position };
    if (limitChanges) changes.max_upload_bytes = { from: oldLimit, to: patch.maxUploadBytes };
    if (Object.keys(changes).length === 0) return role;
    this.write(who, { action: 'role.update', targetType: 'role', targetId: role.id, targetName: role.name, changes }, () => {
      if (patch.position !== undefined && patch.position !== role.position) this.moveRole(role, patch.position);
      try {
        this.sql('UPDATE guild_roles SET name = ?, name_folded = ?, permissions = ?, color = ?, mentionable = ?, max_upload_bytes = ? WHERE id = ?').run(
          patch.name ?? role.name,
          (patch.name ?? role.name).toLowerCase(),
          serializePermissions(patch.permissions ?? role.permissions),
          patch.color === undefined ? role.color : patch.color,
          (patch.mentionable ?? role.mentionable) ? 1 : 0,
          patch.maxUploadBytes === undefined ? oldLimit : patch.maxUploadBytes,
          Number(role.id),
        );
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new ControlError('role_taken', `a role named "${patch.name}" exists`);
        throw err;
      }
    });
    return this.role(role.id);
  }

  /**
   * A role's upload limit decides how much disk its holders may fill, a server resource: setting
   * it needs MANAGE_GUILD besides what editing the role needs. Null clears it.
   */
  private requireUploadLimitAuthority(who: Authority, actor: Actor, bytes: number | null): void {
    if (bytes !== null && (!Number.isSafeInteger(bytes) || bytes < 1)) {
      throw new ControlError('invalid_request', 'an upload limit is a whole number of bytes of at least 1 (or null for none)');
    }
    if (!who.supreme) this.require(actor, Permission.MANAGE_GUILD);
  }

  /** Positions stay a dense 1..n sequence above @everyone. */
  private moveRole(role: Role, to: number): void {
    const others = [...this.current.roles.values()].filter((r) => r.id !== EVERYONE_ROLE_ID && r.id !== role.id).sort((a, b) => a.position - b.position);
    const index = Math.max(0, Math.min(others.length, to - 1));
    others.splice(index, 0, role);
    others.forEach((r, i) => this.sql('UPDATE guild_roles SET position = ? WHERE id = ?').run(i + 1, Number(r.id)));
  }

  deleteRole(actor: Actor, ref: string): void {
    const role = this.role(ref);
    if (role.id === EVERYONE_ROLE_ID) throw new ControlError('invalid_request', 'the @everyone role cannot be deleted');
    const who = this.authority(actor);
    if (!who.supreme && !canManageRole(this.asPermissionMember(who), role, this.current.permissionGuild, this.now())) {
      throw new ControlError('forbidden', 'you need MANAGE_ROLES and a highest role above this one');
    }
    this.write(who, { action: 'role.delete', targetType: 'role', targetId: role.id, targetName: role.name }, () => {
      this.sql("DELETE FROM guild_overwrites WHERE target_type = 'role' AND target_id = ?").run(Number(role.id));
      this.sql('DELETE FROM guild_roles WHERE id = ?').run(Number(role.id));
      this.sql('UPDATE guild_roles SET position = position - 1 WHERE position > ?').run(role.position);
    });
  }

  addMemberRole(actor: Actor, username: string, roleRef: string): Member {
    return this.changeMemberRole(actor, username, roleRef, true);
  }

  removeMemberRole(actor: Actor, username: string, roleRef: string): Member {
    return this.changeMemberRole(actor, username, roleRef, false);
  }

  private changeMemberRole(actor: Actor, username: string, roleRef: string, add: boolean): Member {
    const role = this.role(roleRef);
    if (role.id === EVERYONE_ROLE_ID) throw new ControlError('invalid_request', 'every member holds @everyone');
    const target = this.requireMember(username);
    const who = this.authority(actor);
    if (!who.supreme && !canManageRole(this.asPermissionMember(who), role, this.current.permissionGuild, this.now())) {
      throw new ControlError('forbidden', 'you need MANAGE_ROLES and a highest role above this one');
    }
    const holds = target.roleIds.includes(role.id);
    if (holds === add) return target;
    this.write(
      who,
      { action: add ? 'member.role_add' : 'member.role_remove', targetType: 'member', targetId: target.id, targetName: target.username, changes: { role: role.name } },
      () => {
        if (add) this.sql('INSERT OR IGNORE INTO guild_member_roles (account_id, role_id) VALUES (?, ?)').run(target.accountId, Number(role.id));
        else this.sql('DELETE FROM guild_member_roles WHERE account_id = ? AND role_id = ?').run(target.accountId, Number(role.id));
      },
    );
    return this.requireMember(username);
  }

  // ---- moderation --------------------------------------------------------------------------

  kick(actor: Actor, username: string, reason = ''): void {
    const target = this.requireMember(username);
    const who = this.authorizeAction(actor, target, 'kick');
    const text = clampReason(reason);
    this.publishRemoval({ accountId: target.accountId, username: target.username, kind: 'kick', reason: text, by: who.name });
    this.write(who, { action: 'member.kick', targetType: 'member', targetId: target.id, targetName: target.username, reason: text }, () => {
      this.sql(
        'INSERT INTO guild_members (account_id, kicked_at, timeout_until) VALUES (?, ?, NULL) ON CONFLICT (account_id) DO UPDATE SET kicked_at = excluded.kicked_at, timeout_until = NULL',
      ).run(target.accountId, this.now());
      // Like Discord: a kicked member comes back without roles.
      this.sql('DELETE FROM guild_member_roles WHERE account_id = ?').run(target.accountId);
    });
  }

  /** Bans an account (member or not): it cannot rejoin until unbanned. */
  ban(actor: Actor, username: string, reason = ''): void {
    const account = this.accounts.find(username);
    if (!account) throw new ControlError('not_found', `no account "${username}"`);
    if (this.current.bans.has(account.id)) throw new ControlError('invalid_request', `${account.username} is already banned`);
    const target = this.current.members.get(String(account.id));
    const who = target
      ? this.authorizeAction(actor, target, 'ban')
      : this.require(actor, Permission.BAN_MEMBERS);
    if (!target && String(account.id) === this.current.settings.ownerId) throw new ControlError('forbidden', 'the owner cannot be banned');
    const text = clampReason(reason);
    this.publishRemoval({ accountId: account.id, username: account.username, kind: 'ban', reason: text, by: who.name });
    this.write(who, { action: 'member.ban', targetType: 'member', targetId: String(account.id), targetName: account.username, reason: text }, () => {
      this.sql('INSERT INTO guild_bans (account_id, reason, banned_by, created_at) VALUES (?, ?, ?, ?)').run(account.id, text, who.accountId, this.now());
      this.sql('DELETE FROM guild_member_roles WHERE account_id = ?').run(account.id);
      this.sql('UPDATE guild_members SET timeout_until = NULL WHERE account_id = ?').run(account.id);
    });
  }

  unban(actor: Actor, username: string, reason = ''): void {
    const who = this.require(actor, Permission.BAN_MEMBERS);
    const account = this.accounts.find(username);
    if (!account || !this.current.bans.has(account.id)) throw new ControlError('not_found', `${username} is not banned`);
    this.write(who, { action: 'member.unban', targetType: 'member', targetId: String(account.id), targetName: account.username, reason: clampReason(reason) }, () => {
      this.sql('DELETE FROM guild_bans WHERE account_id = ?').run(account.id);
      // Unbanned is not rejoined: they come back with an invite (or freely on an open server).
      this.sql(
        'INSERT INTO guild_members (account_id, kicked_at) VALUES (?, ?) ON CONFLICT (account_id) DO UPDATE SET kicked_at = COALESCE(kicked_at, excluded.kicked_at)',
      ).run(account.id, this.now());
    });
  }

  /** Times a member out until `until` (Unix ms), or lifts the timeout with null. */
  timeout(actor: Actor, username: string, until: number | null, reason = ''): Member {
    const target = this.requireMember(username);
    const who = this.authorizeAction(actor, target, 'timeout');
    const now = this.now();
    if (until !== null && (!Number.isFinite(until) || until <= now || until - now > MAX_TIMEOUT_MS)) {
      throw new ControlError('invalid_request', 'a timeout ends in the future, at most 28 days from now');
    }
    this.write(
      who,
      {
        action: until === null ? 'member.timeout_clear' : 'member.timeout',
        targetType: 'member',
        targetId: target.id,
        targetName: target.username,
        reason: clampReason(reason),
        changes: until === null ? null : { until: new Date(until).toISOString() },
      },
      () => {
        this.sql(
          'INSERT INTO guild_members (account_id, timeout_until) VALUES (?, ?) ON CONFLICT (account_id) DO UPDATE SET timeout_until = excluded.timeout_until',
        ).run(target.accountId, until);
      },
    );
    return this.requireMember(username);
  }

  /**
   * An account joins (or rejoins after a kick). Banned accounts cannot; a kicked account needs
   * an invite unless registration is open.
   */
  join(account: Account, inviteCode?: string): Member {
    const existing = this.current.members.get(String(account.id));
    if (existing) return existing;
    if (account.disabled) throw new ControlError('account_disabled', 'this account is disabled');
    if (this.current.bans.has(account.id)) throw new ControlError('banned', 'you are banned from this server');
    const needsInvite = this.accounts.registrationMode !== 'open';
    if (needsInvite && !inviteCode) throw new ControlError('invalid_invite', 'joining this server needs an invite code');
    this.write({ supreme: false, member: undefined, name: account.username, accountId: account.id }, { action: 'member.join', targetType: 'member', targetId: String(account.id), targetName: account.username, changes: inviteCode ? { invite: inviteCode } : null }, () => {
      if (inviteCode) this.consumeInvite(inviteCode);
      this.sql('UPDATE guild_members SET kicked_at = NULL WHERE account_id = ?').run(account.id);
    });
    return this.current.members.get(String(account.id))!;
  }

  // ---- invites -----------------------------------------------------------------------------

  createInvite(actor: Actor, options: { maxUses?: number; expiresInSeconds?: number } = {}): Invite {
    const who = this.require(actor, Permission.CREATE_INVITE);
    if (options.maxUses !== undefined && (!Number.isInteger(options.maxUses) || options.maxUses < 1)) throw new ControlError('invalid_request', 'max uses is a whole number of at least 1');
    if (options.expiresInSeconds !== undefined && (!Number.isInteger(options.expiresInSeconds) || options.expiresInSeconds < 1)) {
      throw new ControlError('invalid_request', 'expiry is a whole number of seconds of at least 1');
    }
    const code = newInviteCode();
    const now = this.now();
    const expiresAt = options.expiresInSeconds ? now + options.expiresInSeconds * 1000 : null;
    this.write(who, { action: 'invite.create', targetType: 'invite', targetId: code, changes: { max_uses: options.maxUses ?? null, expires_at: expiresAt && new Date(expiresAt).toISOString() } }, () => {
      this.sql('INSERT INTO registration_invites (code, created_by, created_at, expires_at, max_uses) VALUES (?, ?, ?, ?, ?)').run(
        code,
        who.accountId,
        now,
        expiresAt,
        options.maxUses ?? null,
      );
    });
    return this.invite(code)!;
  }

  /** Live invites (not revoked, not expired, not used up). */
  listInvites(actor: Actor): Invite[] {
    this.require(actor, Permission.MANAGE_GUILD);
    const rows = this.sql(
      `SELECT i.*, a.username FROM registration_invites i LEFT JOIN accounts a ON a.id = i.created_by
        WHERE i.revoked_at IS NULL AND (i.expires_at IS NULL OR i.expires_at > ?) AND (i.max_uses IS NULL OR i.uses < i.max_uses)
        ORDER BY i.created_at`,
    ).all(this.now()) as InviteRow[];
    return rows.map(toInvite);
  }

  revokeInvite(actor: Actor, code: string): void {
    const invite = this.invite(code);
    if (!invite) throw new ControlError('not_found', 'no such invite');
    const mine = actor.kind === 'account' && invite.createdBy === actor.account.username;
    const who = mine ? this.authority(actor) : this.require(actor, Permission.MANAGE_GUILD);
    this.write(who, { action: 'invite.revoke', targetType: 'invite', targetId: code }, () => {
      this.sql('UPDATE registration_invites SET revoked_at = ? WHERE code = ?').run(this.now(), code);
    });
  }

  private invite(code: string): Invite | undefined {
    const row = this.sql('SELECT i.*, a.username FROM registration_invites i LEFT JOIN accounts a ON a.id = i.created_by WHERE i.code = ?').get(code) as
      | InviteRow
      | undefined;
    return row && toInvite(row);
  }

  private consumeInvite(code: string): void {
    const row = this.sql('SELECT * FROM registration_invites WHERE code = ?').get(code) as InviteRow | undefined;
    const now = this.now();
    if (!row || row.revoked_at !== null || (row.expires_at !== null && row.expires_at <= now) || (row.max_uses !== null && row.uses >= row.max_uses)) {
      throw new ControlError('invalid_invite', 'the invite code is unknown, expired or used up');
    }
    this.sql('UPDATE registration_invites SET uses = uses + 1 WHERE code = ?').run(code);
  }

  // ---- audit log ---------------------------------------------------------------------------

  /** Newest first. Needs MANAGE_GUILD (or any of the moderation permissions). */
  auditLog(actor: Actor, query: { limit?: number; before?: number; action?: string; actor?: string } = {}): AuditEntry[] {
    const who = this.authority(actor);
    if (!who.supreme) {
      const perms = guildPermissionsOf(this.current, who.member, this.now());
      const allowed = Permission.MANAGE_GUILD | Permission.KICK_MEMBERS | Permission.BAN_MEMBERS | Permission.MANAGE_ROLES | Permission.MODERATE_MEMBERS;
      if ((perms & allowed) === 0n) throw new ControlError('forbidden', 'reading the audit log needs MANAGE_GUILD or a moderation permission');
    }
    const limit = Math.max(1, Math.min(query.limit ?? 50, 500));
    const rows = this.sql(
      `SELECT * FROM guild_audit_log
        WHERE (? IS NULL OR id < ?) AND (? IS NULL OR action = ?) AND (? IS NULL OR lower(actor_name) = lower(?))
        ORDER BY id DESC LIMIT ?`,
    ).all(query.before ?? null, query.before ?? null, query.action ?? null, query.action ?? null, query.actor ?? null, query.actor ?? null, limit) as AuditRow[];
    return rows.map((r) => ({
      id: r.id,
      time: r.time,
      actor: r.actor_name,
      action: r.action,
      targetType: r.target_type,
      targetId: r.target_id,
      targetName: r.target_name,
      reason: r.reason,
      changes: r.changes ? (JSON.parse(r.changes) as Record<string, unknown>) : null,
    }));
  }

  // ---- internals ---------------------------------------------------------------------------

  private authority(actor: Actor): Authority {
    if (actor.kind === 'operator') return { supreme: true, member: undefined, name: 'operator', accountId: null };
    const { account } = actor;
    const member = this.current.members.get(String(account.id));
    const supreme = !!member && (account.isAdmin || member.isAdmin || this.current.settings.ownerId === member.id);
    return { supreme, member, name: account.username, accountId: account.id };
  }

  private permissionsOfAuthority(who: Authority, channel?: Channel): bigint {
    if (who.supreme) return ALL;
    const now = this.now();
    return channel ? channelPermissionsOf(this.current, who.member, channel, now) : guildPermissionsOf(this.current, who.member, now);
  }

  /** The actor must be a member holding `flags` (in `channel`, when given). */
  private require(actor: Actor, flags: bigint, channel?: Channel): Authority {
    const who = this.authority(actor);
    if (who.supreme) return who;
    if (!who.member) throw new ControlError('forbidden', 'you are not a member of this server');
    if (!has(this.permissionsOfAuthority(who, channel), flags)) {
      throw new ControlError('forbidden', `this needs ${permissionNames(flags).join(' and ')}${channel ? ` in ${channel.kind === 'text' ? '#' : ''}${channel.name}` : ''}`);
    }
    return who;
  }

  private authorizeAction(actor: Actor, target: Member, action: MemberAction): Authority {
    const who = this.authority(actor);
    if (target.id === this.current.settings.ownerId) throw new ControlError('forbidden', 'nobody can act on the owner');
    if (who.supreme) {
      if (who.member?.id === target.id) throw new ControlError('forbidden', `you cannot ${action} yourself`);
      return who;
    }
    if (!who.member) throw new ControlError('forbidden', 'you are not a member of this server');
    if (target.isAdmin) throw new ControlError('forbidden', 'server admins can only be acted on by the operator or the owner');
    if (!canActOnMember(this.asPermissionMember(who), target, action, this.current.permissionGuild, this.now())) {
      throw new ControlError('forbidden', `you need ${action === 'kick' ? 'KICK_MEMBERS' : action === 'ban' ? 'BAN_MEMBERS' : 'MODERATE_MEMBERS'} and a highest role above ${target.username}'s`);
    }
    return who;
  }

  private asPermissionMember(who: Authority): Member {
    if (!who.member) throw new ControlError('forbidden', 'you are not a member of this server');
    return who.member;
  }

  private requireMember(username: string): Member {
    const member = memberByUsername(this.current, username);
    if (!member) throw new ControlError('not_found', `${username} is not a member of this server`);
    return member;
  }

  /** Runs `apply` and its audit entry in one transaction, then republishes. */
  private write(
    who: Authority,
    entry: { action: string; targetType?: string; targetId?: string; targetName?: string; reason?: string; changes?: Json | null },
    apply: (entry: { targetId?: string }) => void,
  ): void {
    this.db.transaction(() => {
      apply(entry);
      this.sql(
        'INSERT INTO guild_audit_log (time, actor_account_id, actor_name, action, target_type, target_id, target_name, reason, changes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(
        this.now(),
        who.accountId,
        who.name,
        entry.action,
        entry.targetType ?? null,
        entry.targetId ?? null,
        entry.targetName ?? null,
        entry.reason ? entry.reason : null,
        entry.changes && Object.keys(entry.changes).length > 0 ? JSON.stringify(entry.changes) : null,
      );
    })();
    this.log?.info({ actor: who.name, action: entry.action, target: entry.targetName ?? entry.targetId }, 'guild changed');
    this.reload({ action: entry.action, ...(entry.targetId ? { targetId: entry.targetId } : {}) });
  }

  /** A timeout ending changes permissions without a write: republish at that instant. */
  private scheduleExpiry(): void {
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    if (this.closed) return;
    const next = nextTimeoutExpiry(this.current, this.now());
    if (next === null) return;
    // setTimeout holds at most ~24.8 days; longer waits re-arm on the way.
    const delay = Math.min(Math.max(0, next - this.now()) + 5, 2 ** 31 - 1);
    this.expiryTimer = setTimeout(() => this.reload({ action: 'timeout.expired' }), delay);
    this.expiryTimer.unref();
  }

  private emitSafely<K extends keyof GuildEvents>(event: K, ...args: GuildEvents[K]): void {
    for (const listener of this.listeners(event) as ((...a: GuildEvents[K]) => void)[]) {
      try {
        listener(...args);
      } catch (err) {
        this.log?.error({ err, event }, 'guild listener threw');
      }
    }
  }
}

interface InviteRow {
  code: string;
  created_by: number | null;
  username?: string | null;
  created_at: number;
  expires_at: number | null;
  max_uses: number | null;
  uses: number;
  revoked_at: number | null;
}

interface AuditRow {
  id: number;
  time: number;
  actor_name: string;
  action: string;
  target_type: string | null;
  target_id: string | null;
  target_name: string | null;
  reason: string | null;
  changes: string | null;
}

function toInvite(row: InviteRow): Invite {
  return { code: row.code, createdBy: row.username ?? null, createdAt: row.created_at, expiresAt: row.expires_at, maxUses: row.max_uses, uses: row.uses };
}

function clampReason(reason: string): string {
  // eslint-disable-next-line no-control-regex
  return reason.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, MAX_REASON);
}
