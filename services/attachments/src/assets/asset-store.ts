import type Database from 'better-sqlite3';
import { AttachmentError } from '../errors/attachment-error.js';
import { blobInUse } from '../store/blob-references.js';
import { ASSET_MIGRATIONS } from './migrations.js';
import { migrate, statementCache } from '@alloquy/service-kit/store';

export type AccountAssetKind = 'avatar' | 'banner';

/** A stored normalised image (always WebP). */
export interface AssetImage {
  sha256: string;
  contentType: string;
  width: number;
  height: number;
  size: number;
  updatedAt: number;
}

export interface Emoji {
  name: string;
  sha256: string;
  animated: boolean;
  size: number;
  createdBy: string;
  createdAt: number;
}

interface ImageRow {
  sha256: string;
  content_type: string;
  width: number;
  height: number;
  size: number;
  updated_at: number;
}

interface EmojiRow {
  name: string;
  sha256: string;
  animated: number;
  size: number;
  created_by: string;
  created_at: number;
}

const toImage = (row: ImageRow): AssetImage => ({
  sha256: row.sha256,
  contentType: row.content_type,
  width: row.width,
  height: row.height,
  size: row.size,
  updatedAt: row.updated_at,
});

const toEmoji = (row: EmojiRow): Emoji => ({
  name: row.name,
  sha256: row.sha256,
  animated: row.animated === 1,
  size: row.size,
  createdBy: row.created_by,
  createdAt: row.created_at,
});

/**
 * Asset records in the attachments database (handed in). Setters answer the blob the record
 * pointed to before, so the caller can drop it when nothing else uses it.
 */
export class AssetStore {
  private readonly sql: (text: string) => Database.Statement;

  constructor(readonly db: Database.Database) {
    migrate(db, ASSET_MIGRATIONS);
    this.sql = statementCache(db);
  }

  accountAsset(account: string, kind: AccountAssetKind): AssetImage | undefined {
    const row = this.sql('SELECT sha256, content_type, width, height, size, updated_at FROM account_assets WHERE account = ? AND kind = ?').get(
      account,
      kind,
    ) as ImageRow | undefined;
    return row && toImage(row);
  }

  /** Sets the account's avatar or banner; answers the previous blob address, if any. */
  setAccountAsset(account: string, kind: AccountAssetKind, image: AssetImage): string | undefined {
    return this.db.transaction(() => {
      const previous = this.accountAsset(account, kind);
      this.sql(
        `INSERT INTO account_assets (account, kind, sha256, content_type, width, height, size, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (account, kind) DO UPDATE SET sha256 = excluded.sha256, content_type = excluded.content_type, width = excluded.width,
           height = excluded.height, size = excluded.size, updated_at = excluded.updated_at`,
      ).run(account, kind, image.sha256, image.contentType, image.width, image.height, image.size, image.updatedAt);
      return previous?.sha256;
    })();
  }

  /** Removes it; answers the blob it used, or undefined when there was none. */
  deleteAccountAsset(account: string, kind: AccountAssetKind): string | undefined {
    const row = this.sql('DELETE FROM account_assets WHERE account = ? AND kind = ? RETURNING sha256').get(account, kind) as { sha256: string } | undefined;
    return row?.sha256;
  }

  guildIcon(): AssetImage | undefined {
    const row = this.sql("SELECT sha256, content_type, width, height, size, updated_at FROM guild_assets WHERE kind = 'icon'").get() as ImageRow | undefined;
    return row && toImage(row);
  }

  setGuildIcon(image: AssetImage, updatedBy: string): string | undefined {
    return this.db.transaction(() => {
      const previous = this.guildIcon();
      this.sql(
        `INSERT INTO guild_assets (kind, sha256, content_type, width, height, size, updated_by, updated_at) VALUES ('icon', ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (kind) DO UPDATE SET sha256 = excluded.sha256, content_type = excluded.content_type, width = excluded.width,
           height = excluded.height, size = excluded.size, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
      ).run(image.sha256, image.contentType, image.width, image.height, image.size, updatedBy, image.updatedAt);
      return previous?.sha256;
    })();
  }

  deleteGuildIcon(): string | undefined {
    const row = this.sql("DELETE FROM guild_assets WHERE kind = 'icon' RETURNING sha256").get() as { sha256: string } | undefined;
    return row?.sha256;
  }

  emoji(name: string): Emoji | undefined {
    const row = this.sql('SELECT name, sha256, animated, size, created_by, created_at FROM emoji WHERE name = ?').get(name) as EmojiRow | undefined;
    return row && toEmoji(row);
  }

  /** All custom emoji, by name. */
  listEmoji(): Emoji[] {
    return (this.sql('SELECT name, sha256, animated, size, created_by, created_at FROM emoji ORDER BY name').all() as EmojiRow[]).map(toEmoji);
  }

  /** Adds an emoji; AttachmentError `conflict` when the name is taken (in any case). */
  addEmoji(emoji: Emoji): void {
    try {
      this.sql('INSERT INTO emoji (name, sha256, animated, size, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)').run(
        emoji.name,
        emoji.sha256,
        emoji.animated ? 1 : 0,
        emoji.size,
        emoji.createdBy,
        emoji.createdAt,
      );
    } catch (err) {
      if ((err as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) throw new AttachmentError('conflict', `an emoji named "${emoji.name}" exists`);
      throw err;
    }
  }

  deleteEmoji(name: string): string | undefined {
    const row = this.sql('DELETE FROM emoji WHERE name = ? RETURNING sha256').get(name) as { sha256: string } | undefined;
    return row?.sha256;
  }

  /**
   * Does any record in the attachments database still use this blob? The BlobStore is shared
   * and content-addressed: an upload or an embed preview may hold the very same bytes.
   */
  blobInUse(sha256: string): boolean {
    return blobInUse(this.sql, sha256);
  }
}
