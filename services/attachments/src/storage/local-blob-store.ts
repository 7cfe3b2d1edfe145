import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AttachmentError } from '../errors/attachment-error.js';
import { isContentAddress, type BlobInfo, type BlobStore, type ByteRange, type PutOptions, type PutResult } from './blob-store.js';

/** Temp files older than this at start-up were left by a crash mid-upload. */
const STALE_TEMP_MS = 60 * 60 * 1000;

/**
 * Hashes and counts the bytes flowing through it, and fails the stream the moment the count
 * passes `maxBytes`, so an oversized upload stops while it is being received.
 */
export class HashingCounter extends Transform {
  readonly hash: Hash = createHash('sha256');
  bytes = 0;

  constructor(private readonly maxBytes = Number.POSITIVE_INFINITY) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      callback(new AttachmentError('payload_too_large', `the file is larger than the ${this.maxBytes} bytes you may upload here`));
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }
}

/**
 * Content-addressed blobs on local disk: `<dir>/ab/cd/<sha256>`. A put writes to a temp file
 * in `<dir>/tmp` while hashing, flushes it to disk, then renames it into place, so a blob path
 * either holds the complete bytes or does not exist. The temp folder is on the same file system
 * as the blobs (rename is atomic only there).
 */
export class LocalBlobStore implements BlobStore {
  private readonly tmpDir: string;

  private constructor(readonly dir: string) {
    this.tmpDir = join(dir, 'tmp');
  }

  /** Creates the folders and removes temp files a crash left behind. */
  static async open(dir: string): Promise<LocalBlobStore> {
    const store = new LocalBlobStore(dir);
    await mkdir(store.tmpDir, { recursive: true, mode: 0o750 });
    const now = Date.now();
    for (const name of await readdir(store.tmpDir)) {
      const path = join(store.tmpDir, name);
      const info = await stat(path).catch(() => undefined);
      if (info && now - info.mtimeMs > STALE_TEMP_MS) await rm(path, { force: true });
    }
    return store;
  }

  pathOf(sha256: string): string {
    if (!isContentAddress(sha256)) throw new AttachmentError('not_found', 'no such blob');
    return join(this.dir, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  localPath(sha256: string): string {
    return this.pathOf(sha256);
  }

  async put(source: Readable | AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<PutResult> {
    const temp = join(this.tmpDir, `${randomBytes(12).toString('hex')}.part`);
    const counter = new HashingCounter(options.maxBytes);
    try {
      // flush: the bytes are on disk before the metadata row that points at them is committed.
      await pipeline(source, counter, createWriteStream(temp, { flags: 'wx', mode: 0o640, flush: true }));
      return await this.settle(temp, counter.hash.digest('hex'), counter.bytes);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  async putFile(path: string): Promise<PutResult> {
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
    }
    try {
      return await this.settle(path, hash.digest('hex'), size);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      // Uploads folder on another file system: copy, then drop the source.
      const result = await this.put(createReadStream(path));
      await rm(path, { force: true });
      return result;
    }
  }

  /** Moves a complete, hashed file to its address, or drops it when that blob already exists. */
  private async settle(file: string, sha256: string, size: number): Promise<PutResult> {
    const target = this.pathOf(sha256);
    if (await exists(target)) {
      await rm(file, { force: true });
      return { sha256, size, created: false };
    }
    await mkdir(dirname(target), { recursive: true, mode: 0o750 });
    await rename(file, target);
    return { sha256, size, created: true };
  }

  async open(sha256: string, range?: ByteRange): Promise<Readable> {
    const path = this.pathOf(sha256);
    let handle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new AttachmentError('not_found', 'the file is no longer stored');
      throw err;
    }
    return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
  }

  async stat(sha256: string): Promise<BlobInfo | undefined> {
    if (!isContentAddress(sha256)) return undefined;
    const info = await stat(this.pathOf(sha256)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    return info ? { sha256, size: info.size } : undefined;
  }

  async delete(sha256: string): Promise<boolean> {
    if (!isContentAddress(sha256)) return false;
    try {
      await unlink(this.pathOf(sha256));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
