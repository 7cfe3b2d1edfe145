import { availableParallelism } from 'node:os';
import type { Logger } from '@alloquy/service-kit/log';
import sharp, { type Metadata, type Sharp, type SharpOptions } from 'sharp';
import { AttachmentError } from '../errors/attachment-error.js';
import { THUMBNAIL_IMAGE_FORMATS, baseContentType } from '../media/media-kind.js';
import { WorkQueue } from '../media/work-queue.js';
import type { AttachmentsMetrics } from '../metrics/metrics.js';
import { thumbhashPlaceholder } from './placeholder.js';
import { DEFAULT_THUMBNAIL_EDGES, thumbnailEdges } from './thumbnail-plan.js';

/**
 * WebP settings of every thumbnail. Effort 2 (libwebp "method 2") encodes a 1280 px thumbnail in
 * about half the time of the default 4 for files ~3 % larger (measured on 12 MP photos here):
 * thumbnails are made on the upload path, so time wins.
 */
export const THUMBNAIL_WEBP = { quality: 80, effort: 2 } as const;

export interface ImageProcessorOptions {
  /** Decoded pixels (per frame) above which an image is refused: `limits.maxImagePixels`. */
  maxImagePixels: number;
  /** Longest edges of the thumbnails (default 160, 480, 1280). */
  thumbnailEdges?: readonly number[];
  /** Images decoded at once (default: the number of CPUs the process may use). */
  concurrency?: number;
  /** Images that may wait for a slot before `too_many_requests` (default 64). */
  maxQueued?: number;
  /** libvips worker threads per image (sharp.concurrency, process-wide; default 1). */
  threadsPerImage?: number;
  metrics?: Pick<AttachmentsMetrics, 'thumbnails'>;
  log?: Logger;
}

export interface EncodedThumbnail {
  data: Buffer;
  contentType: 'image/webp';
  width: number;
  height: number;
}

export interface ProcessedImage {
  /** Display size: EXIF orientation applied; one frame of an animation. */
  width: number;
  height: number;
  /** More than one frame (GIF or WebP): thumbnails are animated WebP unless the animation was over the pixel limit. */
  animated: boolean;
  /** ThumbHash, base64. */
  placeholder: string;
  /** Ascending by size. */
  thumbnails: EncodedThumbnail[];
}

const ANIMATED_FORMATS = new Set(['gif', 'webp']);

/** An image refused for its size (a `unprocessable_image` like any other, told apart for metrics). */
export class PixelLimitError extends AttachmentError {
  constructor(message: string) {
    super('unprocessable_image', message);
  }
}

/**
 * Dimensions, WebP thumbnails and a ThumbHash placeholder for raster images, with sharp.
 *
 * Decompression bombs: the header is read first (libvips reads headers only for `metadata()`)
 * and anything over `maxImagePixels` per frame is refused before a pixel is decoded; sharp's
 * `limitInputPixels` is set to the same value as a second guard in the decoder itself. An
 * animation whose frames together are over the limit gets still thumbnails of its first frame.
 *
 * Stills are decoded once, at the largest thumbnail size (JPEG and WebP shrink on load, i.e.
 * libjpeg DCT scaling), oriented, and the smaller sizes are resized from that raster.
 * Output carries no metadata (no EXIF, GPS, XMP or ICC: sharp writes none unless asked, and
 * pixels are converted to sRGB first).
 */
export class ImageProcessor {
  readonly edges: readonly number[];
  private readonly queue: WorkQueue;

  constructor(private readonly options: ImageProcessorOptions) {
    if (!Number.isSafeInteger(options.maxImagePixels) || options.maxImagePixels < 1) throw new RangeError('maxImagePixels must be a positive integer');
    this.edges = options.thumbnailEdges ?? DEFAULT_THUMBNAIL_EDGES;
    thumbnailEdges(1, 1, this.edges); // validates the edges
    this.queue = new WorkQueue(
      options.concurrency ?? availableParallelism(),
      options.maxQueued ?? 64,
      () => new AttachmentError('too_many_requests', 'too many images are being processed right now; try again shortly'),
    );
    // Every upload is a different file: libvips' operation cache would only hold memory and file
    // descriptors. Parallelism comes from the queue (one image per CPU), not from threads inside
    // one image, which keeps glibc's per-thread arenas (and so RSS) small.
    sharp.cache(false);
    sharp.concurrency(options.threadsPerImage ?? 1);
  }

  /** Images being decoded and waiting for a slot. */
  get load(): { active: number; queued: number } {
    return { active: this.queue.active, queued: this.queue.queued };
  }

  /**
   * Process the image at `path` (a local file) whose sniffed type is `contentType`. Throws
   * AttachmentError `unprocessable_image` for images over the pixel limit or that cannot be
   * decoded, `too_many_requests` when the queue is full, `unsupported_media_type` for a type
   * that is not a thumbnailed image.
   */
  async process(path: string, contentType: string): Promise<ProcessedImage> {
    const type = baseContentType(contentType);
    const expectedFormat = THUMBNAIL_IMAGE_FORMATS[type];
    if (!expectedFormat) throw new AttachmentError('unsupported_media_type', `${type} is not an image the service makes thumbnails of`);
    try {
      const result = await this.queue.run(() => this.processNow(path, type, expectedFormat));
      this.options.metrics?.thumbnails.inc({ result: 'ok' });
      return result;
    } catch (err) {
      // Our fault, not the image's: the upload path keeps the file without media info.
      if (err instanceof Error && /^Input file is missing/.test(err.message)) throw err;
      const error = asAttachmentError(err, path);
      const result = error instanceof PixelLimitError ? 'refused' : error.code === 'too_many_requests' ? 'busy' : 'failed';
      this.options.metrics?.thumbnails.inc({ result });
      this.options.log?.info({ path, contentType: type, code: error.code, reason: error.message }, 'image not processed');
      throw error;
    }
  }

  private async processNow(path: string, type: string, expectedFormat: string): Promise<ProcessedImage> {
    const max = this.options.maxImagePixels;
    // Header only; the pixel limit is ours to apply here, so sharp's own is lifted for this read.
    const header = await sharp(path, { limitInputPixels: false }).metadata();
    if (header.format !== expectedFormat) {
      throw new AttachmentError('unprocessable_image', `the file is not a valid ${type} image`);
    }
    const { width: frameWidth, height: frameHeight } = header;
    if (!(frameWidth > 0 && frameHeight > 0)) throw new AttachmentError('unprocessable_image', 'the image has no size');
    if (frameWidth * frameHeight > max) {
      throw new PixelLimitError(`the image is ${frameWidth}×${frameHeight} (${frameWidth * frameHeight} pixels), over the pixel limit of ${max}`);
    }
    const frames = header.pages ?? 1;
    const animated = frames > 1 && ANIMATED_FORMATS.has(header.format);
    const decode: SharpOptions = { limitInputPixels: max, failOn: 'error' };

    if (animated && frameWidth * frameHeight * frames <= max) {
      // Frames are not EXIF-rotated (sharp turns multi-page images by 180° only): frame size it is.
      const [width, height] = [frameWidth, frameHeight];
      const edges = thumbnailEdges(width, height, this.edges);
      const animatedInput: SharpOptions = { ...decode, animated: true };
      const [thumbnails, placeholder] = await Promise.all([
        Promise.all(edges.map((edge) => encode(sharp(path, animatedInput).resize(edge, edge, { fit: 'inside', withoutEnlargement: true })))),
        thumbhashPlaceholder(sharp(path, decode)),
      ]);
      return { width, height, animated, placeholder, thumbnails };
    }

    // Stills (and the first frame of an animation too large to thumbnail whole): decode once at
    // the largest size, then everything else from that raster.
    const { width, height } = displaySize(header);
    const edges = thumbnailEdges(width, height, this.edges);
    const largest = edges[edges.length - 1]!;
    const { data, info } = await sharp(path, decode)
      .rotate()
      .resize(largest, largest, { fit: 'inside', withoutEnlargement: true })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    const base = () => sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } });
    const [thumbnails, placeholder] = await Promise.all([
      Promise.all(edges.map((edge) => encode(edge === largest ? base() : base().resize(edge, edge, { fit: 'inside' })))),
      thumbhashPlaceholder(base()),
    ]);
    return { width, height, animated, placeholder, thumbnails };
  }
}

/** The size people see: EXIF orientations 5–8 swap width and height. */
function displaySize(header: Metadata): { width: number; height: number } {
  return header.autoOrient ?? { width: header.width, height: header.height };
}

async function encode(image: Sharp): Promise<EncodedThumbnail> {
  const { data, info } = await image.webp(THUMBNAIL_WEBP).toBuffer({ resolveWithObject: true });
  return { data, contentType: 'image/webp', width: info.width, height: info.pageHeight ?? info.height };
}

/**
 * sharp/libvips errors as the service's error: the first line of libvips' message says what is
 * wrong (without the server's file path, should libvips name it).
 */
function asAttachmentError(err: unknown, path: string): AttachmentError {
  if (err instanceof AttachmentError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const firstLine = message.split('\n', 1)[0]!.split(path).join('the file').trim();
  if (/exceeds pixel limit/i.test(message)) {
    return new PixelLimitError('the image is over the pixel limit');
  }
  return new AttachmentError('unprocessable_image', `the image could not be decoded: ${firstLine}`);
}
