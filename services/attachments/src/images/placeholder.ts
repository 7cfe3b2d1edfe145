import type { Sharp } from 'sharp';
import { rgbaToThumbHash } from 'thumbhash';

/** ThumbHash encodes images of at most 100×100. */
const THUMBHASH_MAX_EDGE = 100;

/**
 * A ThumbHash (base64, ~25–35 bytes) of an image: clients paint it blurred while the thumbnail
 * loads, at the right aspect ratio and with alpha. `image` is a sharp pipeline already oriented
 * (and preferably already small: resizing a 1280 px raster costs ~3 ms, a 12 MP one ~100 ms).
 */
export async function thumbhashPlaceholder(image: Sharp): Promise<string> {
  const { data, info } = await image
    .resize(THUMBHASH_MAX_EDGE, THUMBHASH_MAX_EDGE, { fit: 'inside' })
    .toColourspace('srgb')
    .ensureAlpha()
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 4) throw new Error(`placeholder wants RGBA, got ${info.channels} channels`);
  return Buffer.from(rgbaToThumbHash(info.width, info.height, data)).toString('base64');
}
