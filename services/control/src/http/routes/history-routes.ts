import { MessagePage, ReadMarkerBody, ReadMarkerMove, SearchResults, UnreadList, type MessageView } from '@alloquy/protocol/http';
import { z } from 'zod';
import { ControlError } from '../../errors/control-error.js';
import { memberByUsername, type GuildSource } from '../../guild/model.js';
import { historyAccess, readableTextChannels } from '../../history/access.js';
import { parseCursor } from '../../history/cursor.js';
import { MAX_PAGE, MAX_SEARCH, type Cursor, type HistoryMessage, type HistoryStore } from '../../history/store.js';
import { PreparedJson } from '@alloquy/service-kit/http';
import { route, type ControlRoute } from '../route.js';
import { messageView, readMarkerView } from '../views/history.js';

/**
 * Message history over HTTP: paging a channel in both directions and around a message,
 * full-text search, read markers and unread/mention counts. Every read is authorized at read
 * time against the current guild snapshot: VIEW_CHANNEL and READ_HISTORY in the channel. A
 * channel the caller may not read is 403 whatever the reason (private, or no READ_HISTORY);
 * a channel that does not exist is 404.
 */

export const DEFAULT_PAGE = 50;
export const DEFAULT_SEARCH = 25;

/** A query parameter naming a position: a msgid, an ISO 8601 time, or Unix milliseconds. */
const cursorParam = (what: string) =>
  z
    .string()
    .min(1)
    .max(200)
    .transform((text, ctx): Cursor => {
      const parsed = parseCursor(text);
      if (!parsed.ok) {
        ctx.addIssue({ code: 'custom', message: parsed.problem });
        return z.NEVER;
      }
      return parsed.cursor;
    })
    .describe(`${what}: a msgid, an ISO 8601 time (UTC unless it has a zone) or Unix milliseconds`);

const limitParam = (max: number, dflt: number) => z.coerce.number().int().min(1).max(max).optional().describe(`how many (default ${dflt}, at most ${max})`);

const MessagesQuery = z
  .strictObject({
    limit: limitParam(MAX_PAGE, DEFAULT_PAGE),
    before: cursorParam('only messages strictly before this position').optional(),
    after: cursorParam('only messages strictly after this position').optional(),
    around: cursorParam('messages centred on this position (the message itself included)').optional(),
  })
  .refine((q) => q.around === undefined || (q.before === undefined && q.after === undefined), {
    message: 'around cannot be combined with before or after',
    path: ['around'],
  });

const SearchQuery = z.strictObject({
  q: z.string().min(1).max(500).describe('words that must all occur; word* matches the start of a word'),
  channel: z.string().min(1).max(100).optional().describe('only this channel (name without "#")'),
  from: z.string().min(1).max(100).optional().describe('only messages sent by this account'),
  before: cursorParam('only messages before this position').optional(),
  after: cursorParam('only messages after this position').optional(),
  has: z.enum(['link', 'attachment']).optional().describe('only messages with a link, or with an attachment'),
  limit: limitParam(MAX_SEARCH, DEFAULT_SEARCH),
});

export interface HistoryRouteDeps {
  store: HistoryStore;
  guild: GuildSource;
  now?: () => number;
}

interface PageView {
  channel: string;
  messages: MessageView[];
}

function pageView(channel: string, page: readonly HistoryMessage[]): PageView {
  return { channel, messages: page.map(messageView) };
}

/**
 * The newest page of a channel is one object the store shares until the next write (every client
 * opening the channel asks for it): its answer is viewed and serialized once, however many ask.
 */
const newestPageAnswers = new WeakMap<readonly HistoryMessage[], PreparedJson>();

function newestPageAnswer(channel: string, page: readonly HistoryMessage[]): PreparedJson {
  let answer = newestPageAnswers.get(page);
  if (!answer) newestPageAnswers.set(page, (answer = new PreparedJson(pageView(channel, page))));
  return answer;
}

export function historyRoutes({ store, guild, now = Date.now }: HistoryRouteDeps): ControlRoute[] {
  /** The channel's IRC name when `username` may read it; 404 or 403 otherwise. */
  const readableChannel = (username: string, name: string): string => {
    const access = historyAccess(guild.snapshot(), username, name, now());
    if (access.kind === 'unknown') throw new ControlError('not_found', `no text channel "${name.replace(/^#/, '')}"`);
    if (access.kind === 'forbidden') throw new ControlError('forbidden', `you may not read the history of #${access.channel.name}`);
    return access.ircName;
  };

  return [
    route({
      method: 'get',
      path: '/api/v1/channels/{channel}/messages',
      summary:
        "A page of a text channel's history, oldest first (newest last): the newest messages, or those before, after, " +
        'between (before and after together) or around a message or time',
      tag: 'history',
      auth: 'user',
      query: MessagesQuery,
      responses: { 200: MessagePage },
      errors: [403, 404],
      handler({ params, query, account }) {
        const channel = readableChannel(account.username, params.channel);
        const limit = query.limit ?? DEFAULT_PAGE;
        if (!query.around && !query.before && !query.after) return { status: 200, body: newestPageAnswer(channel.slice(1), store.latest(channel, limit)) };
        let page: HistoryMessage[] | null;
        if (query.around) page = store.around(channel, query.around, limit);
        else if (query.before && query.after) page = store.between(channel, query.after, query.before, limit);
        else if (query.before) page = store.before(channel, query.before, limit);
        else page = store.after(channel, query.after!, limit);
        if (!page) {
          // The store answers null only for a msgid that is unknown or in another channel.
          const missing = [query.around, query.before, query.after].find((c) => c && 'msgid' in c && store.get(c.msgid)?.channel !== channel);
          throw new ControlError('not_found', `no message "${missing && 'msgid' in missing ? missing.msgid : ''}" in ${channel}`);
        }
        return { status: 200, body: pageView(channel.slice(1), page) };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/search',
      summary:
        'Full-text search over the channels you may read (or one of them), newest first. Deleted messages never match; ' +
        'an edited one matches its current text only',
      tag: 'history',
      auth: 'user',
      query: SearchQuery,
      responses: { 200: SearchResults },
      errors: [403, 404],
      handler({ query, account }) {
        const snapshot = guild.snapshot();
        const at = now();
        let channels: string[];
        if (query.channel !== undefined) channels = [readableChannel(account.username, query.channel)];
        else channels = readableTextChannels(snapshot, account.username, at).map((c) => `#${c.name}`);
        // A msgid position stands for its time, and only when it is in a channel the caller may read.
        const timeOf = (cursor: Cursor | undefined): number | undefined => {
          if (cursor === undefined) return undefined;
          if ('time' in cursor) return cursor.time;
          const m = store.get(cursor.msgid);
          if (!m || historyAccess(snapshot, account.username, m.channel, at).kind !== 'ok') {
            throw new ControlError('not_found', `no message "${cursor.msgid}"`);
          }
          return m.time;
        };
        const before = timeOf(query.before);
        const after = timeOf(query.after);
        const from = query.from === undefined ? undefined : (memberByUsername(snapshot, query.from)?.username ?? query.from);
        const results = store.search({
          q: query.q,
          channels,
          limit: query.limit ?? DEFAULT_SEARCH,
          ...(from !== undefined ? { from } : {}),
          ...(before !== undefined ? { before } : {}),
          ...(after !== undefined ? { after } : {}),
          ...(query.has === 'link' ? { hasLink: true } : {}),
          ...(query.has === 'attachment' ? { hasAttachment: true } : {}),
        });
        return { status: 200, body: { messages: results.map(messageView) } };
      },
    }),
    route({
      method: 'put',
      path: '/api/v1/channels/{channel}/read-marker',
      summary: 'Move your read marker in a channel forward to a message or a time (it never moves back)',
      tag: 'history',
      auth: 'user',
      body: ReadMarkerBody,
      responses: { 200: ReadMarkerMove },
      errors: [403, 404],
      handler({ params, body, account }) {
        const channel = readableChannel(account.username, params.channel);
        let cursor: Cursor;
        if (body.msgid !== undefined) cursor = { msgid: body.msgid };
        else if (typeof body.time === 'number') cursor = { time: body.time };
        else {
          const parsed = parseCursor(body.time!);
          if (!parsed.ok || !('time' in parsed.cursor))
            throw new ControlError('invalid_request', `time: "${body.time}" is not an ISO 8601 time or Unix milliseconds`);
          cursor = parsed.cursor;
        }
        if ('msgid' in cursor) {
          const target = store.get(cursor.msgid);
          if (!target || target.channel !== channel) throw new ControlError('not_found', `no message "${cursor.msgid}" in ${channel}`);
        }
        const moved = store.setReadMarker(account.username, channel, cursor, now());
        const marker = store.getReadMarker(account.username, channel)!;
        return { status: 200, body: { channel: channel.slice(1), moved, last_read: readMarkerView(marker) } };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/unread',
      summary:
        'Unread messages (by others, after your read marker) and mentions of your account name, per channel you may read. ' +
        'Counts stop at 1,000 (capped: true)',
      tag: 'history',
      auth: 'user',
      responses: { 200: UnreadList },
      handler({ account }) {
        const channels = readableTextChannels(guild.snapshot(), account.username, now()).map((c) => {
          const name = `#${c.name}`;
          const summary = store.unreadSummary(account.username, name, account.username);
          const marker = store.getReadMarker(account.username, name);
          return {
            channel: c.name,
            unread: summary.unread,
            mentions: summary.mentions,
            capped: summary.capped,
            last_read: marker ? readMarkerView(marker) : null,
          };
        });
        return { status: 200, body: { channels } };
      },
    }),
  ];
}
