import type Database from 'better-sqlite3';
import { ControlError } from '../errors/control-error.js';
import { type Db } from '../store/database.js';
import { statementCache } from '@alloquy/service-kit/store';

/** What Murmur holds for one account (table murmur_accounts). */
export interface MurmurAccountState {
  murmurUserId: number;
  /** The password version Murmur holds; null while it holds a random password (stale). */
  passwordVersion: number | null;
  certHash: string;
}

export interface VoiceCertificate {
  hash: string;
  createdAt: number;
  /** The one Murmur knows: Murmur 1.3 keeps a single certificate hash per registered user. */
  active: boolean;
}

/** Most certificates one account may keep (several desktops; the newest is the active one). */
export const MAX_CERTIFICATES_PER_ACCOUNT = 10;

const SHA1_HEX = /^[0-9a-f]{40}$/;

/** Normalises a certificate hash: SHA-1 hex, case and `:` separators ignored. */
export function normaliseCertHash(input: string): string {
  const hash = input.trim().toLowerCase().replaceAll(':', '');
  if (!SHA1_HEX.test(hash)) {
    throw new ControlError('invalid_request', 'a certificate hash is the SHA-1 of the DER certificate: 40 hexadecimal digits');
  }
  return hash;
}

interface StateRow {
  account_id: number;
  murmur_user_id: number;
  password_version: number | null;
  cert_hash: string;
}

function toState(row: StateRow): MurmurAccountState {
  return { murmurUserId: row.murmur_user_id, passwordVersion: row.password_version, certHash: row.cert_hash };
}

/** The relay's SQLite state: per-account sync state and voice certificates. */
export class MurmurStore {
  private statements?: (sql: string) => Database.Statement;

  /** A prepared statement for a constant SQL text, compiled once (see statementCache). */
  private sql(text: string): Database.Statement {
    this.statements ??= statementCache(this.db);
    return this.statements(text);
  }
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  state(accountId: number): MurmurAccountState | undefined {
    const row = this.sql('SELECT * FROM murmur_accounts WHERE account_id = ?').get(accountId) as StateRow | undefined;
    return row && toState(row);
  }

  states(): Map<number, MurmurAccountState> {
    const rows = this.sql('SELECT * FROM murmur_accounts').all() as StateRow[];
    return new Map(rows.map((r) => [r.account_id, toState(r)]));
  }

  setState(accountId: number, state: MurmurAccountState): void {
    this.sql(
      `INSERT INTO murmur_accounts (account_id, murmur_user_id, password_version, cert_hash, synced_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(account_id) DO UPDATE SET murmur_user_id = excluded.murmur_user_id,
           password_version = excluded.password_version, cert_hash = excluded.cert_hash, synced_at = excluded.synced_at`,
    ).run(accountId, state.murmurUserId, state.passwordVersion, state.certHash, this.now());
  }

  clearState(accountId: number): void {
    this.sql('DELETE FROM murmur_accounts WHERE account_id = ?').run(accountId);
  }

  /**
   * Accounts registered in Murmur with a password that does not work yet (awaiting a password
   * login). It reads the accounts module's table in a JOIN, on purpose: this count is asked by
   * every health probe, and one COUNT in SQLite beats loading every account through
   * AccountService to compare in JavaScript. It only reads accounts; it never writes them.
   */
  staleCount(): number {
    return this.sql(
      `SELECT COUNT(*) FROM murmur_accounts m JOIN accounts a ON a.id = m.account_id
         WHERE a.disabled_at IS NULL AND (m.password_version IS NULL OR m.password_version != a.password_changed_at)`,
    )
      .pluck()
      .get() as number;
  }

  /** The certificate hash Murmur should hold for an account: its newest, or '' for none. */
  activeCertHash(accountId: number): string {
    return (
      (this.sql('SELECT hash FROM voice_certificates WHERE account_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1').pluck().get(accountId) as
        string | undefined) ?? ''
    );
  }

  activeCertHashes(): Map<number, string> {
    const rows = this.sql(
      `SELECT account_id, hash FROM voice_certificates v
         WHERE rowid = (SELECT rowid FROM voice_certificates w WHERE w.account_id = v.account_id ORDER BY created_at DESC, rowid DESC LIMIT 1)`,
    ).all() as { account_id: number; hash: string }[];
    return new Map(rows.map((r) => [r.account_id, r.hash]));
  }

  certificates(accountId: number): VoiceCertificate[] {
    const rows = this.sql('SELECT hash, created_at FROM voice_certificates WHERE account_id = ? ORDER BY created_at DESC, rowid DESC').all(accountId) as {
      hash: string;
      created_at: number;
    }[];
    return rows.map((r, i) => ({ hash: r.hash, createdAt: r.created_at, active: i === 0 }));
  }

  /**
   * Adds a certificate to an account, or makes an existing one of the same account the active
   * one again. Returns whether it was new.
   */
  addCertificate(accountId: number, rawHash: string): { hash: string; created: boolean } {
    const hash = normaliseCertHash(rawHash);
    return this.db.transaction(() => {
      const owner = this.sql('SELECT account_id FROM voice_certificates WHERE hash = ?').pluck().get(hash) as number | undefined;
      // Strictly newer than every other certificate of the account, so it becomes the active one.
      const newest = this.sql('SELECT MAX(created_at) FROM voice_certificates WHERE account_id = ?').pluck().get(accountId) as number | null;
      const at = Math.max(this.now(), (newest ?? 0) + 1);
      if (owner !== undefined && owner !== accountId) {
        throw new ControlError('certificate_taken', 'this certificate is already linked to another account');
      }
      if (owner === accountId) {
        this.sql('UPDATE voice_certificates SET created_at = ? WHERE hash = ?').run(at, hash);
        return { hash, created: false };
      }
      const count = this.sql('SELECT COUNT(*) FROM voice_certificates WHERE account_id = ?').pluck().get(accountId) as number;
      if (count >= MAX_CERTIFICATES_PER_ACCOUNT) {
        throw new ControlError('invalid_request', `an account keeps at most ${MAX_CERTIFICATES_PER_ACCOUNT} certificates; remove one first`);
      }
      this.sql('INSERT INTO voice_certificates (hash, account_id, created_at) VALUES (?, ?, ?)').run(hash, accountId, at);
      return { hash, created: true };
    })();
  }

  removeCertificate(accountId: number, rawHash: string): void {
    const hash = normaliseCertHash(rawHash);
    const info = this.sql('DELETE FROM voice_certificates WHERE hash = ? AND account_id = ?').run(hash, accountId);
    if (info.changes === 0) throw new ControlError('not_found', 'no such certificate on your account');
  }
}
