import { type Migration } from '@alloquy/service-kit/store';

/**
 * The attachments database's schema, applied by the control server's migration runner (one way
 * to migrate SQLite in Alloquy). Append only: a released migration is never edited. Times are
 * Unix milliseconds.
 */
export const ATTACHMENT_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'attachments and resumable uploads',
    sql: `
      CREATE TABLE attachments (
        -- Random and unguessable: a public file's URL is its only credential.
        id TEXT PRIMARY KEY,
        -- The blob in the BlobStore; several attachments may share one.
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        -- Detected from the bytes, never from the name or the declared type.
        content_type TEXT NOT NULL,
        filename TEXT NOT NULL,
        -- Text channel name without '#' when posted (for people), and the control server's channel
        -- id (for access checks: it survives renames).
        channel TEXT NOT NULL,
        channel_id TEXT NOT NULL,
        uploader_account_id INTEGER NOT NULL,
        uploader TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('image', 'video', 'audio', 'file')),
        width INTEGER,
        height INTEGER,
        duration_seconds REAL,
        placeholder TEXT,
        -- 1 for an animated image (GIF, WebP with several frames), else NULL.
        animated INTEGER,
        -- JSON array of {key, width, height, contentType, size?}; key is a BlobStore address.
        thumbnails TEXT NOT NULL DEFAULT '[]',
        created_at INTEGER NOT NULL
      );
      CREATE INDEX attachments_sha256 ON attachments(sha256);
      CREATE INDEX attachments_channel ON attachments(channel_id, created_at);

      -- One row per resumable (tus) upload: who owns it and where it goes. The bytes live in
      -- storage.uploadsDir until complete. A completed row is kept for a while so a client whose
      -- final answer was lost can still fetch it.
      CREATE TABLE resumable_uploads (
        id TEXT PRIMARY KEY,
        account_id INTEGER NOT NULL,
        account TEXT NOT NULL,
        channel TEXT NOT NULL,
        channel_id TEXT NOT NULL,
        filename TEXT NOT NULL,
        length INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        completed_at INTEGER,
        attachment_id TEXT REFERENCES attachments(id) ON DELETE SET NULL
      );
      CREATE INDEX resumable_uploads_created ON resumable_uploads(created_at);
    `,
  },
];
