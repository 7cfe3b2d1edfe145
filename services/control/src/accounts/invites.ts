import type Database from 'better-sqlite3';
import { statementCache } from '@alloquy/service-kit/store';
import { ControlError } from '../errors/control-error.js';
import type { Db } from '../store/database.js';
import { newInviteCode } from './invite-code.js';

/**
 * An invite code: it lets an account register on an invite-only server, and a kicked or unbanned
 * member rejoin the guild. One code serves both, so one table holds them all.
 */
export interface Invite {
  code: string;
  /** The maker's account name; null for the operator, or when that account is gone. */
  createdBy: string | null;
  createdAt: number;
  expiresAt: number | null;
  maxUses: number | null;
  uses: number;
}

export interface NewInvite {
  /** The maker's account id; null for the operator. */
  createdBy: number | null;
  createdAt: number;
  expiresAt: number | null;
  maxUses: number | null;
}

interface InviteRow {
  code: string;
  username: string | null;
  created_at: number;
  expires_at: number | null;
  max_uses: number | null;
  uses: number;
  revoked_at: number | null;
}

function toInvite(row: InviteRow): Invite {
  return { code: row.code, createdBy: row.username, createdAt: row.created_at, expiresAt: row.expires_at, maxUses: row.max_uses, uses: row.uses };
}

/**
 * The one owner of `registration_invites`. Registration (AccountService) and the guild (its
 * invite commands and join) both come here. Times are passed in, so each caller keeps its clock;
 * the store opens no transaction of its own, so a caller's write and its audit entry stay one.
 */
export class InviteStore {
  private readonly sql: (text: string) => Database.Statement;

  constructor(db: Db) {
    this.sql = statementCache(db);
  }

  /** Records a new invite with a fresh code and returns it. */
  create(input: NewInvite): Invite {
    const code = newInviteCode();
    this.sql('INSERT INTO registration_invites (code, created_by, created_at, expires_at, max_uses) VALUES (?, ?, ?, ?, ?)').run(
      code,
      input.createdBy,
      input.createdAt,
      input.expiresAt,
      input.maxUses,
    );
    return this.get(code)!;
  }

  /** Any invite, live or not. */
  get(code: string): Invite | undefined {
    const row = this.sql('SELECT i.*, a.username FROM registration_invites i LEFT JOIN accounts a ON a.id = i.created_by WHERE i.code = ?').get(code) as
      InviteRow | undefined;
    return row && toInvite(row);
  }

  /** Live invites at `now` (not revoked, not expired, not used up), oldest first. */
  listLive(now: number): Invite[] {
    const rows = this.sql(
      `SELECT i.*, a.username FROM registration_invites i LEFT JOIN accounts a ON a.id = i.created_by
        WHERE i.revoked_at IS NULL AND (i.expires_at IS NULL OR i.expires_at > ?) AND (i.max_uses IS NULL OR i.uses < i.max_uses)
        ORDER BY i.created_at`,
    ).all(now) as InviteRow[];
    return rows.map(toInvite);
  }

  revoke(code: string, at: number): void {
    this.sql('UPDATE registration_invites SET revoked_at = ? WHERE code = ?').run(at, code);
  }

  /**
   * Spends one use of a live invite, or throws `invalid_invite`. Run it inside the transaction of
   * what the invite admits, so a refused registration or join does not spend it.
   */
  consume(code: string, now: number): void {
    const row = this.sql('SELECT * FROM registration_invites WHERE code = ?').get(code) as Omit<InviteRow, 'username'> | undefined;
    if (!row || row.revoked_at !== null || (row.expires_at !== null && row.expires_at <= now) || (row.max_uses !== null && row.uses >= row.max_uses)) {
      throw new ControlError('invalid_invite', 'the invite code is unknown, expired or used up');
    }
    this.sql('UPDATE registration_invites SET uses = uses + 1 WHERE code = ?').run(code);
  }
}
