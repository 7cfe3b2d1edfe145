import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { isSafeInlineImage, kindOf, servingRule, sniffContentType } from '../../src/uploads/content-type.js';

const image = (format: 'png' | 'jpeg' | 'gif' | 'webp' | 'avif') =>
  sharp({ create: { width: 8, height: 8, channels: 3, background: '#3366cc' } })
    .toFormat(format)
    .toBuffer();

describe('sniffContentType', () => {
  it('recognises the safe raster formats from their bytes', async () => {
    for (const [format, mime] of [
      ['png', 'image/png'],
      ['jpeg', 'image/jpeg'],
      ['gif', 'image/gif'],
      ['webp', 'image/webp'],
      ['avif', 'image/avif'],
    ] as const) {
      expect((await sniffContentType(await image(format))).contentType).toBe(mime);
    }
  });

  it('tells HTML, SVG, XML and plain text apart (file-type knows none of them)', async () => {
    const sniff = async (s: string) => (await sniffContentType(Buffer.from(s))).contentType;
    expect(await sniff('<!DOCTYPE html><html><script>alert(1)</script></html>')).toBe('text/html');
    expect(await sniff('\uFEFF  <html><body>hi</body></html>')).toBe('text/html');
    expect(await sniff('<script>alert(document.cookie)</script>')).toBe('text/html');
    expect(await sniff('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>')).toBe('image/svg+xml');
    expect(await sniff('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>')).toBe('image/svg+xml');
    expect(await sniff('<?xml version="1.0"?><note>hi</note>')).toBe('application/xml');
    expect(await sniff('just some notes\nwith <b>tags</b> later')).toBe('text/plain');
    expect(await sniff('notes first, then <script>alert(1)</script>')).toBe('text/html');
    expect(await sniff('héllo wörld')).toBe('text/plain');
  });

  it('calls undetectable binary application/octet-stream, and so an empty file', async () => {
    expect((await sniffContentType(Buffer.from([0x00, 0x01, 0x02, 0xff, 0xfe]))).contentType).toBe('application/octet-stream');
    expect((await sniffContentType(Buffer.from([0xc3, 0x28, 0x41]))).contentType).toBe('application/octet-stream');
    expect((await sniffContentType(Buffer.alloc(0))).contentType).toBe('application/octet-stream');
  });

  it('accepts a sample cut inside a multi-byte character', async () => {
    const text = Buffer.from('ünïcödé text');
    expect((await sniffContentType(text.subarray(0, 2 + 1))).contentType).toBe('text/plain');
  });
});

describe('servingRule and kindOf', () => {
  it('serves only safe raster images inline, with their type', () => {
    for (const type of ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif', 'image/apng']) {
      expect(servingRule(type)).toEqual({ contentType: type, disposition: 'inline' });
      expect(kindOf(type)).toBe('image');
      expect(isSafeInlineImage(type)).toBe(true);
    }
  });

  it('serves HTML, SVG, XML, text and unknown types as octet-stream downloads', () => {
    for (const type of [
      'text/html',
      'image/svg+xml',
      'application/xml',
      'text/plain',
      'application/pdf',
      'image/tiff',
      'image/bmp',
      'application/octet-stream',
    ]) {
      expect(servingRule(type)).toEqual({ contentType: 'application/octet-stream', disposition: 'attachment' });
      expect(isSafeInlineImage(type)).toBe(false);
    }
    expect(kindOf('image/svg+xml')).toBe('file');
    expect(kindOf('text/html')).toBe('file');
  });

  it('keeps audio and video types for players but still as downloads', () => {
    expect(servingRule('video/mp4')).toEqual({ contentType: 'video/mp4', disposition: 'attachment' });
    expect(servingRule('audio/mpeg')).toEqual({ contentType: 'audio/mpeg', disposition: 'attachment' });
    expect(kindOf('video/mp4')).toBe('video');
    expect(kindOf('audio/ogg')).toBe('audio');
    expect(servingRule('video/x-unknown')).toEqual({ contentType: 'application/octet-stream', disposition: 'attachment' });
  });
});
