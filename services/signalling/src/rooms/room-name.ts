import { SignallingError } from '../errors/signalling-error.js';

/**
 * A room as a client names it:
 * - `voice:<channel name or id>`: the video room of a voice channel;
 * - `dm:<account>[,<account>...]`: a call between the caller and the accounts named (a DM call, or
 *   a group call of up to {@link MAX_CALL_PARTICIPANTS}). The caller may name themselves or not:
 *   `dm:bob` from alice and `dm:alice,bob` from either are the same room.
 */
export type RoomRef = { kind: 'voice'; channel: string } | { kind: 'dm'; accounts: string[] };

const MAX_CHANNEL_CHARS = 200;
const MAX_ACCOUNT_CHARS = 64;
/** Discord's group DMs hold ten people; a mesh of video beyond that is not usable anyway. */
export const MAX_CALL_PARTICIPANTS = 10;

export function parseRoomName(room: string): RoomRef {
  const match = /^(voice|dm):(.*)$/s.exec(room);
  if (!match) throw new SignallingError('invalid_message', 'a room is named "voice:<channel>" or "dm:<account>[,<account>...]"');
  if (match[1] === 'voice') {
    const channel = match[2]!.trim();
    if (channel === '' || channel.length > MAX_CHANNEL_CHARS)
      throw new SignallingError('invalid_message', `a channel name has 1 to ${MAX_CHANNEL_CHARS} characters`);
    return { kind: 'voice', channel };
  }
  const accounts: string[] = [];
  const seen = new Set<string>();
  for (const part of match[2]!.split(',')) {
    const name = part.trim();
    if (name === '' || name.length > MAX_ACCOUNT_CHARS)
      throw new SignallingError('invalid_message', `an account name has 1 to ${MAX_ACCOUNT_CHARS} characters`);
    if (seen.has(name.toLowerCase())) continue;
    seen.add(name.toLowerCase());
    accounts.push(name);
  }
  if (accounts.length > MAX_CALL_PARTICIPANTS) throw new SignallingError('invalid_message', `a call has at most ${MAX_CALL_PARTICIPANTS} people`);
  return { kind: 'dm', accounts };
}
