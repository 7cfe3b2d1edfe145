import { describe, expect, it } from 'vitest';
import { MessagePage, ReadMarkerBody, ReadMarkerMove, UnreadList } from './history.js';

/** What `GET /api/v1/channels/general/messages` answers: an edited reply with a reaction. */
const page = {
  channel: 'general',
  messages: [
    {
      msgid: 'hGbQa1',
      channel: 'general',
      account: 'alice',
      nick: 'alice',
      time: '2025-01-02T03:04:05.000Z',
      kind: 'PRIVMSG',
      text: 'see https://example.org',
      tags: { msgid: 'hGbQa1', account: 'alice', '+draft/reply': 'hGbQa0', '+alloquy/edit': '' },
      reply_to: 'hGbQa0',
      edited_at: '2025-01-02T03:05:00.000Z',
      has_link: true,
      has_attachment: false,
      reactions: [{ emoji: '👍', count: 2, accounts: ['bob', 'carol'] }],
    },
    {
      msgid: 'hGbQa2',
      channel: 'general',
      account: null,
      nick: 'guest42',
      time: '2025-01-02T03:06:00.000Z',
      kind: 'ACTION',
      text: 'waves',
      tags: {},
      reply_to: null,
      edited_at: null,
      has_link: false,
      has_attachment: false,
      reactions: [],
    },
  ],
};

describe('MessagePage', () => {
  it('parses what the server answers', () => {
    expect(MessagePage.parse(page)).toEqual(page);
  });

  it('refuses kinds paging never returns, and non-string tag values', () => {
    const [first] = page.messages;
    expect(MessagePage.safeParse({ ...page, messages: [{ ...first, kind: 'TAGMSG' }] }).success).toBe(false);
    expect(MessagePage.safeParse({ ...page, messages: [{ ...first, tags: { '+alloquy/edit': true } }] }).success).toBe(false);
  });
});

describe('ReadMarkerBody', () => {
  it('takes a msgid, an ISO time or Unix milliseconds', () => {
    expect(ReadMarkerBody.parse({ msgid: 'hGbQa1' })).toEqual({ msgid: 'hGbQa1' });
    expect(ReadMarkerBody.parse({ time: '2025-01-02T03:04:05Z' })).toEqual({ time: '2025-01-02T03:04:05Z' });
    expect(ReadMarkerBody.parse({ time: 1735787045000 })).toEqual({ time: 1735787045000 });
  });

  it('refuses both, neither, and negative or fractional times', () => {
    expect(ReadMarkerBody.safeParse({ msgid: 'hGbQa1', time: 0 }).error?.issues.map((i) => i.message)).toEqual(['give either "msgid" or "time"']);
    expect(ReadMarkerBody.safeParse({}).success).toBe(false);
    expect(ReadMarkerBody.safeParse({ time: -1 }).success).toBe(false);
    expect(ReadMarkerBody.safeParse({ time: 1.5 }).success).toBe(false);
  });
});

describe('read markers and unread counts', () => {
  it('parse what the server answers', () => {
    const moved = { channel: 'general', moved: true, last_read: { msgid: 'hGbQa1', time: '2025-01-02T03:04:05.000Z' } };
    expect(ReadMarkerMove.parse(moved)).toEqual(moved);
    const unread = {
      channels: [
        { channel: 'general', unread: 1000, mentions: 3, capped: true, last_read: { msgid: null, time: '2025-01-01T00:00:00.000Z' } },
        { channel: 'random', unread: 0, mentions: 0, capped: false, last_read: null },
      ],
    };
    expect(UnreadList.parse(unread)).toEqual(unread);
  });
});
