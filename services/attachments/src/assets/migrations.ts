import { type Migration } from '@alloquy/service-kit/store';

/**
 * Avatars, banners, the guild icon and custom emoji, migrated into the attachments database with
 * the control server's runner. Assets own versions 1101–1199 of `schema_migrations` (uploads
 * 1–999, embeds 1001–1099). Append only. Every image is a normalised WebP in the BlobStore.
 */
export const ASSET_MIGRATIONS: readonly Migration[] = [
  {
    version: 1101,
    name: 'assets: avatars, banners, guild icon, custom emoji',
    sql: `
      CREATE TABLE account_assets (
        -- The account name as the control server reports it; looked up without regard to case.
        account TEXT NOT NULL COLLATE NOCASE,
        kind TEXT NOT NULL CHECK (kind IN ('avatar', 'banner')),
        sha256 TEXT NOT NULL,
        content_type TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        size INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (account, kind)
      );
      CREATE INDEX account_assets_sha256 ON account_assets(sha256);

      CREATE TABLE guild_assets (
        kind TEXT PRIMARY KEY CHECK (kind IN ('icon')),
        sha256 TEXT NOT NULL,
        content_type TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        size INTEGER NOT NULL,
        updated_by TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX guild_assets_sha256 ON guild_assets(sha256);

      CREATE TABLE emoji (
        -- ^[a-z0-9_]{2,32}$; unique whatever the case a client typed.
        name TEXT PRIMARY KEY COLLATE NOCASE,
        sha256 TEXT NOT NULL,
        animated INTEGER NOT NULL,
        size INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX emoji_sha256 ON emoji(sha256);
    `,
  },
];
