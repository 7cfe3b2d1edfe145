import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '@alloquy/service-kit/log';
import type { ChannelSummary, Principal } from '../authz/authorizer.js';
import { AttachmentError } from '../errors/attachment-error.js';
import type { AttachmentsMetrics } from '../metrics/metrics.js';
import type { BlobStore, PutResult } from '../storage/blob-store.js';
import type { AttachmentRecord, AttachmentStore, StoredThumbnail } from '../store/attachment-store.js';
import { SNIFF_BYTES, kindOf, sniffContentType } from './content-type.js';
import { sanitizeFilename } from './filename.js';
import type { MediaInfo, MediaProcessor } from './media-processor.js';

/** Keeps a copy of the first `limit` bytes passing through (for sniffing the type). */
class HeadSample extends Transform {
  private readonly chunks: Buffer[] = [];
  private kept = 0;

  constructor(private readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.kept < this.limit) {
      const part = chunk.subarray(0, this.limit - this.kept);
      this.chunks.push(Buffer.from(part));
      this.kept += part.length;
    }
    callback(null, chunk);
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** A file in the BlobStore that no attachment records yet, with its first bytes. */
export interface StoredUpload {
  blob: PutResult;
  head: Buffer;
}

/** Who uploads, where, under which (client-given) name. */
export interface UploadTarget {
  principal: Principal;
  channel: Pick<ChannelSummary, 'id' | 'name'>;
  filename: string | undefined;
}

export interface IngestDeps {
  store: AttachmentStore;
  blobs: BlobStore;
  mediaProcessor?: MediaProcessor;
  metrics: AttachmentsMetrics;
  log: Logger;
  now?: () => number;
}

/**
 * The one path from received bytes to a recorded attachment, shared by the multipart and the
 * resumable uploads: store the bytes, sniff the type from the first bytes, let the media
 * processor read dimensions and write thumbnails, record the metadata. A refusal at any step
 * leaves nothing behind.
 */
export class AttachmentIngest {
  private readonly now: () => number;
  /**
   * Blobs stored by uploads that are not recorded yet. Two uploads of the same bytes share one
   * blob; one of them being refused must not delete it under the other.
   */
  private readonly pending = new Map<string, number>();

  constructor(private readonly deps: IngestDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Streams an upload into the BlobStore, refusing it as soon as it passes `maxBytes`. */
  async receive(source: Readable, maxBytes: number): Promise<StoredUpload> {
    const sample = new HeadSample(SNIFF_BYTES);
    const [piped, stored] = await Promise.allSettled([pipeline(source, sample), this.deps.blobs.put(sample, { maxBytes })]);
    if (stored.status === 'rejected') {
      // The store's own refusal (too large) says more than the broken pipe it caused upstream.
      throw stored.reason instanceof AttachmentError || piped.status === 'fulfilled' ? stored.reason : piped.reason;
    }
    this.hold(stored.value.sha256);
    if (piped.status === 'rejected') {
      await this.release(stored.value.sha256);
      throw piped.reason;
    }
    return this.checked({ blob: stored.value, head: sample.bytes() });
  }

  /** Moves a complete local file (a finished resumable upload) into the BlobStore. */
  async receiveFile(path: string): Promise<StoredUpload> {
    const head = await readHead(path);
    const blob = await this.deps.blobs.putFile(path);
    this.hold(blob.sha256);
    return this.checked({ blob, head });
  }

  /**
   * Turns a stored upload into an attachment record, or refuses it (and deletes what it
   * stored). `record` writes the row: the resumable path records its upload as complete in
   * the same transaction.
   */
  async finish(
    upload: StoredUpload,
    target: UploadTarget,
    record: (attachment: AttachmentRecord) => void = (a) => this.deps.store.insert(a),
  ): Promise<AttachmentRecord> {
    const { blob } = upload;
    const thumbnails: PutResult[] = [];
    let kind: AttachmentRecord['kind'] = 'file';
    try {
      const sniffed = await sniffContentType(upload.head);
      kind = kindOf(sniffed.contentType);
      const media = kind !== 'file' && this.deps.mediaProcessor ? await this.process(blob, sniffed.contentType, thumbnails) : { thumbnails: [] };
      const attachment: AttachmentRecord = {
        id: newAttachmentId(),
        sha256: blob.sha256,
        size: blob.size,
        contentType: sniffed.contentType,
        filename: sanitizeFilename(target.filename, sniffed.extension),
        channel: target.channel.name,
        channelId: target.channel.id,
        uploaderAccountId: target.principal.accountId,
        uploader: target.principal.account,
        kind,
        ...pickMedia(media),
        thumbnails: pickThumbnails(media, thumbnails),
        createdAt: this.now(),
      };
      record(attachment);
      this.deps.metrics.uploads.inc({ kind, result: 'stored' });
      this.deps.metrics.uploadedBytes.inc(blob.size);
      return attachment;
    } catch (err) {
      this.deps.metrics.uploads.inc({ kind, result: err instanceof AttachmentError ? 'refused' : 'failed' });
      throw err;
    } finally {
      // Recorded: the row keeps the blobs. Refused: nothing refers to them and they go.
      await Promise.all([blob, ...thumbnails].map(({ sha256 }) => this.release(sha256)));
    }
  }

  /** Drops a stored upload that will not become an attachment (refused after storing). */
  async abandon(upload: StoredUpload): Promise<void> {
    await this.release(upload.blob.sha256);
  }

  /** Media info and thumbnails; every thumbnail stored is held (and listed in `written`) until the caller releases it. */
  private async process(blob: PutResult, contentType: string, written: PutResult[]): Promise<MediaInfo> {
    const { blobs, log } = this.deps;
    const local = blobs.localPath?.(blob.sha256);
    const spooled = local ? undefined : await this.spool(blob.sha256);
    try {
      return await this.deps.mediaProcessor!.process({
        path: local ?? spooled!,
        contentType,
        size: blob.size,
        write: async (thumbnail) => {
          const stored = await blobs.put(Readable.from([thumbnail.data]));
          this.hold(stored.sha256);
          written.push(stored);
          return { key: stored.sha256 };
        },
      });
    } catch (err) {
      if (err instanceof AttachmentError) throw err;
      // Media info is a nicety: a processor fault must not lose the user's file.
      log.error({ err, sha256: blob.sha256, contentType }, 'media processing failed; storing the file without media info');
      return { thumbnails: [] };
    } finally {
      if (spooled) await rm(spooled, { force: true });
    }
  }

  /** A BlobStore without local files: the processor still gets a path, to a temp copy. */
  private async spool(sha256: string): Promise<string> {
    const path = join(tmpdir(), `alloquy-media-${randomBytes(8).toString('hex')}`);
    try {
      await pipeline(await this.deps.blobs.open(sha256), createWriteStream(path, { flags: 'wx', mode: 0o600 }));
    } catch (err) {
      await rm(path, { force: true });
      throw err;
    }
    return path;
  }

  /**
   * An upload whose bytes were already stored shares that blob. If the upload that stored it was
   * refused in the instant before this one took hold, the blob is gone: say so rather than
   * record a file that does not exist.
   */
  private async checked(upload: StoredUpload): Promise<StoredUpload> {
    if (!upload.blob.created && !(await this.deps.blobs.stat(upload.blob.sha256))) {
      await this.release(upload.blob.sha256);
      throw new AttachmentError('conflict', 'an identical file was withdrawn at the same moment: please upload again');
    }
    return upload;
  }

  private hold(sha256: string): void {
    this.pending.set(sha256, (this.pending.get(sha256) ?? 0) + 1);
  }

  /** Ends this upload's hold on a blob; deletes it when nothing holds or records it. */
  private async release(sha256: string): Promise<void> {
    const left = (this.pending.get(sha256) ?? 1) - 1;
    if (left > 0) {
      this.pending.set(sha256, left);
      return;
    }
    this.pending.delete(sha256);
    await this.releaseUnreferenced(sha256);
  }

  private async releaseUnreferenced(sha256: string): Promise<void> {
    if (this.pending.has(sha256) || this.deps.store.blobInUse(sha256)) return;
    try {
      await this.deps.blobs.delete(sha256);
    } catch (err) {
      this.deps.log.warn({ err, sha256 }, 'could not delete an unreferenced blob');
    }
  }
}

/**
 * The thumbnails the processor stored through `write`, one per size (URLs address them by size),
 * with their byte size so a download needs no stat of the blob.
 */
function pickThumbnails(media: MediaInfo, written: readonly PutResult[]): StoredThumbnail[] {
  const seen = new Set<string>();
  const out: StoredThumbnail[] = [];
  for (const t of media.thumbnails) {
    const dimensions = `${t.width}x${t.height}`;
    const blob = written.find((w) => w.sha256 === t.key);
    if (!blob || seen.has(dimensions) || !(t.width > 0 && t.height > 0)) continue;
    seen.add(dimensions);
    out.push({ key: t.key, width: t.width, height: t.height, contentType: t.contentType, size: blob.size });
  }
  return out;
}

function pickMedia(media: MediaInfo): Pick<AttachmentRecord, 'width' | 'height' | 'durationSeconds' | 'placeholder' | 'animated'> {
  const out: Pick<AttachmentRecord, 'width' | 'height' | 'durationSeconds' | 'placeholder' | 'animated'> = {};
  if (media.animated === true) out.animated = true;
  if (Number.isSafeInteger(media.width) && media.width! > 0) out.width = media.width!;
  if (Number.isSafeInteger(media.height) && media.height! > 0) out.height = media.height!;
  if (typeof media.durationSeconds === 'number' && Number.isFinite(media.durationSeconds) && media.durationSeconds >= 0)
    out.durationSeconds = media.durationSeconds;
  if (typeof media.placeholder === 'string' && media.placeholder.length > 0 && media.placeholder.length <= 200) out.placeholder = media.placeholder;
  return out;
}

/** 128 random bits, URL-safe: a public file's URL is its only credential. */
export function newAttachmentId(): string {
  return randomBytes(16).toString('base64url');
}

async function readHead(path: string): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await file.read(buffer, 0, SNIFF_BYTES, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}
