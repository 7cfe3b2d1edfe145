import { fileTypeFromBuffer } from 'file-type';
import type { AttachmentKind } from '../store/attachment-store.js';

/** How many leading bytes decide a file's type (file-type's own "reasonable detection size"). */
export const SNIFF_BYTES = 4100;

/**
 * Raster formats every browser decodes without running anything: the only types shown inline.
 * Everything else is a download.
 */
const SAFE_INLINE_IMAGES = new Set(['image/png', 'image/apng', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif']);

/**
 * Audio and video keep their type when served so players can stream them (a media element never
 * runs script), but are still `Content-Disposition: attachment` when opened directly.
 */
const STREAMABLE_MEDIA = new Set([
  'video/mp4',
  'video/webm',
  'video/ogg',
  'video/quicktime',
  'audio/mpeg',
  'audio/ogg',
  'audio/opus',
  'audio/wav',
  'audio/x-wav',
  'audio/flac',
  'audio/x-flac',
  'audio/aac',
  'audio/mp4',
  'audio/x-m4a',
  'audio/webm',
]);

export interface SniffedType {
  /** The type the bytes show; `application/octet-stream` when nothing is recognised. */
  contentType: string;
  /** A file name extension for that type, without the dot (for unnamed uploads). */
  extension?: string;
}

/**
 * The content type of a file from its first bytes (give at least SNIFF_BYTES, or the whole file
 * when shorter). Never looks at the file name or the type the client declared. Text formats that
 * file-type does not know (HTML, SVG, plain text) are told apart here so the record says what
 * the file is; none of them is ever served as anything but a download.
 */
export async function sniffContentType(head: Uint8Array): Promise<SniffedType> {
  const detected = await fileTypeFromBuffer(head).catch(() => undefined);
  // file-type knows XML but not what it is (SVG is XML): the text rules below tell.
  if (detected && detected.ext !== 'xml') return { contentType: detected.mime, extension: detected.ext };
  return classifyText(head);
}

function classifyText(head: Uint8Array): SniffedType {
  const text = decodeUtf8Prefix(head);
  if (text === undefined || text.length === 0) return { contentType: 'application/octet-stream' };
  const start = text
    .replace(/^\uFEFF/, '')
    .trimStart()
    .slice(0, SNIFF_BYTES)
    .toLowerCase();
  if (start.startsWith('<')) {
    if (start.includes('<svg')) return { contentType: 'image/svg+xml', extension: 'svg' };
    if (start.startsWith('<?xml') && !/<(html|body|script)\b/.test(start)) return { contentType: 'application/xml', extension: 'xml' };
    // Anything else that opens with markup is treated as what a browser would make of it.
    return { contentType: 'text/html', extension: 'html' };
  }
  if (/<(!doctype html|html|script|iframe|body)\b/.test(start)) return { contentType: 'text/html', extension: 'html' };
  return { contentType: 'text/plain', extension: 'txt' };
}

/** The bytes as UTF-8 text, or undefined when they are binary (a NUL, or invalid UTF-8). */
function decodeUtf8Prefix(head: Uint8Array): string | undefined {
  if (head.includes(0)) return undefined;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  // The sample may end inside a multi-byte character.
  for (let cut = 0; cut <= Math.min(3, head.length); cut++) {
    try {
      return decoder.decode(head.subarray(0, head.length - cut));
    } catch {
      // try a shorter prefix
    }
  }
  return undefined;
}

export function isSafeInlineImage(contentType: string): boolean {
  return SAFE_INLINE_IMAGES.has(contentType);
}

/** What the clients show: an image (safe to display), a player (audio/video) or a file card. */
export function kindOf(contentType: string): AttachmentKind {
  if (SAFE_INLINE_IMAGES.has(contentType)) return 'image';
  if (contentType.startsWith('video/')) return 'video';
  if (contentType.startsWith('audio/')) return 'audio';
  return 'file';
}

export interface ServingRule {
  /** The Content-Type header a download gets. */
  contentType: string;
  disposition: 'inline' | 'attachment';
}

/**
 * How a stored type is served. Only safe raster images keep their type inline; audio/video keep
 * their type as downloads; everything else (HTML, SVG, scripts, unknown text or binary) is an
 * opaque `application/octet-stream` download, so no browser ever renders it on our origin.
 */
export function servingRule(contentType: string): ServingRule {
  if (SAFE_INLINE_IMAGES.has(contentType)) return { contentType, disposition: 'inline' };
  if (STREAMABLE_MEDIA.has(contentType)) return { contentType, disposition: 'attachment' };
  return { contentType: 'application/octet-stream', disposition: 'attachment' };
}
