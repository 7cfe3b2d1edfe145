import type Database from 'better-sqlite3';
import type { AccountService } from '../accounts/account-service.js';
import type { InviteStore } from '../accounts/invites.js';
import type { GuildAudit } from './audit.js';
import type { GuildAuthority } from './authority.js';
import type { GuildSnapshot, MemberRemoval } from './model.js';

/**
 * What a text channel's history must do when the guild renames or deletes the channel. History
 * owns its tables (history/store.ts implements this); the guild calls it inside the transaction
 * of its own change, on the same database, so the channel and its history never disagree: a
 * rename that fails leaves both as they were, and a deleted channel's (perhaps private) messages
 * are never left behind for a new channel of the same name.
 */
export interface ChannelHistory {
  /** IRC names (`#general`). */
  renameChannel(from: string, to: string): void;
  forgetChannel(channel: string): void;
}

/**
 * What the guild's parts (settings.ts, channels.ts, roles.ts, ...) share. GuildService builds one
 * and keeps the snapshot it points at current; the parts are functions over it.
 */
export interface GuildContext {
  /** The newest snapshot: every check runs against it, and it changes after every write. */
  snapshot(): GuildSnapshot;
  readonly now: () => number;
  /** Prepared statements of the guild's own tables (see store/migrations.ts for who owns what). */
  readonly sql: (text: string) => Database.Statement;
  readonly authority: GuildAuthority;
  readonly audit: GuildAudit;
  readonly accounts: AccountService;
  readonly invites: InviteStore;
  readonly history: ChannelHistory;
  /** Tells the enforcers about a kick or ban (before the write that records it). */
  publishRemoval(removal: MemberRemoval): void;
}
