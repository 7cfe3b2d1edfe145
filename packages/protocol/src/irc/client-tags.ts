import { utf8ByteLength } from '../text/utf8.js';
import { escapeTagValue } from './line.js';

/**
 * The IRCv3 client-only tags (`+name`) Alloquy's clients send and its services read: InspIRCd's
 * ircv3_ctctags relays them to everyone in the channel, HistServ records what they mean, and a
 * stock client that ignores them still sees a readable line. One table, so a client sends exactly
 * what the server understands.
 */

/** `@+alloquy/edit=<msgid> PRIVMSG #channel :new text`: replaces the text of `<msgid>`. */
export const EDIT_TAG = '+alloquy/edit';
/** `@+alloquy/delete=<msgid> TAGMSG #channel`: deletes `<msgid>`. */
export const DELETE_TAG = '+alloquy/delete';
/** `@+draft/react=<emoji>;+draft/reply=<msgid> TAGMSG #channel`: adds a reaction. */
export const REACT_TAG = '+draft/react';
/** `@+draft/unreact=<emoji>;+draft/reply=<msgid> TAGMSG #channel`: takes one back. */
export const UNREACT_TAG = '+draft/unreact';
/** The reply tag's ratified name and its draft name: servers read both, clients send the draft one. */
export const REPLY_TAGS = ['+reply', '+draft/reply'] as const;
export const REPLY_TAG = '+draft/reply';
/** `@+typing=active|paused|done TAGMSG #channel`: typing notifications, never stored. */
export const TYPING_TAG = '+typing';
/** The client-only message tag that carries attachment metadata for rich clients. */
export const ATTACHMENT_TAG = '+alloquy/attachment';

export type ClientTags = Record<string, string>;
export type TypingState = 'active' | 'paused' | 'done';

/** The tags of an edit of `msgid` (sent with the new text as a PRIVMSG). */
export function editTags(msgid: string): ClientTags {
  return { [EDIT_TAG]: msgid };
}

/** The tags of a deletion of `msgid` (sent as a TAGMSG). */
export function deleteTags(msgid: string): ClientTags {
  return { [DELETE_TAG]: msgid };
}

/** The tags of a reply to `msgid` (merged into the PRIVMSG that replies). */
export function replyTags(msgid: string): ClientTags {
  return { [REPLY_TAG]: msgid };
}

/** The tags of a reaction to `msgid` with `emoji`, or of taking it back (sent as a TAGMSG). */
export function reactionTags(msgid: string, emoji: string, remove = false): ClientTags {
  return { [remove ? UNREACT_TAG : REACT_TAG]: emoji, [REPLY_TAG]: msgid };
}

/** The tags of a typing notification (sent as a TAGMSG). */
export function typingTags(state: TypingState): ClientTags {
  return { [TYPING_TAG]: state };
}

/**
 * The msgid a message replies to (either reply tag, the ratified one first), or undefined. Tags
 * as a parsed line holds them (a Map) or as history stores them (a record).
 */
export function replyTarget(tags: ReadonlyMap<string, string> | Readonly<Record<string, string>>): string | undefined {
  for (const name of REPLY_TAGS) {
    const target = tags instanceof Map ? tags.get(name) : (tags as Readonly<Record<string, string>>)[name];
    if (target) return target;
  }
  return undefined;
}

/** What an attachment is, by its detected content type. */
export type AttachmentKind = 'image' | 'video' | 'audio' | 'file';

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

/** Wire size of `key=escaped value`, which is what counts against the 4094-byte budget. */
export function tagWireBytes(key: string, value: string): number {
  return utf8ByteLength(`${key}=${escapeTagValue(value)}`);
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
