/**
 * GuildService: the one place the guild changes. Every management call names its actor, is
 * authorized by the permission math (guild/permissions) against the current snapshot, runs in
 * one transaction together with its audit-log row, and then publishes a fresh snapshot with a
 * `changed` event. The HTTP API and the operator CLI both come through here; the enforcers
 * (IRC services, Murmur relay) only listen.
 *
 * The CLI runs in its own process on the same database: after its writes the running server
 * calls `reload()` (the CLI tells it over the operator socket), which rereads and republishes.
 *
 * This class is the facade: it keeps the snapshot and the events; each concern lives in its own
 * module (settings, channels, roles, members, moderation, invites, audit, authority) as
 * functions over the shared GuildContext.
 */
import { EventEmitter } from 'node:events';
import type { OverwriteType } from '@alloquy/protocol/permissions';
import type { Logger } from '@alloquy/service-kit/log';
import { statementCache } from '@alloquy/service-kit/store';
import type { Account, AccountService } from '../accounts/account-service.js';
import { InviteStore, type Invite } from '../accounts/invites.js';
import { type Db } from '../store/database.js';
import { GuildAudit, type AuditEntry, type AuditQuery } from './audit.js';
import { GuildAuthority, type Actor } from './authority.js';
import * as channels from './channels.js';
import type { ChannelHistory, GuildContext } from './context.js';
import * as invites from './invites.js';
import { findChannel, requireCategory, requireChannel, requireRole } from './lookup.js';
import * as members from './members.js';
import type { Ban, Category, Channel, ChannelKind, GuildChange, GuildEvents, GuildSnapshot, GuildSource, Member, MemberRemoval, Role } from './model.js';
import * as moderation from './moderation.js';
import * as roles from './roles.js';
import * as settings from './settings.js';
import { loadSnapshot } from './snapshot-loader.js';

export { OPERATOR, accountActor, type Actor } from './authority.js';
export type { AuditEntry } from './audit.js';
export type { Invite } from '../accounts/invites.js';
export type { ChannelHistory } from './context.js';
export { MAX_TIMEOUT_MS } from './moderation.js';

export interface GuildServiceOptions {
  /**
   * Where a renamed or deleted text channel's messages go: the HistoryStore on the same database
   * (it runs inside the guild's transactions).
   */
  history: ChannelHistory;
  now?: () => number;
  log?: Logger;
}

const ACCOUNT_EVENTS = ['created', 'disabled', 'enabled', 'admin-changed'] as const;

export class GuildService extends EventEmitter<GuildEvents> implements GuildSource {
  private current: GuildSnapshot;
  private version = 1;
  private closed = false;
  private readonly log: Logger | undefined;
  private readonly ctx: GuildContext;
  private readonly expiry: moderation.TimeoutExpiry;
  private readonly onAccountChange = () => this.reload({ action: 'account.change' });

  constructor(
    private readonly db: Db,
    private readonly accounts: AccountService,
    options: GuildServiceOptions,
  ) {
    super();
    const now = options.now ?? Date.now;
    this.log = options.log;
    const sql = statementCache(db);
    const snapshot = () => this.current;
    const authority = new GuildAuthority(snapshot, now);
    this.ctx = {
      snapshot,
      now,
      sql,
      authority,
      audit: new GuildAudit({ db, sql, now, authority, log: options.log, committed: (change) => this.reload(change) }),
      accounts,
      // Its own, on this database: join spends an invite inside the guild's transaction.
      invites: new InviteStore(db),
      history: options.history,
      publishRemoval: (removal) => this.publishRemoval(removal),
    };
    this.expiry = new moderation.TimeoutExpiry(now, () => this.reload({ action: 'timeout.expired' }));
    this.current = loadSnapshot(db, accounts.list(), this.version);
    for (const event of ACCOUNT_EVENTS) accounts.on(event, this.onAccountChange);
    this.expiry.schedule(this.current);
  }

  snapshot(): GuildSnapshot {
    return this.current;
  }

  close(): void {
    this.closed = true;
    this.expiry.stop();
    for (const event of ACCOUNT_EVENTS) this.accounts.off(event, this.onAccountChange);
  }

  /** Rereads the database (after another process, the CLI, changed it) and republishes. */
  reload(change: GuildChange = { action: 'reload' }): GuildSnapshot {
    if (this.closed) return this.current;
    this.version += 1;
    this.current = loadSnapshot(this.db, this.accounts.list(), this.version);
    this.expiry.schedule(this.current);
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
    return findChannel(this.current, ref, kind);
  }

  channel(ref: string, kind?: ChannelKind): Channel {
    return requireChannel(this.current, ref, kind);
  }

  role(ref: string): Role {
    return requireRole(this.current, ref);
  }

  category(ref: string): Category {
    return requireCategory(this.current, ref);
  }

  /** Channels the actor can see (all of them for the operator), in display order. */
  visibleChannels(actor: Actor): Channel[] {
    return this.channelsInView(actor).map((v) => v.channel);
  }

  /** As visibleChannels, with the actor's permissions in each (computed once, for a listing that shows them). */
  channelsInView(actor: Actor): { channel: Channel; permissions: bigint }[] {
    return channels.channelsInView(this.ctx, actor);
  }

  /** The members, for members (as in Discord, everyone in the guild sees who else is). */
  listMembers(actor: Actor): Member[] {
    return members.listMembers(this.ctx, actor);
  }

  getMember(actor: Actor, username: string): Member {
    return members.getMember(this.ctx, actor, username);
  }

  listRoles(actor: Actor): Role[] {
    return roles.listRoles(this.ctx, actor);
  }

  listCategories(actor: Actor): Category[] {
    return channels.listCategories(this.ctx, actor);
  }

  listBans(actor: Actor): Ban[] {
    return moderation.listBans(this.ctx, actor);
  }

  /** The actor's permissions guild-wide, or in one channel. */
  permissionsOf(actor: Actor, channel?: Channel): bigint {
    return this.ctx.authority.permissions(this.ctx.authority.of(actor), channel);
  }

  // ---- settings ----------------------------------------------------------------------------

  updateSettings(
    actor: Actor,
    patch: { name?: string; description?: string; icon?: string | null; adhocChannels?: boolean; owner?: string },
  ): GuildSnapshot['settings'] {
    return settings.updateSettings(this.ctx, actor, patch);
  }

  // ---- channels and categories -------------------------------------------------------------

  createChannel(actor: Actor, input: { kind: ChannelKind; name: string; topic?: string; categoryId?: string | null; position?: number }): Channel {
    return channels.createChannel(this.ctx, actor, input);
  }

  /** A renamed text channel takes its history along (see ChannelHistory). */
  updateChannel(actor: Actor, ref: string, patch: { name?: string; topic?: string; position?: number; categoryId?: string | null }): Channel {
    return channels.updateChannel(this.ctx, actor, ref, patch);
  }

  /** A deleted text channel takes its history with it. */
  deleteChannel(actor: Actor, ref: string): void {
    channels.deleteChannel(this.ctx, actor, ref);
  }

  createCategory(actor: Actor, input: { name: string; position?: number }): Category {
    return channels.createCategory(this.ctx, actor, input);
  }

  updateCategory(actor: Actor, ref: string, patch: { name?: string; position?: number }): Category {
    return channels.updateCategory(this.ctx, actor, ref, patch);
  }

  deleteCategory(actor: Actor, ref: string): void {
    channels.deleteCategory(this.ctx, actor, ref);
  }

  /** Sets (replaces) a channel's overwrite for a role or a member. Role and member may be named. */
  setOverwrite(actor: Actor, channelRef: string, input: { type: OverwriteType; target: string; allow: bigint; deny: bigint }): Channel {
    return channels.setOverwrite(this.ctx, actor, channelRef, input);
  }

  deleteOverwrite(actor: Actor, channelRef: string, type: OverwriteType, target: string): Channel {
    return channels.deleteOverwrite(this.ctx, actor, channelRef, type, target);
  }

  // ---- roles -------------------------------------------------------------------------------

  createRole(actor: Actor, input: { name: string; permissions?: bigint; color?: number | null; mentionable?: boolean; maxUploadBytes?: number | null }): Role {
    return roles.createRole(this.ctx, actor, input);
  }

  updateRole(
    actor: Actor,
    ref: string,
    patch: { name?: string; permissions?: bigint; color?: number | null; mentionable?: boolean; position?: number; maxUploadBytes?: number | null },
  ): Role {
    return roles.updateRole(this.ctx, actor, ref, patch);
  }

  deleteRole(actor: Actor, ref: string): void {
    roles.deleteRole(this.ctx, actor, ref);
  }

  // ---- members -----------------------------------------------------------------------------

  addMemberRole(actor: Actor, username: string, roleRef: string): Member {
    return members.changeMemberRole(this.ctx, actor, username, roleRef, true);
  }

  removeMemberRole(actor: Actor, username: string, roleRef: string): Member {
    return members.changeMemberRole(this.ctx, actor, username, roleRef, false);
  }

  /**
   * An account joins (or rejoins after a kick). Banned accounts cannot; a kicked account needs
   * an invite unless registration is open.
   */
  join(account: Account, inviteCode?: string): Member {
    return members.join(this.ctx, account, inviteCode);
  }

  // ---- moderation --------------------------------------------------------------------------

  kick(actor: Actor, username: string, reason = ''): void {
    moderation.kick(this.ctx, actor, username, reason);
  }

  /** Bans an account (member or not): it cannot rejoin until unbanned. */
  ban(actor: Actor, username: string, reason = ''): void {
    moderation.ban(this.ctx, actor, username, reason);
  }

  unban(actor: Actor, username: string, reason = ''): void {
    moderation.unban(this.ctx, actor, username, reason);
  }

  /** Times a member out until `until` (Unix ms), or lifts the timeout with null. */
  timeout(actor: Actor, username: string, until: number | null, reason = ''): Member {
    return moderation.timeout(this.ctx, actor, username, until, reason);
  }

  // ---- invites -----------------------------------------------------------------------------

  createInvite(actor: Actor, options: { maxUses?: number; expiresInSeconds?: number } = {}): Invite {
    return invites.createInvite(this.ctx, actor, options);
  }

  /** Live invites (not revoked, not expired, not used up). */
  listInvites(actor: Actor): Invite[] {
    return invites.listInvites(this.ctx, actor);
  }

  revokeInvite(actor: Actor, code: string): void {
    invites.revokeInvite(this.ctx, actor, code);
  }

  // ---- audit log ---------------------------------------------------------------------------

  /** Newest first. Needs MANAGE_GUILD (or any of the moderation permissions). */
  auditLog(actor: Actor, query: AuditQuery = {}): AuditEntry[] {
    return this.ctx.audit.read(actor, query);
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
