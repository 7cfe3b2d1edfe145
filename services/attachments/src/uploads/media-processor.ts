/**
 * The hook the upload path calls after a file is stored and before it is recorded: what the
 * media processor (src/media, src/images) gets and must answer. Called for kind `image` (png,
 * apng, jpeg, gif, webp, avif), `video` and `audio`; plain files are never processed.
 *
 * Contract:
 * - Throw an `AttachmentError` to refuse the upload: `unprocessable_image` (422) for a
 *   decompression bomb (over `limits.maxImagePixels`) or an image that does not decode,
 *   `too_many_requests` (429) when the image queue is full. The upload answers that error and
 *   nothing is kept: the upload path deletes the file and every thumbnail `write` stored.
 * - Any other error is logged and the file is kept as a plain attachment without media info
 *   (a processor fault must not lose the user's file).
 * - Thumbnails are stored through `write` (the BlobStore; `key` is the content address), are
 *   recorded with the attachment and served at `/files/<id>/thumbnails/<w>x<h>.<ext>` under the
 *   attachment's access rules. Give distinct sizes; only safe image types (WebP) are shown inline.
 */
export interface MediaInput {
  /** The complete stored file on local disk (a remote BlobStore's file is copied to a temp file first). */
  path: string;
  /** Sniffed from the bytes, never the client's name or declared type. */
  contentType: string;
  size: number;
  /** Stores one thumbnail and answers its key (BlobStore content address). */
  write(thumbnail: ThumbnailToWrite): Promise<{ key: string }>;
}

/** A thumbnail for the store: small (a 1280 px WebP is ~100–250 KB), so a buffer. */
export interface ThumbnailToWrite {
  data: Buffer;
  contentType: string;
  width: number;
  height: number;
}

export interface ProcessedThumbnail {
  /** What `write` answered. */
  key: string;
  width: number;
  height: number;
  contentType: string;
}

export interface MediaInfo {
  /** Images: display size (orientation applied). */
  width?: number;
  height?: number;
  /** Audio and video, when cheap to read; seconds. */
  durationSeconds?: number;
  /** Images: a small inline placeholder (ThumbHash, base64); it travels in IRC tags, so short (≤ 200 chars kept). */
  placeholder?: string;
  /** Images: more than one frame. */
  animated?: boolean;
  /** Ascending by size; empty when none make sense. */
  thumbnails: ProcessedThumbnail[];
}

export interface MediaProcessor {
  process(input: MediaInput): Promise<MediaInfo>;
}
