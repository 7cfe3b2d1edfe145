/**
 * HistServ's commands for stock IRC clients, which get InspIRCd's short join replay and nothing
 * older: `/msg HistServ HELP`, `HISTORY #channel [count] [BEFORE <msgid|time>]` and
 * `SEARCH #channel <words>`. Every reply is a list of plain lines the adapter sends as NOTICEs.
 *
 * Reading is authorized at the moment of asking, against the current guild snapshot: the asker
 * must be logged in to an account that has VIEW_CHANNEL and READ_HISTORY in the channel. A
 * channel that does not exist and one the asker may not read get the same answer, so HistServ
 * does not reveal private channels.
 */
import { historyAccess } from '../history/access.js';
import { parseCursor } from '../history/cursor.js';
import type { GuildSnapshot } from '../guild/model.js';
import type { HistoryMessage, HistoryStore } from '../history/store.js';

export interface HistServRequest {
  /** The asker's services account, null when not logged in. */
  account: string | null;
  nick: string;
  /** The PRIVMSG text sent to HistServ. */
  text: string;
}

export const HISTORY_DEFAULT = 20;
export const HISTORY_MAX = 50;
export const SEARCH_RESULTS = 10;
/**
 * Longest reply line in UTF-8 bytes. A NOTICE from a pseudo-client to a UID adds about 30 bytes
 * on the server link and a full `nick!user@host` prefix towards the client; 400 leaves room
 * within IRC's 512.
 */
export const MAX_LINE_BYTES = 400;

const HELP = [
  "HistServ keeps the history of this server's channels. Commands:",
  '  HISTORY #channel [count] [BEFORE <msgid|time>]',
  `      the newest <count> messages (default ${HISTORY_DEFAULT}, at most ${HISTORY_MAX}), or those before a message or time`,
  '  SEARCH #channel <words>',
  `      the newest ${SEARCH_RESULTS} messages containing every word (word* matches the start of a word)`,
  '  HELP',
  'Times are UTC: 2025-01-31, 2025-01-31T18:00, 2025-01-31T18:00:00Z, or Unix milliseconds.',
  'You need VIEW_CHANNEL and READ_HISTORY in the channel, and to be logged in (SASL).',
];

const HISTORY_USAGE = 'Usage: HISTORY #channel [count] [BEFORE <msgid|time>]';
const SEARCH_USAGE = 'Usage: SEARCH #channel <words>';

/** The answer to one request, as lines to send (each at most {@link MAX_LINE_BYTES} bytes). */
export function histservReply(request: HistServRequest, snapshot: GuildSnapshot, store: HistoryStore, now: number): string[] {
  const words = request.text.trim().split(/\s+/).filter(Boolean);
  const command = (words[0] ?? '').toUpperCase();
  const args = words.slice(1);
  let lines: string[];
  switch (command) {
    case '':
    case 'HELP':
      lines = HELP;
      break;
    case 'HISTORY':
      lines = history(request, args, snapshot, store, now);
      break;
    case 'SEARCH':
      lines = search(request, args, snapshot, store, now);
      break;
    default:
      lines = [`Unknown command "${clean(words[0]!).slice(0, 30)}". /msg HistServ HELP lists the commands.`];
  }
  return lines.flatMap((line) => splitUtf8(line, MAX_LINE_BYTES));
}

/** Access check shared by HISTORY and SEARCH: a reply line on refusal, the channel name otherwise. */
function readable(request: HistServRequest, name: string, snapshot: GuildSnapshot, now: number): { ircName: string } | { refusal: string } {
  if (request.account === null) {
    return { refusal: 'Sorry, history is only for members: log in to your account (SASL) and ask again.' };
  }
  const access = historyAccess(snapshot, request.account, name, now);
  if (access.kind !== 'ok') return { refusal: `You may not read the history of ${clean(name).slice(0, 60)}, or there is no such channel.` };
  return { ircName: access.ircName };
}

function history(request: HistServRequest, args: string[], snapshot: GuildSnapshot, store: HistoryStore, now: number): string[] {
  const [name, ...rest] = args;
  if (!name || !name.startsWith('#')) return [HISTORY_USAGE];
  let count = HISTORY_DEFAULT;
  if (rest[0] !== undefined && /^\d+$/.test(rest[0])) {
    count = Math.min(HISTORY_MAX, Math.max(1, Number(rest.shift())));
  }
  let before: string | undefined;
  if (rest[0]?.toUpperCase() === 'BEFORE') {
    rest.shift();
    before = rest.shift();
    if (before === undefined) return [HISTORY_USAGE];
  }
  if (rest.length > 0) return [HISTORY_USAGE];

  const access = readable(request, name, snapshot, now);
  if ('refusal' in access) return [access.refusal];
  const channel = access.ircName;

  // One more than shown tells whether older messages exist.
  let page: HistoryMessage[] | null;
  if (before === undefined) {
    page = store.latest(channel, count + 1);
  } else {
    const cursor = parseCursor(before);
    if (!cursor.ok) return [`${cursor.problem}. ${HISTORY_USAGE}`];
    page = store.before(channel, cursor.cursor, count + 1);
    if (!page) return [`There is no message ${clean(before)} in ${channel}.`];
  }
  const more = page.length > count;
  const shown = more ? page.slice(1) : page;
  if (shown.length === 0) return [before === undefined ? `${channel} has no history yet.` : `No older messages in ${channel}.`];
  const lines = [`${channel}: ${shown.length} message${shown.length === 1 ? '' : 's'}, oldest first (times UTC):`];
  for (const m of shown) lines.push(formatMessage(m, store));
  lines.push(more ? `Older: /msg HistServ HISTORY ${channel} ${count} BEFORE ${shown[0]!.msgid}` : `End of the history of ${channel}.`);
  return lines;
}

function search(request: HistServRequest, args: string[], snapshot: GuildSnapshot, store: HistoryStore, now: number): string[] {
  const [name, ...terms] = args;
  if (!name || !name.startsWith('#') || terms.length === 0) return [SEARCH_USAGE];
  const access = readable(request, name, snapshot, now);
  if ('refusal' in access) return [access.refusal];
  const channel = access.ircName;
  const q = terms.join(' ');
  const results = store.search({ q, channel, limit: SEARCH_RESULTS });
  if (results.length === 0) return [`No messages in ${channel} match "${clean(q)}".`];
  return [
    `${channel}: ${results.length === SEARCH_RESULTS ? `the newest ${SEARCH_RESULTS}` : results.length} message${results.length === 1 ? '' : 's'} matching "${clean(q)}", newest first:`,
    ...results.map((m) => formatMessage(m, store)),
    'End of results.',
  ];
}

/** `[2025-01-31 18:00:05] <nick> text`, `* nick text` for actions, `-nick- text` for notices. */
export function formatMessage(m: HistoryMessage, store?: HistoryStore): string {
  const stamp = new Date(m.time)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '');
  const text = clean(m.text);
  let body = m.kind === 'ACTION' ? `* ${m.nick} ${text}` : m.kind === 'NOTICE' ? `-${m.nick}- ${text}` : `<${m.nick}> ${text}`;
  if (m.replyTo) {
    const parent = store?.get(m.replyTo);
    body = `${body} (in reply to ${parent ? parent.nick : 'an earlier message'})`;
  }
  if (m.editedAt !== null) body += ' (edited)';
  if (m.reactions.length > 0) body += ` [${m.reactions.map((r) => `${r.emoji} ${r.accounts.length}`).join(', ')}]`;
  return `[${stamp}] ${body}`;
}

/** Nothing that would break an IRC line. */
function clean(text: string): string {
  return text.replace(/[\0\r\n]/g, ' ');
}

/** Splits a line into pieces of at most `maxBytes` UTF-8 bytes, never inside a character. */
export function splitUtf8(line: string, maxBytes: number): string[] {
  if (Buffer.byteLength(line, 'utf8') <= maxBytes) return [line];
  const pieces: string[] = [];
  let piece = '';
  let bytes = 0;
  for (const ch of line) {
    const size = Buffer.byteLength(ch, 'utf8');
    if (bytes + size > maxBytes) {
      pieces.push(piece);
      piece = '';
      bytes = 0;
    }
    piece += ch;
    bytes += size;
  }
  if (piece) pieces.push(piece);
  return pieces;
}

/**
 * A small token bucket per asker, so one user cannot make HistServ flood the link: `capacity`
 * requests at once, then one per `refillMs`.
 */
export class RequestLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number; warned: boolean }>();

  constructor(
    private readonly capacity = 5,
    private readonly refillMs = 3000,
  ) {}

  /** 'ok' to serve; 'limited' to answer once that they must wait; 'silent' to ignore. */
  take(key: string, now: number): 'ok' | 'limited' | 'silent' {
    if (this.buckets.size > 10_000) this.prune(now);
    const b = this.buckets.get(key) ?? { tokens: this.capacity, at: now, warned: false };
    b.tokens = Math.min(this.capacity, b.tokens + (now - b.at) / this.refillMs);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      b.warned = false;
      return 'ok';
    }
    if (b.warned) return 'silent';
    b.warned = true;
    return 'limited';
  }

  /** Seconds until the next request of `key` would be served. */
  waitSeconds(key: string): number {
    const b = this.buckets.get(key);
    return b ? Math.max(1, Math.ceil(((1 - b.tokens) * this.refillMs) / 1000)) : 0;
  }

  private prune(now: number): void {
    for (const [key, b] of this.buckets) {
      if (b.tokens + (now - b.at) / this.refillMs >= this.capacity) this.buckets.delete(key);
    }
  }
}
