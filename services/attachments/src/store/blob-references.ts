import type Database from 'better-sqlite3';

/**
 * Every record in the attachments database that may point at a blob, with the table it needs.
 * The assets and embeds modules migrate their tables into the same database only when they are
 * wired in, so a missing table is skipped rather than an error.
 */
const BLOB_USES: ReadonlyArray<readonly [table: string, query: string]> = [
  ['attachments', 'SELECT 1 FROM attachments WHERE sha256 = ?'],
  ['attachments', "SELECT 1 FROM attachments, json_each(attachments.thumbnails) AS t WHERE json_extract(t.value, '$.key') = ?"],
  ['account_assets', 'SELECT 1 FROM account_assets WHERE sha256 = ?'],
  ['guild_assets', 'SELECT 1 FROM guild_assets WHERE sha256 = ?'],
  ['emoji', 'SELECT 1 FROM emoji WHERE sha256 = ?'],
  ['embed_previews', 'SELECT 1 FROM embed_previews WHERE sha256 = ?'],
  ['embed_cache', 'SELECT 1 FROM embed_cache WHERE preview_sha256 = ?'],
];

/**
 * Does any record (an attachment's file or thumbnail, an avatar, banner, guild icon or emoji, an
 * embed preview) use this blob? The BlobStore is content-addressed and shared by all of them: the
 * same bytes may belong to several, and a blob may be deleted only when none uses it.
 * `sql` is the caller's statement cache on the attachments database.
 */
export function blobInUse(sql: (text: string) => Database.Statement, sha256: string): boolean {
  const tables = new Set(sql("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]);
  return BLOB_USES.some(([table, query]) => tables.has(table) && sql(`${query} LIMIT 1`).get(sha256) !== undefined);
}
