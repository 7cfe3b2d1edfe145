import { type Migration } from '@alloquy/service-kit/store';

/**
 * The embed cache's schema, applied with the control server's migration runner into the
 * attachments database. Embeds own versions 1001–1099 of `schema_migrations`, so this list and
 * `ATTACHMENT_MIGRATIONS` never collide whichever runs first. Append only.
 */
export const EMBED_MIGRATIONS: readonly Migration[] = [
  {
    version: 1001,
    name: 'embeds: link embed cache and preview images',
    sql: `
      -- One lookup result per normalized URL and allowlist: an embed, or the error that refused
      -- it. A result fetched under one allowlist is never served under another (a page fetched
      -- while an intranet was allowlisted must not outlive that entry).
      CREATE TABLE embed_cache (
        url TEXT NOT NULL,
        policy TEXT NOT NULL,
        ok INTEGER NOT NULL,
        -- JSON of the embed (ok = 1).
        embed TEXT,
        -- AttachmentError code and message (ok = 0).
        error_code TEXT,
        error_message TEXT,
        preview_sha256 TEXT,
        fetched_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (url, policy)
      );
      CREATE INDEX embed_cache_expires ON embed_cache(expires_at);
      CREATE INDEX embed_cache_preview ON embed_cache(preview_sha256);

      -- Preview images made by embeds (bytes in the BlobStore). Only blobs listed here are served
      -- by the preview route: the BlobStore also holds uploads from private channels.
      CREATE TABLE embed_previews (
        sha256 TEXT PRIMARY KEY,
        content_type TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        size INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      );
    `,
  },
];
