import type { Readable } from 'node:stream';

/** A stored blob: its content address (lowercase hex SHA-256) and length in bytes. */
export interface BlobInfo {
  sha256: string;
  size: number;
}

export interface PutResult extends BlobInfo {
  /**
   * False when an identical blob was already stored: the new bytes were dropped. Whoever undoes
   * a put (a refused upload) deletes the blob only if it created it and nothing else refers to it.
   */
  created: boolean;
}

export interface PutOptions {
  /** Refuse (AttachmentError `payload_too_large`) as soon as more bytes than this arrive; nothing is kept. */
  maxBytes?: number;
}

/** An inclusive byte range, like HTTP's `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Where file bytes live, addressed by their SHA-256. `LocalBlobStore` keeps them on local disk;
 * an S3-compatible store implements the same four calls (a multipart upload while hashing, a
 * ranged GET, a HEAD, a DELETE). A put either stores the whole stream or nothing.
 */
export interface BlobStore {
  /** Stores a stream (never buffered whole) and answers its address and size. */
  put(source: Readable | AsyncIterable<Uint8Array>, options?: PutOptions): Promise<PutResult>;
  /**
   * Takes ownership of a complete file on this machine (a finished resumable upload): stores it
   * and removes the source. A local store moves it instead of copying.
   */
  putFile(path: string): Promise<PutResult>;
  /** The blob's bytes, whole or one range; AttachmentError `not_found` when missing. */
  open(sha256: string, range?: ByteRange): Promise<Readable>;
  stat(sha256: string): Promise<BlobInfo | undefined>;
  /** Removes the blob; false when it was not there. */
  delete(sha256: string): Promise<boolean>;
  /** A path readable on this machine, when the store has one (sharp reads files fastest). */
  localPath?(sha256: string): string | undefined;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function isContentAddress(value: string): boolean {
  return SHA256_HEX.test(value);
}
