/**
 * A 50,000×50,000 PNG (7.5 GB of pixels, ~7 MB on disk) is refused from its header, without the
 * process's memory growing. In its own file so the peak-RSS figure is this test's alone.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { AttachmentError } from '../../src/errors/attachment-error.js';
import { LocalMediaProcessor } from '../../src/media/media-processor.js';
import { writePngBomb } from './support/png-bomb.js';

const dir = mkdtempSync(join(tmpdir(), 'alloquy-bomb-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('PNG decompression bomb', () => {
  it('refuses a 50,000×50,000 PNG quickly without a memory blow-up', async () => {
    const path = join(dir, 'bomb.png');
    await writePngBomb(path, 50_000, 50_000);
    const size = statSync(path).size;
    expect(size).toBeLessThan(10 * 1024 * 1024);

    // The default limit (100 megapixels, limits.maxImagePixels).
    const processor = new LocalMediaProcessor({ maxImagePixels: 100_000_000 });
    const peakBefore = process.resourceUsage().maxRSS; // KiB
    const started = performance.now();
    let writes = 0;
    const err = await processor.process({ path, contentType: 'image/png', size, write: async () => ({ key: String(writes++) }) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const elapsedMs = performance.now() - started;
    const peakGrowthMiB = (process.resourceUsage().maxRSS - peakBefore) / 1024;

    expect(err).toBeInstanceOf(AttachmentError);
    expect(err).toMatchObject({ code: 'unprocessable_image', status: 422 });
    expect((err as Error).message).toMatch(/50000×50000 \(2500000000 pixels\), over the pixel limit of 100000000/);
    expect(writes).toBe(0);
    // Decoding would need 7.5 GB; reading the header needs next to nothing.
    expect(peakGrowthMiB).toBeLessThan(64);
    console.info(
      `PNG bomb (${(size / 1024 / 1024).toFixed(1)} MiB on disk) refused in ${elapsedMs.toFixed(1)} ms; peak RSS grew ${peakGrowthMiB.toFixed(1)} MiB`,
    );
  });

  it('the bomb is a real PNG: a small one from the same writer decodes to all black', async () => {
    const path = join(dir, 'small.png');
    await writePngBomb(path, 3000, 2000);
    const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([3000, 2000, 3]);
    expect(data.every((byte: number) => byte === 0)).toBe(true);
  });
});
