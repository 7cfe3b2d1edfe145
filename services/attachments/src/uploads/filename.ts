/** Longest stored file name, in UTF-8 bytes (file systems allow 255; room for a suffix). */
const MAX_FILENAME_BYTES = 180;
const MAX_EXTENSION_CHARS = 16;

// Control characters, bidirectional overrides (which make "gpj.exe" look like "exe.jpg"),
// zero-width characters and the byte-order mark.
// eslint-disable-next-line no-control-regex
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;
// Reserved on Windows and awkward in shells and headers.
const RESERVED_CHARS = /[<>:"/\\|?*]/g;
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;

/**
 * A client's file name made safe to store, show and send back in Content-Disposition: the last
 * path segment, without control, bidi or reserved characters, no leading dots, at most
 * MAX_FILENAME_BYTES (the extension kept). Empty input gives `file` (plus `fallbackExtension`).
 */
export function sanitizeFilename(input: string | undefined, fallbackExtension?: string): string {
  let name = (input ?? '').normalize('NFC');
  name = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
  name = name
    .replace(/[\t\r\n]+/g, ' ')
    .replace(INVISIBLE, '')
    .replace(RESERVED_CHARS, '_')
    .replace(/\s+/g, ' ')
    .trim();
  name = name.replace(/^[.\s]+/, '').replace(/[.\s]+$/, '');
  if (WINDOWS_DEVICE.test(name)) name = `_${name}`;
  if (!name) name = fallbackExtension ? `file.${fallbackExtension}` : 'file';
  return truncateKeepingExtension(name);
}

function truncateKeepingExtension(name: string): string {
  if (Buffer.byteLength(name) <= MAX_FILENAME_BYTES) return name;
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 && name.length - dot - 1 <= MAX_EXTENSION_CHARS ? name.slice(dot) : '';
  const budget = MAX_FILENAME_BYTES - Buffer.byteLength(extension);
  let stem = '';
  // By code point, so a multi-byte character is never cut in half.
  for (const ch of name.slice(0, name.length - extension.length)) {
    if (Buffer.byteLength(stem + ch) > budget) break;
    stem += ch;
  }
  return stem.trimEnd() + extension;
}

/**
 * A `Content-Disposition` header value: an ASCII fallback name for old clients and the exact
 * UTF-8 name in `filename*` (RFC 6266 / RFC 8187).
 */
export function contentDisposition(disposition: 'inline' | 'attachment', filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\%]/g, '_');
  const encoded = encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${disposition}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
