import { z } from 'zod';
import { ControlError } from '../../errors/control-error.js';
import { memberByUsername, type GuildSource } from '../../guild/model.js';
import { historyAccess, readableTextChannels } from '../../history/access.js';
import { parseCursor } from '../../history/cursor.js';
import { MAX_PAGE, MAX_SEARCH, type Cursor, type HistoryMessage, type HistoryStore } from '../../history/store.js';
import { route, type ControlRoute } from '../route.js';

/**
 * Message history over HTTP: paging a channel in both directions and around a message,
 * full-text search, read markers and unread/mention counts. Every read is authorized at read
 * time against the current guild snapshot: VIEW_CHANNEL and READ_HISTORY in the channel. A
 * channel the caller may not read is 403 whatever the reason (private, or no READ_HISTORY);
 * a channel that does not exist is 404.
 */

export const DEFAULT_PAGE = 50;
export const DEFAULT_SEARCH = 25;

const iso = (ms: number) => new Date(ms).toISOString();

const MessageView = z.object({
  msgid: z.string(),
  channel: z.string().describe('channel name without "#"'),
  account: z.string().nullable().describe("the sender's account; null when the sender was not logged in"),
  nick: z.string().describe("the sender's nick at the time"),
  time: z.string().describe('server time, ISO 8601'),
  kind: z.enum(['PRIVMSG', 'NOTICE', 'ACTION']),
  text: z.string(),
  tags: z.record(z.string(), z.string()).describe('IRCv3 message tags as received (a valueless tag is "")'),
  reply_to: z.string().nullable().describe('msgid this message replies to (+reply / +draft/reply)'),
  edited_at: z.string().nullable().describe('ISO 8601 time of the last edit, null if never edited'),
  has_link: z.boolean(),
  has_attachment: z.boolean(),
  reactions: z.array(
    z.object({
      emoji: z.string(),
      count: z.number().int(),
      accounts: z.array(z.string()).describe('who reacted (account, or nick when not logged in), in reaction order'),
    }),
  ),
});

const ReadMarkerView = z.object({
  msgid: z.string().nullable().describe('the last read message; null when the marker was set by time'),
  time: z.string().describe('ISO 8601'),
});

function messageView(m: HistoryMessage): z.infer<typeof MessageView> {
  return {
    msgid: m.msgid,
    channel: m.channel.replace(/^#/, ''),
    account: m.account,
    nick: m.nick,
    time: iso(m.time),
    // Paging and search never return TAGMSGs.
    kind: m.kind as 'PRIVMSG' | 'NOTICE' | 'ACTION',
    text: m.text,
    tags: m.tags,
    reply_to: m.replyTo,
    edited_at: m.editedAt === null ? null : iso(m.editedAt),
    has_link: m.hasLink,
    has_attachment: m.hasAttachment,
    reactions: m.reactions.map((r) => ({ emoji: r.emoji, count: r.accounts.length, accounts: r.accounts })),
  };
}

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

const limitParam = (max: number, dflt: number) =>
  z.coerce.number().int().min(1).max(max).optional().describe(`how many (default ${dflt}, at most ${max})`);

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

const ReadMarkerBody = z
  .strictObject({
    msgid: z.string().min(1).max(200).optional().describe('the last message read'),
    time: z
      .union([z.string().min(1).max(64), z.number().int().nonnegative()])
      .optional()
      .describe('or: everything up to this time is read (ISO 8601 or Unix milliseconds)'),
  })
  .refine((b) => (b.msgid === undefined) !== (b.time === undefined), { message: 'give either "msgid" or "time"' });

export interface HistoryRouteDeps {
  store: HistoryStore;
  guild: GuildSource;
  now?: () => number;
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
        'A page of a text channel\'s history, oldest first (newest last): the newest messages, or those before, after, ' +
        'between (before and after together) or around a message or time',
      tag: 'history',
      auth: 'user',
      query: MessagesQuery,
      responses: { 200: z.object({ channel: z.string(), messages: z.array(MessageView) }) },
      errors: [403, 404],
      handler({ params, query, account }) {
        const channel = readableChannel(account.username, params.channel!);
        const limit = query.limit ?? DEFAULT_PAGE;
        let page: HistoryMessage[] | null;
        if (query.around) page = store.around(channel, query.around, limit);
        else if (query.before && query.after) page = store.between(channel, query.after, query.before, limit);
        else if (query.before) page = store.before(channel, query.before, limit);
        else if (query.after) page = store.after(channel, query.after, limit);
        else page = store.latest(channel, limit);
        if (!page) {
          // The store answers null only for a msgid that is unknown or in another channel.
          const missing = [query.around, query.before, query.after].find((c) => c && 'msgid' in c && store.get(c.msgid)?.channel !== channel);
          throw new ControlError('not_found', `no message "${missing && 'msgid' in missing ? missing.msgid : ''}" in ${channel}`);
        }
        return { status: 200, body: { channel: channel.slice(1), messages: page.map(messageView) } };
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
      responses: { 200: z.object({ messages: z.array(MessageView) }) },
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
      responses: {
        200: z.object({
          channel: z.string(),
          moved: z.boolean().describe('false when the marker was already there or further on'),
          last_read: ReadMarkerView,
        }),
      },
      errors: [403, 404],
      handler({ params, body, account }) {
        const channel = readableChannel(account.username, params.channel!);
        let cursor: Cursor;
        if (body.msgid !== undefined) cursor = { msgid: body.msgid };
        else if (typeof body.time === 'number') cursor = { time: body.time };
        else {
          const parsed = parseCursor(body.time!);
          if (!parsed.ok || !('time' in parsed.cursor)) throw new ControlError('invalid_request', `time: "${body.time}" is not an ISO 8601 time or Unix milliseconds`);
          cursor = parsed.cursor;
        }
        if ('msgid' in cursor) {
          const target = store.get(cursor.msgid);
          if (!target || target.channel !== channel) throw new ControlError('not_found', `no message "${cursor.msgid}" in ${channel}`);
        }
        const moved = store.setReadMarker(account.username, channel, cursor, now());
        const marker = store.getReadMarker(account.username, channel)!;
        return { status: 200, body: { channel: channel.slice(1), moved, last_read: { msgid: marker.msgid, time: iso(marker.time) } } };
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
      responses: {
        200: z.object({
          channels: z.array(
            z.object({
              channel: z.string(),
              unread: z.number().int(),
              mentions: z.number().int(),
              capped: z.boolean(),
              last_read: ReadMarkerView.nullable(),
            }),
          ),
        }),
      },
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
            last_read: marker ? { msgid: marker.msgid, time: iso(marker.time) } : null,
          };
        });
        return { status: 200, body: { channels } };
      },
    }),
  ];
}
