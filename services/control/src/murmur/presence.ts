import type { MurmurChannel, OnlineUser } from './ice-client.js';

/** Who is in which voice channel, as `GET /api/v1/voice` shows it. */
export interface VoiceUser {
  username: string;
  /** Logged in with an Alloquy account (a Murmur registration), not anonymously. */
  registered: boolean;
  /** Muted or deafened by someone with the right to (server side). */
  muted: boolean;
  deafened: boolean;
  /** Muted or deafened by the user themself. */
  self_muted: boolean;
  self_deafened: boolean;
  /** Cannot speak here (no Speak permission in the channel). */
  suppressed: boolean;
}

export interface VoiceChannelPresence {
  /** Murmur's channel id (0 is Murmur's root channel, where users land when they connect). */
  id: number;
  name: string;
  parent_id: number | null;
  /** One of Alloquy's voice channels (as opposed to the root or a channel made in Murmur directly). */
  voice_channel: boolean;
  users: VoiceUser[];
}

export interface VoicePresence {
  /** When Murmur was asked (epoch ms). */
  at: number;
  channels: VoiceChannelPresence[];
}

/** Counted as muted: anyone who cannot currently be heard. */
export function isMuted(u: VoiceUser): boolean {
  return u.muted || u.deafened || u.self_muted || u.self_deafened || u.suppressed;
}

export function buildPresence(
  channels: readonly MurmurChannel[],
  users: readonly OnlineUser[],
  voiceChannelIds: ReadonlySet<number>,
  at: number,
): VoicePresence {
  const byChannel = new Map<number, VoiceUser[]>();
  for (const u of users) {
    const list = byChannel.get(u.channelId) ?? [];
    list.push({
      username: u.name,
      registered: u.userId >= 0,
      muted: u.mute,
      deafened: u.deaf,
      self_muted: u.selfMute,
      self_deafened: u.selfDeaf,
      suppressed: u.suppress,
    });
    byChannel.set(u.channelId, list);
  }
  const known = new Set(channels.map((c) => c.id));
  const out: VoiceChannelPresence[] = [...channels]
    // The root first, then Murmur's own order (position, then name).
    .sort((a, b) => (a.parentId === -1 ? -1 : b.parentId === -1 ? 1 : a.position - b.position || a.name.localeCompare(b.name)))
    .map((c) => ({
      id: c.id,
      name: c.name,
      parent_id: c.parentId < 0 ? null : c.parentId,
      voice_channel: voiceChannelIds.has(c.id),
      users: (byChannel.get(c.id) ?? []).sort((a, b) => a.username.localeCompare(b.username)),
    }));
  // A user seen in a channel created between the two calls: list them rather than lose them.
  for (const [id, list] of byChannel) {
    if (!known.has(id)) out.push({ id, name: '', parent_id: null, voice_channel: voiceChannelIds.has(id), users: list });
  }
  return { at, channels: out };
}
