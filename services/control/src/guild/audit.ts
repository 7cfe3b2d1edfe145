/**
 * The audit log: every management change is written together with its entry, in one
 * transaction, and only then published; and the query that reads the log back.
 */
import type Database from 'better-sqlite3';
import type { Logger } from '@alloquy/service-kit/log';
import { Permission } from '@alloquy/protocol/permissions';
import { ControlError } from '../errors/control-error.js';
import type { Db } from '../store/database.js';
import type { Actor, Authority, GuildAuthority } from './authority.js';
import type { GuildChange } from './model.js';

export type Json = Record<string, unknown>;

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

/** What one change records besides its actor; `apply` may fill in `targetId` (a row it created). */
export interface AuditRecord {
  action: string;
  targetType?: string;
  targetId?: string;
  targetName?: string;
  reason?: string;
  changes?: Json | null;
}

export interface AuditQuery {
  limit?: number;
  before?: number;
  action?: string;
  actor?: string;
}

/** Reading the log: MANAGE_GUILD or any of the moderation permissions. */
const READERS = Permission.MANAGE_GUILD | Permission.KICK_MEMBERS | Permission.BAN_MEMBERS | Permission.MANAGE_ROLES | Permission.MODERATE_MEMBERS;

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

export interface GuildAuditOptions {
  db: Db;
  sql: (text: string) => Database.Statement;
  now: () => number;
  authority: GuildAuthority;
  log: Logger | undefined;
  /** After the transaction committed: reread and republish the guild. */
  committed: (change: GuildChange) => void;
}

export class GuildAudit {
  constructor(private readonly options: GuildAuditOptions) {}

  /**
   * Runs `apply` and the audit entry in one transaction, then republishes. Whatever `apply`
   * calls on the same database (history following a channel) commits or rolls back with it.
   */
  write(who: Authority, entry: AuditRecord, apply: (entry: AuditRecord) => void): void {
    const { db, sql, now, log } = this.options;
    db.transaction(() => {
      apply(entry);
      sql(
        'INSERT INTO guild_audit_log (time, actor_account_id, actor_name, action, target_type, target_id, target_name, reason, changes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(
        now(),
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
    log?.info({ actor: who.name, action: entry.action, target: entry.targetName ?? entry.targetId }, 'guild changed');
    this.options.committed({ action: entry.action, ...(entry.targetId ? { targetId: entry.targetId } : {}) });
  }

  /** Newest first. Needs MANAGE_GUILD (or any of the moderation permissions). */
  read(actor: Actor, query: AuditQuery = {}): AuditEntry[] {
    const { authority, sql } = this.options;
    if ((authority.permissions(authority.of(actor)) & READERS) === 0n) {
      throw new ControlError('forbidden', 'reading the audit log needs MANAGE_GUILD or a moderation permission');
    }
    const limit = Math.max(1, Math.min(query.limit ?? 50, 500));
    const rows = sql(
      `SELECT * FROM guild_audit_log
        WHERE (? IS NULL OR id < ?) AND (? IS NULL OR action = ?) AND (? IS NULL OR lower(actor_name) = lower(?))
        ORDER BY id DESC LIMIT ?`,
    ).all(
      query.before ?? null,
      query.before ?? null,
      query.action ?? null,
      query.action ?? null,
      query.actor ?? null,
      query.actor ?? null,
      limit,
    ) as AuditRow[];
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
}
