import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { AttachmentError } from '../errors/attachment-error.js';
import { ImageProcessor } from '../images/image-processor.js';
import type { BlobStore } from '../storage/blob-store.js';
import { SNIFF_BYTES, sniffContentType } from '../uploads/content-type.js';
import type { EmbedStore, PreviewRecord } from './embed-store.js';

/** The preview's longest edge. */
export const PREVIEW_EDGE = 400;

export interface PreviewOptions {
  /** The upload thumbnailer, set up for one size (see {@link createPreviewImageProcessor}). */
  images: ImageProcessor;
  blobs: BlobStore;
  store: EmbedStore;
  /** Where the fetched image waits while it is decoded (the OS temp folder by default). */
  tempDir?: string;
}

export interface Preview extends PreviewRecord {
  /** ThumbHash, base64: clients paint it while the preview loads. */
  placeholder: string;
}

/**
 * An ImageProcessor (src/images, the upload thumbnailer) making the one preview size, with the
 * service's pixel limit. Its own queue, one image at a time: previews are made while someone
 * waits for an embed, but never at the expense of uploads.
 */
export function createPreviewImageProcessor(maxImagePixels: number): ImageProcessor {
  return new ImageProcessor({ maxImagePixels, thumbnailEdges: [PREVIEW_EDGE], concurrency: 1, maxQueued: 16 });
}

/**
 * Turns a fetched image into the embed's preview with the upload thumbnailer: the type is sniffed
 * from the bytes (never the server's Content-Type), the pixel limit is checked from the header
 * before decoding, orientation is applied, metadata stripped, animation kept. The WebP goes to
 * the BlobStore and is listed for the preview route.
 */
export class PreviewMaker {
  constructor(private readonly options: PreviewOptions) {}

  /** Throws AttachmentError `unprocessable_image` (not an image, too many pixels, undecodable), `too_many_requests`. */
  async make(bytes: Buffer): Promise<Preview> {
    const { contentType } = await sniffContentType(bytes.subarray(0, SNIFF_BYTES));
    const dir = await mkdtemp(join(this.options.tempDir ?? tmpdir(), 'alloquy-embed-'));
    try {
      const path = join(dir, 'image');
      await writeFile(path, bytes, { mode: 0o600 });
      let processed;
      try {
        processed = await this.options.images.process(path, contentType);
      } catch (err) {
        if (err instanceof AttachmentError && err.code === 'unsupported_media_type')
          throw new AttachmentError('unprocessable_image', `the preview image is ${contentType}, not an image we decode`);
        throw err;
      }
      const thumbnail = processed.thumbnails[processed.thumbnails.length - 1]!;
      const stored = await this.options.blobs.put(Readable.from([thumbnail.data]));
      const record: PreviewRecord = {
        sha256: stored.sha256,
        contentType: thumbnail.contentType,
        width: thumbnail.width,
        height: thumbnail.height,
        size: stored.size,
      };
      this.options.store.recordPreview(record);
      return { ...record, placeholder: processed.placeholder };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
