import { describe, expect, it } from 'vitest';
import { contentDisposition, sanitizeFilename } from '../../src/uploads/filename.js';

describe('sanitizeFilename', () => {
  it('keeps ordinary names', () => {
    expect(sanitizeFilename('holiday photo.jpg')).toBe('holiday photo.jpg');
    expect(sanitizeFilename('résumé – final.pdf')).toBe('résumé – final.pdf');
  });

  it('keeps only the last path segment', () => {
    expect(sanitizeFilename('../../etc/passwd')).toBe('passwd');
    expect(sanitizeFilename('C:\\Users\\me\\cat.png')).toBe('cat.png');
  });

  it('removes control, bidi-override and zero-width characters and reserved punctuation', () => {
    expect(sanitizeFilename('evil\u202Egpj.exe')).toBe('evilgpj.exe');
    expect(sanitizeFilename('a\u0000b\r\nc\u200b.txt')).toBe('ab c.txt');
    expect(sanitizeFilename('what?<>:"|*.txt')).toBe('what_______.txt');
  });

  it('drops leading dots and trailing dots and spaces', () => {
    expect(sanitizeFilename('.htaccess')).toBe('htaccess');
    expect(sanitizeFilename('..')).toBe('file');
    expect(sanitizeFilename('name. . ')).toBe('name');
  });

  it('defuses Windows device names', () => {
    expect(sanitizeFilename('CON')).toBe('_CON');
    expect(sanitizeFilename('nul.txt')).toBe('_nul.txt');
  });

  it('names an unnamed file after its detected type', () => {
    expect(sanitizeFilename(undefined, 'png')).toBe('file.png');
    expect(sanitizeFilename('   ', undefined)).toBe('file');
  });

  it('shortens long names to 180 bytes, keeping the extension and whole characters', () => {
    const long = `${'é'.repeat(300)}.jpeg`;
    const name = sanitizeFilename(long);
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(180);
    expect(name.endsWith('.jpeg')).toBe(true);
    expect(name).not.toContain('\uFFFD');
  });
});

describe('contentDisposition', () => {
  it('gives an ASCII fallback and the exact UTF-8 name', () => {
    expect(contentDisposition('attachment', 'résumé "v2".pdf')).toBe(
      `attachment; filename="r_sum_ _v2_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22v2%22.pdf`,
    );
    expect(contentDisposition('inline', "it's (1).png")).toBe(`inline; filename="it's (1).png"; filename*=UTF-8''it%27s%20%281%29.png`);
  });
});
