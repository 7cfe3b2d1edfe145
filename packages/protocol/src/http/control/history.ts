import { z } from 'zod';

/*
 * Message history: pages of a channel, search, read markers and unread counts. The query strings
 * of paging and search are read by the server (a position is a msgid, a time or Unix
 * milliseconds), so their schemas live there; these are the bodies and the answers.
 */

/** One message of a text channel, as paging and search return it. */
export const MessageView = z.object({
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
export type MessageView = z.infer<typeof MessageView>;

/** `GET /api/v1/channels/{channel}/messages`: oldest first. */
export const MessagePage = z.object({ channel: z.string(), messages: z.array(MessageView) });
export type MessagePage = z.infer<typeof MessagePage>;

/** `GET /api/v1/search`: newest first. */
export const SearchResults = z.object({ messages: z.array(MessageView) });
export type SearchResults = z.infer<typeof SearchResults>;

/** Where the caller stopped reading a channel. */
export const ReadMarkerView = z.object({
  msgid: z.string().nullable().describe('the last read message; null when the marker was set by time'),
  time: z.string().describe('ISO 8601'),
});
export type ReadMarkerView = z.infer<typeof ReadMarkerView>;

/** `PUT /api/v1/channels/{channel}/read-marker`: a message or a time, not both. */
export const ReadMarkerBody = z
  .strictObject({
    msgid: z.string().min(1).max(200).optional().describe('the last message read'),
    time: z
      .union([z.string().min(1).max(64), z.number().int().nonnegative()])
      .optional()
      .describe('or: everything up to this time is read (ISO 8601 or Unix milliseconds)'),
  })
  .refine((b) => (b.msgid === undefined) !== (b.time === undefined), { message: 'give either "msgid" or "time"' });
export type ReadMarkerBody = z.input<typeof ReadMarkerBody>;

/** The answer to moving a read marker. */
export const ReadMarkerMove = z.object({
  channel: z.string(),
  moved: z.boolean().describe('false when the marker was already there or further on'),
  last_read: ReadMarkerView,
});
export type ReadMarkerMove = z.infer<typeof ReadMarkerMove>;

/** Unread messages and mentions in one channel. */
export const UnreadView = z.object({
  channel: z.string(),
  unread: z.number().int(),
  mentions: z.number().int(),
  capped: z.boolean(),
  last_read: ReadMarkerView.nullable(),
});
export type UnreadView = z.infer<typeof UnreadView>;

/** `GET /api/v1/unread`: every channel the caller may read. */
export const UnreadList = z.object({ channels: z.array(UnreadView) });
export type UnreadList = z.infer<typeof UnreadList>;
