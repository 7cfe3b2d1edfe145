import { SignallingError } from '../errors/signalling-error.js';

/** A room named by a client: only voice channels so far (`voice:<channel name or id>`). */
export interface RoomRef {
  kind: 'voice';
  channel: string;
}

const MAX_CHANNEL_CHARS = 200;

export function parseRoomName(room: string): RoomRef {
  const match = /^voice:(.+)$/s.exec(room);
  if (!match) throw new SignallingError('invalid_message', 'a room is named "voice:<channel>"');
  const channel = match[1]!.trim();
  if (channel === '' || channel.length > MAX_CHANNEL_CHARS) throw new SignallingError('invalid_message', `a channel name has 1 to ${MAX_CHANNEL_CHARS} characters`);
  return { kind: 'voice', channel };
}
