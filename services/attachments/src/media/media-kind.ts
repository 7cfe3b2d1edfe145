/**
 * What the service does with a file, by its sniffed content type: raster images get dimensions,
 * thumbnails and a placeholder; audio and video a duration where cheap; everything else is a file.
 */
export type MediaKind = 'image' | 'video' | 'audio' | 'file';

/**
 * Raster formats decoded for thumbnails, with the sharp/libvips loader each must be read by.
 * Nothing else reaches the decoder: SVG, PDF, TIFF and friends stay plain files.
 */
export const THUMBNAIL_IMAGE_FORMATS: Readonly<Record<string, string>> = {
  'image/jpeg': 'jpeg',
  'image/png': 'png',
  'image/apng': 'png', // libvips reads the first frame only: thumbnails are stills
  'image/gif': 'gif',
  'image/webp': 'webp',
  'image/avif': 'heif',
};

/** `type/subtype` in lower case, parameters dropped (`audio/ogg; codecs=opus` → `audio/ogg`). */
export function baseContentType(contentType: string): string {
  return contentType.split(';', 1)[0]!.trim().toLowerCase();
}

export function mediaKind(contentType: string): MediaKind {
  const type = baseContentType(contentType);
  if (type in THUMBNAIL_IMAGE_FORMATS) return 'image';
  if (type.startsWith('video/')) return 'video';
  if (type.startsWith('audio/')) return 'audio';
  return 'file';
}
