import { describe, expect, it } from 'vitest';
import { baseContentType, mediaKind } from '../../src/media/media-kind.js';

describe('mediaKind', () => {
  it('sorts sniffed types into image, video, audio and file', () => {
    for (const type of ['image/png', 'image/apng', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif']) expect(mediaKind(type)).toBe('image');
    expect(mediaKind('video/webm')).toBe('video');
    expect(mediaKind('audio/ogg; codecs=opus')).toBe('audio');
    // Images that are not decoded for thumbnails stay files: SVG can script, TIFF/BMP are not worth a decoder.
    for (const type of ['image/svg+xml', 'image/tiff', 'image/bmp', 'text/html', 'application/pdf']) expect(mediaKind(type)).toBe('file');
  });

  it('drops parameters and case', () => {
    expect(baseContentType(' Audio/OGG ; codecs=opus')).toBe('audio/ogg');
    expect(mediaKind('IMAGE/PNG')).toBe('image');
  });
});
