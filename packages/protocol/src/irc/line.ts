/**
 * IRC line parser and serializer (RFC 1459 framing + IRCv3 message tags).
 *
 * Used for the InspIRCd server link, where one malformed line must never take the
 * process (or the link) down: `parseLine` is total — it never throws and reports
 * malformed input as a value. `serializeMessage` is the opposite: it throws a typed
 * error on anything that would put a malformed line on the wire, because InspIRCd
 * answers a protocol error on a server link by dropping the whole link.
 *
 * Lines are handled without their CRLF terminator; the framing layer strips it.
 */

import { utf8ByteLength } from '../text/utf8.js';

/** A parsed IRC message. `command` is upper-cased (IRC commands are case-insensitive). */
export interface IrcMessage {
  readonly tags: ReadonlyMap<string, string>;
  /** The `:source` prefix without its colon, or null when the line had none. */
  readonly source: string | null;
  readonly command: string;
  readonly params: readonly string[];
}

export type ParseErrorCode = 'empty' | 'nul-byte' | 'line-break' | 'tags-too-long' | 'body-too-long' | 'bad-tags' | 'bad-source' | 'no-command' | 'bad-command';

export type ParseResult = { readonly ok: true; readonly message: IrcMessage } | { readonly ok: false; readonly error: ParseErrorCode; readonly detail: string };

export interface LineLimits {
  /**
   * Maximum bytes of everything after the tags section, excluding CRLF.
   * RFC 1459 allows 512 bytes including CRLF, hence 510.
   */
  readonly maxBodyBytes?: number;
  /** Maximum bytes of the tags section including the leading '@' and the trailing space (IRCv3: 8191). */
  readonly maxTagsBytes?: number;
}

export const DEFAULT_MAX_BODY_BYTES = 510;
export const DEFAULT_MAX_TAGS_BYTES = 8191;

const COMMAND_RE = /^(?:[A-Za-z]+|[0-9]{3})$/;
// IRCv3: [ '+' ] [ vendor '/' ] key_name, vendor being a host name, key_name [A-Za-z0-9-]+.
const TAG_KEY_RE = /^\+?(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\/)?[A-Za-z0-9-]+$/;

function fail(error: ParseErrorCode, detail: string): ParseResult {
  return { ok: false, error, detail };
}

/** Undo IRCv3 tag value escaping. A backslash before any other character is dropped; a trailing lone backslash is dropped. */
export function unescapeTagValue(raw: string): string {
  if (!raw.includes('\\')) return raw;
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = raw[i + 1];
    i++;
    switch (next) {
      case ':':
        out += ';';
        break;
      case 's':
        out += ' ';
        break;
      case '\\':
        out += '\\';
        break;
      case 'r':
        out += '\r';
        break;
      case 'n':
        out += '\n';
        break;
      case undefined:
        break;
      default:
        out += next;
    }
  }
  return out;
}

export function escapeTagValue(value: string): string {
  let out = '';
  for (const ch of value) {
    switch (ch) {
      case '\\':
        out += '\\\\';
        break;
      case ';':
        out += '\\:';
        break;
      case ' ':
        out += '\\s';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\n':
        out += '\\n';
        break;
      default:
        out += ch;
    }
  }
  return out;
}

function parseTags(section: string): Map<string, string> | string {
  const tags = new Map<string, string>();
  if (section.length === 0) return 'empty tags section';
  for (const item of section.split(';')) {
    const eq = item.indexOf('=');
    const key = eq === -1 ? item : item.slice(0, eq);
    if (!TAG_KEY_RE.test(key)) return `invalid tag key ${JSON.stringify(key.slice(0, 64))}`;
    // Duplicate keys: the last one wins (IRCv3).
    tags.set(key, eq === -1 ? '' : unescapeTagValue(item.slice(eq + 1)));
  }
  return tags;
}

/** Parse one IRC line (without CRLF). Never throws. */
export function parseLine(line: string, limits: LineLimits = {}): ParseResult {
  if (typeof line !== 'string' || line.length === 0) return fail('empty', 'empty line');
  if (line.includes('\0')) return fail('nul-byte', 'line contains a NUL byte');
  if (line.includes('\r') || line.includes('\n')) return fail('line-break', 'line contains CR or LF');
  const maxBody = limits.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxTags = limits.maxTagsBytes ?? DEFAULT_MAX_TAGS_BYTES;

  let pos = 0;
  let tags: ReadonlyMap<string, string> = new Map();
  if (line[0] === '@') {
    const space = line.indexOf(' ');
    const section = space === -1 ? line.slice(1) : line.slice(1, space);
    // '@' + section + ' '
    if (utf8ByteLength(section) + 2 > maxTags) return fail('tags-too-long', 'tags section exceeds limit');
    if (space === -1) return fail('no-command', 'line has only tags');
    const parsed = parseTags(section);
    if (typeof parsed === 'string') return fail('bad-tags', parsed);
    tags = parsed;
    pos = space + 1;
    while (line[pos] === ' ') pos++;
  }

  const body = line.slice(pos);
  if (body.length === 0) return fail('no-command', 'line has no command');
  if (utf8ByteLength(body) > maxBody) return fail('body-too-long', 'line body exceeds limit');

  let i = 0;
  let source: string | null = null;
  if (body[0] === ':') {
    const space = body.indexOf(' ');
    if (space === -1) return fail('no-command', 'line has only a source');
    source = body.slice(1, space);
    // No source (nick!user@host, server name, SID, UID) starts with ':'; refusing it keeps parse and serialize symmetric.
    if (source.length === 0 || source.startsWith(':')) return fail('bad-source', 'empty source or source starting with ":"');
    i = space + 1;
  }
  while (body[i] === ' ') i++;

  const commandEnd = body.indexOf(' ', i);
  const command = commandEnd === -1 ? body.slice(i) : body.slice(i, commandEnd);
  if (command.length === 0) return fail('no-command', 'line has no command');
  if (!COMMAND_RE.test(command)) return fail('bad-command', `invalid command ${JSON.stringify(command.slice(0, 32))}`);
  i = commandEnd === -1 ? body.length : commandEnd;

  const params: string[] = [];
  while (i < body.length) {
    while (body[i] === ' ') i++;
    if (i >= body.length) break;
    if (body[i] === ':') {
      params.push(body.slice(i + 1));
      break;
    }
    const end = body.indexOf(' ', i);
    params.push(end === -1 ? body.slice(i) : body.slice(i, end));
    i = end === -1 ? body.length : end;
  }

  return { ok: true, message: { tags, source, command: command.toUpperCase(), params } };
}

export type SerializeErrorCode = 'bad-command' | 'bad-source' | 'bad-param' | 'bad-tag-key' | 'bad-tag-value' | 'too-long';

/** Thrown when asked to serialize something that would not be one well-formed IRC line. */
export class IrcSerializeError extends Error {
  override readonly name = 'IrcSerializeError';
  constructor(
    readonly code: SerializeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface OutgoingMessage {
  readonly tags?: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
  readonly source?: string | null;
  readonly command: string;
  readonly params?: readonly string[];
}

const FORBIDDEN_ANYWHERE = /[\0\r\n]/;

function tagEntries(tags: OutgoingMessage['tags']): Array<[string, string]> {
  if (!tags) return [];
  return tags instanceof Map ? [...(tags as ReadonlyMap<string, string>)] : Object.entries(tags);
}

/**
 * Serialize a message to one IRC line without CRLF.
 * The last parameter gets a ':' when it needs one (empty, contains a space, starts with ':').
 * @throws IrcSerializeError when the result would be malformed or too long.
 */
export function serializeMessage(message: OutgoingMessage, limits: LineLimits = {}): string {
  const maxBody = limits.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxTags = limits.maxTagsBytes ?? DEFAULT_MAX_TAGS_BYTES;

  let tagSection = '';
  const entries = tagEntries(message.tags);
  if (entries.length > 0) {
    const parts: string[] = [];
    for (const [key, value] of entries) {
      if (!TAG_KEY_RE.test(key)) throw new IrcSerializeError('bad-tag-key', `invalid tag key ${JSON.stringify(key)}`);
      if (value.includes('\0')) throw new IrcSerializeError('bad-tag-value', `NUL in value of tag ${key}`);
      parts.push(value === '' ? key : `${key}=${escapeTagValue(value)}`);
    }
    tagSection = `@${parts.join(';')} `;
    if (utf8ByteLength(tagSection) > maxTags) throw new IrcSerializeError('too-long', 'tags section exceeds limit');
  }

  let body = '';
  const source = message.source;
  if (source !== undefined && source !== null) {
    if (source.length === 0 || source.includes(' ') || source.startsWith(':') || FORBIDDEN_ANYWHERE.test(source)) {
      throw new IrcSerializeError('bad-source', `invalid source ${JSON.stringify(source)}`);
    }
    body += `:${source} `;
  }
  if (!COMMAND_RE.test(message.command)) {
    throw new IrcSerializeError('bad-command', `invalid command ${JSON.stringify(message.command)}`);
  }
  body += message.command;

  const params = message.params ?? [];
  params.forEach((param, index) => {
    if (typeof param !== 'string' || FORBIDDEN_ANYWHERE.test(param)) {
      throw new IrcSerializeError('bad-param', `parameter ${index} contains CR, LF or NUL`);
    }
    const isLast = index === params.length - 1;
    if (!isLast) {
      if (param.length === 0 || param.includes(' ') || param.startsWith(':')) {
        throw new IrcSerializeError('bad-param', `middle parameter ${index} is empty, has a space or starts with ':'`);
      }
      body += ` ${param}`;
    } else if (param.length === 0 || param.includes(' ') || param.startsWith(':')) {
      body += ` :${param}`;
    } else {
      body += ` ${param}`;
    }
  });

  if (utf8ByteLength(body) > maxBody) throw new IrcSerializeError('too-long', `line body exceeds ${maxBody} bytes`);
  return tagSection + body;
}
