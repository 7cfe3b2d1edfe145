/**
 * Images through the real media processor and real sharp, from files on disk: dimensions,
 * thumbnail sizes, orientation, metadata stripping, animation, placeholders, refusals.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { thumbHashToApproximateAspectRatio, thumbHashToAverageRGBA } from 'thumbhash';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttachmentError } from '../../src/errors/attachment-error.js';
import { LocalMediaProcessor, type MediaInfo, type ThumbnailToWrite } from '../../src/media/media-processor.js';
import { AttachmentsMetrics } from '../../src/metrics/metrics.js';

const dir = mkdtempSync(join(tmpdir(), 'alloquy-images-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const metrics = new AttachmentsMetrics();
const processor = new LocalMediaProcessor({ maxImagePixels: 100_000_000, metrics });
let fileNumber = 0;

interface Processed {
  info: MediaInfo;
  /** What `write` received, by key. */
  written: Map<string, ThumbnailToWrite>;
}

async function processFile(bytes: Buffer, contentType: string, p: LocalMediaProcessor = processor): Promise<Processed> {
  const path = join(dir, `upload-${fileNumber++}`);
  writeFileSync(path, bytes);
  const written = new Map<string, ThumbnailToWrite>();
  const info = await p.process({
    path,
    contentType,
    size: bytes.length,
    write: async (thumbnail) => {
      const key = `thumb-${written.size}`;
      written.set(key, thumbnail);
      return { key };
    },
  });
  return { info, written };
}

function thumbnailBytes(result: Processed, index: number): Buffer {
  return result.written.get(result.info.thumbnails[index]!.key)!.data;
}

async function expectRefused(promise: Promise<unknown>, message: RegExp): Promise<AttachmentError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AttachmentError);
  expect((err as AttachmentError).code).toBe('unprocessable_image');
  expect((err as AttachmentError).status).toBe(422);
  expect((err as AttachmentError).message).toMatch(message);
  return err as AttachmentError;
}

/** Left half red, right half blue: which way it was turned shows in the output. */
async function twoColour(width: number, height: number): Promise<Sharp> {
  const half = Math.floor(width / 2);
  const blue = await sharp({ create: { width: width - half, height, channels: 3, background: '#0000ff' } })
    .png()
    .toBuffer();
  return sharp({ create: { width, height, channels: 3, background: '#ff0000' } }).composite([{ input: blue, left: half, top: 0 }]);
}

async function pixel(image: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(image).raw().toBuffer({ resolveWithObject: true });
  const i = (y * info.width + x) * info.channels;
  return [...data.subarray(i, i + 3)];
}

let photo: Buffer;
beforeAll(async () => {
  // A 12 MP-class photo stand-in: gradients and noise, JPEG quality 90.
  const noise = await sharp({ create: { width: 200, height: 150, channels: 3, background: '#000000', noise: { type: 'gaussian', mean: 128, sigma: 50 } } })
    .png()
    .toBuffer();
  photo = await sharp(noise).resize(2000, 1500).jpeg({ quality: 90 }).toBuffer();
});

describe('still images', () => {
  it('gives dimensions, three WebP thumbnails at the planned sizes and a placeholder for a JPEG', async () => {
    const result = await processFile(photo, 'image/jpeg');
    expect(result.info).toMatchObject({ width: 2000, height: 1500, animated: false });
    expect(result.info.thumbnails.map((t) => [t.width, t.height, t.contentType])).toEqual([
      [160, 120, 'image/webp'],
      [480, 360, 'image/webp'],
      [1280, 960, 'image/webp'],
    ]);
    for (const [i, t] of result.info.thumbnails.entries()) {
      const meta = await sharp(thumbnailBytes(result, i)).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['webp', t.width, t.height]);
    }
    const hash = Buffer.from(result.info.placeholder!, 'base64');
    expect(hash.length).toBeGreaterThan(15);
    expect(hash.length).toBeLessThan(40);
    // ThumbHash stores the aspect ratio coarsely.
    expect(Math.abs(thumbHashToApproximateAspectRatio(hash) - 4 / 3)).toBeLessThan(0.1);
  });

  it('never upscales: a small PNG keeps its alpha and gets one copy at its own size', async () => {
    const png = await sharp({ create: { width: 300, height: 200, channels: 4, background: { r: 0, g: 128, b: 0, alpha: 0.5 } } })
      .png()
      .toBuffer();
    const result = await processFile(png, 'image/png');
    expect(result.info.thumbnails.map((t) => [t.width, t.height])).toEqual([
      [160, 107],
      [300, 200],
    ]);
    const meta = await sharp(thumbnailBytes(result, 1)).metadata();
    expect(meta.hasAlpha).toBe(true);
    const average = thumbHashToAverageRGBA(Buffer.from(result.info.placeholder!, 'base64'));
    expect(average.a).toBeGreaterThan(0.3);
    expect(average.a).toBeLessThan(0.7);
  });

  it('handles 16-bit grey, CMYK JPEG and AVIF input', async () => {
    const grey16 = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#808080' } })
      .toColourspace('grey16')
      .png()
      .toBuffer();
    const cmyk = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#ff8000' } })
      .toColourspace('cmyk')
      .jpeg()
      .toBuffer();
    const avif = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#2040a0' } })
      .avif({ quality: 50 })
      .toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    for (const [bytes, type] of [
      [grey16, 'image/png'],
      [cmyk, 'image/jpeg'],
      [avif, 'image/avif'],
    ] as const) {
      const result = await processFile(bytes, type);
      expect(result.info.thumbnails.map((t) => [t.width, t.height])).toEqual([
        [160, 120],
        [480, 360],
        [640, 480],
      ]);
      expect(result.info.placeholder).toBeTruthy();
      const meta = await sharp(thumbnailBytes(result, 2)).metadata();
      expect(meta.space).toBe('srgb');
    }
    // CMYK orange comes out orange in sRGB.
    const cmykResult = await processFile(cmyk, 'image/jpeg');
    const [r, g, b] = await pixel(thumbnailBytes(cmykResult, 0), 80, 60);
    expect(r).toBeGreaterThan(200);
    expect(g).toBeGreaterThan(80);
    expect(g).toBeLessThan(180);
    expect(b).toBeLessThan(60);
  });

  it('applies EXIF orientation: an orientation-6 JPEG comes out turned a quarter clockwise', async () => {
    const jpeg = await (await twoColour(400, 200)).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
    expect((await sharp(jpeg).metadata()).orientation).toBe(6);
    const result = await processFile(jpeg, 'image/jpeg');
    expect([result.info.width, result.info.height]).toEqual([200, 400]);
    expect(result.info.thumbnails.map((t) => [t.width, t.height])).toEqual([
      [80, 160],
      [200, 400],
    ]);
    const largest = thumbnailBytes(result, 1);
    expect((await sharp(largest).metadata()).orientation).toBeUndefined();
    // Turned clockwise, the red left half is now on top and the blue right half below.
    const [tr, , tb] = await pixel(largest, 100, 50);
    const [br, , bb] = await pixel(largest, 100, 350);
    expect(tr).toBeGreaterThan(200);
    expect(tb).toBeLessThan(60);
    expect(br).toBeLessThan(60);
    expect(bb).toBeGreaterThan(200);
  });

  it('strips EXIF (GPS included), XMP and ICC from every thumbnail', async () => {
    const secret = 'AlloquySecretPhotographer';
    const jpeg = await sharp(photo)
      .resize(800, 600)
      .jpeg()
      .withExif({
        IFD0: { Artist: secret, Copyright: 'AlloquyCopyrightNotice' },
        IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 0/1', GPSLongitudeRef: 'W', GPSLongitude: '0/1 7/1 0/1' },
      })
      .withXmp(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description about="AlloquyXmpMarker"/></rdf:RDF></x:xmpmeta>',
      )
      .withIccProfile('p3')
      .toBuffer();
    const input = await sharp(jpeg).metadata();
    // The input really carries them: GPS IFD pointer tag 0x8825, in either byte order.
    expect(input.exif!.includes(secret)).toBe(true);
    expect(input.exif!.includes(Buffer.from([0x88, 0x25])) || input.exif!.includes(Buffer.from([0x25, 0x88]))).toBe(true);
    expect(input.xmp).toBeDefined();
    expect(input.icc).toBeDefined();

    const result = await processFile(jpeg, 'image/jpeg');
    expect(result.info.thumbnails).toHaveLength(3);
    for (const [i] of result.info.thumbnails.entries()) {
      const bytes = thumbnailBytes(result, i);
      const meta = await sharp(bytes).metadata();
      expect(meta.exif).toBeUndefined();
      expect(meta.xmp).toBeUndefined();
      expect(meta.icc).toBeUndefined();
      for (const marker of ['EXIF', 'Exif', 'XMP ', 'ICCP', secret, 'AlloquyCopyrightNotice', 'AlloquyXmpMarker']) {
        expect(bytes.includes(marker)).toBe(false);
      }
    }
  });
});

describe('animated images', () => {
  async function animation(format: 'gif' | 'webp', width: number, height: number, colours: string[]): Promise<Buffer> {
    const frames = await Promise.all(
      colours.map((background) =>
        sharp({ create: { width, height, channels: 4, background } })
          .png()
          .toBuffer(),
      ),
    );
    const joined = sharp(frames, { join: { animated: true } });
    const delay = colours.map(() => 120);
    return format === 'gif' ? joined.gif({ delay, loop: 0 }).toBuffer() : joined.webp({ delay, loop: 0 }).toBuffer();
  }

  it('keeps an animated GIF animated: animated WebP thumbnails with every frame and the delays', async () => {
    const gif = await animation('gif', 600, 400, ['red', 'lime', 'blue']);
    expect((await sharp(gif).metadata()).pages).toBe(3);
    const result = await processFile(gif, 'image/gif');
    expect(result.info).toMatchObject({ width: 600, height: 400, animated: true });
    expect(result.info.thumbnails.map((t) => [t.width, t.height])).toEqual([
      [160, 107],
      [480, 320],
      [600, 400],
    ]);
    for (const [i, t] of result.info.thumbnails.entries()) {
      const meta = await sharp(thumbnailBytes(result, i)).metadata();
      expect(meta.format).toBe('webp');
      expect(meta.pages).toBe(3);
      expect([meta.width, meta.pageHeight ?? meta.height]).toEqual([t.width, t.height]);
      expect(meta.delay).toEqual([120, 120, 120]);
      expect(meta.loop).toBe(0);
    }
    expect(result.info.placeholder).toBeTruthy();
  });

  it('keeps an animated WebP animated', async () => {
    const webp = await animation('webp', 320, 240, ['red', 'lime', 'blue', 'white']);
    const result = await processFile(webp, 'image/webp');
    expect(result.info.animated).toBe(true);
    expect(result.info.thumbnails.map((t) => [t.width, t.height])).toEqual([
      [160, 120],
      [320, 240],
    ]);
    expect((await sharp(thumbnailBytes(result, 0)).metadata()).pages).toBe(4);
  });

  it('thumbnails the first frame only when the frames together are over the pixel limit', async () => {
    const gif = await animation('gif', 300, 200, ['red', 'lime', 'blue']);
    const tight = new LocalMediaProcessor({ maxImagePixels: 300 * 200 * 2 });
    const result = await processFile(gif, 'image/gif', tight);
    expect(result.info).toMatchObject({ width: 300, height: 200, animated: true });
    const meta = await sharp(thumbnailBytes(result, 0)).metadata();
    expect(meta.pages ?? 1).toBe(1);
    const [r, g, b] = await pixel(thumbnailBytes(result, 0), 10, 10);
    expect([r! > 200, g! < 60, b! < 60]).toEqual([true, true, true]);
  });
});

describe('refusals', () => {
  it('refuses an image over the pixel limit before decoding, and writes nothing', async () => {
    const tight = new LocalMediaProcessor({ maxImagePixels: 1_000_000 });
    const path = join(dir, 'big.jpg');
    writeFileSync(path, photo);
    let writes = 0;
    const err = await expectRefused(
      tight.process({ path, contentType: 'image/jpeg', size: photo.length, write: async () => ({ key: String(writes++) }) }),
      /2000×1500 \(3000000 pixels\), over the pixel limit of 1000000/,
    );
    expect(err.toJSON().error.code).toBe('unprocessable_image');
    expect(writes).toBe(0);
  });

  it('refuses a truncated JPEG, a corrupted PNG and bytes that are no image, with a clear error', async () => {
    await expectRefused(processFile(photo.subarray(0, Math.floor(photo.length / 2)), 'image/jpeg'), /could not be decoded/);
    const png = await sharp(photo).resize(400, 300).png().toBuffer();
    const idat = png.indexOf('IDAT');
    const scribbled = Buffer.from(png);
    scribbled.fill(0xa5, idat + 200, idat + 400);
    await expectRefused(processFile(scribbled, 'image/png'), /could not be decoded/);
    await expectRefused(processFile(Buffer.from('definitely not an image'), 'image/png'), /could not be decoded/);
  });

  it('decodes only the format the content type names (an SVG or PNG claimed as something else is refused)', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64"/></svg>');
    await expectRefused(processFile(svg, 'image/png'), /not a valid image\/png image/);
    const png = await sharp(photo).resize(64, 48).png().toBuffer();
    await expectRefused(processFile(png, 'image/jpeg'), /not a valid image\/jpeg image/);
  });

  it('treats a missing file as a server fault (kept as a plain file upstream), not a bad image', async () => {
    const err = await processor.process({ path: join(dir, 'gone.jpg'), contentType: 'image/jpeg', size: 1, write: async () => ({ key: 'k' }) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(AttachmentError);
  });

  it('does not touch image types it does not thumbnail', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"/>');
    expect((await processFile(svg, 'image/svg+xml')).info).toEqual({ thumbnails: [] });
  });

  it('refuses with too_many_requests when the waiting line is full', async () => {
    const busy = new LocalMediaProcessor({ maxImagePixels: 100_000_000, concurrency: 1, maxQueued: 0 });
    const path = join(dir, 'queued.jpg');
    writeFileSync(path, photo);
    const input = { path, contentType: 'image/jpeg', size: photo.length, write: async () => ({ key: 'k' }) };
    const first = busy.process(input);
    const second = busy.process(input).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(await second).toMatchObject({ code: 'too_many_requests', status: 429 });
    expect((await first).thumbnails).toHaveLength(3);
  });

  it('counts results in the thumbnails metric', async () => {
    const text = await metrics.registry.getSingleMetricAsString('alloquy_attachments_thumbnails_total');
    expect(text).toMatch(/result="ok"} [1-9]/);
    expect(text).toMatch(/result="failed"} [1-9]/);
  });
});
