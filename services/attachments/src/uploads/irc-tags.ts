import type { AttachmentKind } from '../store/attachment-store.js';

/** The client-only message tag that carries attachment metadata for rich clients. */
export const ATTACHMENT_TAG = '+alloquy/attachment';

/**
 * Bytes the tag may take on the wire (`+alloquy/attachment=<escaped value>`). IRCv3 gives all of
 * a message's client tags 4094 bytes together; a quarter leaves room for replies, reactions and
 * whatever else a client adds.
 */
export const ATTACHMENT_TAG_BUDGET = 1024;

export interface AttachmentTagInput {
  id: string;
  filename: string;
  contentType: string;
  size: number;
  kind: AttachmentKind;
  width?: number;
  height?: number;
  durationSeconds?: number;
  placeholder?: string;
  animated?: boolean;
  thumbnails: readonly { width: number; height: number }[];
}

/**
 * The tag's value: compact JSON, version 1.
 * `{"v":1,"id","n":name,"t":type,"s":size,"k":kind,"w","h","d":seconds,"a":1 (animated),"p":placeholder,"th":[[w,h],...]}`.
 * Thumbnail URLs are derived by the client: `<file URL's origin>/files/<id>/thumbnails/<w>x<h>`
 * plus the file URL's query (its signature, if any).
 */
export interface AttachmentTagValue {
  v: 1;
  id: string;
  n: string;
  t: string;
  s: number;
  k: AttachmentKind;
  w?: number;
  h?: number;
  d?: number;
  a?: 1;
  p?: string;
  th?: [number, number][];
}

/** IRCv3 message-tags value escaping. */
export function escapeTagValue(value: string): string {
  return value.replace(/[\\; \r\n]/g, (c) => ({ '\\': '\\\\', ';': '\\:', ' ': '\\s', '\r': '\\r', '\n': '\\n' })[c]!);
}

/** Wire size of `key=escaped value`, which is what counts against the 4094-byte budget. */
export function tagWireBytes(key: string, value: string): number {
  return Buffer.byteLength(`${key}=${escapeTagValue(value)}`);
}

/**
 * The client tags for a message that carries this attachment, values unescaped (the IRC library
 * escapes them). Always within ATTACHMENT_TAG_BUDGET: a long file name is shortened first, then
 * the placeholder and the thumbnail list are dropped; id, type, size and kind always remain.
 */
export function attachmentTags(input: AttachmentTagInput): Record<string, string> {
  const value: AttachmentTagValue = {
    v: 1,
    id: input.id,
    n: input.filename,
    t: input.contentType,
    s: input.size,
    k: input.kind,
    ...(input.width !== undefined ? { w: input.width } : {}),
    ...(input.height !== undefined ? { h: input.height } : {}),
    ...(input.durationSeconds !== undefined ? { d: Math.round(input.durationSeconds * 1000) / 1000 } : {}),
    ...(input.animated ? { a: 1 as const } : {}),
    ...(input.placeholder !== undefined ? { p: input.placeholder } : {}),
    ...(input.thumbnails.length > 0 ? { th: input.thumbnails.map((t): [number, number] => [t.width, t.height]) } : {}),
  };
  const fits = () => tagWireBytes(ATTACHMENT_TAG, JSON.stringify(value)) <= ATTACHMENT_TAG_BUDGET;
  while (!fits() && value.n.length > 24) value.n = shorten(value.n);
  if (!fits()) delete value.p;
  if (!fits()) delete value.th;
  if (!fits()) value.n = '';
  return { [ATTACHMENT_TAG]: JSON.stringify(value) };
}

/** Drops characters from the middle of a name, keeping its start and extension. */
function shorten(name: string): string {
  const chars = [...name];
  const keepEnd = Math.min(12, Math.floor(chars.length / 3));
  const keepStart = Math.max(8, Math.floor(chars.length * 0.75) - keepEnd);
  return chars.slice(0, keepStart).join('') + '…' + chars.slice(chars.length - keepEnd).join('');
}

/** Reads a tag value back (rich clients; tests). Undefined when it is not a version-1 attachment tag. */
export function parseAttachmentTag(raw: string): AttachmentTagValue | undefined {
  try {
    const value = JSON.parse(raw) as Partial<AttachmentTagValue>;
    if (value.v !== 1 || typeof value.id !== 'string' || typeof value.t !== 'string' || typeof value.s !== 'number') return undefined;
    return value as AttachmentTagValue;
  } catch {
    return undefined;
  }
}
