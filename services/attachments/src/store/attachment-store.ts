import type { AttachmentKind } from '@alloquy/protocol/irc';
import type Database from 'better-sqlite3';
import { openDatabase, type Db, statementCache } from '@alloquy/service-kit/store';
import { blobInUse } from './blob-references.js';
import { ATTACHMENT_MIGRATIONS } from './migrations.js';

/** What an attachment is, as the wire contract names it (`+alloquy/attachment`'s `k`). */
export type { AttachmentKind };

/** A thumbnail stored in the BlobStore (`key` is its content address). */
export interface StoredThumbnail {
  key: string;
  width: number;
  height: number;
  contentType: string;
  /** Bytes (Content-Length of a download); recorded since thumbnails were stored with it, older rows lack it. */
  size?: number;
}

export interface AttachmentRecord {
  id: string;
  sha256: string;
  size: number;
  contentType: string;
  filename: string;
  /** Name when posted, without '#'. */
  channel: string;
  /** The control server's id of the channel (access checks use it: it survives renames). */
  channelId: string;
  uploaderAccountId: number;
  uploader: string;
  kind: AttachmentKind;
  width?: number;
  height?: number;
  durationSeconds?: number;
  placeholder?: string;
  /** An image with several frames (GIF, WebP). */
  animated?: boolean;
  thumbnails: StoredThumbnail[];
  createdAt: number;
}

export interface ResumableUpload {
  id: string;
  accountId: number;
  account: string;
  channel: string;
  channelId: string;
  filename: string;
  length: number;
  createdAt: number;
  completedAt?: number;
  attachmentId?: string;
}

interface AttachmentRow {
  id: string;
  sha256: string;
  size: number;
  content_type: string;
  filename: string;
  channel: string;
  channel_id: string;
  uploader_account_id: number;
  uploader: string;
  kind: AttachmentKind;
  width: number | null;
  height: number | null;
  duration_seconds: number | null;
  placeholder: string | null;
  animated: number | null;
  thumbnails: string;
  created_at: number;
}

interface UploadRow {
  id: string;
  account_id: number;
  account: string;
  channel: string;
  channel_id: string;
  filename: string;
  length: number;
  created_at: number;
  completed_at: number | null;
  attachment_id: string | null;
}

function toRecord(row: AttachmentRow): AttachmentRecord {
  return {
    id: row.id,
    sha256: row.sha256,
    size: row.size,
    contentType: row.content_type,
    filename: row.filename,
    channel: row.channel,
    channelId: row.channel_id,
    uploaderAccountId: row.uploader_account_id,
    uploader: row.uploader,
    kind: row.kind,
    ...(row.width !== null ? { width: row.width } : {}),
    ...(row.height !== null ? { height: row.height } : {}),
    ...(row.duration_seconds !== null ? { durationSeconds: row.duration_seconds } : {}),
    ...(row.placeholder !== null ? { placeholder: row.placeholder } : {}),
    ...(row.animated === 1 ? { animated: true } : {}),
    thumbnails: JSON.parse(row.thumbnails) as StoredThumbnail[],
    createdAt: row.created_at,
  };
}

function toUpload(row: UploadRow): ResumableUpload {
  return {
    id: row.id,
    accountId: row.account_id,
    account: row.account,
    channel: row.channel,
    channelId: row.channel_id,
    filename: row.filename,
    length: row.length,
    createdAt: row.created_at,
    ...(row.completed_at !== null ? { completedAt: row.completed_at } : {}),
    ...(row.attachment_id !== null ? { attachmentId: row.attachment_id } : {}),
  };
}

/**
 * Attachment metadata in SQLite (WAL, its own database file): what each upload is, where its
 * bytes are, who posted it where; and the owners of resumable uploads in progress.
 */
export class AttachmentStore {
  private readonly sql: (text: string) => Database.Statement;

  constructor(readonly db: Db) {
    this.sql = statementCache(db);
  }

  static open(path: string): AttachmentStore {
    return new AttachmentStore(openDatabase(path, ATTACHMENT_MIGRATIONS));
  }

  close(): void {
    this.db.close();
  }

  insert(record: AttachmentRecord): void {
    this.sql(
      `INSERT INTO attachments (id, sha256, size, content_type, filename, channel, channel_id, uploader_account_id, uploader, kind,
         width, height, duration_seconds, placeholder, animated, thumbnails, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      record.id,
      record.sha256,
      record.size,
      record.contentType,
      record.filename,
      record.channel,
      record.channelId,
      record.uploaderAccountId,
      record.uploader,
      record.kind,
      record.width ?? null,
      record.height ?? null,
      record.durationSeconds ?? null,
      record.placeholder ?? null,
      record.animated ? 1 : null,
      JSON.stringify(record.thumbnails),
      record.createdAt,
    );
  }

  get(id: string): AttachmentRecord | undefined {
    const row = this.sql('SELECT * FROM attachments WHERE id = ?').get(id) as AttachmentRow | undefined;
    return row ? toRecord(row) : undefined;
  }

  /** Whether any record in this database (attachments, assets, embed previews) uses a blob: if not, it may be deleted. */
  blobInUse(sha256: string): boolean {
    return blobInUse(this.sql, sha256);
  }

  // ---- resumable uploads ---------------------------------------------------------------------

  createUpload(upload: Omit<ResumableUpload, 'completedAt' | 'attachmentId'>): void {
    this.sql('INSERT INTO resumable_uploads (id, account_id, account, channel, channel_id, filename, length, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
      upload.id,
      upload.accountId,
      upload.account,
      upload.channel,
      upload.channelId,
      upload.filename,
      upload.length,
      upload.createdAt,
    );
  }

  getUpload(id: string): ResumableUpload | undefined {
    const row = this.sql('SELECT * FROM resumable_uploads WHERE id = ?').get(id) as UploadRow | undefined;
    return row ? toUpload(row) : undefined;
  }

  /** Records the attachment a finished upload became, in the same transaction as the attachment. */
  completeUpload(id: string, record: AttachmentRecord, now: number): void {
    this.db.transaction(() => {
      this.insert(record);
      this.sql('UPDATE resumable_uploads SET completed_at = ?, attachment_id = ? WHERE id = ?').run(now, record.id, id);
    })();
  }

  deleteUpload(id: string): void {
    this.sql('DELETE FROM resumable_uploads WHERE id = ?').run(id);
  }

  /** Uploads created before `before` (unfinished: abandoned; finished: their answer was collected long ago). */
  uploadsCreatedBefore(before: number): ResumableUpload[] {
    return (this.sql('SELECT * FROM resumable_uploads WHERE created_at < ?').all(before) as UploadRow[]).map(toUpload);
  }
}
