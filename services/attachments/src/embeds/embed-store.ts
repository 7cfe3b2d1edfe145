import type Database from 'better-sqlite3';
import type { AttachmentErrorCode } from '../errors/attachment-error.js';
import type { StoredEmbed } from './embed.js';
import { EMBED_MIGRATIONS } from './migrations.js';
import { migrate, statementCache } from '@alloquy/service-kit/store';

/** A cached lookup: the embed, or the error it ended with. */
export type EmbedResult = { ok: true; embed: StoredEmbed } | { ok: false; code: AttachmentErrorCode; message: string };

export interface PreviewRecord {
  sha256: string;
  contentType: string;
  width: number;
  height: number;
  size: number;
}

interface CacheRow {
  ok: number;
  embed: string | null;
  error_code: string | null;
  error_message: string | null;
}

/**
 * The embed cache in SQLite (the attachments database, handed in): lookup results keyed by
 * normalized URL and allowlist fingerprint, with an expiry, and the list of preview images the
 * preview route may serve.
 */
export class EmbedStore {
  private readonly sql: (text: string) => Database.Statement;

  constructor(readonly db: Database.Database) {
    migrate(db, EMBED_MIGRATIONS);
    this.sql = statementCache(db);
  }

  get(url: string, policy: string, now = Date.now()): EmbedResult | null {
    const row = this.sql('SELECT ok, embed, error_code, error_message FROM embed_cache WHERE url = ? AND policy = ? AND expires_at > ?').get(
      url,
      policy,
      now,
    ) as CacheRow | undefined;
    if (!row) return null;
    if (row.ok) return { ok: true, embed: JSON.parse(row.embed!) as StoredEmbed };
    return { ok: false, code: row.error_code as AttachmentErrorCode, message: row.error_message ?? '' };
  }

  put(url: string, policy: string, result: EmbedResult, ttlMs: number, now = Date.now()): void {
    this.sql(
      `INSERT INTO embed_cache (url, policy, ok, embed, error_code, error_message, preview_sha256, fetched_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (url, policy) DO UPDATE SET ok = excluded.ok, embed = excluded.embed, error_code = excluded.error_code,
         error_message = excluded.error_message, preview_sha256 = excluded.preview_sha256, fetched_at = excluded.fetched_at,
         expires_at = excluded.expires_at`,
    ).run(
      url,
      policy,
      result.ok ? 1 : 0,
      result.ok ? JSON.stringify(result.embed) : null,
      result.ok ? null : result.code,
      result.ok ? null : result.message,
      result.ok ? (result.embed.image?.preview ?? null) : null,
      now,
      now + ttlMs,
    );
  }

  /** Drops expired results. Preview blobs stay (see `EmbedService.prune`). */
  pruneExpired(now = Date.now()): number {
    return this.sql('DELETE FROM embed_cache WHERE expires_at <= ?').run(now).changes;
  }

  recordPreview(preview: PreviewRecord, now = Date.now()): void {
    this.sql(
      'INSERT INTO embed_previews (sha256, content_type, width, height, size, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING',
    ).run(preview.sha256, preview.contentType, preview.width, preview.height, preview.size, now);
  }

  preview(sha256: string): PreviewRecord | undefined {
    const row = this.sql('SELECT sha256, content_type, width, height, size FROM embed_previews WHERE sha256 = ?').get(sha256) as
      { sha256: string; content_type: string; width: number; height: number; size: number } | undefined;
    return row ? { sha256: row.sha256, contentType: row.content_type, width: row.width, height: row.height, size: row.size } : undefined;
  }

  /**
   * Forgets previews no cached embed refers to any more, and answers their addresses. The blobs
   * themselves are not deleted here: the BlobStore is content-addressed and shared with uploads,
   * so the same bytes may belong to an attachment.
   */
  forgetUnusedPreviews(olderThan: number): string[] {
    return this.db.transaction(() => {
      // `olderThan` spares previews of lookups still in flight (their cache row comes last).
      const unused = this.sql(
        'SELECT sha256 FROM embed_previews WHERE created_at < ? AND sha256 NOT IN (SELECT preview_sha256 FROM embed_cache WHERE preview_sha256 IS NOT NULL)',
      )
        .pluck()
        .all(olderThan) as string[];
      for (const sha256 of unused) this.sql('DELETE FROM embed_previews WHERE sha256 = ?').run(sha256);
      return unused;
    })();
  }
}
