import type { MessageView, ReadMarkerView } from '@alloquy/protocol/http';
import type { HistoryMessage } from '../../history/store.js';
import { isoTime } from './time.js';

export function messageView(m: HistoryMessage): MessageView {
  return {
    msgid: m.msgid,
    channel: m.channel.replace(/^#/, ''),
    account: m.account,
    nick: m.nick,
    time: isoTime(m.time),
    // Paging and search never return TAGMSGs.
    kind: m.kind as MessageView['kind'],
    text: m.text,
    tags: m.tags,
    reply_to: m.replyTo,
    edited_at: m.editedAt === null ? null : isoTime(m.editedAt),
    has_link: m.hasLink,
    has_attachment: m.hasAttachment,
    reactions: m.reactions.map((r) => ({ emoji: r.emoji, count: r.accounts.length, accounts: r.accounts })),
  };
}

export function readMarkerView(marker: { msgid: string | null; time: number }): ReadMarkerView {
  return { msgid: marker.msgid, time: isoTime(marker.time) };
}
