import { ircChannelName, mayIn, memberByUsername, textChannelByIrcName, type Channel, type GuildSnapshot } from '../guild/model.js';
import { Permission } from '@alloquy/protocol/permissions';

/**
 * Who may read which channel's history, decided at read time against the current guild
 * snapshot: VIEW_CHANNEL and READ_HISTORY in the channel. Used by the HTTP API and HistServ.
 */
export const READ_HISTORY_FLAGS: bigint = Permission.VIEW_CHANNEL | Permission.READ_HISTORY;

export type ChannelAccess = { kind: 'ok'; channel: Channel; ircName: string } | { kind: 'unknown' } | { kind: 'forbidden'; channel: Channel };

/** A text channel by its IRC name (`#general`) or bare name (`general`), checked for `username`. */
export function historyAccess(snapshot: GuildSnapshot, username: string, name: string, now: number): ChannelAccess {
  const channel = textChannelByIrcName(snapshot, name.startsWith('#') ? name : `#${name}`);
  if (!channel) return { kind: 'unknown' };
  const member = memberByUsername(snapshot, username);
  if (!mayIn(snapshot, member, channel, READ_HISTORY_FLAGS, now)) return { kind: 'forbidden', channel };
  return { kind: 'ok', channel, ircName: ircChannelName(channel) };
}

/** Every text channel whose history `username` may read, in display order. */
export function readableTextChannels(snapshot: GuildSnapshot, username: string, now: number): Channel[] {
  const member = memberByUsername(snapshot, username);
  if (!member) return [];
  return snapshot.channels.filter((c) => c.kind === 'text' && mayIn(snapshot, member, c, READ_HISTORY_FLAGS, now));
}
