import { createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Request } from 'express';
import sharp, { type SharpOptions } from 'sharp';
import { AttachmentError } from '../errors/attachment-error.js';
import { PixelLimitError, THUMBNAIL_WEBP } from '../images/image-processor.js';
import { THUMBNAIL_IMAGE_FORMATS } from '../media/media-kind.js';
import { WorkQueue } from '../media/work-queue.js';
import { SNIFF_BYTES, sniffContentType } from '../uploads/content-type.js';

/** The largest image body accepted for an avatar, banner, icon or emoji. */
export const ASSET_MAX_BYTES = 8 * 1024 * 1024;

/** The formats accepted (sniffed from the bytes); APNG and AVIF are not among them. */
const ACCEPTED_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);
const ANIMATED_FORMATS = new Set(['gif', 'webp']);

/** What an uploaded image becomes: cover-cropped to exactly this size, as WebP. */
export interface AssetShape {
  width: number;
  height: number;
  /** Animated GIF/WebP stay animated (emoji); otherwise the first frame is kept. */
  keepAnimation: boolean;
}

export const AVATAR_SHAPE: AssetShape = { width: 256, height: 256, keepAnimation: false };
export const BANNER_SHAPE: AssetShape = { width: 960, height: 540, keepAnimation: false };
export const ICON_SHAPE: AssetShape = { width: 256, height: 256, keepAnimation: false };
export const EMOJI_SHAPE: AssetShape = { width: 128, height: 128, keepAnimation: true };

export interface NormalisedImage {
  data: Buffer;
  contentType: 'image/webp';
  width: number;
  height: number;
  animated: boolean;
}

/** A received request body, on disk in a private temp folder; `dispose` removes it. */
export interface ReceivedImage {
  path: string;
  contentType: string;
  dispose(): Promise<void>;
}

/**
 * Writes the request body to a temp file (never held in memory), refusing it with
 * `payload_too_large` as soon as it passes `maxBytes`, then sniffs its type from the bytes (the
 * declared Content-Type is ignored): `unsupported_media_type` unless PNG, JPEG, GIF or WebP,
 * `invalid_request` when empty. Nothing is kept after a refusal.
 */
export async function receiveImage(req: Request, maxBytes = ASSET_MAX_BYTES): Promise<ReceivedImage> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  const dir = await mkdtemp(join(tmpdir(), 'alloquy-asset-'));
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    const path = join(dir, 'image');
    const received = await writeCapped(req, path, maxBytes);
    if (received === 0) throw new AttachmentError('invalid_request', 'the request body (the image) is empty');
    const head = Buffer.alloc(Math.min(received, SNIFF_BYTES));
    const file = await open(path, 'r');
    try {
      await file.read(head, 0, head.length, 0);
    } finally {
      await file.close();
    }
    const { contentType } = await sniffContentType(head);
    if (!ACCEPTED_TYPES.has(contentType)) {
      throw new AttachmentError('unsupported_media_type', `the body is ${contentType}; send a PNG, JPEG, GIF or WebP image`);
    }
    return { path, contentType, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/**
 * Copies the body to `path`, at most `maxBytes`. The request stream is never destroyed (a
 * pipeline would, and with it the socket, before the refusal could be sent): on overflow it is
 * only unpiped, and the route's early-refusal handling drains it and closes the connection.
 */
function writeCapped(req: Request, path: string, maxBytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(path, { mode: 0o600 });
    let received = 0;
    let settled = false;
    const stop = (err: Error) => {
      if (settled) return;
      settled = true;
      req.off('data', count);
      req.off('close', interrupted);
      req.unpipe(out);
      out.destroy();
      reject(err);
    };
    const count = (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes) stop(tooLarge(maxBytes));
    };
    const interrupted = () => {
      if (!req.complete) stop(new AttachmentError('invalid_request', 'the upload was interrupted'));
    };
    // Registered before pipe's own listener, so an over-size chunk is refused before it is written.
    req.on('data', count);
    req.on('close', interrupted);
    req.on('error', stop);
    out.on('error', stop);
    out.on('finish', () => {
      if (settled) return;
      settled = true;
      req.off('data', count);
      req.off('close', interrupted);
      resolve(received);
    });
    req.pipe(out);
  });
}

function tooLarge(maxBytes: number): AttachmentError {
  return new AttachmentError('payload_too_large', `the image is larger than ${maxBytes} bytes`);
}

export interface AssetImagesOptions {
  /** `limits.maxImagePixels`: decoded pixels per frame (and over all frames of an animation kept animated). */
  maxImagePixels: number;
  /** Images decoded at once (default 1: profile pictures never compete with uploads for long). */
  concurrency?: number;
  maxQueued?: number;
}

/**
 * Turns an accepted image into the asset's WebP with sharp, with the same bomb guard as the
 * upload thumbnailer (src/images): the header is read first and an image over the pixel limit is
 * refused (`PixelLimitError`, 422) before a pixel is decoded, and sharp's own `limitInputPixels`
 * stays on as a second guard. EXIF orientation is applied; no metadata is written.
 */
export class AssetImages {
  private readonly queue: WorkQueue;

  constructor(private readonly options: AssetImagesOptions) {
    this.queue = new WorkQueue(
      options.concurrency ?? 1,
      options.maxQueued ?? 32,
      () => new AttachmentError('too_many_requests', 'too many images are being processed right now; try again shortly'),
    );
  }

  async normalise(image: Pick<ReceivedImage, 'path' | 'contentType'>, shape: AssetShape): Promise<NormalisedImage> {
    try {
      return await this.queue.run(() => this.normaliseNow(image.path, image.contentType, shape));
    } catch (err) {
      if (err instanceof AttachmentError) throw err;
      const firstLine = (err instanceof Error ? err.message : String(err)).split('\n', 1)[0]!.split(image.path).join('the file').trim();
      if (/exceeds pixel limit/i.test(firstLine)) throw new PixelLimitError('the image is over the pixel limit');
      throw new AttachmentError('unprocessable_image', `the image could not be decoded: ${firstLine}`);
    }
  }

  private async normaliseNow(path: string, contentType: string, shape: AssetShape): Promise<NormalisedImage> {
    const max = this.options.maxImagePixels;
    const header = await sharp(path, { limitInputPixels: false }).metadata();
    if (header.format !== THUMBNAIL_IMAGE_FORMATS[contentType])
      throw new AttachmentError('unprocessable_image', `the file is not a valid ${contentType} image`);
    const { width, height } = header;
    if (!(width > 0 && height > 0)) throw new AttachmentError('unprocessable_image', 'the image has no size');
    if (width * height > max) throw new PixelLimitError(`the image is ${width}×${height} (${width * height} pixels), over the pixel limit of ${max}`);
    const frames = header.pages ?? 1;
    // An animation too large to decode whole keeps its first frame, as thumbnails do.
    const animated = shape.keepAnimation && frames > 1 && ANIMATED_FORMATS.has(header.format) && width * height * frames <= max;
    const decode: SharpOptions = { limitInputPixels: max, failOn: 'error', animated };
    let pipelineStart = sharp(path, decode);
    // Frames of an animation are not EXIF-rotated (sharp would only turn them by 180°).
    if (!animated) pipelineStart = pipelineStart.rotate().toColourspace('srgb');
    const { data, info } = await pipelineStart
      .resize(shape.width, shape.height, { fit: 'cover', position: 'centre' })
      .webp(THUMBNAIL_WEBP)
      .toBuffer({ resolveWithObject: true });
    return { data, contentType: 'image/webp', width: info.width, height: info.pageHeight ?? info.height, animated };
  }
}
