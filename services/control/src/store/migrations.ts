import type { Migration } from '@alloquy/service-kit/store';

/**
 * The control database's schema migrations. Append only: a released migration is never edited,
 * a change is a new version. Times are Unix milliseconds.
 *
 * One module owns each table: only its owner writes it, and others ask the owner (a method, or
 * an interface the owner implements) rather than run SQL on it.
 *
 * | table                                            | owner                                      |
 * | ------------------------------------------------ | ------------------------------------------ |
 * | accounts, refresh_tokens                         | accounts/account-service.ts                |
 * | registration_invites                             | accounts/invites.ts (InviteStore)          |
 * | guild_settings, guild_roles, guild_categories,   | guild/ (GuildService and its parts; read   |
 * |   guild_channels, guild_overwrites,              |   whole by guild/snapshot-loader.ts; the   |
 * |   guild_members, guild_member_roles,             |   Murmur relay's view of voice channels,   |
 * |   guild_bans, guild_audit_log                    |   and its murmur_channel_id, is            |
 * |                                                  |   guild/voice-channels.ts)                 |
 * | history_messages, history_reactions,             | history/store.ts (HistoryStore; the guild  |
 * |   history_read_markers, history_fts              |   renames or forgets a channel's history   |
 * |                                                  |   through its ChannelHistory interface)    |
 * | murmur_accounts, voice_certificates              | murmur/store.ts (MurmurStore)              |
 * | voice_channels                                   | none: moved into guild_channels (v4)       |
 *
 * Reads across owners that stay SQL, on purpose: InviteStore joins `accounts` for the maker's
 * name (the same module), and MurmurStore.staleCount() joins `accounts` in one COUNT for every
 * health probe (see there). Nothing outside an owner writes its tables.
 */
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
  {
    version: 3,
    name: 'message history: messages, reactions, read markers, full-text search',
    sql: `
      -- One row per recorded IRC message, exactly once per msgid. id is the ingest order; pages
      -- are ordered by (time, id). channel is the folded (ascii) channel name.
      CREATE TABLE history_messages (
        id INTEGER PRIMARY KEY,
        msgid TEXT NOT NULL UNIQUE,
        channel TEXT NOT NULL,
        account TEXT,
        nick TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('PRIVMSG', 'NOTICE', 'ACTION', 'TAGMSG')),
        time INTEGER NOT NULL,
        text TEXT NOT NULL DEFAULT '',
        -- IRCv3 message tags as a JSON object (valueless tags map to '').
        tags TEXT NOT NULL DEFAULT '{}',
        reply_to TEXT,
        has_link INTEGER NOT NULL DEFAULT 0,
        has_attachment INTEGER NOT NULL DEFAULT 0,
        edited_at INTEGER,
        edited_by TEXT,
        -- A deleted message keeps its row (so its msgid stays taken) but loses its text.
        deleted_at INTEGER,
        deleted_by TEXT
      );
      -- Visible messages only (what paging, unread counts and search read).
      CREATE INDEX history_messages_visible ON history_messages(channel, time, id)
        WHERE deleted_at IS NULL AND kind <> 'TAGMSG';
      CREATE INDEX history_messages_account ON history_messages(account, time);

      -- Who reacted with what. account is the reactor's account (nick when not logged in).
      CREATE TABLE history_reactions (
        msgid TEXT NOT NULL,
        account TEXT NOT NULL,
        emoji TEXT NOT NULL,
        time INTEGER NOT NULL,
        PRIMARY KEY (msgid, account, emoji)
      ) WITHOUT ROWID;

      -- How far each account has read each channel: the position (time, id) of the last read message.
      CREATE TABLE history_read_markers (
        account TEXT NOT NULL,
        channel TEXT NOT NULL,
        msgid TEXT,
        time INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (account, channel)
      ) WITHOUT ROWID;

      -- Full-text index over message text, external content, kept in step by triggers. Every row
      -- is indexed (which keeps FTS5 'integrity-check' and 'rebuild' valid); a deleted message's
      -- text is erased and a TAGMSG has none, so neither can match, and search also filters them.
      CREATE VIRTUAL TABLE history_fts USING fts5(
        text,
        content = 'history_messages',
        content_rowid = 'id',
        tokenize = 'unicode61 remove_diacritics 2'
      );
      CREATE TRIGGER history_fts_insert AFTER INSERT ON history_messages BEGIN
        INSERT INTO history_fts (rowid, text) VALUES (new.id, new.text);
      END;
      CREATE TRIGGER history_fts_update AFTER UPDATE OF text ON history_messages BEGIN
        INSERT INTO history_fts (history_fts, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO history_fts (rowid, text) VALUES (new.id, new.text);
      END;
      CREATE TRIGGER history_fts_delete AFTER DELETE ON history_messages BEGIN
        INSERT INTO history_fts (history_fts, rowid, text) VALUES ('delete', old.id, old.text);
      END;
    `,
  },
  {
    version: 4,
    name: 'guild: settings, roles, categories, channels (voice channels move here), overwrites, members, bans, audit log',
    sql: `
      -- The one guild this server is. owner_account_id NULL: the oldest admin account owns it.
      CREATE TABLE guild_settings (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        name TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        icon TEXT,
        owner_account_id INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
        -- Whether members may open IRC channels outside the model (off: services close them).
        adhoc_channels INTEGER NOT NULL DEFAULT 0,
        updated_at INTEGER NOT NULL
      );
      INSERT INTO guild_settings (id, name, updated_at) VALUES (1, 'Alloquy', CAST(strftime('%s', 'now') AS INTEGER) * 1000);

      -- Roles; permissions is the decimal-string bit set. Role 1 is @everyone (position 0).
      CREATE TABLE guild_roles (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        name_folded TEXT NOT NULL UNIQUE,
        position INTEGER NOT NULL,
        permissions TEXT NOT NULL,
        color INTEGER,
        mentionable INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
      );
      -- @everyone: see, talk, read, react, attach, invite, connect, speak, video.
      INSERT INTO guild_roles (id, name, name_folded, position, permissions, created_at)
        VALUES (1, '@everyone', '@everyone', 0, '30068113442', CAST(strftime('%s', 'now') AS INTEGER) * 1000);

      CREATE TABLE guild_categories (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        position INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      );

      -- Text and voice channels. irc_ts is the channel timestamp services hold #name with (text).
      CREATE TABLE guild_channels (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('text', 'voice')),
        name TEXT NOT NULL,
        name_folded TEXT NOT NULL,
        topic TEXT NOT NULL DEFAULT '',
        position INTEGER NOT NULL DEFAULT 0,
        category_id INTEGER REFERENCES guild_categories(id) ON DELETE SET NULL,
        murmur_channel_id INTEGER,
        created_by INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
        created_at INTEGER NOT NULL,
        UNIQUE (kind, name_folded)
      );
      INSERT INTO guild_channels (id, kind, name, name_folded, position, murmur_channel_id, created_by, created_at)
        SELECT id, 'voice', name, name_folded, id, murmur_channel_id, created_by, created_at FROM voice_channels;
      DROP TABLE voice_channels;
      INSERT INTO guild_channels (kind, name, name_folded, position, created_at)
        VALUES ('text', 'general', 'general', 0, CAST(strftime('%s', 'now') AS INTEGER) * 1000);

      CREATE TABLE guild_overwrites (
        channel_id INTEGER NOT NULL REFERENCES guild_channels(id) ON DELETE CASCADE,
        target_type TEXT NOT NULL CHECK (target_type IN ('role', 'member')),
        target_id INTEGER NOT NULL,
        allow TEXT NOT NULL,
        deny TEXT NOT NULL,
        PRIMARY KEY (channel_id, target_type, target_id)
      );

      -- Per-member state. Every enabled account is a member unless kicked_at is set (until it
      -- rejoins) or it is banned; rows exist only for members with something to remember.
      CREATE TABLE guild_members (
        account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
        timeout_until INTEGER,
        kicked_at INTEGER
      );
      CREATE TABLE guild_member_roles (
        account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        role_id INTEGER NOT NULL REFERENCES guild_roles(id) ON DELETE CASCADE,
        PRIMARY KEY (account_id, role_id)
      );
      CREATE TABLE guild_bans (
        account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
        reason TEXT NOT NULL DEFAULT '',
        banned_by INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
        created_at INTEGER NOT NULL
      );

      -- Every management action. actor_account_id NULL with actor_name 'operator': the CLI.
      CREATE TABLE guild_audit_log (
        id INTEGER PRIMARY KEY,
        time INTEGER NOT NULL,
        actor_account_id INTEGER,
        actor_name TEXT NOT NULL,
        action TEXT NOT NULL,
        target_type TEXT,
        target_id TEXT,
        target_name TEXT,
        reason TEXT,
        changes TEXT
      );
      CREATE INDEX guild_audit_log_time ON guild_audit_log(time, id);

      -- Invites serve registration on invite-only servers and rejoining after a kick.
      ALTER TABLE registration_invites ADD COLUMN revoked_at INTEGER;
    `,
  },
  {
    version: 5,
    name: 'guild roles: per-role upload size limit',
    sql: `
      -- The largest upload, in bytes, a holder of this role may make. NULL: the role sets no limit.
      -- A member's limit is the largest among their roles that set one, else the server default.
      ALTER TABLE guild_roles ADD COLUMN max_upload_bytes INTEGER CHECK (max_upload_bytes IS NULL OR max_upload_bytes > 0);
    `,
  },
];
