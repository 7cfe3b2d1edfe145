/**
 * Versioned schema migrations. Append only: a released migration is never edited, a change
 * is a new version. Times are Unix milliseconds.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'accounts and sessions',
    sql: `
      CREATE TABLE accounts (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL,
        -- rfc1459 fold of username (a superset of InspIRCd's ascii casemapping): one account per IRC nick.
        username_folded TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        is_admin INTEGER NOT NULL DEFAULT 0,
        disabled_at INTEGER,
        created_at INTEGER NOT NULL,
        password_changed_at INTEGER NOT NULL
      );

      -- Refresh tokens are stored as SHA-256 hashes only. A family is one login; presenting a
      -- rotated-out token revokes the whole family (token theft detection).
      CREATE TABLE refresh_tokens (
        token_hash TEXT PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        family_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER,
        revoked_at INTEGER
      );
      CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
      CREATE INDEX refresh_tokens_account ON refresh_tokens(account_id);

      CREATE TABLE registration_invites (
        code TEXT PRIMARY KEY,
        created_by INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        max_uses INTEGER,
        uses INTEGER NOT NULL DEFAULT 0
      );
    `,
  },
  {
    version: 2,
    name: 'murmur relay: account sync state, voice certificates, voice channels',
    sql: `
      -- What Murmur holds for each account, so a re-sync is one getRegisteredUsers call and a diff.
      CREATE TABLE murmur_accounts (
        account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
        murmur_user_id INTEGER NOT NULL,
        -- accounts.password_changed_at of the password Murmur holds; NULL while Murmur holds a
        -- random one because the plaintext was not at hand (the next password login fixes it).
        password_version INTEGER,
        -- The client certificate hash Murmur holds ('' for none).
        cert_hash TEXT NOT NULL DEFAULT '',
        synced_at INTEGER NOT NULL
      );

      -- Client certificates an account uses with Mumble: SHA-1 of the DER certificate, lowercase
      -- hex, as Murmur computes it. One certificate belongs to one account.
      CREATE TABLE voice_certificates (
        hash TEXT PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX voice_certificates_account ON voice_certificates(account_id, created_at);

      CREATE TABLE voice_channels (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        name_folded TEXT NOT NULL UNIQUE,
        -- Murmur's channel id once the relay has created it.
        murmur_channel_id INTEGER,
        created_by INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
        created_at INTEGER NOT NULL
      );
      INSERT INTO voice_channels (name, name_folded, created_at)
        VALUES ('General', 'general', CAST(strftime('%s', 'now') AS INTEGER) * 1000);
    `,
  },
];
